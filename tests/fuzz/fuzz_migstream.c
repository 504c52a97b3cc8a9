/* fuzz_migstream.c: what --incoming does with a migration stream once the transport
 * (mig_transport.c: TLS or plain) hands it over: the header and the CONFIG section
 * (snapshot_read_config), then every section loaded into a VM that has not run
 * (snapshot_load_stream: memory at once, vCPU state checked and kept, VM and FILES
 * kept).
 *
 * The input is the plain stream, read through a memfd as the target reads its
 * socketpair. The VM is a fake one without KVM: 8 MiB of RAM (memory sections
 * outside it are refused as for a smaller guest) and as many vCPUs as the header
 * says. What needs KVM or the host's files (snapshot_finish_load, the image check) is
 * left to the integration tests; the FILES and CONFIG payloads have harnesses of
 * their own (the checkpoint ones). The harness fixes up the header's and each
 * section's CRC-32 first, so mutations reach the checks behind them (the seeds are
 * real streams, cut short: tests/fuzz/corpus/migstream).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_quiet.h"
#include "snap_internal.h"

#define FUZZ_RAM (8u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem ram;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	guest_mem_layout(&ram, FUZZ_RAM);
	ram.host = mmap(NULL, FUZZ_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram.host == MAP_FAILED)
		abort();
	return 0;
}

#define SECTION_HEADER 24 /* u32 type, u32 index, u64 length, u32 crc, u32 0 */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* The checksums the input would carry if a proxy had written it. */
static void fix_crcs(uint8_t *p, size_t size)
{
	if (size < SNAP_HEADER_SIZE)
		return;
	put32(p + SNAP_HEADER_SIZE - 4, snap_crc32(0, p, SNAP_HEADER_SIZE - 4));
	for (size_t off = SNAP_HEADER_SIZE; size - off >= SECTION_HEADER;) {
		uint64_t len;
		memcpy(&len, p + off + 8, 8);
		if (len > size - off - SECTION_HEADER)
			return;
		put32(p + off + 16, snap_crc32(0, p + off + SECTION_HEADER, (size_t)len));
		off += SECTION_HEADER + (size_t)len;
	}
}

/* The stream as the reader finds it: a descriptor positioned at its start. */
static int stream_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("migstream", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		abort();
	return fd;
}

static void load_sections(struct snap_reader *r, unsigned ncpus)
{
	struct snapshot s = {0};
	struct vm vm = {0};
	char err[1024];
	vm.ncpus = ncpus;
	vm.mem = ram;
	vm.snap = &s;
	snapshot_load_stream(&vm, r, err, sizeof(err));
	for (unsigned i = 0; s.vcpu_state && i < ncpus; i++)
		free(s.vcpu_state[i]);
	free(s.vcpu_state);
	free(s.vcpu_len);
	free(s.vm_state);
	free(s.files);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	int fd = stream_fd(copy, size);
	free(copy);
	struct snap_reader r;
	struct snap_config sc;
	char err[1024];
	snap_reader_init(&r, fd, "the migration stream");
	if (!snapshot_read_config(&r, &sc, err, sizeof(err)))
		load_sections(&r, sc.header.ncpus); /* 1..CONFIG_MAX_CPUS: checked */
	snapshot_free_config(&sc);
	close(fd);
	return 0;
}
