/* emulate.h: finishing instructions software KVM cannot run (xgetbv, int3). */
#ifndef PROXY_EMULATE_H
#define PROXY_EMULATE_H

#include "vm.h"

/* Register the exit hook. The debugger registers its own hook first, so a planted
 * breakpoint is the debugger's and only the guest's own int3 arrives here. */
void emulate_register(struct vm *vm);
/* Deliver #BP to the guest for the int3 at r->rip (advances RIP past it). */
int emulate_inject_breakpoint(struct vcpu *v, struct kvm_regs *r);

#endif
