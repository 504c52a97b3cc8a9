/* abi_notes.c: the notes that tell a Hermit 0.10 - main kernel apart
 * (hermit-fdt-abi.md section 1): the GNU ABI tag (OS 6 and the version, words
 * little-endian) and UHYVEIF (one u32, big-endian).
 *
 * uhyve reads only the first PT_NOTE segment; proxy walks all of them (trap 2).
 * The file is untrusted: each segment's size is capped, every note must lie
 * inside its segment, and a note of a known name and type with the wrong size
 * or a byte-swapped value is refused rather than guessed at.
 */
#include "abi_fdt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"

#define PHDRS_MAX 64

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool named(const uint8_t *name, uint32_t namesz, const char *want)
{
	return namesz == strlen(want) + 1 && !memcmp(name, want, namesz);
}

static int take_abi_tag(const uint8_t *desc, uint32_t descsz, struct abi_notes *out, char *err,
			size_t errlen)
{
	if (descsz != 16)
		return ERR("malformed GNU ABI-tag note: %u bytes of description, expected 16 "
			   "(OS, major, minor, patch)",
			   descsz);
	uint32_t os = le32(desc);
	if (os == __builtin_bswap32(HFDT_NOTE_ABI_TAG_OS))
		return ERR("the GNU ABI-tag note's words are big-endian (OS reads 0x%08x); "
			   "Hermit writes them little-endian (OS 6)",
			   os);
	if (os != HFDT_NOTE_ABI_TAG_OS)
		return 0; /* another OS's tag (GNU/Linux is 0): not a Hermit kernel */
	out->has_tag = true;
	out->major = le32(desc + 4);
	out->minor = le32(desc + 8);
	out->patch = le32(desc + 12);
	return 0;
}

static int take_uhyveif(const uint8_t *desc, uint32_t descsz, struct abi_notes *out, char *err,
			size_t errlen)
{
	if (descsz != 4)
		return ERR("malformed UHYVEIF note: %u bytes of description, expected 4 (a "
			   "big-endian u32)",
			   descsz);
	out->has_uhyveif = true;
	out->uhyveif = be32(desc);
	return 0;
}

static int take_note(const struct image_note *n, void *ctx, char *err, size_t errlen)
{
	struct abi_notes *out = ctx;
	if (named(n->name, n->namesz, HFDT_NOTE_ABI_TAG_NAME) && n->type == HFDT_NOTE_ABI_TAG_TYPE)
		return take_abi_tag(n->desc, n->descsz, out, err, errlen);
	if (named(n->name, n->namesz, HFDT_NOTE_UHYVEIF_NAME) && n->type == HFDT_NOTE_UHYVEIF_TYPE)
		return take_uhyveif(n->desc, n->descsz, out, err, errlen);
	if (named(n->name, n->namesz, HERMIT_NOTE_NAME) && n->type == HERMIT_NOTE_ENTRY_VERSION) {
		if (n->descsz < 1)
			return ERR("malformed HERMIT entry-version note: no description byte");
		out->entry_version = n->desc[0];
	}
	return 0;
}

/* The walk itself (padding, bounds) is the core's, shared with hermit-entry's notes. */
int abi_parse_notes(const uint8_t *buf, size_t len, uint64_t align, struct abi_notes *out,
		    char *err, size_t errlen)
{
	return image_walk_notes(buf, len, align, take_note, out, err, errlen);
}

int abi_read_notes(const struct image *img, struct abi_notes *out, char *err, size_t errlen)
{
	*out = (struct abi_notes){.entry_version = -1};
	Elf64_Ehdr eh;
	if (pread(img->fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return ERR("cannot read the ELF header: %s", strerror(errno));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > PHDRS_MAX)
		return ERR("unexpected program headers (%u of %u bytes)", eh.e_phnum,
			   eh.e_phentsize);
	Elf64_Phdr ph[PHDRS_MAX];
	size_t bytes = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (pread(img->fd, ph, bytes, (off_t)eh.e_phoff) != (ssize_t)bytes)
		return ERR("cannot read the program headers: %s", strerror(errno));
	for (size_t i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_NOTE && ph[i].p_filesz &&
		    image_walk_segment_notes(img->fd, img->file_size, &ph[i], take_note, out, err,
					     errlen))
			return -1;
	return 0;
}
