/* debug.h: the vCPU side of the GDB stub (all-stop parking, guest debug flags).
 *
 * debug_init registers the debugger with the core: a park hook (the vCPU loop
 * parks there when the debugger has stopped the VM), an exit hook (debug exits,
 * planted int3s), an end notifier and a fatal hook (a guest failure stops in GDB
 * first). Without HERMIT_DEBUG, vm->dbg is NULL and none of this runs.
 */
#ifndef PROXY_DEBUG_H
#define PROXY_DEBUG_H

#include <stdbool.h>

#include "gdb_target.h"
#include "vm.h"

/* What GDB's `monitor` command runs (tools/monitor.c's monitor_run): 0 or -errno. */
typedef int (*debug_monitor_fn)(struct vm *vm, const char *cmd, gdb_output_fn out, void *arg);

/* Set up the debugger side of the VM (before the vCPU threads start): the VM
 * starts stopped before the first instruction. */
void debug_init(struct vm *vm, debug_monitor_fn monitor);
/* The target the RSP stub drives. */
struct gdb_target debug_target(struct vm *vm);
/* Serve GDB until the session ends (the VM may run on afterwards). */
void debug_serve(struct vm *vm);

#endif
