/* uart.h: the kernel log (port 0x800, and the buffers of 0x880/0x1030), shown on stderr under
 * HERMIT_VERBOSE. */
#ifndef PROXY_UART_H
#define PROXY_UART_H

#include "vm.h"

/* Register the port; with coalescing, log bytes are batched by KVM without a VM
 * exit each and drained at the next exit (an exit observer). */
void uart_register(struct vm *vm);
/* Drain batched bytes and flush the line buffer (at every exit / at the end). */
void uart_drain(struct vm *vm);
void uart_flush(struct vm *vm);
/* Log bytes the guest handed over in one buffer (uhyve's serial-buffer hypercalls),
 * line-buffered with the port's bytes; dropped unless HERMIT_VERBOSE. */
void uart_write(struct vm *vm, const void *buf, size_t len);
/* At the end, after uart_flush: if the guest exited non-zero after the kernel logged
 * a panic line, say so on stderr (verbose or not) with that line and its message. */
void uart_report_panic(struct vm *vm);
/* Whether a log line is a kernel panic's first line (exposed for tests). */
bool uart_is_panic_line(const char *line, size_t len);

#endif
