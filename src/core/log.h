/* log.h: how proxy reports problems, by error class.
 *
 * Host set-up failures (bad configuration, unreadable image, KVM unavailable)
 * end the process at once with a precise message: the process is short-lived,
 * so exiting is the clean-up. Guest misbehaviour goes through vm_fail() instead.
 */
#ifndef PROXY_LOG_H
#define PROXY_LOG_H

#include <stdarg.h>

/* Exit statuses of proxy itself (guest exit codes are `code & 0xff`). proxy's own
 * block is 119-123, below what timeout(1) (124) and the shell (126, 127, 128+N)
 * reserve, so `timeout 60 proxy app` tells a hang from a guest failure. */
enum proxy_status {
	STATUS_SETUP_ERROR = 1,	     /* host set-up failure or invalid configuration */
	STATUS_USAGE = 2,	     /* wrong command line */
	STATUS_KILLED = 119,	     /* the debugger sent `k` (or the console's quit) */
	STATUS_TRIPLE_FAULT = 120,   /* KVM_EXIT_SHUTDOWN */
	STATUS_UNHANDLED_IO = 121,   /* unknown port, unexpected MMIO */
	STATUS_INTERNAL_ERROR = 122, /* entry failure, internal/emulation error, KVM_RUN failure */
	STATUS_GUEST_BAD_EXIT = 123, /* EXIT hypercall with an unreadable argument */
	STATUS_SIGHUP = 129,	     /* the signals proxy received: 128 + N */
	STATUS_SIGINT = 130,
	STATUS_SIGQUIT = 131,
	STATUS_SIGTERM = 143,
};

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_errno(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog_prefixed(const char *fmt, va_list ap);

#endif
