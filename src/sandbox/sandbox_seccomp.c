/* sandbox_seccomp.c: the system calls proxy may still make after set-up.
 *
 * One allow-list for the whole process: the vCPU threads run the hypercall
 * handlers (files, console, network) and the debugger and monitor threads share
 * most of what they need, so per-thread lists would differ by a handful of calls.
 * What is left out is what only set-up, or an attacker, needs: exec, new processes
 * (but for plain forks, for background checkpoints: they keep this filter), ptrace, mounts, module
 * loading, kexec, bpf, keyrings, namespaces, privilege changes. Threads may still be created: clone
 * only with CLONE_THREAD, and clone3 (whose flags a filter cannot read) answers ENOSYS, so glibc
 * falls back to clone. ioctl only for KVM's, the terminal's and tun's ('T'), and socket ones
 * (0x89).
 *
 * The chown family answers EPERM instead: readline chowns the console's history
 * file back to its owner after rewriting it, as best effort that ignores failure,
 * and a console must not end the VM for that.
 *
 * Any other forbidden call raises SIGSYS; the handler names the call and ends proxy with
 * STATUS_SANDBOX. It runs in the dying thread, after a bug in proxy: it writes with
 * write(2) and leaves with _exit, nothing else.
 */
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* clang-format off: grouped by purpose, several to a line */
static const char *const allowed[] = {
	/* memory, threads, signals, time */
	"brk",
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	"mlock",
	"munlock",
	"futex",
	"set_robust_list",
	"rseq",
	"sched_yield",
	"sched_getaffinity",
	"getpid",
	"getppid",
	"gettid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"tgkill",
	"tkill",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"rt_sigsuspend",
	"rt_sigpending",
	"restart_syscall",
	"sigaltstack",
	"exit",
	"wait4", /* a background checkpoint's child, which also needs: */
	"mincore",
	"close_range",
	"exit_group",
	"nanosleep",
	"clock_nanosleep",
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"getrandom",
	"getrusage",
	"times",
	"sysinfo",
	"uname",
	"prlimit64",
	"membarrier",
	"memfd_create", /* the monitor's savevm keeps snapshots in memory */
	/* descriptors and files (the guest's file hypercalls, logs, core files) */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"lseek",
	"open",
	"openat",
	"openat2",
	"close",
	"fstat",
	"fstatfs",
	"statfs",
	"stat",
	"lstat",
	"newfstatat",
	"statx",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"pipe2",
	"eventfd2",
	"unlink",
	"unlinkat",
	"mkdir",
	"mkdirat",
	"rename",
	"renameat",
	"renameat2",
	"ftruncate",
	"fsync",
	"fdatasync",
	"getdents64",
	"getcwd",
	"readlink",
	"readlinkat",
	"access",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fallocate",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	/* the debug and monitor sockets, the network */
	"socket",
	"bind",
	"listen",
	"accept",
	"accept4",
	"connect",
	"getsockname",
	"getpeername",
	"setsockopt",
	"getsockopt",
	"shutdown",
	"socketpair", /* a migration's plain stream to its carrier thread */
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	/* narrowed below: KVM's and a few more ioctls; threads; a thread's timer
	 * slack (vcpu.c) and name; signals to proxy itself (readline re-raises the
	 * ones it caught) */
	"ioctl",
	"clone",
	"prctl",
	"kill",
};
/* clang-format on */

/* Calls refused with EPERM rather than trapped (see the top of the file). */
static const char *const refused_eperm[] = {"chown", "fchown", "lchown", "fchownat"};

/* ioctl request types (bits 8-15) proxy uses after set-up. */
static const unsigned ioctl_types[] = {0xAE /* KVM */, 'T' /* termios, tun */, 0x89 /* sockets */};

static void forbidden_call(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	char msg[256];
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, si->si_syscall);
	int n = snprintf(msg, sizeof(msg),
			 "proxy: the sandbox stopped a forbidden system call: %s (number %d); "
			 "a bug in proxy, or a guest attacking it (--no-sandbox turns the "
			 "sandbox off to debug proxy itself)\n",
			 name ? name : "?", si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nothing left to do about it */
	}
	_exit(STATUS_SANDBOX);
}

static int allow_names(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call of this architecture (e.g. open on a new one) */
		int rc;
		if (!strcmp(allowed[i], "clone")) {
			rc = seccomp_rule_add(
				ctx, SCMP_ACT_ALLOW, nr, 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
			/* a background checkpoint's copy-on-write child (ckpt_background.c):
			 * a plain fork, which cannot exec (this filter stays on it) */
			if (!rc)
				rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						      SCMP_A0(SCMP_CMP_EQ, SIGCHLD));
		} else if (!strcmp(allowed[i], "prctl")) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, PR_SET_TIMERSLACK));
			if (!rc)
				rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
			if (!rc) /* the checkpoint child's end with proxy */
				rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						      SCMP_A0(SCMP_CMP_EQ, PR_SET_PDEATHSIG));
		} else if (!strcmp(allowed[i], "kill")) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
		} else if (!strcmp(allowed[i], "ioctl")) {
			rc = 0;
			for (size_t t = 0; !rc && t < sizeof(ioctl_types) / sizeof(ioctl_types[0]);
			     t++)
				rc = seccomp_rule_add(
					ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, ioctl_types[t] << 8));
		} else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0)
			return rc;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static int refuse_names(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(refused_eperm) / sizeof(refused_eperm[0]); i++) {
		int nr = seccomp_syscall_resolve_name(refused_eperm[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sandbox_seccomp(char *why, size_t whylen)
{
	struct sigaction sa = {.sa_sigaction = forbidden_call, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(why, whylen, "sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(why, whylen, "seccomp_init failed");
		return -1;
	}
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!rc)
		rc = allow_names(ctx);
	if (!rc)
		rc = refuse_names(ctx);
	if (!rc)
		rc = seccomp_load(ctx);
	if (rc < 0)
		snprintf(why, whylen, "installing the seccomp filter: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

void sandbox_print_info(bool on)
{
	const struct scmp_version *v = seccomp_version();
	int abi = sandbox_landlock_abi();
#ifdef PROXY_SANITIZED
	on = false;
	printf("sandbox: off (sanitizer build: its runtime needs ptrace and exec)\n");
#else
	printf("sandbox: %s\n", on ? "on" : "off (--no-sandbox or HERMIT_SANDBOX=0)");
#endif
	if (abi)
		printf("landlock: ABI %d%s\n", abi, on ? "" : " (not used)");
	else
		printf("landlock: unavailable in this kernel\n");
	printf("seccomp: libseccomp %u.%u.%u%s\n", v->major, v->minor, v->micro,
	       on ? " (allow-list, SIGSYS on anything else)" : " (not used)");
}
