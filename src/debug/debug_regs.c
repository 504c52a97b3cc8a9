/* debug_regs.c: GDB's amd64 register numbers mapped onto KVM's vCPU state.
 *
 * A stopped vCPU's registers are read once (regs, sregs, FPU/SSE, KERNEL_GS_BASE,
 * and the XSAVE area for the ymm halves when the vCPU has AVX) into a cache that `g`, `p` and `P`
 * work on; changes are written back before the vCPU runs again, so a `g` costs four ioctls, not
 * sixty-six.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "debug_internal.h"

#define MSR_KERNEL_GS_BASE 0xC0000102
#define CPUID_1_ECX_AVX	   (1u << 28)
#define XFEATURE_YMM	   (1u << 2)
/* The standard (non-compacted) XSAVE layout KVM_GET_XSAVE returns: XSTATE_BV at
 * 512, the ymm upper halves (component 2) at 576, 16 bytes each. */
#define XSAVE_XSTATE_BV 512
#define XSAVE_YMM_HI	576

static const struct kvm_cpuid_entry2 *cpuid_entry(const struct kvm_cpuid2 *c, uint32_t fn,
						  uint32_t index)
{
	for (unsigned i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* AVX as the vCPUs see it (CPUID 1 and the XCR0 bits of leaf 0xD), and an XSAVE
 * area KVM can hand out. */
bool debug_probe_avx(struct vm *vm)
{
	const struct kvm_cpuid_entry2 *leaf1 = cpuid_entry(vm->cpuid, 1, 0);
	const struct kvm_cpuid_entry2 *xcr0 = cpuid_entry(vm->cpuid, 0xD, 0);
	return leaf1 && xcr0 && (leaf1->ecx & CPUID_1_ECX_AVX) && (xcr0->eax & XFEATURE_YMM) &&
	       ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
}

static int get_msr(int fd, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = index};
	if (ioctl(fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*value = m.e.data;
	return 0;
}

static int set_msr(int fd, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = index, .e.data = value};
	return ioctl(fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EIO;
}

int regcache_load(struct vcpu *v)
{
	struct regcache *c = &v->dbg->rc;
	if (c->valid)
		return 0;
	if (ioctl(v->fd, KVM_GET_REGS, &c->regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &c->sregs) < 0 || ioctl(v->fd, KVM_GET_FPU, &c->fpu) < 0)
		return -errno;
	/* Without it only the ymm halves are missing (sent as unavailable). */
	c->have_xsave = v->vm->dbg->avx && ioctl(v->fd, KVM_GET_XSAVE, &c->xsave) == 0;
	if (get_msr(v->fd, MSR_KERNEL_GS_BASE, &c->kernel_gs_base))
		c->kernel_gs_base = 0;
	c->orig_rax = UINT64_MAX;
	c->valid = true;
	return 0;
}

int regcache_flush(struct vcpu *v)
{
	struct regcache *c = &v->dbg->rc;
	int rc = 0;
	if (c->dirty_regs && ioctl(v->fd, KVM_SET_REGS, &c->regs) < 0)
		rc = -errno;
	if (c->dirty_sregs && ioctl(v->fd, KVM_SET_SREGS, &c->sregs) < 0)
		rc = -errno;
	/* XSAVE before FPU: the XSAVE copy holds x87/SSE as loaded, which KVM_SET_FPU
	 * then overwrites with GDB's changes, leaving the ymm halves alone. */
	if (c->dirty_xsave && ioctl(v->fd, KVM_SET_XSAVE, &c->xsave) < 0)
		rc = -errno;
	if (c->dirty_fpu && ioctl(v->fd, KVM_SET_FPU, &c->fpu) < 0)
		rc = -errno;
	if (c->dirty_msr)
		rc = set_msr(v->fd, MSR_KERNEL_GS_BASE, c->kernel_gs_base) ?: rc;
	regcache_drop(v);
	return rc;
}

void regcache_drop(struct vcpu *v)
{
	struct regcache *c = &v->dbg->rc;
	c->valid = c->dirty_regs = c->dirty_sregs = c->dirty_fpu = c->dirty_msr = false;
	c->dirty_xsave = false;
}

int debug_reg_size(const struct debugger *d, int regno)
{
	if (regno < 0 || regno >= GDB_REG_COUNT)
		return 0;
	if (regno >= GDB_REG_YMM0H)
		return d->avx ? 16 : 0;
	if (regno <= GDB_REG_RIP)
		return 8;
	if (regno <= GDB_REG_GS)
		return 4;
	if (regno < GDB_REG_FCTRL)
		return 10;
	if (regno < GDB_REG_XMM0)
		return 4;
	if (regno < GDB_REG_MXCSR)
		return 16;
	if (regno == GDB_REG_MXCSR)
		return 4;
	return 8;
}

/* Where a register lives in the cache, and which part of it to mark dirty. */
struct reg_ref {
	void *p;
	bool *dirty;
	int size;     /* bytes GDB sees */
	int kvm_size; /* bytes of the cache field (writes zero-extend) */
};

static __u64 *gpr(struct kvm_regs *r, int regno)
{
	__u64 *order[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			    &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
	return order[regno];
}

static struct kvm_segment *segment(struct kvm_sregs *s, int regno)
{
	struct kvm_segment *order[6] = {&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs};
	return order[regno - GDB_REG_CS];
}

static __u64 *control_reg(struct regcache *c, int regno)
{
	switch (regno) {
	case GDB_REG_FS_BASE:
		return &c->sregs.fs.base;
	case GDB_REG_GS_BASE:
		return &c->sregs.gs.base;
	case GDB_REG_CR0:
		return &c->sregs.cr0;
	case GDB_REG_CR2:
		return &c->sregs.cr2;
	case GDB_REG_CR3:
		return &c->sregs.cr3;
	case GDB_REG_CR4:
		return &c->sregs.cr4;
	case GDB_REG_CR8:
		return &c->sregs.cr8;
	default:
		return &c->sregs.efer;
	}
}

static int reg_ref(const struct debugger *d, struct regcache *c, int regno, struct reg_ref *r)
{
	int size = debug_reg_size(d, regno);
	*r = (struct reg_ref){NULL, &c->dirty_fpu, size, size};
	if (!size)
		return -EINVAL;
	if (regno < 16) {
		*r = (struct reg_ref){gpr(&c->regs, regno), &c->dirty_regs, 8, 8};
	} else if (regno == GDB_REG_RIP) {
		*r = (struct reg_ref){&c->regs.rip, &c->dirty_regs, 8, 8};
	} else if (regno == GDB_REG_EFLAGS) {
		*r = (struct reg_ref){&c->regs.rflags, &c->dirty_regs, 4, 8};
	} else if (regno <= GDB_REG_GS) {
		*r = (struct reg_ref){&segment(&c->sregs, regno)->selector, &c->dirty_sregs, 4, 2};
	} else if (regno < GDB_REG_FCTRL) {
		r->p = c->fpu.fpr[regno - GDB_REG_ST0];
	} else if (regno == GDB_REG_FCTRL) {
		r->p = &c->fpu.fcw, r->kvm_size = 2;
	} else if (regno == GDB_REG_FSTAT) {
		r->p = &c->fpu.fsw, r->kvm_size = 2;
	} else if (regno == GDB_REG_FTAG) {
		r->p = &c->fpu.ftwx, r->kvm_size = 1;
	} else if (regno == GDB_REG_FIOFF) {
		r->p = &c->fpu.last_ip, r->kvm_size = 4;
	} else if (regno == GDB_REG_FOOFF) {
		r->p = &c->fpu.last_dp, r->kvm_size = 4;
	} else if (regno == GDB_REG_FOP) {
		r->p = &c->fpu.last_opcode, r->kvm_size = 2;
	} else if (regno == GDB_REG_FISEG || regno == GDB_REG_FOSEG) {
		r->p = NULL; /* no segments in 64-bit FXSAVE format: reads as 0 */
	} else if (regno < GDB_REG_MXCSR) {
		r->p = c->fpu.xmm[regno - GDB_REG_XMM0];
	} else if (regno == GDB_REG_MXCSR) {
		r->p = &c->fpu.mxcsr;
	} else if (regno == GDB_REG_K_GS_BASE) {
		*r = (struct reg_ref){&c->kernel_gs_base, &c->dirty_msr, 8, 8};
	} else if (regno == GDB_REG_ORIG_RAX) {
		*r = (struct reg_ref){&c->orig_rax, &c->dirty_none, 8, 8};
	} else if (regno >= GDB_REG_YMM0H) {
		uint8_t *area = (uint8_t *)c->xsave.region;
		if (!c->have_xsave)
			return -EIO;
		*r = (struct reg_ref){area + XSAVE_YMM_HI + 16 * (regno - GDB_REG_YMM0H),
				      &c->dirty_xsave, 16, 16};
	} else {
		*r = (struct reg_ref){control_reg(c, regno), &c->dirty_sregs, 8, 8};
	}
	return 0;
}

int debug_read_reg(struct vcpu *v, int regno, uint8_t *buf)
{
	struct reg_ref r;
	int rc = regcache_load(v);
	if (rc || (rc = reg_ref(v->vm->dbg, &v->dbg->rc, regno, &r)))
		return rc;
	memset(buf, 0, (size_t)r.size);
	if (r.p)
		memcpy(buf, r.p, (size_t)(r.kvm_size < r.size ? r.kvm_size : r.size));
	return 0;
}

int debug_write_reg(struct vcpu *v, int regno, const uint8_t *buf)
{
	struct reg_ref r;
	int rc = regcache_load(v);
	if (rc || (rc = reg_ref(v->vm->dbg, &v->dbg->rc, regno, &r)))
		return rc;
	if (!r.p)
		return 0;
	if (r.kvm_size > r.size)
		memset(r.p, 0, (size_t)r.kvm_size); /* eflags: upper half stays zero */
	memcpy(r.p, buf, (size_t)(r.kvm_size < r.size ? r.kvm_size : r.size));
	*r.dirty = true;
	if (r.dirty == &v->dbg->rc.dirty_xsave) /* else KVM restores the halves as zeros */
		v->dbg->rc.xsave.region[XSAVE_XSTATE_BV / 4] |= XFEATURE_YMM;
	return 0;
}
