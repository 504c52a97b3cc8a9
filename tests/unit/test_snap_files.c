/* test_snap_files.c: a checkpoint's FILES records reopen only with the open flags a
 * guest's OPEN can have (FILES_OPEN_FLAGS, src/snapshot/snap_files.c): O_PATH,
 * O_TMPFILE on a read-write mount, O_NOATIME, O_DIRECT, O_ASYNC, O_SYNC are
 * refused, with a message, whatever a planted checkpoint says. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypercall.h"
#include "mounts.h"
#include "snap_internal.h"
#include "unit.h"

static struct vm vm;
static char scratch[] = "/tmp/test_snap_files.XXXXXX";

struct file_record {
	uint32_t guest_fd;
	int32_t flags;
	int64_t offset;
	uint32_t path_len;
} __attribute__((packed));

/* One record for /data/a.txt with `flags`: 0 (reopened) or -1 with err. */
static int reopen_with(int flags, char *err, size_t errlen)
{
	static const char path[] = "/data/a.txt";
	uint8_t buf[sizeof(struct file_record) + sizeof(path)];
	struct file_record r = {3, flags, 0, (uint32_t)strlen(path)};
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), path, r.path_len);
	struct snap_files_ready *f;
	err[0] = 0;
	int rc = snap_files_open(&vm, buf, sizeof(r) + r.path_len, &f, err, errlen);
	if (!rc)
		snap_files_free(f);
	return rc;
}

static void test_flags(void)
{
	char err[512];
	CHECK_EQ(reopen_with(O_RDONLY, err, sizeof(err)), 0);
	CHECK_EQ(reopen_with(O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, err, sizeof(err)),
		 0);
	CHECK_EQ(reopen_with(O_WRONLY | O_NONBLOCK, err, sizeof(err)), 0);
	static const int bad[] = {
		O_PATH,	    O_RDWR | O_TMPFILE, O_NOATIME, O_RDONLY | O_DIRECT, O_ASYNC, O_SYNC,
		O_NOFOLLOW, O_NOCTTY,		0100000 /* the kernel's O_LARGEFILE */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(reopen_with(bad[i], err, sizeof(err)), -1);
		CHECK(strstr(err, "that a guest's open cannot have") != NULL);
	}
}

static void cleanup(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/a.txt", scratch);
	unlink(path);
	rmdir(scratch);
}

int main(void)
{
	static struct config cfg;
	char path[128], err[512];
	if (!mkdtemp(scratch))
		return 1;
	snprintf(path, sizeof(path), "%s/a.txt", scratch);
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fputs("a\n", f);
	fclose(f);
	struct mount_spec specs[] = {{scratch, "/data", false}};
	vm.cfg = &cfg;
	vm.mounts = mounts_open(specs, 1, NULL, err, sizeof(err));
	CHECK(vm.mounts != NULL);
	if (vm.mounts)
		test_flags();
	mounts_close(vm.mounts);
	cleanup();
	return unit_report();
}
