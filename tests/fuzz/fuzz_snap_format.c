/* fuzz_snap_format.c: the checkpoint container (snapshot/snap_format.c) and the way a
 * restore and loadvm read it (snapshot_read_config, then every section to the END,
 * snap_check_host against this host's header).
 *
 * Input: one control byte, then a checkpoint stream. Control bit 0 clear: the
 * header's and the sections' CRCs are fixed up first (fuzz_snap.h), so mutations
 * reach the checks behind them; set: the stream is read as it is (the checksum
 * paths). Seeds: real checkpoints written by proxy with tests/guest/ckpt.c, cut to a
 * few small sections, and hand-made edge cases (tests/fuzz/make-snap-corpus).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* This host as the seeds' checkpoints were taken: vendor and features from the
 * stream itself with one bit less, so snap_check_host both passes and refuses. */
static void check_host(const struct snap_header *saved, char *err, size_t errlen)
{
	struct snap_header host = *saved;
	snap_check_host(saved, &host, "fuzz", err, errlen);
	host.features[saved->ncpus % SNAP_NFEATURES] &= ~(1u << (saved->seq % 32));
	snap_check_host(saved, &host, "fuzz", err, errlen);
	memcpy(host.cpu_vendor, "AuthenticAMD", 12);
	snap_check_host(saved, &host, "fuzz", err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data + 1, size - 1);
	if (!(data[0] & 1))
		snap_fix_crcs(buf, size - 1);
	int fd = fuzz_snap_memfd(buf, size - 1);
	free(buf);
	struct snap_reader r;
	struct snap_config sc;
	char err[1024];
	snap_reader_init(&r, fd, "fuzz");
	if (snapshot_read_config(&r, &sc, err, sizeof(err)) == 0) {
		check_host(&sc.header, err, sizeof(err));
		for (;;) {
			struct snap_section sec;
			void *payload = NULL;
			int rc = snap_read_section(&r, &sec, &payload);
			free(payload);
			if (rc <= 0)
				break;
		}
		/* Past the END: refused, not read. */
		struct snap_section sec;
		void *payload = NULL;
		snap_read_section(&r, &sec, &payload);
		free(payload);
	}
	snapshot_free_config(&sc);
	close(fd);
	return 0;
}
