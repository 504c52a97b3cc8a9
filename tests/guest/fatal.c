/* fatal.c: guests that misbehave on purpose, one way per argv[1].
 *
 *   triplefault  empty IDT, then ud2: #UD → #DF → shutdown (KVM_EXIT_SHUTDOWN)
 *   int3noidt    empty IDT, then int3: the #BP cannot be delivered (software KVM: proxy
 *                injects it, so the triple fault that follows names vector 3)
 *   waitfault    spin until a debugger sets fatal_go, then the pagefault (listen mode)
 *   idtmmio      IDT in guest-physical space that is not RAM, then that #PF: the
 *                CPU cannot read the gate (hardware KVM: an internal error, "delivery
 *                of an event"; or a triple fault, as the host's KVM decides)
 *   badport      32-bit OUT to port 0x1234, which no hypercall uses
 *   mmio         write to a guest-physical address that is not RAM
 *   mmioread     read from such an address
 *   hang         spin forever with PAUSE (for SIGINT/SIGTERM tests)
 *   halt         cli; hlt forever (the vCPU sleeps in KVM; signals must still work)
 *   exception    divide by zero: the runtime reports vector 0 and exits 99
 *   pagefault    empty IDT, then a write to unmapped 0xbadc0de0008: #PF that nothing
 *                handles (→ #DF → shutdown on hardware KVM; CR2 keeps the address)
 *   badexit      EXIT hypercall whose argument address is not guest RAM
 *   selfmap      every unused PML4 slot points at the PML4 itself, then hang: the
 *                page tables map themselves all over the address space (info mem)
 * Each prints "fatal: <mode>" first so a test knows the guest got that far.
 */
#include "rt.h"

#define UNUSED_PORT 0x1234
#define GIB	    (1ULL << 30)

/* An address that is mapped in the guest page tables but backed by no RAM. */
static uint64_t non_ram_address(void)
{
	uint64_t limit = rt_limit();
	if (limit + 0x1000 <= HERMIT_IDENTITY_MAP_SIZE)
		return limit < GIB - 0x100000 ? GIB - 0x100000 : limit;
	uint64_t in_hole = HERMIT_PCI_HOLE_START + 0x1000; /* never RAM */
	rt_map_identity(in_hole, 0x1000);
	return in_hole;
}

static void triple_fault(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = {0, 0};
	__asm__ volatile("lidt %0; ud2" : : "m"(empty) : "memory");
}

volatile int fatal_go; /* set by a debugger: waitfault goes on to its page fault */

/* Canonical, far beyond RAM: no PML4 entry of the runtime's tables covers it. */
#define UNMAPPED_ADDRESS 0xbadc0de0008ULL

/* Load an IDT at `base` (limit: all 256 gates) and write to an unmapped address. */
static void page_fault_with_idt(uint64_t base, uint16_t limit)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {limit, base};
	__asm__ volatile("lidt %0; movq $0x5a, (%1)"
			 :
			 : "m"(idtr), "r"((uintptr_t)UNMAPPED_ADDRESS)
			 : "memory");
}

static void breakpoint_without_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = {0, 0};
	__asm__ volatile("lidt %0; int3" : : "m"(empty) : "memory");
}

static int divide_by_zero(void)
{
	volatile int zero = 0;
	int q;
	__asm__ volatile("cltd; idivl %2" : "=a"(q) : "a"(1), "r"(zero) : "edx");
	return q;
}

/* A recursive mapping in every free PML4 slot: the PML4 serves as its own PDPT, PD
 * and PT there, so 255 x 512 GiB of virtual space map the page tables' pages. */
static void map_page_tables_everywhere(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(cr3 & ~0xfffULL);
	for (int i = 1; i < 256; i++)
		if (!(pml4[i] & 1))
			pml4[i] = (cr3 & ~0xfffULL) | 0x3; /* present, writable */
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	const char *mode = argc > 1 ? argv[1] : "";
	rt_printf("fatal: %s\n", mode);
	if (!strcmp(mode, "triplefault")) {
		triple_fault();
	} else if (!strcmp(mode, "pagefault")) {
		page_fault_with_idt(0, 0);
	} else if (!strcmp(mode, "int3noidt")) {
		breakpoint_without_idt();
	} else if (!strcmp(mode, "waitfault")) {
		while (!fatal_go)
			rt_pause();
		page_fault_with_idt(0, 0);
	} else if (!strcmp(mode, "idtmmio")) {
		page_fault_with_idt(non_ram_address(), 0xfff);
	} else if (!strcmp(mode, "badport")) {
		rt_outl(UNUSED_PORT, 0xDEADBEEF);
	} else if (!strcmp(mode, "mmio")) {
		uint64_t a = non_ram_address();
		rt_printf("fatal: writing to 0x%lx\n", (unsigned long)a);
		*(volatile uint32_t *)(uintptr_t)a = 0x12345678;
	} else if (!strcmp(mode, "mmioread")) {
		uint64_t a = non_ram_address();
		rt_printf("fatal: reading from 0x%lx\n", (unsigned long)a);
		rt_printf("fatal: read 0x%x\n", *(volatile uint32_t *)(uintptr_t)a);
	} else if (!strcmp(mode, "hang")) {
		for (;;)
			rt_pause();
	} else if (!strcmp(mode, "halt")) {
		rt_halt_forever();
	} else if (!strcmp(mode, "badexit")) {
		rt_outl(HERMIT_PORT_EXIT, 0xFFFFF000u); /* the top page of 4 GiB: never RAM */
	} else if (!strcmp(mode, "selfmap")) {
		map_page_tables_everywhere();
		rt_printf("fatal: mapped\n");
		for (;;)
			rt_pause();
	} else if (!strcmp(mode, "exception")) {
		rt_printf("fatal: quotient %d\n", divide_by_zero());
	} else {
		rt_printf("usage: fatal "
			  "triplefault|pagefault|int3noidt|waitfault|idtmmio|badport|mmio|mmioread|"
			  "hang|halt|"
			  "exception|badexit|selfmap\n");
		return 2;
	}
	rt_printf("fatal: the VM survived '%s'\n", mode);
	return 3;
}
