/* bootcheck.h: the start-up checks the bootinfo programs share (bootinfo.c for
 * RustyHermit, c/bootinfo.c for C HermitCore, hermit/bootinfo.c for Hermit 0.6): a
 * mismatch reporter, key=value arguments, and the CPU state, GDT, page tables and
 * IOAPIC proxy sets up the same way for every ABI (the entry RSP is the ABI's; the
 * IOAPIC is programmed only for C images).
 * Static functions: each program includes this once.
 */
#ifndef BOOTCHECK_H
#define BOOTCHECK_H

#include "rt.h"

#define MSR_EFER	      0xC0000080
#define MSR_MISC_ENABLE	      0x1A0
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_MSR	      (1u << 5)
#define PTE_ACCESSED_DIRTY    0x60ULL
#define ENTRY_RFLAGS	      0x2

#define IOAPIC_ADDR	   0xFEC00000ULL
#define IOAPIC_REGSEL	   0x00
#define IOAPIC_WIN	   0x10
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_REDIR   0x10 /* entry i: low 0x10+2i, high 0x11+2i */
#define IOAPIC_PINS	   24
#define IOAPIC_MASKED	   (1u << 16)
#define C_VECTOR_BASE	   0x20

static int failed;

static void check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return;
	rt_printf("bootinfo: MISMATCH %s: got 0x%lx, expected 0x%lx\n", what, (unsigned long)got,
		  (unsigned long)want);
	failed = 1;
}

/* The end of guest RAM for `mem` bytes: above 0xD0000000 RAM continues at 4 GiB. */
static uint64_t expected_limit(uint64_t mem)
{
	return mem <= HERMIT_PCI_HOLE_START ? mem
					    : mem + HERMIT_PCI_HOLE_END - HERMIT_PCI_HOLE_START;
}

static uint64_t arg_number(const char *key, uint64_t dflt)
{
	int64_t v;
	const char *s = rt_arg_value(key);
	if (!s)
		return dflt;
	if (rt_parse_int(s, &v)) {
		rt_printf("bootinfo: bad %s=%s\n", key, s);
		rt_exit(2);
	}
	return (uint64_t)v;
}

/* Unused by hermit/bootinfo.c: the Hermit 0.6 boot info has no IP configuration. */
__attribute__((unused)) static void check_ipv4(const char *what, const char *key,
					       const uint8_t got[4], const char *dflt)
{
	uint8_t want[4];
	const char *s = rt_arg_value(key);
	if (rt_parse_ipv4(s ? s : dflt, want)) {
		rt_printf("bootinfo: bad %s=%s\n", key, s);
		rt_exit(2);
	}
	if (memcmp(got, want, 4)) {
		rt_printf("bootinfo: MISMATCH %s: got %u.%u.%u.%u, expected %u.%u.%u.%u\n", what,
			  got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
		failed = 1;
	}
}

static uint16_t read_segment(int which)
{
	uint16_t v = 0;
	switch (which) {
	case 0:
		__asm__ volatile("mov %%cs, %0" : "=r"(v));
		break;
	case 1:
		__asm__ volatile("mov %%ds, %0" : "=r"(v));
		break;
	case 2:
		__asm__ volatile("mov %%es, %0" : "=r"(v));
		break;
	case 3:
		__asm__ volatile("mov %%fs, %0" : "=r"(v));
		break;
	case 4:
		__asm__ volatile("mov %%gs, %0" : "=r"(v));
		break;
	case 5:
		__asm__ volatile("mov %%ss, %0" : "=r"(v));
		break;
	}
	return v;
}

/* entry_rsp: what the ABI puts in RSP at the first instruction. */
static void check_cpu_state(uint64_t entry_rsp)
{
	static const char *const seg_names[] = {"CS", "DS", "ES", "FS", "GS", "SS"};
	uint64_t cr0, cr3, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	check("CR0", cr0, HERMIT_CR0);
	check("CR3", cr3 & PTE_ADDR_MASK, HERMIT_PML4_ADDR);
	check("CR4 & PAE", cr4 & HERMIT_CR4, HERMIT_CR4);
	check("EFER & (LME|LMA|NXE)", rt_rdmsr(MSR_EFER) & HERMIT_EFER, HERMIT_EFER);
	check("IA32_MISC_ENABLE", rt_rdmsr(MSR_MISC_ENABLE), 1);
	check("RFLAGS at entry", rt_entry_rflags, ENTRY_RFLAGS);
	check("RSP at entry", rt_entry_rsp, entry_rsp);
	check("RDX at entry", rt_entry_rdx, 0);
	for (int i = 0; i < 6; i++)
		check(seg_names[i], read_segment(i),
		      i == 0 ? HERMIT_GDT_CODE_SEL : HERMIT_GDT_DATA_SEL);

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	check("GDTR base", gdtr.base, HERMIT_GDT_ADDR);
	check("GDTR limit", gdtr.limit, HERMIT_GDT_ENTRIES * 8 - 1);
	const volatile uint64_t *gdt = (const uint64_t *)(uintptr_t)HERMIT_GDT_ADDR;
	check("GDT[0] null", gdt[0], 0);
	check("GDT[1] code", gdt[1], HERMIT_GDT_CODE);
	check("GDT[2] data", gdt[2], HERMIT_GDT_DATA);

	uint32_t r[4];
	rt_cpuid(1, 0, r);
	check("CPUID.1:ECX hypervisor bit", r[2] & CPUID1_ECX_HYPERVISOR, CPUID1_ECX_HYPERVISOR);
	check("CPUID.1:EDX MSR bit", r[3] & CPUID1_EDX_MSR, CPUID1_EDX_MSR);
	rt_cpuid(0, 0, r);
	if (r[0] >= 0xA) {
		rt_cpuid(0xA, 0, r);
		check("CPUID.0xA:EAX (no PMU)", r[0], 0);
	}
}

/* The boot page tables: PML4[0] → PDPT, PML4[511] → PML4 itself, PD identity 1 GiB. */
static void check_page_tables(void)
{
	const volatile uint64_t *pml4 = (const uint64_t *)(uintptr_t)HERMIT_PML4_ADDR;
	const volatile uint64_t *pdpt = (const uint64_t *)(uintptr_t)HERMIT_PDPT_ADDR;
	const volatile uint64_t *pd = (const uint64_t *)(uintptr_t)HERMIT_PD_ADDR;
	const uint64_t pw = PTE_PRESENT | PTE_WRITABLE;
	check("PML4[0] -> PDPT", pml4[0] & (PTE_ADDR_MASK | pw), HERMIT_PDPT_ADDR | pw);
	check("PML4[511] -> PML4 (self map)", pml4[511] & (PTE_ADDR_MASK | pw),
	      HERMIT_PML4_ADDR | pw);
	check("PDPT[0] -> PD", pdpt[0] & (PTE_ADDR_MASK | pw), HERMIT_PD_ADDR | pw);
	int bad = 0;
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t want = (i << 21) | pw | PTE_PAGE_SIZE;
		if ((pd[i] & ~PTE_ACCESSED_DIRTY) != want && !bad++)
			check("PD entry (first mismatch)", pd[i], want);
	}
	/* The self map works: PML4 read through 0xFFFFFFFFFFFFF000 is the PML4. */
	const volatile uint64_t *self = (const uint64_t *)0xFFFFFFFFFFFFF000ULL;
	check("PML4 seen through the recursive slot", self[0], pml4[0]);
}

static uint32_t ioapic_read(unsigned reg)
{
	volatile uint32_t *io = (volatile uint32_t *)(uintptr_t)IOAPIC_ADDR;
	io[IOAPIC_REGSEL / 4] = reg;
	return io[IOAPIC_WIN / 4];
}

/* programmed: as C HermitCore's uhyve left it (every pin: vector 0x20+pin, fixed,
 * physical destination APIC 0, edge, active high, unmasked except pin 2);
 * otherwise KVM's reset state (every pin masked), which RustyHermit programs itself. */
static void check_ioapic(int programmed)
{
	if (rt_map_identity_flags(IOAPIC_ADDR, 0x1000, RT_MAP_UNCACHED)) {
		check("IOAPIC page mapped", 0, 1);
		return;
	}
	uint32_t max_entry = (ioapic_read(IOAPIC_REG_VERSION) >> 16) & 0xFF;
	check("IOAPIC has 24 redirection entries", max_entry + 1 >= IOAPIC_PINS, 1);
	int bad = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS && !bad; pin++) {
		uint32_t lo = ioapic_read(IOAPIC_REG_REDIR + 2 * pin);
		uint32_t hi = ioapic_read(IOAPIC_REG_REDIR + 2 * pin + 1);
		uint32_t want_lo = programmed
					   ? (C_VECTOR_BASE + pin) | (pin == 2 ? IOAPIC_MASKED : 0)
					   : IOAPIC_MASKED;
		if (programmed ? lo != want_lo : !(lo & IOAPIC_MASKED)) {
			char what[64];
			rt_snprintf(what, sizeof(what), "IOAPIC pin %u low word", pin);
			check(what, lo, want_lo);
			bad = 1;
		}
		if (programmed && hi != 0) {
			char what[64];
			rt_snprintf(what, sizeof(what), "IOAPIC pin %u high word (destination)",
				    pin);
			check(what, hi, 0);
			bad = 1;
		}
	}
}

/* The checks every bootinfo program ends with: the CPU state with the ABI's entry
 * RSP and RDI, the page tables, the IOAPIC; then "bootinfo: ok" and 0, or 1. */
static int finish_checks(uint64_t entry_rsp, uint64_t entry_rdi, const char *rdi_what,
			 int ioapic_programmed)
{
	check_cpu_state(entry_rsp);
	check(rdi_what, rt_entry_rdi, entry_rdi);
	check_page_tables();
	check_ioapic(ioapic_programmed);
	if (failed)
		return 1;
	rt_printf("bootinfo: ok\n");
	return 0;
}

#endif
