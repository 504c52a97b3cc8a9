/* oci_run.c: the container process between `create` and `start`, and its release.
 *
 * As runc's init: `create` forks this process, which the engine supervises (its
 * pid goes to --pid-file); it blocks opening the container's exec.fifo for writing
 * until `start` opens it for reading, then execs proxy, so the supervised pid is
 * proxy itself with the stdio the engine gave (or the pty it asked for).
 */
#include "oci_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The pty master to the engine over its unix socket (SCM_RIGHTS), as runc sends it:
 * the payload is the terminal's name. */
static int send_master(const char *socket_path, int master, const char *name, char *err,
		       size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--console-socket %s: path too long", socket_path);
		return -1;
	}
	strcpy(sa.sun_path, socket_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "--console-socket %s: %s", socket_path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
	int e = errno;
	close(s);
	if (n < 0) {
		snprintf(err, errlen, "--console-socket %s: sending the terminal: %s", socket_path,
			 strerror(e));
		return -1;
	}
	return 0;
}

/* A new pty whose slave becomes stdio and the controlling terminal of a new session. */
static int setup_terminal(const char *socket_path, char *err, size_t errlen)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) || unlockpt(master) ||
	    ptsname_r(master, name, sizeof(name))) {
		snprintf(err, errlen, "cannot allocate a terminal: %s", strerror(errno));
		return -1;
	}
	int rc = send_master(socket_path, master, name, err, errlen);
	close(master);
	if (rc)
		return -1;
	int slave = -1;
	if (setsid() < 0 || (slave = open(name, O_RDWR)) < 0 || ioctl(slave, TIOCSCTTY, 0) ||
	    dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
		snprintf(err, errlen, "cannot make %s the terminal: %s", name, strerror(errno));
		return -1;
	}
	if (slave > 2)
		close(slave);
	return 0;
}

void oci_run_container(const struct oci_plan *plan, const char *console_socket, const char *fifo,
		       int ready)
{
	char err[512];
	/* An engine may start us with stdio closed, so the pipe may sit on 0-2, which
	 * the terminal's set-up replaces: move it out of the way first. */
	if (ready <= 2) {
		int moved = fcntl(ready, F_DUPFD_CLOEXEC, 3);
		if (moved >= 0)
			ready = moved;
	}
	/* proxy starts with the signals as a new process has them, whatever the engine
	 * ignored or blocked (exec keeps both). */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (plan->terminal && setup_terminal(console_socket, err, sizeof(err))) {
		(void)!write(ready, err, strlen(err));
		_exit(1);
	}
	(void)!write(ready, "", 1);
	close(ready);
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(1);
	close(fd);
	/* Descriptors an engine leaked to us are not the guest's (runc closes them too). */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* proxy reads HERMIT_* from its environment: it gets none, only its flags. */
	char *no_env[] = {NULL};
	execve(plan->argv[0], plan->argv, no_env);
	dprintf(2, "proxy-oci: cannot run %s: %s\n", plan->argv[0], strerror(errno));
	_exit(127);
}

/* A zombie has ended too (whoever reaps it may not have yet). */
static bool alive(pid_t pid)
{
	unsigned long long start;
	char st;
	return !oci_proc_stat(pid, &start, &st) && st != 'Z' && st != 'X';
}

int oci_release(const char *fifo, pid_t pid, char *err, size_t errlen)
{
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", fifo, strerror(errno));
		return -1;
	}
	/* The writer opens once we are here, then writes its byte; it may still be
	 * setting up, so poll, and give up if it died, or after 10 s if it is stopped
	 * or frozen: the caller holds the lock every command on --root waits for. */
	struct timespec tick = {0, 5 * 1000 * 1000};
	char b;
	ssize_t n;
	for (int i = 0; (n = read(fd, &b, 1)) != 1 && (n == 0 || errno == EAGAIN || errno == EINTR);
	     i++) {
		if (!alive(pid) || i == 2000) {
			close(fd);
			snprintf(err, errlen, "the container process %d %s", (int)pid,
				 i == 2000 ? "did not take the start within 10 s (is it stopped?)"
					   : "ended before start");
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	close(fd);
	if (n != 1) {
		snprintf(err, errlen, "%s: %s", fifo, strerror(errno));
		return -1;
	}
	return 0;
}
