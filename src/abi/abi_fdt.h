/* abi_fdt.h: the Hermit 0.10 - main boot contract (hermit-fdt-abi.md): notes,
 * the guest base G, page tables, boot info and the FDT, for uhyve-interface 1, 2
 * and 3. Pure functions are exposed for the unit tests.
 */
#ifndef PROXY_ABI_FDT_H
#define PROXY_ABI_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_abi.h"
#include "vm.h"

/* What the notes say (abi_notes.c). */
struct abi_notes {
	int entry_version; /* HERMIT 0x5A00; -1 when absent */
	bool has_tag;	   /* GNU ABI tag with OS 6 */
	uint32_t major, minor, patch;
	bool has_uhyveif;
	uint32_t uhyveif; /* as read, big-endian */
};

/* Notes of one PT_NOTE segment into *out (initialised by the caller, entry_version
 * -1); 0, or -1 with err set for a malformed or byte-swapped known note. */
int abi_parse_notes(const uint8_t *buf, size_t len, uint64_t align, struct abi_notes *out,
		    char *err, size_t errlen);
/* Every PT_NOTE segment of the open image. */
int abi_read_notes(const struct image *img, struct abi_notes *out, char *err, size_t errlen);

enum fdt_generation { GEN_G10, GEN_G11, GEN_G12, GEN_G13, GEN_MAIN };

/* The contract of one image, chosen at start; guest_abi first, so vm->abi leads
 * back to it (abi_fdt_of). */
struct fdt_abi {
	struct guest_abi abi;
	struct abi_notes notes;
	unsigned ifv; /* uhyve-interface 1, 2 or 3 */
	enum fdt_generation gen;
	char version[64]; /* "Hermit 0.13.2", "Hermit main (tag 0.13.0)" */
	char label[128];
};

/* The interface an image speaks by its notes: 1 without UHYVEIF, else the value;
 * 0 with err set when proxy does not speak it. */
unsigned abi_fdt_interface(const struct abi_notes *n, char *err, size_t errlen);
enum fdt_generation abi_fdt_generation(const struct abi_notes *n, unsigned ifv);
const char *abi_fdt_generation_name(enum fdt_generation g);

/* A new fdt_abi for the image (ifv: forced interface, 0: by the notes); dies with
 * a message when the notes are wrong. */
const struct guest_abi *abi_fdt_new(const struct vm *vm, const struct abi_notes *n,
				    unsigned forced_ifv);
/* NULL when vm->abi is not an FDT contract. */
const struct fdt_abi *abi_fdt_of(const struct vm *vm);

/* The RAM a kernel ending at `end` needs from G (hermit-fdt-abi.md 2.1, last
 * bullet). */
uint64_t abi_fdt_min_mem(uint64_t g, uint64_t end);

/* PML4 at G + 0x10000, recursive [511], 2 MiB identity pages from G up to and
 * including the one holding `end` (the kernel's last byte + 1); the GDT at G.
 * 0, or -1 when the table pool is too small. */
int abi_fdt_write_tables(struct guest_mem *m, uint64_t g, uint64_t end);

/* bootargs (hermit-fdt-abi.md 3.3) of environment `env` (NULL-terminated K=V) and
 * app arguments argv[0..argc): NUL-terminated into out. 0, or -1 with err set. */
int abi_fdt_bootargs(char *const *env, int argc, char *const *argv, char *out, size_t outlen,
		     char *err, size_t errlen);

/* The blob's inputs: what the guest gets (hermit-fdt-abi.md 3.2). */
struct fdt_inputs {
	uint64_t g, mem_size;
	uint64_t image_start, image_end; /* the memory reservation */
	uint32_t tsc_khz;
	const char *bootargs;
	const char *const *mounts; /* guest directories, NULL-terminated; may be NULL */
};

/* Build the FDT into buf (at most len bytes, which it must fit); its size, or -1
 * with err set. */
int abi_fdt_build(const struct fdt_inputs *in, void *buf, size_t len, char *err, size_t errlen);

/* The guest directories /uhyve,mounts announces for the config's --mount list:
 * each mapped directory, the parent of each mapped file, never "/", no repeats.
 * Fills up to max-1 entries of out (strings into store) and a NULL. */
void abi_fdt_mounts(const struct config *c, const char **out, size_t max, char *store,
		    size_t storelen);

#endif
