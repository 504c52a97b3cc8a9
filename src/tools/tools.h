/* tools.h: the developer tools around the VM: trace, stats, console, core dumps.
 *
 * main() calls these three at fixed points so each tool's set-up and tear-down
 * stay out of the core's files.
 */
#ifndef PROXY_TOOLS_H
#define PROXY_TOOLS_H

#include "vm.h"

/* Before the vCPU threads start: tracing, the console's all-stop. */
void tools_init(struct vm *vm);
/* After the vCPU threads have started: the console. */
void tools_start(struct vm *vm);
/* After the vCPU threads have been joined: the console ends, a core dump when
 * the guest failed (HERMIT_COREDUMP), statistics (--stats), the trace closes. */
void tools_finish(struct vm *vm);

#endif
