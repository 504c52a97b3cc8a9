/* fdt.h: a small freestanding FDT reader for the FDT-booted test guests, doing what
 * the Hermit kernels' parser (fdt 0.1.5) does with uhyve's blob: check the header,
 * find a property of the root or of one of its children (shared/spec/
 * hermit-fdt-abi.md section 3). Values are big-endian, as in the blob.
 */
#ifndef RT_FDT_H
#define RT_FDT_H

#include <stdint.h>

#define RT_FDT_MAGIC 0xD00DFEEDu

struct rt_fdt_header {
	uint32_t magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version,
		last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct;
};

uint32_t rt_be32(const void *p);
uint64_t rt_be64(const void *p);
/* 0 when the blob at fdt has the magic and its blocks lie inside totalsize (which
 * must not exceed max); else a message in *why. */
int rt_fdt_check(const void *fdt, uint32_t max, const char **why);
/* The value of property `prop` of node `node`: "" is the root, "name" a child of
 * the root named exactly so, "name@" the first child whose name starts with it.
 * NULL if absent; *len gets the value's length. */
const void *rt_fdt_prop(const void *fdt, const char *node, const char *prop, uint32_t *len);
/* The full name of the first child of the root starting with `prefix` (NULL: none). */
const char *rt_fdt_child(const void *fdt, const char *prefix);

#endif
