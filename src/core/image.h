/* image.h: a validated HermitCore ELF image, ready to be copied into guest RAM. */
#ifndef PROXY_IMAGE_H
#define PROXY_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define IMAGE_MAX_SEGMENTS 32

struct image_segment {
	uint64_t offset, paddr, vaddr, filesz, memsz;
};

struct image {
	const char *path;
	int fd;
	uint64_t file_size;
	uint64_t entry;
	uint64_t base; /* lowest p_paddr of the PT_LOAD segments */
	uint64_t end;  /* highest p_paddr + p_memsz */
	uint64_t tls_start, tls_filesz, tls_memsz;
	size_t nseg;
	struct image_segment seg[IMAGE_MAX_SEGMENTS];
	uint8_t head[0x100]; /* first bytes of the first PT_LOAD in file order (ABI detection) */
	size_t head_len;
	uint64_t first_paddr; /* p_paddr of the first PT_LOAD in program-header order */
};

/* Open and validate the ELF file (section 1 of the ABI). 0, or -1 with err set to
 * "<path>: <what is wrong>". */
int image_open(struct image *img, const char *path, char *err, size_t errlen);

/* Check that every segment fits guest RAM and stays clear of the fixed areas. */
int image_check_layout(const struct image *img, const struct guest_mem *mem, char *err,
		       size_t errlen);

/* Copy the segments into guest RAM. The bytes from p_filesz to p_memsz are left as
 * they are: guest RAM is a fresh anonymous mapping, already zero. */
int image_load(const struct image *img, struct guest_mem *mem, char *err, size_t errlen);

void image_close(struct image *img);

#endif
