/* fuzz_snap_mem.c: a checkpoint's MEM payload (snapshot/snap_mem.c: a run of pages,
 * its bitmaps and data) loaded into 64 MiB of guest RAM. Input: the payload (seeds:
 * small MEM sections of real checkpoints, full and incremental, and edge cases).
 */
#include <stdint.h>

#include "fuzz_quiet.h"
#include "fuzz_snap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static struct config cfg;
	fuzz_quiet();
	fuzz_snap_vm_init(&vm, &cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	snap_mem_load(&vm, data, size, err, sizeof(err));
	return 0;
}
