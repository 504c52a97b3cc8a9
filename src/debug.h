/* debug.h: the vCPU side of the GDB stub (all-stop parking, guest debug flags).
 *
 * The vCPU loop asks debug_wants_park() before every KVM_RUN and parks in
 * debug_park() when the debugger has stopped the VM. Debug exits reach the
 * debugger through its exit hook. Without HERMIT_DEBUG, vm->dbg is NULL and none
 * of this runs.
 */
#ifndef PROXY_DEBUG_H
#define PROXY_DEBUG_H

#include <stdbool.h>

#include "gdb_target.h"
#include "vm.h"

/* Set up the debugger side of the VM (before the vCPU threads start): the VM
 * starts stopped before the first instruction. */
void debug_init(struct vm *vm);
/* The target the RSP stub drives. */
struct gdb_target debug_target(struct vm *vm);
/* Serve GDB until the session ends (the VM may run on afterwards). */
void debug_serve(struct vm *vm);

bool debug_wants_park(struct vcpu *v);
void debug_park(struct vcpu *v);
/* The vCPU waits in a blocking hypercall (not in KVM_RUN): it counts as stopped. */
void debug_vcpu_blocked(struct vcpu *v, bool blocked);
/* The vCPU thread is leaving (VM ending). */
void debug_vcpu_done(struct vcpu *v);
/* The guest misbehaved (status as in log.h): report it to GDB as a signal at the
 * crash site and end the VM with `status` when GDB resumes. false when no
 * debugger is attached (detached). */
bool debug_stop_on_fatal(struct vcpu *v, int status);
/* The VM is ending: wake parked vCPUs and the stub. */
void debug_notify_end(struct vm *vm);

#endif
