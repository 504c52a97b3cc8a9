/* test_sandbox.c: what the sandbox lets through and what it stops (src/sandbox).
 *
 * Each case runs in a child process, since the filter and Landlock cannot be
 * undone: the child installs them, tries something, and the parent checks how the
 * child ended and what it printed. No KVM needed.
 */
#include "sandbox.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct outcome {
	int status; /* exit status, or 1000 + signal */
	char err[1024];
};

/* Run fn in a child whose stderr is captured. */
static struct outcome in_child(int (*fn)(void *), void *arg)
{
	struct outcome o = {0};
	int p[2];
	if (pipe(p))
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		_exit(fn(arg));
	}
	close(p[1]);
	size_t got = 0;
	ssize_t r;
	while (got < sizeof(o.err) - 1 &&
	       (r = read(p[0], o.err + got, sizeof(o.err) - 1 - got)) > 0)
		got += (size_t)r;
	close(p[0]);
	int ws;
	waitpid(pid, &ws, 0);
	o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000 + WTERMSIG(ws);
	return o;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int filtered(void)
{
	char why[256];
	if (sandbox_seccomp(why, sizeof(why))) {
		fprintf(stderr, "install: %s\n", why);
		return 99;
	}
	return 0;
}

/* Threads, files and pipes keep working under the filter. */
static int allowed_work(void *arg)
{
	(void)arg;
	if (filtered())
		return 99;
	pthread_t t;
	void *ret = NULL;
	if (pthread_create(&t, NULL, thread_fn, (void *)7) || pthread_join(t, &ret) ||
	    ret != (void *)7)
		return 10;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		return 11;
	int p[2];
	if (pipe2(p, O_CLOEXEC) || write(p[1], "y", 1) != 1)
		return 12;
	/* proxy's signal thread waits in sigtimedwait/sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec soon = {0, 1000};
	if (sigtimedwait(&set, NULL, &soon) != -1 || errno != EAGAIN)
		return 13;
	return 0;
}

/* readline's history writer chowns the file it rewrote and ignores failure: the
 * chown family answers EPERM rather than ending the process. */
static int try_chown(void *arg)
{
	(void)arg;
	if (filtered())
		return 99;
	if (chown("/dev/null", getuid(), getgid()) != -1 || errno != EPERM)
		return 20;
	if (lchown("/dev/null", getuid(), getgid()) != -1 || errno != EPERM)
		return 21;
	if (fchown(STDERR_FILENO, getuid(), getgid()) != -1 || errno != EPERM)
		return 22;
	if (fchownat(AT_FDCWD, "/dev/null", getuid(), getgid(), 0) != -1 || errno != EPERM)
		return 23;
	return 0;
}

static int try_ptrace(void *arg)
{
	(void)arg;
	if (filtered())
		return 99;
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0; /* not reached: the filter ends the process */
}

static int try_fork(void *arg)
{
	(void)arg;
	if (filtered())
		return 99;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return 0; /* not reached */
}

static int try_exec(void *arg)
{
	(void)arg;
	if (filtered())
		return 99;
	execl("/bin/true", "true", (char *)NULL);
	return 0; /* not reached */
}

static void check_filter(void)
{
	struct outcome o = in_child(allowed_work, NULL);
	CHECK_EQ(o.status, 0);
	CHECK_STR(o.err, "");

	o = in_child(try_chown, NULL);
	CHECK_EQ(o.status, 0);
	CHECK_STR(o.err, "");

	o = in_child(try_ptrace, NULL);
	CHECK_EQ(o.status, STATUS_SANDBOX);
	CHECK(strstr(o.err, "the sandbox stopped a forbidden system call: ptrace") != NULL);
	CHECK(strstr(o.err, "--no-sandbox") != NULL);

	o = in_child(try_fork, NULL); /* glibc's fork is clone without CLONE_THREAD */
	CHECK_EQ(o.status, STATUS_SANDBOX);
	CHECK(strstr(o.err, "forbidden system call: clone ") != NULL);

	o = in_child(try_exec, NULL);
	CHECK_EQ(o.status, STATUS_SANDBOX);
	CHECK(strstr(o.err, "forbidden system call: execve") != NULL);
}

struct tree {
	char root[64], inside[128], outside[128];
};

/* Landlock allows the `inside` directory and nothing else of the tree. */
static int landlocked(void *arg)
{
	struct tree *t = arg;
	struct sandbox_paths paths = {0};
	sandbox_allow(&paths, t->inside, SANDBOX_READ_WRITE);
	sandbox_allow(&paths, "/nonexistent/path/of/test_sandbox", SANDBOX_READ); /* ignored */
	char why[256], path[256];
	if (sandbox_landlock(&paths, why, sizeof(why)) <= 0) {
		fprintf(stderr, "landlock: %s\n", why);
		return 99;
	}
	snprintf(path, sizeof(path), "%s/new", t->inside);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "ok", 2) != 2)
		return 20;
	close(fd);
	snprintf(path, sizeof(path), "%s/file", t->outside);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 21;
	snprintf(path, sizeof(path), "%s/new", t->outside);
	if (open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0 || errno != EACCES)
		return 22;
	/* `..` from inside does not reach beyond the rule either. */
	snprintf(path, sizeof(path), "%s/../outside/file", t->inside);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 23;
	return 0;
}

static void check_landlock(void)
{
	if (!sandbox_landlock_abi()) {
		printf("skipped: Landlock checks (this kernel has no Landlock)\n");
		return;
	}
	struct tree t;
	snprintf(t.root, sizeof(t.root), "/tmp/test_sandbox.XXXXXX");
	CHECK(mkdtemp(t.root) != NULL);
	snprintf(t.inside, sizeof(t.inside), "%s/inside", t.root);
	snprintf(t.outside, sizeof(t.outside), "%s/outside", t.root);
	CHECK_EQ(mkdir(t.inside, 0700), 0);
	CHECK_EQ(mkdir(t.outside, 0700), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/file", t.outside);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);

	struct outcome o = in_child(landlocked, &t);
	CHECK_EQ(o.status, 0);
	CHECK_STR(o.err, "");
	snprintf(path, sizeof(path), "%s/new", t.inside);
	CHECK_EQ(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/new", t.outside);
	CHECK(access(path, F_OK) != 0);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t.root);
	CHECK_EQ(system(cmd), 0);
}

/* Proxy's own places: the core file's directory, "." for a bare name. */
static void check_plan(void)
{
	struct sandbox_paths s = {0};
	struct sandbox_needs n = {.coredump = "/var/tmp/cores/guest.core", .history = "hist"};
	sandbox_plan(&n, &s);
	bool core_dir = false, cwd = false, tmp = false;
	for (unsigned i = 0; i < s.n; i++) {
		core_dir |= !strcmp(s.p[i].path, "/var/tmp/cores") &&
			    s.p[i].access == SANDBOX_READ_WRITE;
		cwd |= !strcmp(s.p[i].path, ".") && s.p[i].access == SANDBOX_READ_WRITE;
		tmp |= !strcmp(s.p[i].path, "/tmp");
	}
	CHECK(core_dir);
	CHECK(cwd);  /* the history file "hist" lies in "." */
	CHECK(!tmp); /* no debugger: no dumps to the temporary directory */

	struct sandbox_paths d = {0};
	struct sandbox_needs dn = {.debugger = true, .tmpdir = "/scratch"};
	sandbox_plan(&dn, &d);
	bool scratch = false;
	for (unsigned i = 0; i < d.n; i++)
		scratch |= !strcmp(d.p[i].path, "/scratch");
	CHECK(scratch);
}

/* Finding 7: a rule past SANDBOX_MAX_PATHS is not dropped silently (that dropped
 * the checkpoint directory's): Landlock refuses the whole list instead. */
static void check_overflow(void)
{
	static struct sandbox_paths paths;
	for (int i = 0; i < SANDBOX_MAX_PATHS; i++)
		sandbox_allow(&paths, "/tmp", SANDBOX_READ);
	CHECK(!paths.overflow);
	sandbox_allow(&paths, "/checkpoint-dir", SANDBOX_READ_WRITE);
	CHECK(paths.overflow);
	char why[256] = "";
	CHECK_EQ(sandbox_landlock(&paths, why, sizeof(why)), -1);
	CHECK(strstr(why, "more than 64 paths") != NULL);
}

int main(void)
{
	check_overflow();
	check_plan();
	check_filter();
	check_landlock();
	return unit_report();
}
