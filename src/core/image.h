/* image.h: a validated HermitCore ELF image, ready to be copied into guest RAM.
 *
 * ET_EXEC images load at their link addresses. A static-PIE (ET_DYN) image is
 * accepted only when its HERMIT note announces hermit-entry v4 (Hermit 0.6); it
 * is placed at HERMIT_ENTRY_LOAD_ADDR and every address below (segments, entry,
 * TLS) is already the relocated, guest-physical one. load_bias turns a file
 * address (what the debugger's ELF says) into it.
 */
#ifndef PROXY_IMAGE_H
#define PROXY_IMAGE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define IMAGE_MAX_SEGMENTS 32

struct image_segment {
	uint64_t offset, paddr, vaddr, filesz, memsz;
};

/* What the image's PT_NOTE segments announce (hermit-entry-abi.md section 1). */
struct image_notes {
	int entry_version;	 /* HERMIT note 0x5A00; -1 when absent */
	int64_t uhyve_interface; /* HERMIT note 0x5B00 (newer kernels); -1 when absent */
};

struct image {
	const char *path;
	int fd;
	uint64_t file_size;
	uint64_t entry;
	uint64_t base; /* lowest p_paddr of the PT_LOAD segments */
	uint64_t end;  /* highest p_paddr + p_memsz */
	uint64_t tls_start, tls_filesz, tls_memsz, tls_align;
	size_t nseg;
	struct image_segment seg[IMAGE_MAX_SEGMENTS];
	uint8_t head[0x100]; /* first bytes of the first PT_LOAD in file order (ABI detection) */
	size_t head_len;
	uint64_t first_paddr; /* p_paddr of the first PT_LOAD in program-header order */
	struct image_notes notes;
	bool relocatable;   /* ET_DYN (static-PIE) */
	uint64_t load_bias; /* runtime address - file address; 0 for ET_EXEC */
	Elf64_Rela *rela;   /* R_X86_64_RELATIVE entries (file addresses), checked */
	size_t nrela;
};

/* Open and validate the ELF file (section 1 of the ABI). 0, or -1 with err set to
 * "<path>: <what is wrong>". */
int image_open(struct image *img, const char *path, char *err, size_t errlen);
/* The same for an image already open as fd (named path in messages), which img
 * owns from now on (image_close closes it, also after a refusal). */
int image_open_fd(struct image *img, int fd, const char *path, char *err, size_t errlen);

/* Check that every segment fits guest RAM and stays clear of the fixed areas. */
int image_check_layout(const struct image *img, const struct guest_mem *mem, char *err,
		       size_t errlen);

/* Copy the segments into guest RAM. The bytes from p_filesz to p_memsz are left as
 * they are: guest RAM is a fresh anonymous mapping, already zero. Then apply the
 * relocations (static-PIE only). */
int image_load(const struct image *img, struct guest_mem *mem, char *err, size_t errlen);

void image_close(struct image *img);

/* Move a relocatable (ET_DYN) image so that it starts at `base` (an ABI that places
 * RAM elsewhere places the image with it); before image_load. */
void image_rebase(struct image *img, uint64_t base);
/* image_symbol.c: the first defined symbol in the open image's .symtab whose name
 * starts with `prefix`: its runtime address (st_value + load_bias) and size.
 * 0, or -1 when there is none (stripped image, no such symbol, corrupt table). */
int image_find_symbol(const struct image *img, const char *prefix, uint64_t *addr, uint64_t *size);

/* image_entry.c: the parts of ELF that only hermit-entry images use; exposed for
 * the unit tests. Each returns 0, or -1 with err set (without the path). */

/* One ELF note: its name (namesz bytes, the NUL included), type and description. */
struct image_note {
	const uint8_t *name;
	uint32_t namesz, type;
	const uint8_t *desc;
	uint32_t descsz;
};
/* Called for each note; non-zero (with err set) stops the walk and is returned. */
typedef int (*image_note_fn)(const struct image_note *n, void *ctx, char *err, size_t errlen);
/* Walk the notes of one PT_NOTE segment's bytes (`align`: its p_align; padding is 8
 * for 8, else 4): 0, -1 with err set when a note runs past the segment, or fn's
 * non-zero. Every ABI's note reader goes through here (abi/abi_notes.c too). */
int image_walk_notes(const uint8_t *buf, size_t len, uint64_t align, image_note_fn fn, void *ctx,
		     char *err, size_t errlen);
/* Read the PT_NOTE segment `ph` of the open file `fd` (of `file_size` bytes; a
 * segment larger than 16 KiB or outside the file is refused) and walk its notes. */
int image_walk_segment_notes(int fd, uint64_t file_size, const Elf64_Phdr *ph, image_note_fn fn,
			     void *ctx, char *err, size_t errlen);
/* Read the notes of one PT_NOTE segment (`align`: its p_align) into *out, which
 * the caller initialised; notes of other names or types are skipped. */
int image_parse_notes(const uint8_t *buf, size_t len, uint64_t align, struct image_notes *out,
		      char *err, size_t errlen);
/* Accept a RELA table: every entry R_X86_64_RELATIVE with its 8-byte target inside
 * a loaded segment (segments already biased by img->load_bias). */
int image_check_relocs(const struct image *img, const Elf64_Rela *rela, size_t n, char *err,
		       size_t errlen);
/* Write bias + addend at bias + offset for every checked entry. */
int image_apply_relocs(const struct image *img, struct guest_mem *mem, char *err, size_t errlen);
/* Read notes, and for ET_DYN the dynamic section and relocations, from the open
 * file; refuse what proxy cannot boot (image.c calls it from image_open). */
int image_read_hermit_parts(struct image *img, const Elf64_Phdr *ph, size_t nph, char *err,
			    size_t errlen);

#endif
