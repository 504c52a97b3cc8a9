/* snap_vcpu.c: one vCPU's state as KVM keeps it, out and back in.
 *
 * The payload of a VCPU section is a list of records (u32 tag, u32 length, data),
 * each one KVM UAPI struct, whose layouts the kernel keeps stable. Saved: what KVM
 * needs to continue at the exact instruction; restored in the order KVM wants it
 * (LAPIC after MP state, MSRs after the LAPIC so the TSC deadline sticks, events
 * last).
 */
#include "snap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

enum vcpu_tag {
	TAG_RUNSTATE = 1, /* u32 enum vcpu_state */
	TAG_REGS,
	TAG_SREGS,
	TAG_XSAVE,
	TAG_XCRS,
	TAG_FPU, /* hosts without XSAVE */
	TAG_MP_STATE,
	TAG_LAPIC,
	TAG_MSRS, /* u32 count, then {u32 index, u32 0, u64 value} */
	TAG_EVENTS,
	TAG_DEBUGREGS,
};

struct msr_list {
	uint32_t n;
	uint32_t index[];
};

/* The MSRs KVM saves and restores for a guest (KVM_GET_MSR_INDEX_LIST). */
static struct msr_list *msr_index_list(int kvm_fd)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return NULL;
	struct msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return NULL;
	l->n = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	return calloc(1, sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry));
}

/* KVM_GET_MSRS stops at the first MSR it cannot read: skip that one and go on. */
static int save_msrs(struct vcpu *v, struct snap_buf *b)
{
	struct msr_list *l = msr_index_list(v->vm->kvm_fd);
	if (!l)
		return -errno;
	struct kvm_msrs *m = msrs_alloc(l->n), *got = msrs_alloc(l->n);
	if (!m || !got) {
		free(l), free(m), free(got);
		return -ENOMEM;
	}
	uint32_t have = 0;
	for (uint32_t i = 0; i < l->n;) {
		m->nmsrs = l->n - i;
		for (uint32_t k = 0; k < m->nmsrs; k++)
			m->entries[k] = (struct kvm_msr_entry){.index = l->index[i + k]};
		int n = ioctl(v->fd, KVM_GET_MSRS, m);
		if (n < 0)
			n = 0;
		for (int k = 0; k < n; k++)
			got->entries[have++] = m->entries[k];
		i += (uint32_t)n + 1; /* the one at i + n failed */
	}
	uint32_t tag = TAG_MSRS, len = 4 + have * (uint32_t)sizeof(struct kvm_msr_entry);
	snap_buf_put(b, &tag, 4);
	snap_buf_put(b, &len, 4);
	snap_buf_put(b, &have, 4);
	snap_buf_put(b, got->entries, have * sizeof(struct kvm_msr_entry));
	free(l), free(m), free(got);
	return 0;
}

#define GET(ioctl_nr, type, tagv, what)                                                            \
	do {                                                                                       \
		type s_;                                                                           \
		memset(&s_, 0, sizeof(s_));                                                        \
		if (ioctl(v->fd, ioctl_nr, &s_) < 0) {                                             \
			snprintf(err, errlen, "vCPU %u: " what ": %s", v->id, strerror(errno));    \
			return -1;                                                                 \
		}                                                                                  \
		snap_put_record(b, tagv, &s_, sizeof(s_));                                         \
	} while (0)

/* A vCPU waiting in a blocking hypercall is saved before that call, on its port
 * instruction, so that a restore makes the call again: the result lands after this
 * save, in memory it does not hold. Hardware KVM reports RIP there until the next
 * KVM_RUN, software KVM (PVM) past the instruction: taken as reported, the restored
 * guest would go on as if the call had answered, its result never written. */
static int save_regs(struct vcpu *v, struct snap_buf *b, char *err, size_t errlen)
{
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0) {
		snprintf(err, errlen, "vCPU %u: KVM_GET_REGS: %s", v->id, strerror(errno));
		return -1;
	}
	if (snap_vcpu_blocked(v->vm, v->id)) {
		uint64_t at = vcpu_io_insn_start(v, &r);
		if (!at) {
			snprintf(err, errlen,
				 "vCPU %u waits in a hypercall whose port instruction before RIP "
				 "0x%llx is not recognised: no state to save that repeats the call",
				 v->id, (unsigned long long)r.rip);
			return -1;
		}
		r.rip = at;
	}
	snap_put_record(b, TAG_REGS, &r, sizeof(r));
	return 0;
}

int snap_vcpu_save(struct vcpu *v, struct snap_buf *b, char *err, size_t errlen)
{
	uint32_t state = (uint32_t)atomic_load(&v->state);
	snap_put_record(b, TAG_RUNSTATE, &state, 4);
	if (save_regs(v, b, err, errlen))
		return -1;
	GET(KVM_GET_SREGS, struct kvm_sregs, TAG_SREGS, "KVM_GET_SREGS");
	if (ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		GET(KVM_GET_XSAVE, struct kvm_xsave, TAG_XSAVE, "KVM_GET_XSAVE");
	} else {
		GET(KVM_GET_FPU, struct kvm_fpu, TAG_FPU, "KVM_GET_FPU");
	}
	if (ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0)
		GET(KVM_GET_XCRS, struct kvm_xcrs, TAG_XCRS, "KVM_GET_XCRS");
	GET(KVM_GET_MP_STATE, struct kvm_mp_state, TAG_MP_STATE, "KVM_GET_MP_STATE");
	GET(KVM_GET_LAPIC, struct kvm_lapic_state, TAG_LAPIC, "KVM_GET_LAPIC");
	int rc = save_msrs(v, b);
	if (rc < 0) {
		snprintf(err, errlen, "vCPU %u: the MSRs: %s", v->id, strerror(-rc));
		return -1;
	}
	GET(KVM_GET_VCPU_EVENTS, struct kvm_vcpu_events, TAG_EVENTS, "KVM_GET_VCPU_EVENTS");
	GET(KVM_GET_DEBUGREGS, struct kvm_debugregs, TAG_DEBUGREGS, "KVM_GET_DEBUGREGS");
	return b->failed ? (snprintf(err, errlen, "out of memory"), -1) : 0;
}

/* One record of a VCPU payload, found by tag. */
static const void *find_record(const uint8_t *p, uint64_t len, uint32_t tag, uint32_t *rlen)
{
	uint64_t off = 0;
	uint32_t t;
	const uint8_t *d;
	while (snap_next_record(p, len, &off, &t, &d, rlen))
		if (t == tag)
			return d;
	return NULL;
}

int snap_vcpu_check(const void *payload, uint64_t len, unsigned id, char *err, size_t errlen)
{
	static const struct {
		uint32_t tag, size;
		const char *name;
	} need[] = {
		{TAG_RUNSTATE, 4, "run state"},
		{TAG_REGS, sizeof(struct kvm_regs), "registers"},
		{TAG_SREGS, sizeof(struct kvm_sregs), "special registers"},
		{TAG_MP_STATE, sizeof(struct kvm_mp_state), "MP state"},
		{TAG_LAPIC, sizeof(struct kvm_lapic_state), "LAPIC"},
		{TAG_EVENTS, sizeof(struct kvm_vcpu_events), "pending events"},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		uint32_t l = 0;
		if (!find_record(payload, len, need[i].tag, &l) || l != need[i].size) {
			snprintf(err, errlen, "the state of vCPU %u has no valid %s record", id,
				 need[i].name);
			return -1;
		}
	}
	return 0;
}

int snap_vcpu_saved_state(const void *payload, uint64_t len, uint32_t *state)
{
	uint32_t l = 0;
	const void *d = find_record(payload, len, TAG_RUNSTATE, &l);
	if (!d || l != 4)
		return -1;
	memcpy(state, d, 4);
	return 0;
}

#define SET(ioctl_nr, type, tagv, what)                                                            \
	do {                                                                                       \
		uint32_t l_ = 0;                                                                   \
		const void *d_ = find_record(p, len, tagv, &l_);                                   \
		if (d_ && l_ == sizeof(type)) {                                                    \
			type s_;                                                                   \
			memcpy(&s_, d_, sizeof(s_));                                               \
			if (ioctl(v->fd, ioctl_nr, &s_) < 0) {                                     \
				snprintf(err, errlen, "vCPU %u: " what ": %s", v->id,              \
					 strerror(errno));                                         \
				return -1;                                                         \
			}                                                                          \
		}                                                                                  \
	} while (0)

/* MSRs KVM will not take back (a host without them) are skipped: the guest state
 * that matters (EFER, segment bases, APIC base) travels in the special registers. */
static int load_msrs(struct vcpu *v, const uint8_t *p, uint64_t len, char *err, size_t errlen)
{
	uint32_t l = 0, n;
	const uint8_t *d = find_record(p, len, TAG_MSRS, &l);
	if (!d || l < 4)
		return 0;
	memcpy(&n, d, 4);
	if ((uint64_t)n * sizeof(struct kvm_msr_entry) != l - 4) {
		snprintf(err, errlen, "vCPU %u: the MSR record is malformed", v->id);
		return -1;
	}
	struct kvm_msrs *m = msrs_alloc(1);
	if (!m)
		return snprintf(err, errlen, "out of memory"), -1;
	unsigned skipped = 0;
	for (uint32_t i = 0; i < n; i++) {
		m->nmsrs = 1;
		memcpy(&m->entries[0], d + 4 + i * sizeof(struct kvm_msr_entry),
		       sizeof(struct kvm_msr_entry));
		if (ioctl(v->fd, KVM_SET_MSRS, m) != 1)
			skipped++;
	}
	free(m);
	if (skipped && v->vm->cfg->verbose)
		warnx_("vCPU %u: %u of %u MSRs not restored (this KVM refuses them)", v->id,
		       skipped, n);
	return 0;
}

int snap_vcpu_load(struct vcpu *v, const void *payload, uint64_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	if (snap_vcpu_check(payload, len, v->id, err, errlen))
		return -1;
	uint32_t l = 0, state;
	memcpy(&state, find_record(p, len, TAG_RUNSTATE, &l), 4);
	if (state == VCPU_GATED && atomic_load(&v->state) != VCPU_GATED) {
		/* loadvm: its thread has passed the start gate and cannot go back */
		snprintf(err, errlen, "the snapshot is from before vCPU %u started", v->id);
		return -1;
	}
	SET(KVM_SET_SREGS, struct kvm_sregs, TAG_SREGS, "KVM_SET_SREGS");
	SET(KVM_SET_REGS, struct kvm_regs, TAG_REGS, "KVM_SET_REGS");
	SET(KVM_SET_XCRS, struct kvm_xcrs, TAG_XCRS, "KVM_SET_XCRS");
	SET(KVM_SET_XSAVE, struct kvm_xsave, TAG_XSAVE, "KVM_SET_XSAVE");
	SET(KVM_SET_FPU, struct kvm_fpu, TAG_FPU, "KVM_SET_FPU");
	SET(KVM_SET_MP_STATE, struct kvm_mp_state, TAG_MP_STATE, "KVM_SET_MP_STATE");
	SET(KVM_SET_LAPIC, struct kvm_lapic_state, TAG_LAPIC, "KVM_SET_LAPIC");
	if (load_msrs(v, p, len, err, errlen))
		return -1;
	SET(KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events, TAG_EVENTS, "KVM_SET_VCPU_EVENTS");
	SET(KVM_SET_DEBUGREGS, struct kvm_debugregs, TAG_DEBUGREGS, "KVM_SET_DEBUGREGS");
	/* A vCPU that ran goes on running; one still at the start gate waits there. */
	atomic_store(&v->state, state == VCPU_GATED ? VCPU_GATED : VCPU_RUNNING);
	return 0;
}

/* An OUT or IN that left KVM_RUN is finished (RIP past it, an IN's value in its
 * register) only when KVM_RUN is entered again. immediate_exit does that and
 * returns at once, so the saved state is the one after the instruction. */
int snap_vcpu_complete_io(struct vcpu *v)
{
	/* Finishing one access may start the next (the second half of an access split
	 * at a page into RAM not registered yet): KVM_RUN then returns that exit. */
	for (int tries = 0; tries < 8; tries++) {
		v->run->immediate_exit = 1;
		int rc = ioctl(v->fd, KVM_RUN, 0);
		int e = errno;
		v->run->immediate_exit = 0;
		if (rc < 0)
			return e == EINTR ? 0 : -e;
		if (v->run->exit_reason != KVM_EXIT_MMIO || !ram_complete_mmio(v)) {
			/* An exit only the vCPU's own loop can handle: it will, first thing. */
			atomic_store(&v->exit_pending, true);
			return -EAGAIN;
		}
	}
	return -EAGAIN; /* handled, but not yet taken back by KVM: no consistent state */
}
