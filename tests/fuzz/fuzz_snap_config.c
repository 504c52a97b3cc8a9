/* fuzz_snap_config.c: a checkpoint's CONFIG payload (snapshot/snap_config.c:
 * key=value lines, %-escaped) through snap_config_parse, as a restore reads it.
 * Input: the payload (seeds: CONFIG sections of real checkpoints, and edge cases).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_quiet.h"
#include "fuzz_snap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_config sc;
	char err[512];
	memset(&sc, 0, sizeof(sc));
	snap_config_parse(size ? data : NULL, size, &sc, err, sizeof(err));
	snapshot_free_config(&sc);
	return 0;
}
