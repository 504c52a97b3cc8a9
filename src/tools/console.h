/* console.h: the monitor console (HERMIT_MONITOR=1, --monitor).
 *
 * A thread that reads monitor commands while the guest runs: with GNU readline
 * (prompt, line editing, history file, tab completion) on a terminal, line by
 * line from stdin otherwise (scripts). Its output goes to stderr, so the
 * guest's stdout stays the guest's. It ends when the VM ends or stdin closes.
 */
#ifndef PROXY_CONSOLE_H
#define PROXY_CONSOLE_H

#include "vm.h"

/* Start the console thread (after the vCPU threads). */
void console_start(struct vm *vm);
/* After the VM has ended: wait for the thread, restore the terminal, save history. */
void console_join(struct vm *vm);

#endif
