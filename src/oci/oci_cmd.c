/* oci_cmd.c: create, start, state, kill and delete, as runc's command line has them.
 *
 * Each container is a directory --root/ID holding state.json (the record) and,
 * until `start`, exec.fifo (the container process waits on it). Every command
 * holds a flock on --root while it reads or changes a container (shared for
 * `state`), so two engines sharing a root never see half a container.
 */
#include "oci_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 4096

/* One option of a command: --name VALUE, --name=VALUE, or a flag. */
struct opt {
	const char *name; /* "--bundle" */
	const char *alias;
	const char **value; /* NULL: a flag */
	bool *flag;
};

/* Options anywhere before the positional arguments; returns how many positionals
 * (moved to pos[]), or -1 after reporting. */
static int parse_opts(const struct oci_ctx *ctx, int argc, char **argv, const struct opt *opts,
		      char **pos, int maxpos)
{
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1]) {
			if (npos == maxpos)
				return oci_error(ctx, "%s: unexpected argument %s", argv[0], a), -1;
			pos[npos++] = argv[i];
			continue;
		}
		const struct opt *o = opts;
		size_t len = strcspn(a, "=");
		for (; o->name; o++)
			if ((!strncmp(a, o->name, len) && !o->name[len]) ||
			    (o->alias && !strncmp(a, o->alias, len) && !o->alias[len]))
				break;
		if (!o->name)
			return oci_error(ctx, "%s: unknown option %s", argv[0], a), -1;
		if (!o->value) {
			if (a[len])
				return oci_error(ctx, "%s: option %s takes no value", argv[0], a),
				       -1;
			if (o->flag)
				*o->flag = true;
		} else if (a[len]) {
			*o->value = a + len + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			return oci_error(ctx, "%s: option %s needs a value", argv[0], a), -1;
		}
	}
	return npos;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_LEN];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0711) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, 0700) && errno != EEXIST ? -1 : 0;
}

/* The root's lock; -1 after reporting. Closing the fd releases it. */
static int lock_root(const struct oci_ctx *ctx, int how)
{
	if (mkdir_p(ctx->root))
		return oci_error(ctx, "--root %s: %s", ctx->root, strerror(errno)), -1;
	int fd = open(ctx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, how)) {
		oci_error(ctx, "--root %s: cannot lock: %s", ctx->root, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void container_path(const struct oci_ctx *ctx, const char *id, const char *file, char *out)
{
	snprintf(out, PATH_LEN, "%s/%s%s%s", ctx->root, id, file ? "/" : "", file ? file : "");
}

static int check_id(const struct oci_ctx *ctx, const char *cmd, int npos, char **pos)
{
	if (npos < 1)
		return oci_error(ctx, "%s: missing the container ID", cmd);
	if (!oci_valid_id(pos[0]))
		return oci_error(ctx, "%s: invalid container ID %s (letters, digits, _+-.)", cmd,
				 pos[0]);
	return 0;
}

/* The container's record; 1 if it does not exist (not reported when quiet). */
static int load(const struct oci_ctx *ctx, const char *id, struct oci_state *s, bool quiet)
{
	char path[PATH_LEN], err[256];
	container_path(ctx, id, "state.json", path);
	json_error_t e;
	json_t *rec = json_load_file(path, 0, &e);
	if (!rec && errno == ENOENT && access(path, F_OK))
		return quiet ? 1 : (oci_error(ctx, "container %s does not exist", id), 1);
	if (!rec)
		return oci_error(ctx, "%s: %s", path, e.text), -1;
	int rc = oci_state_from_record(rec, s, err, sizeof(err));
	json_decref(rec);
	if (rc)
		return oci_error(ctx, "%s: %s", path, err), -1;
	/* Every path is made from the record's id afterwards: it must be this one. */
	if (strcmp(s->id, id)) {
		oci_error(ctx, "%s: state record: its id is %s, not %s", path, s->id, id);
		oci_state_free(s);
		return -1;
	}
	return 0;
}

static enum oci_status status_now(const struct oci_ctx *ctx, const struct oci_state *s)
{
	char fifo[PATH_LEN];
	container_path(ctx, s->id, "exec.fifo", fifo);
	return oci_status_of(s, access(fifo, F_OK) == 0);
}

/* path written whole or not at all: a temporary beside it, then rename. The
 * temporary is made anew (as runc, O_EXCL): --pid-file's directory is the
 * engine's, and a symlink left at the temporary's name must not be written through. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[PATH_LEN + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	rc |= close(fd);
	if (rc || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void remove_container(const struct oci_ctx *ctx, const char *id)
{
	static const char *const files[] = {"exec.fifo", "state.json", "state.json.tmp", NULL};
	char path[PATH_LEN];
	for (int i = 0; files[i]; i++) {
		container_path(ctx, id, files[i], path);
		unlink(path);
	}
	container_path(ctx, id, NULL, path);
	rmdir(path);
}

/* proxy beside proxy-oci (make install puts them together); PROXY_OCI_PROXY for tests. */
static int find_proxy(char *out, size_t len)
{
	const char *env = getenv("PROXY_OCI_PROXY");
	if (env && *env)
		return snprintf(out, len, "%s", env) < (int)len ? 0 : -1;
	ssize_t n = readlink("/proc/self/exe", out, len - 7);
	if (n <= 0)
		return -1;
	out[n] = 0;
	char *slash = strrchr(out, '/');
	strcpy(slash + 1, "proxy");
	return 0;
}

static json_t *load_config(const struct oci_ctx *ctx, const char *bundle)
{
	char path[PATH_LEN + 16];
	json_error_t e;
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	json_t *config = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!config)
		oci_error(ctx, "%s: line %d: %s", path, e.line, e.text);
	return config;
}

/* Fork the container process; its pid once it reports ready, -1 after reporting. */
static pid_t spawn(const struct oci_ctx *ctx, const struct oci_plan *plan, const char *console,
		   const char *fifo, int lock)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC))
		return oci_error(ctx, "pipe: %s", strerror(errno)), -1;
	pid_t pid = fork();
	if (pid < 0)
		return oci_error(ctx, "fork: %s", strerror(errno)), -1;
	if (pid == 0) {
		close(lock); /* the flock belongs to the open file, which the child shares */
		close(ready[0]);
		oci_run_container(plan, console, fifo, ready[1]);
	}
	close(ready[1]);
	char msg[512];
	ssize_t n = read(ready[0], msg, sizeof(msg) - 1);
	close(ready[0]);
	if (n == 1 && msg[0] == 0)
		return pid;
	msg[n > 0 ? n : 0] = 0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return oci_error(ctx, "%s", n > 0 ? msg : "the container process ended during set-up"), -1;
}

static int record(const struct oci_ctx *ctx, const struct oci_state *s, const char *pid_file)
{
	char path[PATH_LEN], pidtext[32];
	json_t *rec = oci_state_record(s);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	container_path(ctx, s->id, "state.json", path);
	int rc = text ? write_atomic(path, text) : -1;
	free(text);
	if (rc)
		return oci_error(ctx, "%s: %s", path, strerror(errno));
	snprintf(pidtext, sizeof(pidtext), "%d", (int)s->pid);
	if (pid_file && write_atomic(pid_file, pidtext))
		return oci_error(ctx, "--pid-file %s: %s", pid_file, strerror(errno));
	return 0;
}

/* Everything checked, the directory made: the process forked and recorded. */
static int create_in(const struct oci_ctx *ctx, const char *id, const char *bundle,
		     const json_t *config, const struct oci_plan *plan, const char *console,
		     const char *pid_file, int lock)
{
	char fifo[PATH_LEN];
	container_path(ctx, id, "exec.fifo", fifo);
	if (mkfifo(fifo, 0600))
		return oci_error(ctx, "%s: %s", fifo, strerror(errno));
	struct oci_state s = {.id = (char *)id, .bundle = (char *)bundle};
	s.annotations = json_object_get(config, "annotations");
	s.pid = spawn(ctx, plan, console, fifo, lock);
	if (s.pid < 0)
		return 1;
	char st;
	if (oci_proc_stat(s.pid, &s.starttime, &st) || record(ctx, &s, pid_file)) {
		kill(s.pid, SIGKILL);
		return oci_proc_stat(s.pid, &s.starttime, &st)
			       ? oci_error(ctx, "the container process ended during set-up")
			       : 1;
	}
	return 0;
}

int oci_cmd_create(const struct oci_ctx *ctx, int argc, char **argv)
{
	const char *bundle_arg = ".", *pid_file = NULL, *console = NULL, *preserve = NULL;
	const struct opt opts[] = {{"--bundle", "-b", &bundle_arg, NULL},
				   {"--pid-file", NULL, &pid_file, NULL},
				   {"--console-socket", NULL, &console, NULL},
				   {"--preserve-fds", NULL, &preserve, NULL},
				   {"--no-pivot", NULL, NULL, NULL},
				   {"--no-new-keyring", NULL, NULL, NULL},
				   {NULL, NULL, NULL, NULL}};
	char *pos[1], bundle[PATH_LEN], proxy[PATH_LEN], err[1024], dir[PATH_LEN];
	int npos = parse_opts(ctx, argc, argv, opts, pos, 1);
	if (npos < 0 || check_id(ctx, "create", npos, pos))
		return 1;
	if (preserve && strcmp(preserve, "0"))
		return oci_error(ctx, "create: --preserve-fds is not supported (a guest has no "
				      "host descriptors)");
	if (!realpath(bundle_arg, bundle))
		return oci_error(ctx, "--bundle %s: %s", bundle_arg, strerror(errno));
	if (find_proxy(proxy, sizeof(proxy)))
		return oci_error(ctx, "cannot tell where proxy is");
	json_t *config = load_config(ctx, bundle);
	if (!config)
		return 1;
	struct oci_plan plan;
	if (oci_plan_build(bundle, config, proxy, &plan, err, sizeof(err))) {
		json_decref(config);
		return oci_error(ctx, "%s", err);
	}
	int rc = 1, lock = -1;
	if (plan.terminal && !console)
		oci_error(ctx, "process.terminal is true but no --console-socket was given");
	else if ((lock = lock_root(ctx, LOCK_EX)) >= 0) {
		container_path(ctx, pos[0], NULL, dir);
		if (mkdir(dir, 0700))
			rc = oci_error(ctx, "container %s: %s", pos[0],
				       errno == EEXIST ? "already exists" : strerror(errno));
		else if ((rc = create_in(ctx, pos[0], bundle, config, &plan, console, pid_file,
					 lock)))
			remove_container(ctx, pos[0]);
		close(lock);
	}
	oci_plan_free(&plan);
	json_decref(config);
	return rc;
}

int oci_cmd_start(const struct oci_ctx *ctx, int argc, char **argv)
{
	const struct opt opts[] = {{NULL, NULL, NULL, NULL}};
	char *pos[1], fifo[PATH_LEN], err[256];
	int npos = parse_opts(ctx, argc, argv, opts, pos, 1);
	if (npos < 0 || check_id(ctx, "start", npos, pos))
		return 1;
	int lock = lock_root(ctx, LOCK_EX), rc = 1;
	struct oci_state s;
	if (lock < 0 || load(ctx, pos[0], &s, false)) {
		if (lock >= 0)
			close(lock);
		return 1;
	}
	enum oci_status st = status_now(ctx, &s);
	container_path(ctx, s.id, "exec.fifo", fifo);
	if (st != OCI_CREATED)
		oci_error(ctx, "cannot start container %s: it is %s", s.id, oci_status_name(st));
	else if (oci_release(fifo, s.pid, err, sizeof(err)))
		oci_error(ctx, "start %s: %s", s.id, err);
	else
		rc = 0;
	if (!rc)
		unlink(fifo);
	oci_state_free(&s);
	close(lock);
	return rc;
}

int oci_cmd_state(const struct oci_ctx *ctx, int argc, char **argv)
{
	const struct opt opts[] = {{NULL, NULL, NULL, NULL}};
	char *pos[1];
	int npos = parse_opts(ctx, argc, argv, opts, pos, 1);
	if (npos < 0 || check_id(ctx, "state", npos, pos))
		return 1;
	int lock = lock_root(ctx, LOCK_SH);
	struct oci_state s;
	if (lock < 0 || load(ctx, pos[0], &s, false)) {
		if (lock >= 0)
			close(lock);
		return 1;
	}
	json_t *j = oci_state_json(&s, status_now(ctx, &s));
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
	oci_state_free(&s);
	close(lock);
	return text ? 0 : oci_error(ctx, "out of memory");
}

int oci_cmd_kill(const struct oci_ctx *ctx, int argc, char **argv)
{
	bool all = false;
	const struct opt opts[] = {{"--all", "-a", NULL, &all}, {NULL, NULL, NULL, NULL}};
	char *pos[2];
	int npos = parse_opts(ctx, argc, argv, opts, pos, 2);
	if (npos < 0 || check_id(ctx, "kill", npos, pos))
		return 1;
	int sig = npos > 1 ? oci_parse_signal(pos[1]) : SIGTERM;
	if (sig < 0)
		return oci_error(ctx, "kill: unknown signal %s", pos[1]);
	int lock = lock_root(ctx, LOCK_EX), rc = 1;
	struct oci_state s;
	if (lock < 0 || load(ctx, pos[0], &s, false)) {
		if (lock >= 0)
			close(lock);
		return 1;
	}
	if (status_now(ctx, &s) == OCI_STOPPED)
		oci_error(ctx, "container %s is not running", s.id);
	else if (kill(s.pid, sig))
		oci_error(ctx, "kill %s: %s", s.id, strerror(errno));
	else
		rc = 0;
	oci_state_free(&s);
	close(lock);
	return rc;
}

/* SIGKILL and wait (the process is not ours to reap: until it is gone or a zombie). */
static int kill_and_wait(const struct oci_ctx *ctx, struct oci_state *s)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	kill(s->pid, SIGKILL);
	for (int i = 0; i < 1000; i++) {
		if (status_now(ctx, s) == OCI_STOPPED)
			return 0;
		nanosleep(&tick, NULL);
	}
	return oci_error(ctx, "delete %s: process %d did not end after SIGKILL", s->id,
			 (int)s->pid);
}

int oci_cmd_delete(const struct oci_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	const struct opt opts[] = {{"--force", "-f", NULL, &force}, {NULL, NULL, NULL, NULL}};
	char *pos[1];
	int npos = parse_opts(ctx, argc, argv, opts, pos, 1);
	if (npos < 0 || check_id(ctx, "delete", npos, pos))
		return 1;
	int lock = lock_root(ctx, LOCK_EX), rc = 1;
	struct oci_state s;
	int found = lock < 0 ? -1 : load(ctx, pos[0], &s, force);
	if (found) {
		/* As runc: a directory with no record is what an interrupted create left;
		 * removed, or that ID could never be created again. */
		if (found == 1)
			remove_container(ctx, pos[0]);
		if (lock >= 0)
			close(lock);
		/* runc: --force on a container that is gone already is success. */
		return found == 1 && force ? 0 : 1;
	}
	enum oci_status st = status_now(ctx, &s);
	/* A created container has never run: deleting it ends its waiting process. */
	if (st == OCI_RUNNING && !force)
		oci_error(ctx, "cannot delete container %s: it is running (stop it, or --force)",
			  s.id);
	else if (st == OCI_STOPPED || !kill_and_wait(ctx, &s))
		rc = 0;
	if (!rc)
		remove_container(ctx, s.id);
	oci_state_free(&s);
	close(lock);
	return rc;
}

int oci_parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"HUP", SIGHUP},	{"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
		     {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"TERM", SIGTERM}, {"CONT", SIGCONT},
		     {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {NULL, 0}};
	char *end;
	long n = strtol(s, &end, 10);
	if (end != s && !*end)
		return n >= 1 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int i = 0; names[i].name; i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}
