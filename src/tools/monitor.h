/* monitor.h: hypervisor-level commands for GDB's `monitor` and the console.
 *
 * One interpreter (a table of commands with help text and argument checking)
 * serves two front ends: GDB's qRcmd, where GDB has stopped the VM, and the
 * readline console (console.h), which runs while the guest runs and stops the VM
 * for the commands that need it.
 */
#ifndef PROXY_MONITOR_H
#define PROXY_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "gdb_target.h"
#include "vm.h"

/* GDB's front end: run one command line; output goes through out(). 0, or
 * -errno (unknown command, bad arguments: a message has been printed). */
int monitor_run(struct vm *vm, const char *line, gdb_output_fn out, void *arg);

/* The console's front end: console-only commands (stop, cont, step, quit) are
 * allowed and the VM is stopped around commands that need it. */
int monitor_run_console(struct vm *vm, const char *line, gdb_output_fn out, void *arg);

/* The i-th command name ("info cpus"), NULL past the end: for tab completion. */
const char *monitor_command_name(size_t i);

#endif
