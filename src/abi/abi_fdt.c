/* abi_fdt.c: the boot contract of Hermit 0.10 - main (hermit-fdt-abi.md sections
 * 1 and 2): which generation and uhyve-interface an image speaks, where its RAM
 * starts (the guest base G), the tables, registers and boot info at G, and the
 * FDT at G + 0x1000 (abi_fdt_dtb.c). The hypercalls of each interface live in
 * src/hypercall (uhyve_if_register).
 *
 * G is fixed by default (0 for interface 1, 4 GiB for 2 and 3, as uhyve
 * --no-aslr) so that a debugging session is repeatable; --aslr draws it, 2 MiB
 * aligned, from the interface's window as uhyve does by default.
 */
#include "abi_fdt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "abi.h"
#include "boot.h"
#include "config.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"
#include "hypercall.h"
#include "log.h"

#define MiB (1ULL << 20)

unsigned abi_fdt_interface(const struct abi_notes *n, char *err, size_t errlen)
{
	if (!n->has_uhyveif)
		return 1;
	if (n->uhyveif >= HFDT_UHYVEIF_MIN && n->uhyveif <= HFDT_UHYVEIF_MAX)
		return n->uhyveif;
	uint32_t swapped = __builtin_bswap32(n->uhyveif);
	char hint[96] = "";
	if (swapped >= HFDT_UHYVEIF_MIN && swapped <= HFDT_UHYVEIF_MAX)
		snprintf(hint, sizeof(hint),
			 " (read little-endian its bytes give %u: the note must be big-endian)",
			 swapped);
	snprintf(err, errlen,
		 "the image announces uhyve-interface %u (UHYVEIF note)%s; proxy speaks "
		 "uhyve-interface 1, 2 and 3",
		 n->uhyveif, hint);
	return 0;
}

enum fdt_generation abi_fdt_generation(const struct abi_notes *n, unsigned ifv)
{
	if (ifv >= 2)
		return GEN_MAIN;
	if (!n->has_tag || n->major > 0 || n->minor >= 13)
		return GEN_G13;
	return n->minor <= 10 ? GEN_G10 : n->minor == 11 ? GEN_G11 : GEN_G12;
}

const char *abi_fdt_generation_name(enum fdt_generation g)
{
	static const char *const names[] = {"G10", "G11", "G12", "G13", "main"};
	return names[g];
}

static void make_label(struct fdt_abi *a)
{
	const struct abi_notes *n = &a->notes;
	if (!n->has_tag)
		snprintf(a->version, sizeof(a->version), "Hermit (no ABI tag: forced)");
	else if (a->gen == GEN_MAIN)
		snprintf(a->version, sizeof(a->version), "Hermit main (tag %u.%u.%u)", n->major,
			 n->minor, n->patch);
	else
		snprintf(a->version, sizeof(a->version), "Hermit %u.%u.%u", n->major, n->minor,
			 n->patch);
	snprintf(a->label, sizeof(a->label), "%s (generation %s: FDT, uhyve-interface %u)",
		 a->version, abi_fdt_generation_name(a->gen), a->ifv);
}

static const struct fdt_abi *fdt_of(const struct vm *vm)
{
	return (const struct fdt_abi *)vm->abi;
}

uint64_t abi_fdt_min_mem(uint64_t g, uint64_t end)
{
	/* G10-G13: "Not enough memory available!" below (kernel end rounded up to
	 * 2 MiB) + (kernel end - phys_addr_start) + table reserve + 4 MiB; the reserve
	 * is taken as 2 MiB (an estimate: the kernels size it from RAM). */
	uint64_t used = end - g, rounded = ((end + 2 * MiB - 1) & ~(2 * MiB - 1)) - g;
	return rounded + used + 2 * MiB + 4 * MiB;
}

int abi_fdt_write_tables(struct guest_mem *m, uint64_t g, uint64_t end)
{
	uint64_t *gdt = gpa_ptr(m, g + HFDT_GDT_OFF, HERMIT_GDT_ENTRIES * 8);
	uint64_t pml4_at = g + HFDT_PML4_OFF, pool = g + HFDT_PT_POOL_OFF;
	uint64_t *pml4 = gpa_ptr(m, pml4_at, GUEST_PAGE);
	if (!gdt || !pml4)
		return -1;
	gdt[0] = 0;
	gdt[1] = HERMIT_GDT_CODE;
	gdt[2] = HERMIT_GDT_DATA;
	memset(pml4, 0, GUEST_PAGE);
	pml4[HFDT_RECURSIVE_SLOT] = pml4_at | PTE_PRESENT | PTE_WRITABLE;
	/* Up to and including the 2 MiB page holding the kernel's last byte, not beyond
	 * (G10 maps its heap right after the kernel: trap 4). */
	for (uint64_t a = g; a <= end; a += 2 * MiB) {
		uint64_t *table = pml4;
		for (int level = 3; level >= 2; level--) {
			uint64_t *e = &table[(a >> (12 + 9 * level)) & 511];
			if (!*e) {
				if (pool + GUEST_PAGE > g + HFDT_PT_POOL_END ||
				    !gpa_ptr(m, pool, GUEST_PAGE))
					return -1;
				memset(gpa_ptr(m, pool, GUEST_PAGE), 0, GUEST_PAGE);
				*e = pool | PTE_PRESENT | PTE_WRITABLE;
				pool += GUEST_PAGE;
			}
			table = gpa_ptr(m, *e & PTE_ADDR_MASK, GUEST_PAGE);
		}
		table[(a >> 21) & 511] = a | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE;
	}
	return 0;
}

/* ---- placement of G -------------------------------------------------------- */

static void window_of(unsigned ifv, uint64_t *start, uint64_t *end)
{
	*start = ifv == 1 ? HFDT_IFV1_WINDOW_START : HFDT_IFV2_WINDOW_START;
	*end = ifv == 1 ? HFDT_IFV1_WINDOW_END : HFDT_IFV2_WINDOW_END;
}

static uint64_t random_base(uint64_t start, uint64_t last)
{
	uint64_t r = 0, slots = (last - start) / HFDT_BASE_ALIGN + 1;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		die_errno("--aslr: getrandom");
	return start + (r % slots) * HFDT_BASE_ALIGN;
}

static uint64_t choose_base(const struct vm *vm, unsigned ifv, uint64_t mem)
{
	const struct image *img = &vm->image;
	uint64_t ws, we;
	window_of(ifv, &ws, &we);
	if (mem > we - ws)
		die("HERMIT_MEM/--memory: %llu MiB is more than a uhyve-interface %u kernel's RAM "
		    "window [0x%llx, 0x%llx) holds (at most %llu MiB)%s",
		    (unsigned long long)(mem >> 20), ifv, (unsigned long long)ws,
		    (unsigned long long)we, (unsigned long long)((we - ws) >> 20),
		    ifv == 1 ? ": its hypercalls pass 32-bit addresses" : "");
	if (vm->cfg->guest_base_set) { /* restored: where the checkpoint's RAM was */
		uint64_t g = vm->cfg->guest_base;
		if (g < ws || g > we - mem || g % HFDT_BASE_ALIGN)
			die("the checkpoint's guest base 0x%llx does not fit the uhyve-interface "
			    "%u "
			    "window [0x%llx, 0x%llx) with %llu MiB of RAM",
			    (unsigned long long)g, ifv, (unsigned long long)ws,
			    (unsigned long long)we, (unsigned long long)(mem >> 20));
		return g;
	}
	if (!img->relocatable || !vm->cfg->aslr)
		return ws; /* an ET_EXEC image cannot move: G stays at the window's start */
	return random_base(ws, (we - mem) & ~(HFDT_BASE_ALIGN - 1));
}

static void fdt_place(struct vm *vm)
{
	const struct fdt_abi *a = fdt_of(vm);
	struct image *img = &vm->image;
	uint64_t mem = vm->cfg->mem_size, g = choose_base(vm, a->ifv, mem);
	if (img->relocatable)
		image_rebase(img, g + HFDT_KERNEL_OFF);
	if (img->base < g + HFDT_KERNEL_OFF || img->end > g + mem)
		die("%s: the kernel [0x%llx, 0x%llx) must lie in [0x%llx, 0x%llx), above the boot "
		    "tables and stack at G = 0x%llx and inside RAM%s",
		    img->path, (unsigned long long)img->base, (unsigned long long)img->end,
		    (unsigned long long)(g + HFDT_KERNEL_OFF), (unsigned long long)(g + mem),
		    (unsigned long long)g, img->end > g + mem ? " (raise HERMIT_MEM)" : "");
	uint64_t need = abi_fdt_min_mem(g, img->end);
	if (mem < need)
		die("HERMIT_MEM/--memory: %llu MiB is less than this kernel needs: at least %llu "
		    "MiB (the %llu KiB kernel at 0x%llx, rounded to 2 MiB, as much again, and 6 "
		    "MiB "
		    "for its tables and heap)",
		    (unsigned long long)(mem >> 20), (unsigned long long)((need + MiB - 1) >> 20),
		    (unsigned long long)((img->end - img->base) >> 10),
		    (unsigned long long)img->base);
	guest_mem_layout_at(&vm->mem, g, mem);
	if (vm->cfg->verbose)
		warnx_("%s: generation %s, %s, uhyve-interface %u, guest base 0x%llx%s",
		       vm->cfg->image, abi_fdt_generation_name(a->gen), a->version, a->ifv,
		       (unsigned long long)g, vm->cfg->aslr ? " (--aslr)" : "");
}

/* ---- tables, registers, boot info ------------------------------------------ */

static void fdt_write_tables(struct vm *vm)
{
	if (abi_fdt_write_tables(&vm->mem, vm->mem.base, vm->image.end))
		die("%s: the kernel ends at 0x%llx, too far above G = 0x%llx for the boot page "
		    "tables' pool",
		    vm->image.path, (unsigned long long)vm->image.end,
		    (unsigned long long)vm->mem.base);
}

static void fdt_start_addresses(const struct vm *vm, struct guest_start *out)
{
	out->gdt = vm->mem.base + HFDT_GDT_OFF;
	out->cr3 = vm->mem.base + HFDT_PML4_OFF;
	out->rdi = vm->mem.base + HFDT_BOOT_INFO_OFF;
}

static void fdt_start_stack(const struct vm *vm, unsigned id, uint64_t *rsp, uint64_t *rsi)
{
	*rsp = vm->mem.base + HFDT_STACK_OFF; /* the bottom: _start adds 0x7FF0 */
	*rsi = id;
}

static void write_boot_info(struct vm *vm, uint32_t khz)
{
	const struct fdt_abi *a = fdt_of(vm);
	uint64_t g = vm->mem.base;
	struct hermit_entry_boot_info *bi =
		gpa_ptr(&vm->mem, g + HFDT_BOOT_INFO_OFF, sizeof(struct hermit_entry_boot_info));
	boot_entry_info_common(bi, vm, khz);
	bi->phys_addr_start = g;
	bi->phys_addr_end = g + vm->mem.size;
	bi->serial_port_base = a->ifv == 1 ? HFDT_SERIAL_PORT_IFV1 : HFDT_SERIAL_PORT_IFV2;
	bi->device_tree = g + HFDT_FDT_OFF;
	bi->has_pci = 1; /* the PCI ports answer "no device" (hypercall/) */
}

/* The blob into buf; its size. Dies with a message when it cannot be built. */
static int make_fdt(const struct vm *vm, uint32_t khz, void *buf, size_t len)
{
	char bootargs[HFDT_FDT_MAX]; /* 16 KiB on the main thread's stack, once */
	char err[512], store[8192];
	const char *mounts[CONFIG_MAX_MOUNTS + 1];
	const struct config *c = vm->cfg;
	int argc = c->guest_argc > 0 ? c->guest_argc - 1 : 0;
	if (abi_fdt_bootargs(c->environ, argc, argc ? c->guest_argv + 1 : NULL, bootargs,
			     sizeof(bootargs), err, sizeof(err)))
		die("%s: %s", c->image, err);
	abi_fdt_mounts(c, mounts, CONFIG_MAX_MOUNTS + 1, store, sizeof(store));
	struct fdt_inputs in = {
		.g = vm->mem.base,
		.mem_size = vm->mem.size,
		.image_start = vm->image.base,
		.image_end = vm->image.end,
		.tsc_khz = khz,
		.bootargs = bootargs,
		.mounts = mounts,
	};
	int n = abi_fdt_build(&in, buf, len, err, sizeof(err));
	if (n < 0)
		die("%s: %s", c->image, err);
	return n;
}

static void dump_dtb(const struct vm *vm, const void *blob, int n)
{
	FILE *f = fopen(vm->cfg->dumpdtb, "we");
	if (!f || fwrite(blob, 1, (size_t)n, f) != (size_t)n || fclose(f))
		die_errno("--dumpdtb %s", vm->cfg->dumpdtb);
	exit(0);
}

static void fdt_write_boot_info(struct vm *vm)
{
	/* KVM's TSC rate; without it /proc/cpuinfo's, else 2 GHz (boot.c). */
	uint32_t khz = boot_cpu_freq_khz(vm->vcpus[0].fd);
	/* The blob must stay below 16 KiB (uhyve asserts it, section 2.1). */
	void *blob = gpa_ptr(&vm->mem, vm->mem.base + HFDT_FDT_OFF, HFDT_FDT_MAX);
	int n = make_fdt(vm, khz, blob, HFDT_FDT_MAX - 1);
	if (vm->cfg->dumpdtb)
		dump_dtb(vm, blob, n);
	write_boot_info(vm, khz);
}

static void fdt_register_ports(struct vm *vm)
{
	if (uhyve_if_register(vm, fdt_of(vm)->ifv))
		die("%s: cannot register the uhyve-interface %u hypercalls", vm->cfg->image,
		    fdt_of(vm)->ifv);
}

/* 0.13.2 and main program the IOAPIC (section 4.6): it must be in the kernel, so
 * its MMIO never reaches proxy; the older ones leave it alone either way. */
static bool fdt_needs_ioapic(const struct vm *vm)
{
	(void)vm;
	return true;
}

static const struct guest_abi fdt_template = {
	.name = "hermit-fdt",
	.place = fdt_place,
	.write_tables = fdt_write_tables,
	.start_addresses = fdt_start_addresses,
	.write_boot_info = fdt_write_boot_info,
	.boot_rdi = 0, /* start_addresses: G + 0x5000 */
	.start_stack = fdt_start_stack,
	.register_ports = fdt_register_ports,
	.needs_ioapic = fdt_needs_ioapic,
};

const struct guest_abi *abi_fdt_new(const struct vm *vm, const struct abi_notes *n,
				    unsigned forced_ifv)
{
	char err[256];
	struct fdt_abi *a = calloc(1, sizeof(*a));
	if (!a)
		die("out of memory");
	a->abi = fdt_template;
	a->notes = *n;
	a->ifv = forced_ifv ? forced_ifv : abi_fdt_interface(n, err, sizeof(err));
	if (!a->ifv)
		die("%s: %s", vm->cfg->image, err);
	a->gen = abi_fdt_generation(n, a->ifv);
	static const char *const names[] = {"", "hermit-fdt1", "hermit-fdt2", "hermit-fdt3"};
	a->abi.name = names[a->ifv];
	make_label(a);
	a->abi.label = a->label;
	return &a->abi;
}

const struct fdt_abi *abi_fdt_of(const struct vm *vm)
{
	if (!vm->abi || vm->abi->place != fdt_template.place)
		return NULL;
	return (const struct fdt_abi *)vm->abi;
}
