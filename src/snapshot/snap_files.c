/* snap_files.c: the guest's open files in a FILES section, reopened at restore.
 *
 * Record per open guest fd above 2 (0-2 are proxy's own stdio, never saved):
 * u32 guest fd, i32 open flags, i64 offset (-1: not seekable), u32 path length,
 * the guest's path. A restore reopens each path through the same file policy
 * (--mount) the guest's open went through, without O_CREAT, O_EXCL or O_TRUNC
 * (flags a guest's open cannot have, FILES_OPEN_FLAGS, are refused), and seeks to
 * the offset: the file goes on where the guest left it. A file that
 * is gone is a refusal, not a silently different guest.
 */
#include "snap_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypercall.h"
#include "mounts.h"

struct file_record {
	uint32_t guest_fd;
	int32_t flags;
	int64_t offset;
	uint32_t path_len;
} __attribute__((packed));

int snap_files_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&vm->fds.lock);
	for (int i = 3; i < GUEST_FD_MAX && !rc; i++) {
		if (vm->fds.host[i] < 0 || vm->fds.closing[i])
			continue;
		const char *path = vm->fds.path[i];
		if (!path) {
			snprintf(err, errlen,
				 "guest fd %d was not opened by path: it cannot be "
				 "saved",
				 i);
			rc = -1;
			break;
		}
		off_t off = lseek(vm->fds.host[i], 0, SEEK_CUR);
		struct file_record r = {(uint32_t)i, vm->fds.flags[i], off < 0 ? -1 : (int64_t)off,
					(uint32_t)strlen(path)};
		snap_buf_put(b, &r, sizeof(r));
		snap_buf_put(b, path, r.path_len);
	}
	pthread_mutex_unlock(&vm->fds.lock);
	if (!rc && b->failed)
		return snprintf(err, errlen, "out of memory"), -1;
	return rc;
}

/* Open one saved file through the file policy: without O_CREAT, O_EXCL, O_TRUNC,
 * and without waiting (a FIFO with no writer must not hold the restore). */
static int reopen(struct vm *vm, const struct file_record *r, const char *path, char *err,
		  size_t errlen)
{
	if (r->flags & ~FILES_OPEN_FLAGS)
		return snprintf(err, errlen,
				"cannot reopen the guest's file %s (guest fd %u): open flags 0%o "
				"that a guest's open cannot have",
				path, r->guest_fd, (unsigned)(r->flags & ~FILES_OPEN_FLAGS)),
		       -1;
	int flags = r->flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	int fd = mounts_open_path(vm->mounts, path, flags | O_NONBLOCK, 0);
	if (fd < 0)
		return snprintf(err, errlen, "cannot reopen the guest's file %s (guest fd %u): %s",
				path, r->guest_fd, strerror(-fd)),
		       -1;
	if (files_is_forbidden(fd) || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "cannot reopen the guest's file %s (guest fd %u): %s", path,
			 r->guest_fd,
			 files_is_forbidden(fd) ? "the guest may not hold it" : strerror(errno));
		close(fd);
		return -1;
	}
	if (r->offset >= 0 && lseek(fd, r->offset, SEEK_SET) < 0) {
		snprintf(err, errlen,
			 "cannot reopen the guest's file %s (guest fd %u): seek to "
			 "%lld: %s",
			 path, r->guest_fd, (long long)r->offset, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct reopened {
	int guest_fd, host_fd, flags;
	char *path;
};

struct snap_files_ready {
	struct reopened *o;
	int n;
};

void snap_files_free(struct snap_files_ready *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++) {
		if (f->o[i].host_fd >= 0)
			close(f->o[i].host_fd);
		free(f->o[i].path);
	}
	free(f->o);
	free(f);
}

/* Every file opens before the guest's present descriptors are given up: a file
 * that is gone leaves a running VM (loadvm) as it was. */
int snap_files_open(struct vm *vm, const void *payload, uint64_t len, struct snap_files_ready **out,
		    char *err, size_t errlen)
{
	const uint8_t *p = payload;
	struct snap_files_ready *f = calloc(1, sizeof(*f));
	*out = NULL;
	if (!f)
		return snprintf(err, errlen, "out of memory"), -1;
	for (uint64_t off = 0; off < len;) {
		struct file_record r;
		char path[4096];
		if (len - off < sizeof(r))
			goto malformed;
		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.path_len >= sizeof(path) || r.path_len > len - off || r.guest_fd < 3 ||
		    r.guest_fd >= GUEST_FD_MAX)
			goto malformed;
		memcpy(path, p + off, r.path_len);
		path[r.path_len] = 0;
		off += r.path_len;
		for (int i = 0; i < f->n; i++)
			if (f->o[i].guest_fd == (int)r.guest_fd)
				goto malformed; /* the same fd twice */
		struct reopened *more = realloc(f->o, (size_t)(f->n + 1) * sizeof(*f->o));
		if (!more)
			goto nomem;
		f->o = more;
		int fd = reopen(vm, &r, path, err, errlen);
		if (fd < 0) {
			snap_files_free(f);
			return -1;
		}
		f->o[f->n++] = (struct reopened){(int)r.guest_fd, fd, r.flags, strdup(path)};
	}
	*out = f;
	return 0;
nomem:
	snap_files_free(f);
	return snprintf(err, errlen, "out of memory"), -1;
malformed:
	snap_files_free(f);
	snprintf(err, errlen, "its files section is malformed");
	return -1;
}

/* The guest's descriptors replaced by the reopened files; f is used up. Cannot
 * fail: snap_files_open refused a guest fd saved twice. */
void snap_files_install(struct vm *vm, struct snap_files_ready *f)
{
	fd_table_close_all(vm);
	for (int i = 0; i < f->n; i++)
		if (fd_install_at(vm, f->o[i].guest_fd, f->o[i].host_fd, f->o[i].path,
				  f->o[i].flags) >= 0)
			f->o[i].host_fd = -1; /* the table's now (it copied the path) */
	snap_files_free(f);
}

int snap_files_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	struct snap_files_ready *f;
	if (snap_files_open(vm, payload, len, &f, err, errlen))
		return -1;
	snap_files_install(vm, f);
	return 0;
}
