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
	int fd =
		openat(cp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return snprintf(err, errlen, "%s/%s: %s", c->checkpoint_dir, tmp, strerror(errno)),
		       -1;
	enum snap_save_kind kind = c->full_checkpoint || cp->in_chain >= CHAIN_FULL_EVERY
					   ? SAVE_FULL
					   : SAVE_INCREMENTAL;
	bool full = kind == SAVE_FULL || !vm->snap->have_base;
	int rc = snapshot_pause(vm, err, errlen);
	if (!rc) {
		rc = snapshot_save(vm, fd, kind, seq, cp->seq, &pages, &bytes, err, errlen);
		snapshot_resume(vm);
	}
	uint64_t paused_ns = now_ns() - t0;
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
		warnx_("checkpoint %llu (%s): %llu pages, %llu KiB in %s/%s, VM paused %.1f ms",
		       (unsigned long long)seq, full ? "full" : "incremental",
		       (unsigned long long)pages, (unsigned long long)(bytes >> 10),
		       c->checkpoint_dir, name, paused_ns / 1e6);
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

/* The directory, made if missing (mode 0700: guest memory is in there). */
static int open_dir(const char *dir, bool create, char *err, size_t errlen)
{
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno)), -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
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
	cp->dirfd = open_dir(c->checkpoint_dir, true, err, sizeof(err));
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

/* Restore: the chain that ends at the latest checkpoint, full one first. */
static int open_seq(struct restore_source *src, int dirfd, uint64_t seq, char *err, size_t errlen)
{
	char name[64];
	file_name(name, sizeof(name), seq, "");
	snprintf(src->names[src->n], sizeof(src->names[0]), "%s/%s", src->dir, name);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return snprintf(err, errlen, "%s: %s", src->names[src->n], strerror(errno)), -1;
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

int checkpoint_open_latest(const char *dir, struct restore_source *src, char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	src->dir = dir;
	int dirfd = open_dir(dir, false, err, errlen);
	if (dirfd < 0)
		return -1;
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
		rc = open_seq(&probe, dirfd, seq, err, errlen);
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
		rc = open_seq(src, dirfd, chain[i], err, errlen);
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
