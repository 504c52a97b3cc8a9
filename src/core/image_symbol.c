/* image_symbol.c: a symbol of the open image, by the start of its name.
 *
 * An ABI may need an address the image announces nowhere but in its symbol
 * table (hermit-entry-abi.md section 16: the kernel's own CPU counter). The file
 * is untrusted: libelf bounds every read, names are compared within the string
 * table only, and the caller still checks that the address is one it can use.
 */
#include "image.h"

#include <gelf.h>
#include <libelf.h>
#include <string.h>

/* The first symbol of section `scn` (a SHT_SYMTAB) whose name starts with prefix. */
static int find_in_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *prefix,
			  GElf_Sym *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || !sh->sh_entsize)
		return -1;
	size_t n = data->d_size / sh->sh_entsize, plen = strlen(prefix);
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym) || !sym.st_name)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (name && !strncmp(name, prefix, plen) && sym.st_shndx != SHN_UNDEF) {
			*out = sym;
			return 0;
		}
	}
	return -1;
}

int image_find_symbol(const struct image *img, const char *prefix, uint64_t *addr, uint64_t *size)
{
	if (img->fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	Elf *elf = elf_begin(img->fd, ELF_C_READ, NULL);
	if (!elf)
		return -1;
	int rc = -1;
	GElf_Sym sym;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn && rc; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			rc = find_in_symtab(elf, scn, &sh, prefix, &sym);
	}
	elf_end(elf);
	if (rc)
		return -1;
	*addr = sym.st_value + img->load_bias;
	*size = sym.st_size;
	return 0;
}
