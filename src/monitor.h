/* monitor.h: hypervisor-level commands (GDB's `monitor`, the console). */
#ifndef PROXY_MONITOR_H
#define PROXY_MONITOR_H

#include "gdb_target.h"
#include "vm.h"

/* Run one command line; output goes through out(). 0, or -errno (unknown command,
 * bad arguments: a message has been printed through out()). */
int monitor_run(struct vm *vm, const char *line, gdb_output_fn out, void *arg);

#endif
