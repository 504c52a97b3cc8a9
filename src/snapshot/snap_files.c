/* snap_files.c: the guest's open files in a FILES section, reopened at restore.
 *
 * Record per open guest fd above 2 (0-2 are proxy's own stdio, never saved):
 * u32 guest fd, i32 open flags, i64 offset (-1: not seekable), u32 path length,
 * the guest's path. A restore reopens each path through the same file policy
 * (--mount) the guest's open went through, without O_CREAT, O_EXCL or O_TRUNC,
 * and seeks to the offset: the file goes on where the guest left it. A file that
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

static void drop_reopened(struct reopened *o, int n)
{
	for (int i = 0; i < n; i++) {
		close(o[i].host_fd);
		free(o[i].path);
	}
	free(o);
}

/* Every file opens before the guest's present descriptors are given up: a file
 * that is gone leaves a running VM (loadvm) as it was. */
int snap_files_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	struct reopened *o = NULL;
	int n = 0;
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
		for (int i = 0; i < n; i++)
			if (o[i].guest_fd == (int)r.guest_fd)
				goto malformed; /* the same fd twice */
		struct reopened *more = realloc(o, (size_t)(n + 1) * sizeof(*o));
		if (!more)
			goto nomem;
		o = more;
		int fd = reopen(vm, &r, path, err, errlen);
		if (fd < 0) {
			drop_reopened(o, n);
			return -1;
		}
		o[n++] = (struct reopened){(int)r.guest_fd, fd, r.flags, strdup(path)};
	}
	fd_table_close_all(vm);
	for (int i = 0; i < n; i++) {
		if (fd_install_at(vm, o[i].guest_fd, o[i].host_fd, o[i].path, o[i].flags) < 0) {
			snprintf(err, errlen, "guest fd %d is saved twice", o[i].guest_fd);
			for (int k = i; k < n; k++)
				close(o[k].host_fd);
			for (int k = 0; k < n; k++)
				free(o[k].path);
			free(o);
			return -1;
		}
		free(o[i].path);
	}
	free(o);
	return 0;
nomem:
	drop_reopened(o, n);
	return snprintf(err, errlen, "out of memory"), -1;
malformed:
	drop_reopened(o, n);
	snprintf(err, errlen, "its files section is malformed");
	return -1;
}
