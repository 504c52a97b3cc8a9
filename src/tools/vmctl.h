/* vmctl.h: stop, resume and single-step the whole VM from the monitor console.
 *
 * Without a debugger nobody parks the vCPUs, so the console has its own all-stop:
 * a park hook checked before every KVM_RUN, a kick to leave KVM_RUN, and a condition
 * variable the vCPUs wait on. Under HERMIT_DEBUG, GDB owns execution and the
 * console only looks at a VM that GDB has stopped.
 */
#ifndef PROXY_VMCTL_H
#define PROXY_VMCTL_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "vm.h"

/* Set up vm->ctl and register its park hook, single-step exit hook and end
 * notifier (before the vCPU threads start; only without HERMIT_DEBUG). */
void vmctl_init(struct vm *vm);

/* Console side. Each returns 0 or -errno with a message in err. `hold`: stay
 * stopped until vmctl_resume (the `stop` command), not just for one command. */
int vmctl_stop(struct vm *vm, bool hold, char *err, size_t errlen);
void vmctl_resume(struct vm *vm);
int vmctl_step(struct vm *vm, unsigned cpu, char *err, size_t errlen);
/* Stopped by the console (`stop`), not just for one command. */
bool vmctl_stopped(const struct vm *vm);

/* No vCPU is inside KVM_RUN (stopped by the console or by GDB, or not running),
 * so its registers can be read. */
bool vm_is_quiescent(const struct vm *vm);

/* A stopped vCPU's registers; under GDB the debugger's cache, which holds the
 * values GDB may have changed but not yet written back. 0 or -errno. */
int vcpu_get_state(struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s);

#endif
