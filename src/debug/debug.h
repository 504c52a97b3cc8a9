/* debug.h: the vCPU side of the GDB stub (all-stop parking, guest debug flags).
 *
 * debug_init registers the debugger with the core: a park hook (the vCPU loop
 * parks there when the debugger has stopped the VM), an exit hook (debug exits,
 * planted int3s), an end notifier and a fatal hook (a guest failure stops in GDB
 * first). Without HERMIT_DEBUG (or -d, -s), vm->dbg is NULL and none of this runs.
 */
#ifndef PROXY_DEBUG_H
#define PROXY_DEBUG_H

#include <stdbool.h>

#include "gdb_target.h"
#include "vm.h"

/* What GDB's `monitor` command runs (tools/monitor.c's monitor_run): 0 or -errno. */
typedef int (*debug_monitor_fn)(struct vm *vm, const char *cmd, gdb_output_fn out, void *arg);

/* Set up the debugger side of the VM (before the vCPU threads start): with
 * HERMIT_DEBUG=1 the VM starts stopped before the first instruction; in listen mode
 * it runs as if no debugger were there until one attaches. */
void debug_init(struct vm *vm, debug_monitor_fn monitor);
/* The target the RSP stub drives. */
struct gdb_target debug_target(struct vm *vm);
/* Open the stub and say where it listens (debug_serve.c); before the vCPU threads
 * start, so a debugger may attach at once. Dies when it cannot listen. */
void debug_listen(struct vm *vm);
/* Serve debuggers, one after the other, until the VM ends. */
void debug_serve(struct vm *vm);

/* Around savevm/loadvm (tools/): before a save, registers GDB changed go back to
 * KVM; after a load, the cached ones are dropped and GDB's next resume (stepi,
 * continue) reports a stop at once, without running, so GDB fetches the loaded
 * registers and memory. Both for a VM the debugger has stopped; no-ops without one. */
void debug_before_save(struct vm *vm);
void debug_state_replaced(struct vm *vm);

/* The signal and $_siginfo of a guest failure (the fault vm_fail recorded), for the
 * stub's stop and qXfer:siginfo:read and for core files. */
void debug_fault_siginfo(const struct vcpu_fault *f, struct gdb_siginfo *out);

/* For --stats: how long the debugger held the VM before vCPU 0's first instruction,
 * and how many exits were our own int3 ending KVM_RUN as an emulation failure
 * (software KVM). 0 without a debugger. */
uint64_t debug_boot_hold_ns(const struct vm *vm);
uint64_t debug_planted_bp_exits(const struct vm *vm);

#endif
