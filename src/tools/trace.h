/* trace.h: strace-like hypercall tracing (HERMIT_TRACE, --trace).
 *
 * trace_init registers an exit observer: trace_before() runs just before a port
 * handler (the arguments are decoded from a copy of the guest's struct, since the
 * handler overwrites result fields) and trace_after() once it returned; the line
 * is printed then, with the result:
 *   [vCPU 0] open("data.txt", O_RDONLY, 0) = 3
 */
#ifndef PROXY_TRACE_H
#define PROXY_TRACE_H

#include <stdint.h>

#include "hermit_abi.h"
#include "vm.h"

struct trace_call {
	const struct port_handler *h;
	uint32_t value; /* what the guest wrote to the port */
	void *args;	/* the guest's struct (host pointer), NULL if not RAM */
	char text[320]; /* "name(decoded arguments" */
	union {		/* the arguments as they were before the call */
		struct hermit_write write;
		struct hermit_read read;
		struct hermit_lseek lseek;
	} in;
};

/* Open the trace output (path NULL or "-": stderr); dies when it cannot be opened. */
void trace_init(struct vm *vm, const char *path);
void trace_close(struct vm *vm);

void trace_before(struct vcpu *v, const struct port_handler *h, uint32_t value,
		  struct trace_call *tc);
void trace_after(struct vcpu *v, struct trace_call *tc);

/* Exposed for the unit tests: quote at most max bytes of buf as a C string. */
void trace_quote(char *out, size_t outlen, const uint8_t *buf, size_t len, size_t max);
void trace_open_flags(char *out, size_t outlen, int flags);

#endif
