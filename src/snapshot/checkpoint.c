/* checkpoint.c: HERMIT_CHECKPOINT's periodic checkpoints, and finding what
 * --restore continues.
 *
 * Every N seconds a thread pauses the VM, writes checkpoint-SEQ.ckpt.tmp in
 * HERMIT_CHECKPOINT_DIR, lets the VM go on, syncs the file and renames it: a file
 * with the final name is complete, and a proxy killed while writing leaves the
 * previous checkpoint as the latest. The first checkpoint is full, the following
 * ones incremental (each names its parent), unless HERMIT_FULLCHECKPOINT; every
 * CHAIN_FULL_EVERY-th is full again, so a restore reads a bounded chain, and after
 * a full one the older files are no longer needed and are removed.
 */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_internal.h"

struct checkpointer {
	struct vm *vm;
	int dirfd;
	uint64_t seq;	   /* of the last checkpoint written */
	unsigned in_chain; /* checkpoints since the last full one, that one included */
	pthread_t thread;
};

/* "checkpoint-000042.ckpt" -> 42; 0 for any other name. */
static uint64_t seq_of(const char *name)
{
	unsigned long long seq;
	int end = 0;
	const char *digits = name + strlen("checkpoint-");
	if (strncmp(name, "checkpoint-", strlen("checkpoint-")) ||
	    strspn(digits, "0123456789") < 6 ||
	    sscanf(name, "checkpoint-%llu.ckpt%n", &seq, &end) != 1 || name[end] != 0)
		return 0;
	return seq;
}

static void file_name(char *buf, size_t len, uint64_t seq, const char *suffix)
{
	snprintf(buf, len, "checkpoint-%06llu.ckpt%s", (unsigned long long)seq, suffix);
}

/* The highest sequence number in the directory (0: none). */
static uint64_t latest_seq(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	uint64_t max = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (seq_of(e->d_name) > max)
			max = seq_of(e->d_name);
	closedir(d);
	return max;
}

static void remove_older(int dirfd, uint64_t seq)
{
	char name[64];
	for (uint64_t s = seq; s-- > 1;) {
		file_name(name, sizeof(name), s, "");
		if (unlinkat(dirfd, name, 0) < 0 && errno == ENOENT)
			break; /* removed up to here before */
	}
}

/* One checkpoint: pause, write the .tmp, resume, sync, rename. */
static int take_one(struct checkpointer *cp, char *err, size_t errlen)
{
	struct vm *vm = cp->vm;
	const struct config *c = vm->cfg;
	uint64_t seq = cp->seq + 1, pages = 0, bytes = 0, t0 = now_ns();
	char tmp[64], name[64];
	file_name(tmp, sizeof(tmp), seq, ".tmp");
	file_name(name, sizeof(name), seq, "");
	/* A .tmp left by a proxy killed while writing goes; the new one is ours alone
	 * (O_EXCL: never a file someone else made, whatever its mode). */
	unlinkat(cp->dirfd, tmp, 0);
	int fd = openat(cp->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return snprintf(err, errlen, "%s/%s: %s", c->checkpoint_dir, tmp, strerror(errno)),
		       -1;
	enum snap_save_kind kind = c->full_checkpoint || cp->in_chain >= CHAIN_FULL_EVERY
					   ? SAVE_FULL
					   : SAVE_INCREMENTAL;
	bool full = kind == SAVE_FULL || !vm->snap->have_base;
	bool background = full && !c->checkpoint_paused;
	uint64_t paused_ns = 0;
	int rc = background ? ckpt_background_save(vm, fd, seq, &pages, &bytes, &paused_ns, err,
						   errlen)
			    : snapshot_pause(vm, err, errlen);
	if (!rc && !background) {
		rc = snapshot_save(vm, fd, kind, seq, cp->seq, &pages, &bytes, err, errlen);
		snapshot_resume(vm);
		paused_ns = now_ns() - t0;
	}
	if (!rc && fsync(fd) < 0)
		rc = (snprintf(err, errlen, "fsync: %s", strerror(errno)), -1);
	close(fd);
	if (!rc && renameat(cp->dirfd, tmp, cp->dirfd, name) < 0)
		rc = (snprintf(err, errlen, "rename: %s", strerror(errno)), -1);
	if (rc) {
		unlinkat(cp->dirfd, tmp, 0);
		vm->snap->have_base = false; /* the dirty log went into the lost file */
		return -1;
	}
	fsync(cp->dirfd);
	cp->seq = seq;
	cp->in_chain = full ? 1 : cp->in_chain + 1;
	if (full)
		remove_older(cp->dirfd, seq);
	if (c->verbose)
		warnx_("checkpoint %llu (%s): %llu pages, %llu KiB in %s/%s, VM paused %.1f ms%s",
		       (unsigned long long)seq, full ? "full" : "incremental",
		       (unsigned long long)pages, (unsigned long long)(bytes >> 10),
		       c->checkpoint_dir, name, paused_ns / 1e6,
		       background ? " (memory written in the background)" : "");
	return 0;
}

static void *checkpoint_thread(void *arg)
{
	struct checkpointer *cp = arg;
	struct vm *vm = cp->vm;
	struct pollfd p = {.fd = vm->end_fd, .events = POLLIN};
	int ms = (int)vm->cfg->checkpoint_interval * 1000;
	while (!atomic_load(&vm->ending)) {
		if (poll(&p, 1, ms) != 0 || atomic_load(&vm->ending))
			break;
		char err[512];
		if (take_one(cp, err, sizeof(err)) && !atomic_load(&vm->ending))
			warnx_("HERMIT_CHECKPOINT: checkpoint %llu not written: %s; the guest runs "
			       "on",
			       (unsigned long long)cp->seq + 1, err);
	}
	return NULL;
}

/* Who may own the checkpoint directory and its files: proxy's user (the one --user
 * makes it; before the drop, the one that started it) and root, as ssh checks its
 * files. Writing needs exactly the user proxy runs as after the drop. */
struct owners {
	unsigned uid[3]; /* the first is the one messages name */
	unsigned n;
};

static struct owners readers(const struct config *c)
{
	struct owners o = {{c->user ? c->user_uid : geteuid(), geteuid(), 0}, 3};
	return o;
}

static bool owned_by(const struct owners *o, unsigned uid)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->uid[i] == uid)
			return true;
	return false;
}

/* fd (what `what` names) belongs to one of `o` and no one else may write it. */
static int check_owner(int fd, const char *what, const struct owners *o, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return snprintf(err, errlen, "%s: %s", what, strerror(errno)), -1;
	if (!owned_by(o, st.st_uid))
		return snprintf(err, errlen,
				"%s belongs to uid %u, not to proxy's user (uid %u): "
				"refused (guest memory and state are in there)",
				what, (unsigned)st.st_uid, o->uid[0]),
		       -1;
	if (st.st_mode & 022)
		return snprintf(err, errlen,
				"%s is writable by %s (mode %04o): refused (chmod go-w "
				"it)",
				what, st.st_mode & 002 ? "others" : "its group",
				(unsigned)(st.st_mode & 07777)),
		       -1;
	return 0;
}

/* A copy of dir without its trailing '/'s, into path; -1 with a message when it does
 * not fit (a longer one would be cut short and another directory opened). */
static int strip_dir(const char *dir, char *path, size_t size, char *err, size_t errlen)
{
	size_t n = strlen(dir);
	if (n >= size)
		return snprintf(err, errlen,
				"the directory's path is %zu characters long, more than %zu: "
				"refused (%s)",
				n, size - 1, strerror(ENAMETOOLONG)),
		       -1;
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	return 0;
}

/* The directory itself, never a symbolic link to one ("DIR/" would follow it): its
 * last component is opened with O_NOFOLLOW; the components before it are followed,
 * as for any path proxy's user gives. */
static int open_dir_nofollow(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	if (strip_dir(dir, path, sizeof(path), err, errlen))
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		struct stat st;
		bool link = !lstat(path, &st) && S_ISLNK(st.st_mode);
		snprintf(err, errlen, "%s: %s", dir,
			 link ? "is a symbolic link: name the directory itself"
			      : "not a directory");
	} else if (fd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	return fd;
}

static bool dir_is_empty(int fd)
{
	int copy = dup(fd);
	DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
	if (!d) {
		if (copy >= 0)
			close(copy);
		return false;
	}
	bool empty = true;
	for (struct dirent *e; empty && (e = readdir(d));)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int checkpoint_claim_dir(int fd, bool made, const struct config *c, char *err, size_t errlen)
{
	const char *dir = c->checkpoint_dir;
	struct stat st;
	if (made && c->user) {
		/* Between mkdirat and openat, someone who may write the parent could have put
		 * a directory of their own (or another of root's) in its place: only the
		 * empty, private one proxy just made is given away. */
		if (fstat(fd, &st) < 0)
			return snprintf(err, errlen, "%s: %s", dir, strerror(errno)), -1;
		if (st.st_uid != geteuid() || (st.st_mode & 077) || !dir_is_empty(fd))
			return snprintf(err, errlen,
					"%s was replaced right after proxy made it (someone else "
					"may write %s's parent): refused",
					dir, dir),
			       -1;
		if (fchown(fd, c->user_uid, c->user_gid) < 0)
			return snprintf(err, errlen, "cannot give %s to %s: %s", dir, c->user,
					strerror(errno)),
			       -1;
	}
	struct owners user = {{c->user ? c->user_uid : geteuid()}, 1};
	if (check_owner(fd, dir, &user, err, errlen))
		return -1;
	if (fchmod(fd, 0700) < 0)
		return snprintf(err, errlen, "%s: chmod 0700: %s", dir, strerror(errno)), -1;
	return 0;
}

/* The parent of path (stripped of trailing '/'s) and its last component: "a/b" ->
 * "a" and "b", "b" -> "." and "b", "/b" -> "/" and "b". */
static const char *split_parent(char *path, const char **name)
{
	char *slash = strrchr(path, '/');
	if (!slash)
		return *name = path, ".";
	*name = slash + 1;
	if (slash == path)
		return "/";
	*slash = 0;
	return path;
}

/* HERMIT_CHECKPOINT_DIR, made if missing: mode 0700 and owned by the user proxy
 * runs as after --user (guest memory goes in there). One that exists must be that
 * user's and not writable by group or others; it is made 0700 like a new one. Made
 * and opened relative to its parent, opened once: what is checked, chowned and
 * written is one directory. */
static int open_checkpoint_dir(const struct config *c, char *err, size_t errlen)
{
	const char *dir = c->checkpoint_dir, *name;
	char path[4096];
	if (strip_dir(dir, path, sizeof(path), err, errlen))
		return -1;
	if (!strcmp(path, "/"))
		return snprintf(err, errlen, "/: not a directory proxy may take"), -1;
	const char *parent = split_parent(path, &name);
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno)), -1;
	bool made = mkdirat(pfd, name, 0700) == 0;
	int fd = -1;
	if (!made && errno != EEXIST)
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
	else if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		int e = errno;
		struct stat st;
		bool link = !fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode);
		snprintf(err, errlen, "%s: %s", dir,
			 link ? "is a symbolic link: name the directory itself"
			 : e == ELOOP || e == ENOTDIR ? "not a directory"
						      : strerror(e));
	}
	close(pfd);
	if (fd >= 0 && checkpoint_claim_dir(fd, made, c, err, errlen)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void checkpoint_prepare(struct vm *vm)
{
	const struct config *c = vm->cfg;
	if (!c->checkpoint_interval)
		return;
	struct checkpointer *cp = calloc(1, sizeof(*cp));
	char err[512];
	if (!cp)
		die("out of memory");
	cp->vm = vm;
	cp->dirfd = open_checkpoint_dir(c, err, sizeof(err));
	if (cp->dirfd < 0)
		die("HERMIT_CHECKPOINT_DIR: %s", err);
	cp->seq = latest_seq(cp->dirfd); /* a restored guest's chain goes on after it */
	vm->snap->checkpointer = cp;
}

void checkpoint_start(struct vm *vm)
{
	struct checkpointer *cp = vm->snap ? vm->snap->checkpointer : NULL;
	if (cp && pthread_create(&cp->thread, NULL, checkpoint_thread, cp))
		die("cannot start the checkpoint thread");
}

void checkpoint_join(struct vm *vm)
{
	struct checkpointer *cp = vm->snap ? vm->snap->checkpointer : NULL;
	if (cp)
		pthread_join(cp->thread, NULL);
}

/* Restore: the chain that ends at the latest checkpoint, full one first. Each file
 * a regular one of proxy's user, opened without following a link or waiting (a
 * FIFO named like a checkpoint must not hold the restore). */
static int open_seq(struct restore_source *src, int dirfd, uint64_t seq, const struct owners *o,
		    char *err, size_t errlen)
{
	char name[64];
	const char *path = src->names[src->n];
	file_name(name, sizeof(name), seq, "");
	snprintf(src->names[src->n], sizeof(src->names[0]), "%s/%s", src->dir, name);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return snprintf(err, errlen, "%s: %s", path,
				errno == ELOOP ? "is a symbolic link: refused" : strerror(errno)),
		       -1;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1)
		 : !S_ISREG(st.st_mode)
			 ? (snprintf(err, errlen, "%s is not a regular file: refused", path), -1)
			 : check_owner(fd, path, o, err, errlen);
	if (!rc && fcntl(fd, F_SETFL, 0) < 0)
		rc = (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	if (rc) {
		close(fd);
		return -1;
	}
	src->fds[src->n++] = fd;
	return 0;
}

/* The header's kind and parent, to follow the chain back; the full check comes
 * later, when the file is loaded. */
static int parent_of(int fd, const char *name, uint64_t *parent, char *err, size_t errlen)
{
	struct snap_reader r;
	struct snap_header h;
	snap_reader_init(&r, fd, name);
	int rc = snap_read_header(&r, &h);
	lseek(fd, 0, SEEK_SET);
	if (rc)
		return snprintf(err, errlen, "%s", r.err), -1;
	*parent = h.kind == SNAP_FULL ? 0 : h.parent_seq;
	if (h.kind != SNAP_FULL && (h.kind != SNAP_INCREMENTAL || !h.parent_seq))
		return snprintf(err, errlen,
				"%s is corrupt: an incremental checkpoint without a "
				"parent",
				name),
		       -1;
	return 0;
}

int checkpoint_open_latest(const struct config *c, struct restore_source *src, char *err,
			   size_t errlen)
{
	const char *dir = c->restore;
	struct owners o = readers(c);
	memset(src, 0, sizeof(*src));
	src->dir = dir;
	src->t0_ns = now_ns();
	int dirfd = open_dir_nofollow(dir, err, errlen);
	if (dirfd < 0)
		return -1;
	if (check_owner(dirfd, dir, &o, err, errlen)) {
		close(dirfd);
		return -1;
	}
	uint64_t seq = latest_seq(dirfd), chain[RESTORE_MAX_CHAIN];
	int n = 0, rc = 0;
	if (!seq) {
		close(dirfd);
		return snprintf(err, errlen,
				"no complete checkpoint in %s (files "
				"checkpoint-NNNNNN.ckpt)",
				dir),
		       -1;
	}
	struct restore_source probe = {.dir = dir};
	while (seq && !rc) {
		if (n == RESTORE_MAX_CHAIN) {
			rc = (snprintf(err, errlen, "%s: a chain of more than %d checkpoints", dir,
				       RESTORE_MAX_CHAIN),
			      -1);
			break;
		}
		chain[n++] = seq;
		probe.n = 0;
		rc = open_seq(&probe, dirfd, seq, &o, err, errlen);
		uint64_t parent = 0;
		rc = rc ?: parent_of(probe.fds[0], probe.names[0], &parent, err, errlen);
		if (probe.n)
			close(probe.fds[0]);
		if (!rc && parent >= seq)
			rc = (snprintf(err, errlen, "%s is corrupt: its parent is checkpoint %llu",
				       probe.names[0], (unsigned long long)parent),
			      -1);
		seq = parent;
	}
	for (int i = n - 1; i >= 0 && !rc; i--) /* the full one first */
		rc = open_seq(src, dirfd, chain[i], &o, err, errlen);
	close(dirfd);
	if (rc)
		restore_source_close(src);
	return rc;
}

void restore_source_close(struct restore_source *src)
{
	for (int i = 0; i < src->n; i++)
		if (src->fds[i] >= 0)
			close(src->fds[i]);
	src->n = 0;
}
