/* abi.c: which guest ABI an image speaks (c-hermit-abi.md, section 2).
 *
 * A HERMIT note with entry version 4 decides first: a Hermit 0.6 image
 * (hermit-entry-abi.md section 1), ET_EXEC or static-PIE. Without it, a C HermitCore image starts
 * executing at the first byte of its first PT_LOAD (a jmp over the kernel header) and its header
 * still holds the constants the kernel was assembled with. A RustyHermit image enters a function in
 * .text. The check reads only the file, before anything is written.
 */
#include "abi.h"

#include <string.h>

#include "abi_fdt.h"
#include "c_hermit_abi.h"
#include "hermit_entry_abi.h"
#include "log.h"

static uint32_t head32(const struct image *img, size_t off)
{
	uint32_t v;
	memcpy(&v, img->head + off, 4);
	return v;
}

/* The header fields no tool rewrites in the file (entry.asm constants). */
static bool has_c_header_defaults(const struct image *img)
{
	static const uint8_t net_defaults[12] = {10, 0, 5, 2, 10, 0, 5, 1, 255, 255, 255, 0};
	if (img->head_len < sizeof(struct c_hermit_header))
		return false;
	return head32(img, 0x1C) == 0xFFFFFFFFu && head32(img, 0x34) == 0xFFFFFFFFu &&
	       head32(img, 0x60) == 1 && head32(img, 0x74) == 1 && head32(img, 0x78) == 1 &&
	       !memcmp(img->head + 0xB0, net_defaults, sizeof(net_defaults));
}

static bool entry_inside_image(const struct image *img)
{
	for (size_t i = 0; i < img->nseg; i++)
		if (img->entry >= img->seg[i].vaddr &&
		    img->entry < img->seg[i].vaddr + img->seg[i].memsz)
			return true;
	return false;
}

enum abi_kind abi_detect(const struct image *img)
{
	if (img->notes.entry_version == HERMIT_ENTRY_VERSION)
		return ABI_KIND_ENTRY;
	if (!entry_inside_image(img))
		return ABI_KIND_UNKNOWN;
	bool entry_at_start = img->entry == img->seg[0].vaddr;
	bool jumps = img->head_len > 0 && img->head[0] == 0xE9;
	if (entry_at_start && has_c_header_defaults(img))
		return ABI_KIND_C;
	if (entry_at_start && jumps)
		return ABI_KIND_UNKNOWN; /* shaped like a C kernel, but no C header */
	return ABI_KIND_RUSTY;
}

static const struct guest_abi *select_older(const struct vm *vm);

/* Hermit 0.10 - main: the GNU ABI tag (or a forced hermit-fdtN) decides; NULL for
 * an image without one (the older contracts). */
static const struct guest_abi *select_fdt(const struct vm *vm)
{
	const struct image *img = &vm->image;
	struct abi_notes notes;
	char err[512];
	enum abi_choice forced = vm->cfg->abi;
	bool fdt_forced =
		forced == ABI_HERMIT_FDT1 || forced == ABI_HERMIT_FDT2 || forced == ABI_HERMIT_FDT3;
	if (forced != ABI_AUTO && !fdt_forced)
		return NULL;
	if (abi_read_notes(img, &notes, err, sizeof(err)))
		die("%s: %s", img->path, err);
	if (fdt_forced)
		return abi_fdt_new(vm, &notes, (unsigned)(forced - ABI_HERMIT_FDT1 + 1));
	if (!notes.has_tag)
		return NULL;
	if (notes.entry_version != HERMIT_ENTRY_VERSION)
		die("%s: the image carries a Hermit ABI tag (%u.%u.%u) but no HERMIT note 0x5A00 "
		    "with entry version %d, which every Hermit kernel since 0.6 has",
		    img->path, notes.major, notes.minor, notes.patch, HERMIT_ENTRY_VERSION);
	return abi_fdt_new(vm, &notes, 0);
}

const struct guest_abi *abi_select(const struct vm *vm)
{
	const struct guest_abi *abi = select_fdt(vm);
	if (vm->cfg->dumpdtb && !abi)
		die("--dumpdtb/HERMIT_DUMPDTB: %s boots without an FDT (only Hermit 0.10 - main "
		    "kernels, recognised by their ABI-tag note, get one)",
		    vm->image.path);
	return abi ? abi : select_older(vm);
}

static const struct guest_abi *select_older(const struct vm *vm)
{
	const struct image *img = &vm->image;
	if (img->relocatable && vm->cfg->abi != ABI_AUTO && vm->cfg->abi != ABI_HERMIT_ENTRY)
		die("%s: HERMIT_ABI=%s, but the image is a static-PIE (ET_DYN) Hermit 0.6 image, "
		    "which boots only as hermit-entry",
		    img->path, vm->cfg->abi == ABI_C ? "c" : "rusty");
	switch (vm->cfg->abi) {
	case ABI_HERMIT_ENTRY:
		return &entry_abi;
	case ABI_RUSTY:
		return &rusty_abi;
	case ABI_C:
		/* Forcing may override the entry-point shape, not write a header over code. */
		if (!has_c_header_defaults(img))
			die("%s: HERMIT_ABI=c, but the image has no C HermitCore kernel header at "
			    "the "
			    "start of its first segment (its image defaults are missing); proxy "
			    "will not write one over what is there",
			    img->path);
		return &c_abi;
	default:
		break;
	}
	switch (abi_detect(img)) {
	case ABI_KIND_ENTRY:
		return &entry_abi;
	case ABI_KIND_C:
		return &c_abi;
	case ABI_KIND_RUSTY:
		return &rusty_abi;
	default:
		die("%s: neither a Hermit 0.6 (no hermit-entry note), a RustyHermit nor a C "
		    "HermitCore image (entry 0x%llx %s); set HERMIT_ABI=rusty, c or hermit-entry "
		    "to force one",
		    img->path, (unsigned long long)img->entry,
		    entry_inside_image(img)
			    ? "jumps over a header that lacks the C kernel's defaults"
			    : "lies outside every loadable segment");
	}
}
