/* fuzz_snap_files.c: a checkpoint's FILES payload (snapshot/snap_files.c) reopened
 * through a file policy and put in a guest's descriptor table, as a restore and
 * loadvm do. Input: the payload (seeds: FILES sections of real checkpoints with
 * their paths moved under /data, and edge cases).
 *
 * The policy maps a scratch directory made at start at /data (read-write) and a
 * file in it at /etc/one.txt (read-only). A restore opens without O_CREAT and
 * O_TRUNC, so nothing there changes but for O_TMPFILE's unnamed files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_quiet.h"
#include "fuzz_snap.h"
#include "mounts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static char scratch[] = "/tmp/fuzz_snap_files.XXXXXX";

/* The scratch directory goes when the run ends. */
static void remove_dir(void)
{
	static const char *const names[] = {"sub/b.txt", "sub", "fifo", "one.txt", "out.txt"};
	char path[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", scratch, names[i]);
		if (remove(path))
			continue;
	}
	rmdir(scratch);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char one[64], sub[64], fifo[64];
	static struct config cfg;
	fuzz_quiet();
	if (!mkdtemp(scratch))
		abort();
	atexit(remove_dir);
	put(scratch, "out.txt", "the guest's output\n");
	put(scratch, "one.txt", "one\n");
	snprintf(sub, sizeof(sub), "%s/sub", scratch);
	snprintf(fifo, sizeof(fifo), "%s/fifo", scratch);
	mkdir(sub, 0755);
	mkfifo(fifo, 0600); /* opened O_NONBLOCK: must not wait for a writer */
	put(sub, "b.txt", "B\n");
	snprintf(one, sizeof(one), "%s/one.txt", scratch);
	struct mount_spec specs[] = {{scratch, "/data", false}, {one, "/etc/one.txt", true}};
	char err[512];
	fuzz_snap_vm_init(&vm, &cfg);
	vm.mounts = mounts_open(specs, 2, NULL, err, sizeof(err));
	if (!vm.mounts)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct snap_files_ready *f;
	if (snap_files_open(&vm, data, size, &f, err, sizeof(err)) == 0)
		snap_files_install(&vm, f);
	fd_table_close_all(&vm);
	return 0;
}
