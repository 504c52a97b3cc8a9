/* fuzz_elf.c: ELF validation and loading (core/image.c, image_entry.c) and the ABI
 * choice (abi/abi.c) on arbitrary files.
 *
 * The input becomes a memfd (nothing is written to disk) that image_open reads by its
 * /proc/self/fd path; an accepted image is laid out and loaded into a reserved guest
 * RAM, as main.c does, so the RustyHermit, C HermitCore and hermit-entry (ET_EXEC and
 * static-PIE, relocations applied) paths all run.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi.h"
#include "fuzz_quiet.h"
#include "image.h"

#define FUZZ_RAM (64ULL << 20) /* reserved once, touched only where images load */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram; /* the guest RAM, kept across inputs: mapping it each time is slow */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	ram = mmap(NULL, FUZZ_RAM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64], err[1024];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct image img;
	struct guest_mem mem = {0};
	guest_mem_layout(&mem, FUZZ_RAM);
	mem.host = ram;
	if (image_open(&img, path, err, sizeof(err)) == 0) {
		volatile enum abi_kind kind = abi_detect(&img);
		(void)kind;
		if (image_check_layout(&img, &mem, err, sizeof(err)) == 0)
			image_load(&img, &mem, err, sizeof(err));
		image_close(&img);
	}
	close(fd);
	return 0;
}
