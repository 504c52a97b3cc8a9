/* log.h: how proxy reports problems, by error class.
 *
 * Host set-up failures (bad configuration, unreadable image, KVM unavailable)
 * end the process at once with a precise message: the process is short-lived,
 * so exiting is the clean-up. Guest misbehaviour goes through vm_fail() instead.
 */
#ifndef PROXY_LOG_H
#define PROXY_LOG_H

#include <stdarg.h>

/* Exit statuses of proxy itself (guest exit codes are `code & 0xff`). */
enum proxy_status {
	STATUS_SETUP_ERROR = 1,	     /* host set-up failure or invalid configuration */
	STATUS_USAGE = 2,	     /* wrong command line */
	STATUS_TRIPLE_FAULT = 124,   /* KVM_EXIT_SHUTDOWN */
	STATUS_UNHANDLED_IO = 125,   /* unknown port, unexpected MMIO */
	STATUS_INTERNAL_ERROR = 126, /* entry failure, internal/emulation error, KVM_RUN failure */
	STATUS_GUEST_BAD_EXIT = 127, /* EXIT hypercall with an unreadable argument */
	STATUS_KILLED = 137,	     /* the debugger sent `k` */
	STATUS_SIGINT = 130,
	STATUS_SIGTERM = 143,
};

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_errno(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog_prefixed(const char *fmt, va_list ap);

#endif
