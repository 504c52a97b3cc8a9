/* emulate.c: instructions the host's KVM could not run, finished in user space.
 *
 * On software KVM (PVM) guest ring-0 code is emulated, and some instructions end
 * KVM_RUN with an emulation failure instead. Two matter to every HermitCore kernel
 * and are finished here: `xgetbv` (XCR0 from KVM_GET_XCRS) and the guest's own
 * `int3` (delivered to the guest as #BP). Anything else is reported by the core
 * with the instruction bytes. On hardware KVM this hook never sees these exits.
 */
#include "emulate.h"

#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

/* One VM per process, so one set of counters; vCPUs add to them concurrently. */
static _Atomic uint64_t emulated[EMULATED_KINDS];

uint64_t emulate_count(enum emulated_insn kind)
{
	return kind < EMULATED_KINDS ? atomic_load(&emulated[kind]) : 0;
}

/* Count a finished instruction (for --stats) and pass the hook's verdict on. */
static enum hook_result counted(enum hook_result r, enum emulated_insn kind)
{
	if (r == HOOK_HANDLED)
		atomic_fetch_add(&emulated[kind], 1);
	return r;
}

static bool is_emulation_failure(const struct kvm_run *run)
{
	return run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION;
}

static enum hook_result emulate_xgetbv(struct vcpu *v, struct kvm_regs *r)
{
	struct kvm_xcrs xcrs;
	if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) < 0)
		return HOOK_NOT_MINE;
	uint32_t index = (uint32_t)r->rcx;
	for (uint32_t i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr != index)
			continue;
		r->rax = xcrs.xcrs[i].value & 0xFFFFFFFFu;
		r->rdx = xcrs.xcrs[i].value >> 32;
		r->rip += 3;
		return ioctl(v->fd, KVM_SET_REGS, r) < 0 ? HOOK_NOT_MINE : HOOK_HANDLED;
	}
	return HOOK_NOT_MINE; /* an XCR KVM does not know: #GP territory, report it */
}

/* int3 is a trap: the guest's handler sees RIP after the instruction. */
int emulate_inject_breakpoint(struct vcpu *v, struct kvm_regs *r)
{
	r->rip += 1;
	if (ioctl(v->fd, KVM_SET_REGS, r) < 0)
		return -1;
	struct kvm_vcpu_events ev;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -1;
	ev.exception.injected = 1;
	ev.exception.nr = 3;
	ev.exception.has_error_code = 0;
	ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_PAYLOAD;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -1;
	v->injected = (struct vcpu_exception){.valid = true, .vector = 3};
	return 0;
}

static enum hook_result emulate_hook(struct vcpu *v, void *arg)
{
	(void)arg;
	if (!is_emulation_failure(v->run))
		return HOOK_NOT_MINE;
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return HOOK_NOT_MINE;
	uint8_t insn[3] = {0};
	size_t n = gva_read(&v->vm->mem, s.cr3, r.rip, insn, sizeof(insn));
	if (n >= 3 && insn[0] == 0x0F && insn[1] == 0x01 && insn[2] == 0xD0)
		return counted(emulate_xgetbv(v, &r), EMULATED_XGETBV);
	if (n >= 1 && insn[0] == 0xCC)
		return counted(emulate_inject_breakpoint(v, &r) == 0 ? HOOK_HANDLED : HOOK_NOT_MINE,
			       EMULATED_INT3);
	return HOOK_NOT_MINE;
}

void emulate_register(struct vm *vm)
{
	vm_register_exit_hook(vm, emulate_hook, NULL);
}
