/* image_entry.c: what hermit-entry images add to ELF loading (hermit-entry-abi.md
 * sections 1 and 2): the HERMIT notes, and for a static-PIE image its dynamic
 * section and R_X86_64_RELATIVE relocations.
 *
 * The file is untrusted: every size is capped before it is read, every
 * relocation target must lie inside a loaded segment, and anything proxy cannot
 * honour (other relocation types, shared libraries, another protocol version)
 * is refused before a byte reaches the guest.
 */
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hermit_entry_abi.h"

#define NOTES_MAX   (16 * 1024) /* real images have one 24-byte note */
#define DYNAMIC_MAX (16 * 1024) /* real images: about 20 entries */

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void take_note(uint32_t type, const uint8_t *desc, uint32_t descsz, struct image_notes *out)
{
	if (type == HERMIT_NOTE_ENTRY_VERSION && descsz >= 1)
		out->entry_version = desc[0];
	else if (type == HERMIT_NOTE_UHYVE_INTERFACE && descsz >= 4)
		out->uhyve_interface = (int64_t)((uint32_t)desc[0] << 24 | (uint32_t)desc[1] << 16 |
						 (uint32_t)desc[2] << 8 | desc[3]);
}

int image_walk_notes(const uint8_t *buf, size_t len, uint64_t align, image_note_fn fn, void *ctx,
		     char *err, size_t errlen)
{
	/* Notes are padded to the segment's alignment: 4, or 8 for 64-bit producers. */
	const uint64_t a = align == 8 ? 8 : 4;
	size_t pos = 0;
	while (len - pos >= 12) {
		struct image_note n = {.namesz = get32(buf + pos), .type = get32(buf + pos + 8)};
		n.descsz = get32(buf + pos + 4);
		uint64_t name_at = pos + 12, desc_at = name_at + align_up(n.namesz, a);
		uint64_t next = desc_at + align_up(n.descsz, a);
		if (desc_at > len || n.descsz > len - desc_at)
			return ERR("malformed PT_NOTE: a note at offset %zu runs past the segment "
				   "(%zu bytes)",
				   pos, len);
		n.name = buf + name_at;
		n.desc = buf + desc_at;
		int r = fn(&n, ctx, err, errlen);
		if (r)
			return r;
		if (next >= len)
			break;
		pos = (size_t)next;
	}
	return 0;
}

static int take_hermit_note(const struct image_note *n, void *ctx, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	if (n->namesz == sizeof(HERMIT_NOTE_NAME) &&
	    !memcmp(n->name, HERMIT_NOTE_NAME, sizeof(HERMIT_NOTE_NAME)))
		take_note(n->type, n->desc, n->descsz, ctx);
	return 0;
}

int image_parse_notes(const uint8_t *buf, size_t len, uint64_t align, struct image_notes *out,
		      char *err, size_t errlen)
{
	return image_walk_notes(buf, len, align, take_hermit_note, out, err, errlen);
}

int image_walk_segment_notes(int fd, uint64_t file_size, const Elf64_Phdr *ph, image_note_fn fn,
			     void *ctx, char *err, size_t errlen)
{
	if (ph->p_filesz > NOTES_MAX || ph->p_offset > file_size ||
	    ph->p_filesz > file_size - ph->p_offset)
		return ERR("a PT_NOTE segment of 0x%llx bytes at file offset 0x%llx lies outside "
			   "the file or is implausibly large",
			   (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_offset);
	uint8_t buf[NOTES_MAX];
	if (pread(fd, buf, ph->p_filesz, (off_t)ph->p_offset) != (ssize_t)ph->p_filesz)
		return ERR("cannot read a PT_NOTE segment: %s", strerror(errno));
	return image_walk_notes(buf, ph->p_filesz, ph->p_align, fn, ctx, err, errlen);
}

static int read_notes(struct image *img, const Elf64_Phdr *ph, size_t nph, char *err, size_t errlen)
{
	img->notes = (struct image_notes){.entry_version = -1, .uhyve_interface = -1};
	for (size_t i = 0; i < nph; i++)
		if (ph[i].p_type == PT_NOTE && ph[i].p_filesz &&
		    image_walk_segment_notes(img->fd, img->file_size, &ph[i], take_hermit_note,
					     &img->notes, err, errlen))
			return -1;
	return 0;
}

/* What the notes announce must be what proxy speaks. */
static int check_notes(const struct image *img, char *err, size_t errlen)
{
	const struct image_notes *n = &img->notes;
	if (n->uhyve_interface >= 0)
		return ERR("the image announces uhyve-interface version %lld (a HERMIT note "
			   "0x5B00, as Hermit kernels newer than 0.6 carry); proxy speaks "
			   "uhyve-interface 1 only, as the Hermit 0.6 (hermit-entry v4), "
			   "RustyHermit and C HermitCore images do",
			   (long long)n->uhyve_interface);
	if (n->entry_version >= 0 && n->entry_version != HERMIT_ENTRY_VERSION)
		return ERR("the image announces hermit-entry version %d (HERMIT note 0x5A00); "
			   "proxy boots version %d (Hermit 0.6)",
			   n->entry_version, HERMIT_ENTRY_VERSION);
	return 0;
}

int image_check_relocs(const struct image *img, const Elf64_Rela *rela, size_t n, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t type = (uint32_t)ELF64_R_TYPE(rela[i].r_info);
		if (type != R_X86_64_RELATIVE)
			return ERR("relocation %zu has type %u; proxy applies only "
				   "R_X86_64_RELATIVE (%u), as a static-PIE Hermit image needs",
				   i, type, R_X86_64_RELATIVE);
		uint64_t at = rela[i].r_offset + img->load_bias;
		bool inside = false;
		for (size_t s = 0; s < img->nseg && !inside; s++)
			inside = at >= img->seg[s].paddr && img->seg[s].memsz >= 8 &&
				 at - img->seg[s].paddr <= img->seg[s].memsz - 8;
		if (!inside)
			return ERR("relocation %zu writes at file address 0x%llx, outside every "
				   "loadable segment",
				   i, (unsigned long long)rela[i].r_offset);
	}
	return 0;
}

int image_apply_relocs(const struct image *img, struct guest_mem *mem, char *err, size_t errlen)
{
	for (size_t i = 0; img->rela && i < img->nrela; i++) {
		uint64_t value = (uint64_t)img->rela[i].r_addend + img->load_bias;
		uint8_t *dst = gpa_ptr(mem, img->rela[i].r_offset + img->load_bias, 8);
		if (!dst)
			return ERR("relocation %zu lies outside guest memory", i);
		memcpy(dst, &value, 8); /* targets need not be aligned */
	}
	return 0;
}

/* File offset of the file address [vaddr, vaddr+len), through the PT_LOAD with
 * those bytes in the file; -1 when no segment holds all of them. */
static int64_t file_offset_of(const Elf64_Phdr *ph, size_t nph, uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < nph; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr && len <= ph[i].p_filesz &&
		    vaddr - ph[i].p_vaddr <= ph[i].p_filesz - len)
			return (int64_t)(ph[i].p_offset + (vaddr - ph[i].p_vaddr));
	return -1;
}

struct dynamic_info {
	uint64_t rela, relasz, relaent;
};

/* Walk the dynamic section; refuse what a static image must not have. */
static int scan_dynamic(const Elf64_Dyn *d, size_t n, struct dynamic_info *out, char *err,
			size_t errlen)
{
	out->relaent = sizeof(Elf64_Rela);
	for (size_t i = 0; i < n && d[i].d_tag != DT_NULL; i++) {
		switch (d[i].d_tag) {
		case DT_NEEDED:
			return ERR("the image needs a shared library (DT_NEEDED); a Hermit image "
				   "must be linked statically");
		case DT_REL:
		case DT_RELR:
			return ERR("the image has %s relocations; proxy applies only RELA "
				   "(R_X86_64_RELATIVE)",
				   d[i].d_tag == DT_REL ? "REL" : "RELR");
		case DT_PLTRELSZ:
			if (d[i].d_un.d_val)
				return ERR("the image has PLT relocations (DT_JMPREL); a static "
					   "Hermit image has none");
			break;
		case DT_RELA:
			out->rela = d[i].d_un.d_ptr;
			break;
		case DT_RELASZ:
			out->relasz = d[i].d_un.d_val;
			break;
		case DT_RELAENT:
			out->relaent = d[i].d_un.d_val;
			break;
		}
	}
	if (out->relasz && out->relaent != sizeof(Elf64_Rela))
		return ERR("DT_RELAENT is %llu, expected %zu", (unsigned long long)out->relaent,
			   sizeof(Elf64_Rela));
	if (out->relasz % sizeof(Elf64_Rela))
		return ERR("DT_RELASZ %llu is not a multiple of %zu",
			   (unsigned long long)out->relasz, sizeof(Elf64_Rela));
	return 0;
}

static int read_dynamic(const struct image *img, const Elf64_Phdr *dyn, struct dynamic_info *di,
			char *err, size_t errlen)
{
	if (dyn->p_filesz > DYNAMIC_MAX || dyn->p_offset > img->file_size ||
	    dyn->p_filesz > img->file_size - dyn->p_offset)
		return ERR("the PT_DYNAMIC segment lies outside the file or is implausibly large");
	Elf64_Dyn d[DYNAMIC_MAX / sizeof(Elf64_Dyn)];
	size_t n = dyn->p_filesz / sizeof(Elf64_Dyn);
	if (pread(img->fd, d, n * sizeof(Elf64_Dyn), (off_t)dyn->p_offset) !=
	    (ssize_t)(n * sizeof(Elf64_Dyn)))
		return ERR("cannot read the PT_DYNAMIC segment: %s", strerror(errno));
	return scan_dynamic(d, n, di, err, errlen);
}

static int read_relocs(struct image *img, const Elf64_Phdr *ph, size_t nph, char *err,
		       size_t errlen)
{
	struct dynamic_info di = {0};
	for (size_t i = 0; i < nph; i++)
		if (ph[i].p_type == PT_DYNAMIC && read_dynamic(img, &ph[i], &di, err, errlen))
			return -1;
	if (!di.relasz)
		return 0;
	int64_t off = file_offset_of(ph, nph, di.rela, di.relasz);
	if (off < 0)
		return ERR("the relocation table (DT_RELA 0x%llx, %llu bytes) is not in the file's "
			   "loadable segments",
			   (unsigned long long)di.rela, (unsigned long long)di.relasz);
	img->rela = malloc(di.relasz);
	if (!img->rela)
		return ERR("out of memory for %llu bytes of relocations",
			   (unsigned long long)di.relasz);
	if (pread(img->fd, img->rela, di.relasz, (off_t)off) != (ssize_t)di.relasz)
		return ERR("cannot read the relocation table: %s", strerror(errno));
	img->nrela = di.relasz / sizeof(Elf64_Rela);
	return image_check_relocs(img, img->rela, img->nrela, err, errlen);
}

/* Place a static-PIE image: its lowest segment goes to HERMIT_ENTRY_LOAD_ADDR. */
static int place(struct image *img, char *err, size_t errlen)
{
	uint64_t low = UINT64_MAX;
	for (size_t i = 0; i < img->nseg; i++)
		if (img->seg[i].vaddr < low)
			low = img->seg[i].vaddr;
	if (low & 0xFFF)
		return ERR("the lowest loadable segment's address 0x%llx is not page aligned",
			   (unsigned long long)low);
	if (low > HERMIT_ENTRY_LOAD_ADDR)
		return ERR("a static-PIE image linked at 0x%llx; proxy places one at 0x%llx and "
			   "expects it linked at or below that address",
			   (unsigned long long)low, (unsigned long long)HERMIT_ENTRY_LOAD_ADDR);
	uint64_t bias = HERMIT_ENTRY_LOAD_ADDR - low;
	img->load_bias = bias;
	/* A segment linked near the top would wrap to a low address once biased: below
	 * the image base, where the layout check (image.c) would not look. */
	for (size_t i = 0; i < img->nseg; i++)
		if (img->seg[i].vaddr > UINT64_MAX - bias - img->seg[i].memsz)
			return ERR("the segment at file address 0x%llx (0x%llx bytes) wraps around "
				   "the address space once placed at 0x%llx",
				   (unsigned long long)img->seg[i].vaddr,
				   (unsigned long long)img->seg[i].memsz,
				   (unsigned long long)HERMIT_ENTRY_LOAD_ADDR);
	for (size_t i = 0; i < img->nseg; i++) {
		img->seg[i].vaddr += bias;
		img->seg[i].paddr = img->seg[i].vaddr; /* identity map: p_paddr means nothing */
	}
	img->first_paddr = img->seg[0].paddr;
	img->base = HERMIT_ENTRY_LOAD_ADDR;
	img->end = 0;
	for (size_t i = 0; i < img->nseg; i++)
		if (img->seg[i].paddr + img->seg[i].memsz > img->end)
			img->end = img->seg[i].paddr + img->seg[i].memsz;
	img->entry += bias;
	if (img->tls_memsz || img->tls_filesz)
		img->tls_start += bias;
	return 0;
}

void image_rebase(struct image *img, uint64_t base)
{
	uint64_t delta = base - img->base; /* modulo 2^64: moves down as well as up */
	for (size_t i = 0; i < img->nseg; i++) {
		img->seg[i].vaddr += delta;
		img->seg[i].paddr += delta;
	}
	img->first_paddr += delta;
	img->base += delta;
	img->end += delta;
	img->entry += delta;
	img->load_bias += delta;
	if (img->tls_memsz || img->tls_filesz)
		img->tls_start += delta;
}

int image_read_hermit_parts(struct image *img, const Elf64_Phdr *ph, size_t nph, char *err,
			    size_t errlen)
{
	if (read_notes(img, ph, nph, err, errlen) || check_notes(img, err, errlen))
		return -1;
	if (!img->relocatable)
		return 0;
	if (img->notes.entry_version != HERMIT_ENTRY_VERSION)
		return ERR("a relocatable (ET_DYN) image without a hermit-entry note: proxy boots "
			   "ET_DYN images only as Hermit 0.6 kernels, which carry a HERMIT note "
			   "0x5A00 with entry version 4 (RustyHermit and C HermitCore images are "
			   "ET_EXEC)");
	if (place(img, err, errlen))
		return -1;
	return read_relocs(img, ph, nph, err, errlen);
}
