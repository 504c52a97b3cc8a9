/* reset.c: system_reset: the guest starts again from its first instruction.
 *
 * What a fresh boot gave each vCPU (registers, FPU, local APIC, MSRs, events, debug
 * registers) and the VM (its in-kernel PIC and IOAPIC) is kept when
 * vcpu_set_boot_state sets it, and put back here; guest RAM
 * is dropped (zero again) and the image loaded anew from its still open file. What
 * the modules own of a boot (the ABI's tables and boot info, the guest's files, the
 * debugger's view) comes back through the reset hooks, in the order they were
 * registered. The caller stops every vCPU out of KVM_RUN first (a debugger's stop,
 * a pause) and lets them run after; a vCPU started later by the guest goes back to
 * its start gate.
 */
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "log.h"

#define BOOT_MSRS_MAX 256

struct vcpu_boot_state {
	bool gated; /* waited at the start gate */
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	bool has_lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[BOOT_MSRS_MAX];
	} msrs;
	/* vCPU 0's holds the VM's in-kernel PIC and IOAPIC (none: a split irqchip). */
	struct kvm_irqchip chips[3];
	unsigned nchips;
};

/* The MSRs KVM lists for a guest, read one by one: an index KVM cannot read (a
 * feature this host lacks) is left out. */
static void save_msrs(struct vcpu *v, struct vcpu_boot_state *b)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t index[BOOT_MSRS_MAX];
	} list = {.hdr.nmsrs = BOOT_MSRS_MAX};
	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return;
	for (uint32_t i = 0; i < list.hdr.nmsrs && b->msrs.hdr.nmsrs < BOOT_MSRS_MAX; i++) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} one = {.hdr.nmsrs = 1, .e.index = list.index[i]};
		if (ioctl(v->fd, KVM_GET_MSRS, &one) == 1)
			b->msrs.e[b->msrs.hdr.nmsrs++] = one.e;
	}
}

void vcpu_save_boot_state(struct vcpu *v)
{
	struct vcpu_boot_state *b = calloc(1, sizeof(*b));
	if (!b)
		die("out of memory");
	b->gated = atomic_load(&v->state) == VCPU_GATED;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &b->mp) < 0 ||
	    ioctl(v->fd, KVM_GET_REGS, &b->regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &b->sregs) < 0 || ioctl(v->fd, KVM_GET_FPU, &b->fpu) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &b->events) < 0 ||
	    ioctl(v->fd, KVM_GET_DEBUGREGS, &b->debugregs) < 0)
		die_errno("vCPU %u: cannot read its boot state", v->id);
	b->has_lapic = ioctl(v->fd, KVM_GET_LAPIC, &b->lapic) == 0;
	save_msrs(v, b);
	for (unsigned chip = 0; v->id == 0 && chip < 3; chip++) {
		b->chips[b->nchips].chip_id = chip;
		if (ioctl(v->vm->vm_fd, KVM_GET_IRQCHIP, &b->chips[b->nchips]) == 0)
			b->nchips++;
	}
	free(v->boot);
	v->boot = b;
}

/* An exit the vCPU's loop handled but KVM has not completed (the port instruction of
 * a hypercall) would complete into the reset state, moving RIP: finish it first. */
static void complete_pending_exit(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) == 0 && v->run->exit_reason == KVM_EXIT_MMIO)
		ram_complete_mmio(v); /* a second half into RAM not registered yet */
	v->run->immediate_exit = 0;
	atomic_store(&v->exit_pending, false);
}

static int restore_boot_state(struct vcpu *v, char *err, size_t errlen)
{
	const struct vcpu_boot_state *b = v->boot;
	const char *what = NULL;
	complete_pending_exit(v);
	if (ioctl(v->fd, KVM_SET_MP_STATE, &b->mp) < 0)
		what = "KVM_SET_MP_STATE";
	else if (ioctl(v->fd, KVM_SET_SREGS, &b->sregs) < 0)
		what = "KVM_SET_SREGS";
	else if (ioctl(v->fd, KVM_SET_REGS, &b->regs) < 0)
		what = "KVM_SET_REGS";
	else if (ioctl(v->fd, KVM_SET_FPU, &b->fpu) < 0)
		what = "KVM_SET_FPU";
	else if (b->has_lapic && ioctl(v->fd, KVM_SET_LAPIC, &b->lapic) < 0)
		what = "KVM_SET_LAPIC";
	else if (b->msrs.hdr.nmsrs && ioctl(v->fd, KVM_SET_MSRS, &b->msrs) < 0)
		what = "KVM_SET_MSRS";
	else if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &b->events) < 0)
		what = "KVM_SET_VCPU_EVENTS";
	else if (ioctl(v->fd, KVM_SET_DEBUGREGS, &b->debugregs) < 0)
		what = "KVM_SET_DEBUGREGS";
	if (what) {
		snprintf(err, errlen, "vCPU %u: %s: %s", v->id, what, strerror(errno));
		return -1;
	}
	/* The last run's failure is no clue about the next one ($_siginfo, dumps). */
	v->fault = (struct vcpu_fault){0};
	v->injected = (struct vcpu_exception){0};
	atomic_store(&v->state, b->gated ? VCPU_GATED : VCPU_RUNNING);
	return 0;
}

/* Guest RAM zero again, the image in it again. Incremental checkpoints must save
 * every page after this: KVM's dirty log does not see the drop. */
static int reload_memory(struct vm *vm, char *err, size_t errlen)
{
	struct guest_mem *m = &vm->mem;
	if (vm->image.fd < 0) {
		snprintf(err, errlen, "the image file is closed");
		return -1;
	}
	if (madvise(m->host, m->size, MADV_DONTNEED) < 0) {
		snprintf(err, errlen, "cannot drop guest memory: %s", strerror(errno));
		return -1;
	}
	if (m->host_dirty) {
		uint64_t words = (m->size / GUEST_PAGE + 63) / 64;
		for (uint64_t i = 0; i < words; i++)
			atomic_store(&m->host_dirty[i], ~0ULL);
	}
	return image_load(&vm->image, m, err, errlen);
}

/* Every vCPU parked in a park hook (or gone), none in a hypercall or at its start
 * gate between two looks: else -EBUSY (it will park soon: try again) or -EINVAL. */
static int unresettable(const struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		if (!v->boot || atomic_load(&v->state) == VCPU_DONE) {
			snprintf(err, errlen, "vCPU %u %s", i,
				 v->boot ? "has ended" : "has no boot state");
			return -EINVAL;
		}
		if (atomic_load(&v->in_park))
			continue;
		snprintf(err, errlen, "vCPU %u %s", i,
			 atomic_load(&v->blocked)
				 ? "waits in a blocking hypercall: reset when every "
				   "vCPU is in guest code"
				 : "has not stopped yet");
		return -EBUSY;
	}
	return 0;
}

int vm_reset(struct vm *vm, char *err, size_t errlen)
{
	int refused = unresettable(vm, err, errlen);
	if (refused)
		return refused;
	if (atomic_load(&vm->ending)) {
		snprintf(err, errlen, "the VM is ending");
		return -EINVAL;
	}
	/* Nothing is changed before this point; a failure from here on leaves a guest
	 * that cannot go on, and ends it. */
	int rc = reload_memory(vm, err, errlen);
	const struct vcpu_boot_state *b0 = vm->vcpus[0].boot;
	for (unsigned i = 0; !rc && i < b0->nchips; i++) {
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &b0->chips[i]) < 0) {
			snprintf(err, errlen, "KVM_SET_IRQCHIP: %s", strerror(errno));
			rc = -1;
		}
	}
	for (unsigned i = 0; !rc && i < vm->ncpus; i++)
		rc = restore_boot_state(&vm->vcpus[i], err, errlen);
	if (rc) {
		warnx_("system_reset: %s; the VM ends", err);
		vm_end(vm, STATUS_SETUP_ERROR);
		return -EIO;
	}
	for (unsigned i = 0; i < vm->nreset_hooks; i++)
		vm->reset_hooks[i].fn(vm, vm->reset_hooks[i].arg);
	return 0;
}
