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

static int reopen(struct vm *vm, const struct file_record *r, const char *path, char *err,
		  size_t errlen)
{
	int fd = mounts_open_path(vm->mounts, path, r->flags & ~(O_CREAT | O_EXCL | O_TRUNC), 0);
	if (fd < 0)
		return snprintf(err, errlen, "cannot reopen the guest's file %s (guest fd %u): %s",
				path, r->guest_fd, strerror(-fd)),
		       -1;
	if (r->offset >= 0 && lseek(fd, r->offset, SEEK_SET) < 0) {
		snprintf(err, errlen,
			 "cannot reopen the guest's file %s (guest fd %u): seek to "
			 "%lld: %s",
			 path, r->guest_fd, (long long)r->offset, strerror(errno));
		close(fd);
		return -1;
	}
	int rc = fd_install_at(vm, (int)r->guest_fd, fd, path, r->flags);
	if (rc < 0) {
		close(fd);
		return snprintf(err, errlen, "cannot reopen the guest's file %s as guest fd %u: %s",
				path, r->guest_fd, strerror(-rc)),
		       -1;
	}
	return 0;
}

int snap_files_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	fd_table_close_all(vm); /* loadvm: the files of the snapshot, not the present's */
	for (uint64_t off = 0; off < len;) {
		struct file_record r;
		if (len - off < sizeof(r))
			goto malformed;
		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.path_len >= 4096 || r.path_len > len - off)
			goto malformed;
		char path[4096];
		memcpy(path, p + off, r.path_len);
		path[r.path_len] = 0;
		off += r.path_len;
		if (reopen(vm, &r, path, err, errlen))
			return -1;
	}
	return 0;
malformed:
	snprintf(err, errlen, "its files section is malformed");
	return -1;
}
