/* hermit_entry_abi.h: the Hermit 0.6 boot contract (hermit-entry protocol, entry
 * version 4, uhyve-interface v1), shared by proxy and the test guests.
 *
 * Every value is part of shared/spec/hermit-entry-abi.md (section numbers below);
 * the _Static_asserts pin each offset of the 128-byte boot info. The hypercall
 * ports and structs are those of hermit_abi.h (section 8: same set, same layouts).
 * Freestanding: only <stdint.h> and <stddef.h>, so the guests can include it.
 */
#ifndef HERMIT_ENTRY_ABI_H
#define HERMIT_ENTRY_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- 1. The image's notes ----------------------------------------------- */
#define HERMIT_NOTE_NAME	     "HERMIT" /* n_namesz 7, NUL included */
#define HERMIT_NOTE_ENTRY_VERSION    0x5A00   /* desc: one byte, the entry version */
#define HERMIT_NOTE_UHYVE_INTERFACE  0x5B00   /* desc: u32 big-endian (newer kernels) */
#define HERMIT_ENTRY_VERSION	     4	      /* the only one proxy boots */
#define HERMIT_ENTRY_UHYVE_INTERFACE 1	      /* implied when no 0x5B00 note exists */

/* ---- 2/3. Where a static-PIE image goes ---------------------------------- */
/* Load address of the first PT_LOAD of an ET_DYN image: 2 MiB aligned, clear of
 * proxy's fixed area and boot stack (the uhyve that first ran these images used
 * the same). ET_EXEC images stay at their link address. */
#define HERMIT_ENTRY_LOAD_ADDR	0x400000ULL
#define HERMIT_ENTRY_BOOT_INFO	0x9000ULL /* RDI; the kernel copies what it needs */
#define HERMIT_ENTRY_STACK_SIZE 0x8000ULL /* RSP = image start - this (section 6) */

/* ---- 5. The boot info ---------------------------------------------------- */
#define HERMIT_ENTRY_PLATFORM_MULTIBOOT	 0
#define HERMIT_ENTRY_PLATFORM_UHYVE	 1
#define HERMIT_ENTRY_PLATFORM_LINUX_BOOT 2
#define HERMIT_ENTRY_PLATFORM_FDT	 3
#define HERMIT_ENTRY_SERIAL_PORT	 0x800 /* never 0: the kernel unwraps it (section 5) */

struct hermit_entry_boot_info {
	uint64_t phys_addr_start;
	uint64_t phys_addr_end;
	uint16_t serial_port_base; /* Option<NonZeroU16> */
	uint8_t pad0[6];
	uint64_t device_tree; /* Option<NonZeroU64>: 0 = none */
	uint64_t kernel_image_addr_start;
	uint64_t kernel_image_addr_end;
	uint64_t tls_start; /* all four 0: no TLS */
	uint64_t tls_filesz;
	uint64_t tls_memsz;
	uint64_t tls_align;
	uint32_t platform; /* HERMIT_ENTRY_PLATFORM_* */
	uint32_t pad1;
	uint8_t has_pci; /* bool: 0 or 1 */
	uint8_t pad2[7];
	uint64_t num_cpus; /* NonZeroU64: vCPUs that run */
	uint32_t cpu_freq; /* kHz; 0 = unknown */
	uint32_t pad3;
	uint64_t boot_time[2]; /* i128 little endian: ns since the Unix epoch; [0] = low */
};

#define EBI_OFF(f, o) _Static_assert(offsetof(struct hermit_entry_boot_info, f) == (o), #f)
EBI_OFF(phys_addr_start, 0);
EBI_OFF(phys_addr_end, 8);
EBI_OFF(serial_port_base, 16);
EBI_OFF(pad0, 18);
EBI_OFF(device_tree, 24);
EBI_OFF(kernel_image_addr_start, 32);
EBI_OFF(kernel_image_addr_end, 40);
EBI_OFF(tls_start, 48);
EBI_OFF(tls_filesz, 56);
EBI_OFF(tls_memsz, 64);
EBI_OFF(tls_align, 72);
EBI_OFF(platform, 80);
EBI_OFF(pad1, 84);
EBI_OFF(has_pci, 88);
EBI_OFF(pad2, 89);
EBI_OFF(num_cpus, 96);
EBI_OFF(cpu_freq, 104);
EBI_OFF(pad3, 108);
EBI_OFF(boot_time, 112);
#undef EBI_OFF
_Static_assert(sizeof(struct hermit_entry_boot_info) == 128, "entry-v4 boot info is 128 bytes");

/* ---- 9. PCI configuration ports (answered "no device" when has_pci is set) -- */
#define HERMIT_ENTRY_PCI_CONFIG_ADDRESS 0xCF8
#define HERMIT_ENTRY_PCI_CONFIG_DATA	0xCFC

/* ---- 16. The start gate proxy adds for SMP kernels ----------------------- */
/* hermit::synch_all_cores::CORE_COUNTER: a u32 in .bss that each CPU increments
 * once it has registered its scheduler queue; vCPU i starts once it is >= i. The
 * mangled name ends in a per-build hash (16 hex digits, then 'E'). */
#define HERMIT_ENTRY_CORE_COUNTER_PREFIX "_ZN6hermit15synch_all_cores12CORE_COUNTER17h"
/* Without that symbol vCPU i starts i times this late, as uhyve 0.2-0.5 did. */
#define HERMIT_ENTRY_START_STAGGER_MS 50

#endif
