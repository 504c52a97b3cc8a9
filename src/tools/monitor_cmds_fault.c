/* monitor_cmds_fault.c: faults injected on purpose, in test builds only
 * (make FAULT=1, -DPROXY_FAULT_INJECTION; the tests use build/fault/proxy).
 *
 * They stand for a bug in proxy that a guest or a debugger drives: the tests check
 * that the sandbox (src/sandbox) stops it. A release build has none of this.
 */
#ifdef PROXY_FAULT_INJECTION
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor_internal.h"

/* What an exploited handler would do first: run a program. The path does not exist,
 * so without the sandbox the call fails harmlessly and says so. */
int cmd_x_forbidden_syscall(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	char *const args[] = {"proxy-fault", NULL};
	long rc = syscall(SYS_execve, "/nonexistent/proxy-fault", args, args + 1);
	return mon_fail(m, 0, "execve returned %ld: %s (no system-call filter in force)", rc,
			strerror(errno));
}

/* Open a host path from proxy itself, as a handler with a path bug would. */
int cmd_x_open_host(struct mon *m, int argc, char **argv)
{
	(void)argc;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mon_fail(m, 0, "open %s: %s", argv[0], strerror(errno));
	close(fd);
	mon_say(m, "open %s: ok\n", argv[0]);
	return 0;
}
#endif
