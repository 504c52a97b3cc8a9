/* emulate.h: finishing instructions software KVM cannot run (xgetbv, int3). */
#ifndef PROXY_EMULATE_H
#define PROXY_EMULATE_H

#include "vm.h"

/* Register the exit hook. The debugger registers its own hook first, so a planted
 * breakpoint is the debugger's and only the guest's own int3 arrives here. */
void emulate_register(struct vm *vm);
/* Deliver #BP to the guest for the int3 at r->rip (advances RIP past it). */
int emulate_inject_breakpoint(struct vcpu *v, struct kvm_regs *r);

/* Instructions finished here, by kind: --stats shows them apart from the real
 * internal errors (the core counts both as KVM_EXIT_INTERNAL_ERROR). */
enum emulated_insn { EMULATED_XGETBV, EMULATED_INT3, EMULATED_KINDS };
uint64_t emulate_count(enum emulated_insn kind);

#endif
