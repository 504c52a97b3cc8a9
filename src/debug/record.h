/* record.h: reverse execution: the debugger records what each instruction changed
 * (record.c, on top of record_log.h) and moves the guest back and forth in the log.
 *
 * While recording every running vCPU single-steps; after each step the registers
 * that changed and the guest-memory bytes that changed (KVM's dirty log and the
 * pages proxy wrote, diffed against a shadow copy of RAM) become one log entry.
 * Moving back undoes entries into RAM and the register cache; moving forward redoes
 * them (nothing is executed again, hypercalls included) until the log's end, where
 * the guest runs live again. All but record_step run on the stub's thread with the
 * VM stopped.
 */
#ifndef PROXY_RECORD_H
#define PROXY_RECORD_H

#include <stdbool.h>

#include "gdb_target.h"
#include "vm.h"

struct debugger;

/* Before guest memory is registered: slots log the guest's writes, gpa_ptr the host's. */
void record_prepare_memory(struct vm *vm);
bool record_on(const struct debugger *d);
/* Recording, and the guest stands at an earlier point of the log. */
bool record_in_past(const struct debugger *d);
/* On the vCPU thread after a single-step exit: log what the instruction changed. */
void record_step(struct vcpu *v);
/* Before the vCPUs run live: what the debugger wrote is no guest change. */
void record_resync(struct vm *vm);
/* `bs` (step) or `bc` for `cpu`: the stop where the guest stands now. */
void record_reverse(struct vm *vm, int cpu, bool step, struct gdb_stop *out);
/* A resume inside the log: replays it. true with the stop in `out`, false when the
 * log's end was reached and the guest is to run live. */
bool record_replay(struct vm *vm, const enum gdb_resume_action *actions, struct gdb_stop *out);
/* HERMIT_DEBUG_RECORD=1: at the first resume (before the first instruction), start
 * recording once. */
void record_autostart(struct vm *vm);
/* Forget the log (record stop, loadvm, system_reset); the guest stays where it is. */
void record_drop(struct vm *vm);
/* `monitor record ...`, `monitor info record`, and what recording refuses (savevm,
 * migrate): 0 or -errno when handled (as debug_monitor_fn), 1 when not ours. */
int record_monitor(struct vm *vm, const char *cmd, gdb_output_fn out, void *arg);

#endif
