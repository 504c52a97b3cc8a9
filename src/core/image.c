/* image.c: HermitCore ELF validation and loading, with libelf.
 *
 * Everything is checked before a byte reaches the guest: the ELF identity (64-bit,
 * little endian, OSABI 0xFF, x86-64, ET_EXEC or a hermit-entry ET_DYN), the program
 * header table (e_phentsize 56, e_phoff 8-byte aligned), each PT_LOAD (filesz <=
 * memsz, its bytes present in the file, no wrap), the PT_LOADs as placed (by p_paddr
 * for ET_EXEC, relocated p_vaddr for ET_DYN) not overlapping one another, an ET_EXEC
 * entry inside some PT_LOAD's virtual range when p_vaddr and p_paddr differ (the
 * ABI check sees the entry only through p_vaddr), the notes and relocations
 * (image_entry.c), and the layout against guest RAM and the hypervisor's fixed
 * areas. Each refusal names the file and the problem.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hermit_abi.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		int n_ = snprintf(err, errlen, "%s: ", img->path);                                 \
		snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__);                              \
		goto fail;                                                                         \
	} while (0)

/* FAIL's "<path>: " for messages image_entry.c writes after it; their length. */
static size_t path_prefix(const struct image *img, char *err, size_t errlen)
{
	int n = snprintf(err, errlen, "%s: ", img->path);
	return n < 0 || (size_t)n >= errlen ? 0 : (size_t)n;
}

static int check_identity(struct image *img, Elf *elf, char *err, size_t errlen)
{
	size_t ident_len;
	const char *ident = elf_getident(elf, &ident_len);
	if (elf_kind(elf) != ELF_K_ELF || !ident || ident_len < EI_NIDENT)
		FAIL("not an ELF file");
	if (ident[EI_CLASS] != ELFCLASS64)
		FAIL("not a 64-bit ELF file (ELF class %d); HermitCore images are ELF64",
		     ident[EI_CLASS]);
	if (ident[EI_DATA] != ELFDATA2LSB)
		FAIL("not a little-endian ELF file");
	if ((uint8_t)ident[EI_OSABI] != HERMIT_ELFOSABI)
		FAIL("not a HermitCore image: OSABI is 0x%02x, expected 0x%02x",
		     (uint8_t)ident[EI_OSABI], HERMIT_ELFOSABI);
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		FAIL("truncated or corrupt ELF header: %s", elf_errmsg(-1));
	if (eh.e_machine != EM_X86_64)
		FAIL("not an x86-64 image (e_machine %u)", eh.e_machine);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		FAIL("not an executable (e_type %u; a HermitCore image is ET_EXEC, or a "
		     "static-PIE ET_DYN with a hermit-entry note)",
		     eh.e_type);
	/* libelf would read mis-sized or unaligned headers as garbage or fail vaguely. */
	if (eh.e_phnum > 0 && eh.e_phentsize != sizeof(Elf64_Phdr))
		FAIL("program header entries are %u bytes (e_phentsize), expected %zu",
		     eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phoff % 8)
		FAIL("the program header table at file offset 0x%llx (e_phoff) is not 8-byte "
		     "aligned",
		     (unsigned long long)eh.e_phoff);
	img->relocatable = eh.e_type == ET_DYN;
	img->entry = eh.e_entry;
	return 0;
fail:
	return -1;
}

static int add_segment(struct image *img, const GElf_Phdr *ph, char *err, size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		FAIL("segment at 0x%llx has p_filesz 0x%llx larger than p_memsz 0x%llx",
		     (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_filesz,
		     (unsigned long long)ph->p_memsz);
	if (ph->p_offset + ph->p_filesz < ph->p_offset ||
	    ph->p_offset + ph->p_filesz > img->file_size)
		FAIL("truncated: segment at 0x%llx needs file bytes up to 0x%llx, the file has "
		     "0x%llx",
		     (unsigned long long)ph->p_paddr,
		     (unsigned long long)(ph->p_offset + ph->p_filesz),
		     (unsigned long long)img->file_size);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		FAIL("segment at 0x%llx wraps around the address space",
		     (unsigned long long)ph->p_paddr);
	if (img->nseg == IMAGE_MAX_SEGMENTS)
		FAIL("more than %d PT_LOAD segments", IMAGE_MAX_SEGMENTS);
	img->seg[img->nseg++] = (struct image_segment){ph->p_offset, ph->p_paddr, ph->p_vaddr,
						       ph->p_filesz, ph->p_memsz};
	return 0;
fail:
	return -1;
}

#define IMAGE_MAX_PHDRS 256

static int read_segments(struct image *img, Elf *elf, char *err, size_t errlen)
{
	size_t n;
	GElf_Phdr phdrs[IMAGE_MAX_PHDRS];
	if (elf_getphdrnum(elf, &n))
		FAIL("truncated or corrupt program headers: %s", elf_errmsg(-1));
	if (n > IMAGE_MAX_PHDRS)
		FAIL("%zu program headers; proxy reads at most %d", n, IMAGE_MAX_PHDRS);
	img->base = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			FAIL("truncated or corrupt program header %zu: %s", i, elf_errmsg(-1));
		phdrs[i] = ph;
		if (ph.p_type == PT_TLS) {
			/* A static-PIE's p_paddr means nothing; image_entry.c relocates it. */
			img->tls_start = img->relocatable ? ph.p_vaddr : ph.p_paddr;
			img->tls_filesz = ph.p_filesz;
			img->tls_memsz = ph.p_memsz;
			img->tls_align = ph.p_align;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (add_segment(img, &ph, err, errlen))
			return -1;
		if (img->nseg == 1)
			img->first_paddr = ph.p_paddr;
		if (ph.p_paddr < img->base)
			img->base = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > img->end)
			img->end = ph.p_paddr + ph.p_memsz;
	}
	if (img->nseg == 0)
		FAIL("no loadable (PT_LOAD) segment");
	size_t plen = path_prefix(img, err, errlen);
	return image_read_hermit_parts(img, phdrs, n, err + plen, errlen - plen);
fail:
	return -1;
}

static bool overlap(const struct image_segment *a, const struct image_segment *b)
{
	return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

/* The segments where the loader puts them (after image_entry.c placed an ET_DYN):
 * two that overlap would overwrite each other's bytes, in an order no ABI defines. */
static int check_placement(const struct image *img, char *err, size_t errlen)
{
	bool split = false, entry_inside = false;
	for (size_t i = 0; i < img->nseg; i++) {
		const struct image_segment *s = &img->seg[i];
		if (s->paddr + s->memsz < s->paddr)
			FAIL("segment at 0x%llx wraps around the address space",
			     (unsigned long long)s->paddr);
		for (size_t j = 0; j < i; j++)
			if (overlap(&img->seg[j], s))
				FAIL("PT_LOAD segments [0x%llx, 0x%llx) and [0x%llx, 0x%llx) "
				     "overlap",
				     (unsigned long long)img->seg[j].paddr,
				     (unsigned long long)(img->seg[j].paddr + img->seg[j].memsz),
				     (unsigned long long)s->paddr,
				     (unsigned long long)(s->paddr + s->memsz));
		split |= s->vaddr != s->paddr;
		entry_inside |= img->entry - s->vaddr < s->memsz; /* no wrap at the top */
	}
	/* Loaded by p_paddr, run at p_vaddr: an entry outside every virtual range
	 * would start the guest on unmapped or unloaded memory. */
	if (!img->relocatable && split && !entry_inside)
		FAIL("the entry point 0x%llx lies outside every PT_LOAD segment's virtual "
		     "range (p_vaddr to p_vaddr + p_memsz)",
		     (unsigned long long)img->entry);
	return 0;
fail:
	return -1;
}

/* Keep the first bytes of the first segment: the C ABI's header lives there. */
static void read_head(struct image *img)
{
	const struct image_segment *s = &img->seg[0];
	size_t want = s->filesz < sizeof(img->head) ? s->filesz : sizeof(img->head);
	ssize_t got = pread(img->fd, img->head, want, (off_t)s->offset);
	img->head_len = got > 0 ? (size_t)got : 0;
}

int image_open(struct image *img, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refuse, not wait */
	if (fd < 0) {
		memset(img, 0, sizeof(*img));
		img->path = path;
		img->fd = -1;
		FAIL("cannot open the image: %s", strerror(errno));
	}
	return image_open_fd(img, fd, path, err, errlen);
fail:
	return -1;
}

int image_open_fd(struct image *img, int fd, const char *path, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	img->path = path;
	img->fd = fd; /* every read is a pread of this file: no second open by path */
	Elf *elf = NULL;
	struct stat st;
	if (fstat(img->fd, &st) || !S_ISREG(st.st_mode))
		FAIL("not a regular file");
	img->file_size = (uint64_t)st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE)
		FAIL("libelf is unusable: %s", elf_errmsg(-1));
	elf = elf_begin(img->fd, ELF_C_READ, NULL);
	if (!elf)
		FAIL("not an ELF file (%s)", elf_errmsg(-1));
	if (check_identity(img, elf, err, errlen) || read_segments(img, elf, err, errlen) ||
	    check_placement(img, err, errlen))
		goto fail_quiet;
	read_head(img);
	elf_end(elf);
	return 0;
fail:
fail_quiet:
	if (elf)
		elf_end(elf);
	image_close(img);
	return -1;
}

int image_check_layout(const struct image *img, const struct guest_mem *mem, char *err,
		       size_t errlen)
{
	uint64_t stack_low = img->base - HERMIT_BOOT_STACK_SIZE;
	if (img->base < HERMIT_FIXED_AREA_END + HERMIT_BOOT_STACK_SIZE)
		FAIL("the image starts at 0x%llx, inside the hypervisor's fixed area "
		     "(below 0x%llx, boot stack included)",
		     (unsigned long long)img->base,
		     (unsigned long long)(HERMIT_FIXED_AREA_END + HERMIT_BOOT_STACK_SIZE));
	for (size_t i = 0; i < img->nseg; i++) {
		const struct image_segment *s = &img->seg[i];
		if (s->paddr < img->base || s->paddr + s->memsz > img->end)
			continue; /* cannot happen: base/end are the extremes */
		if (s->paddr < stack_low + HERMIT_BOOT_STACK_SIZE &&
		    s->paddr + s->memsz > stack_low)
			FAIL("segment at 0x%llx overlaps the boot stack",
			     (unsigned long long)s->paddr);
		if (!gpa_valid(mem, s->paddr, s->memsz))
			FAIL("segment [0x%llx, 0x%llx) lies outside guest memory (RAM ends at "
			     "0x%llx; raise HERMIT_MEM)",
			     (unsigned long long)s->paddr,
			     (unsigned long long)(s->paddr + s->memsz),
			     (unsigned long long)mem->limit);
		if (s->paddr + s->memsz > HERMIT_IDENTITY_MAP_SIZE)
			FAIL("segment [0x%llx, 0x%llx) lies outside guest memory the boot page "
			     "tables map (first 1 GiB)",
			     (unsigned long long)s->paddr,
			     (unsigned long long)(s->paddr + s->memsz));
	}
	return 0;
fail:
	return -1;
}

int image_load(const struct image *img, struct guest_mem *mem, char *err, size_t errlen)
{
	for (size_t i = 0; i < img->nseg; i++) {
		const struct image_segment *s = &img->seg[i];
		uint8_t *dst = gpa_ptr(mem, s->paddr, s->memsz);
		if (!dst)
			FAIL("segment at 0x%llx does not fit guest memory",
			     (unsigned long long)s->paddr);
		uint64_t done = 0;
		while (done < s->filesz) {
			ssize_t n = pread(img->fd, dst + done, s->filesz - done,
					  (off_t)(s->offset + done));
			if (n <= 0)
				FAIL("truncated: cannot read segment at 0x%llx: %s",
				     (unsigned long long)s->paddr,
				     n ? strerror(errno) : "end of file");
			done += (uint64_t)n;
		}
		/* The bytes up to p_memsz stay as they are: guest RAM is a fresh anonymous
		 * mapping, already zero, and touching a large .bss would cost RSS. */
	}
	size_t plen = path_prefix(img, err, errlen);
	return image_apply_relocs(img, mem, err + plen, errlen - plen);
fail:
	return -1;
}

void image_close(struct image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(img->rela); /* applied by now; nrela stays, for `info vm` */
	img->rela = NULL;
}
