/* tables.c: what a Hermit 0.10+ kernel does to its page tables after boot
 * (shared/spec/hermit-fdt-abi.md 2.2), for the debugger's tests
 * (tests/gdb/test_gdb_hermit_fdt.py): breakpoints before and after the rebuild.
 *
 * 1. before_tables() runs on the hypervisor's boot tables (CR3 = G + 0x10000).
 * 2. All RAM is identity-mapped in 2 MiB frames by writing new entries into the
 *    live tables, as the kernels do: Hermit 0.10 and main through the recursive
 *    slot PML4[511], 0.11-0.13 at virtual = physical (OffsetPageTable at 0). An
 *    existing entry must be the identical 2 MiB leaf (the kernels accept no other).
 *    The live tables also get a 4 KiB page at MOVED_VA: old_page.
 * 3. Stronger than any kernel (they keep the boot PML4): a fresh copy of the
 *    tables in the image's .bss, with its own recursive slot and an alias at
 *    ALIAS_VA of one data page and of the two code pages around alias_code(), is
 *    loaded into CR3 by switch_cr3 (cr3_loaded is the instruction after the
 *    load), and CR3 is reloaded once more to flush the TLB. In the copy MOVED_VA
 *    is new_page: an address whose page changes with CR3.
 * 4. tables_state becomes 2, the data is written through the alias and read back
 *    at its own address, alias_code() runs from the alias, after_tables() and
 *    later_work() run; old_page and new_page still hold their fill bytes.
 *    Prints "tables: ok ..." and exits 0, or exits 1 naming the failed check.
 */
#include "rt.h"

#include "hermit_fdt_abi.h"

#define PAGE_2M	     (1ULL << 21)
#define TABLE_FLAGS  (PTE_PRESENT | PTE_WRITABLE)
#define RECURSIVE_VA 0xFFFFFF8000000000ULL /* PML4[511] -> PML4: the tables as pages */
#define ALIAS_SLOT   252		   /* PML4 index of the alias window */
#define ALIAS_VA     ((uint64_t)ALIAS_SLOT << 39)
#define MOVED_VA     (ALIAS_VA + 0x3000) /* old_page on the boot tables, new_page after */
#define ALIAS_MAGIC  0x7ab1e5u
#define POOL	     6

/* The debugger's test reads these. */
volatile int tables_state = 1;		    /* 2 once the new tables are live */
volatile uint64_t frames_added;		    /* 2 MiB leaves written into the live tables */
volatile uint64_t fresh_cr3;		    /* the copy's PML4 */
volatile uint32_t *volatile alias_data_ptr; /* alias_data through ALIAS_VA */
uint64_t (*volatile alias_fn)(uint64_t);    /* alias_code through ALIAS_VA */

static uint32_t alias_data[1024] __attribute__((aligned(4096))) = {ALIAS_MAGIC, 1};
uint8_t old_page[4096] __attribute__((aligned(4096))) = {0x11, 0x11};
uint8_t new_page[4096] __attribute__((aligned(4096))) = {0x22, 0x22};
static uint64_t new_tables[POOL][512] __attribute__((aligned(4096))); /* live-table growth */
static unsigned new_tables_used;
static uint64_t fresh[2 + 2 * POOL][512] __attribute__((aligned(4096))); /* the copy */
static unsigned fresh_used;

/* Global, for the debugger's breakpoints. */
void before_tables(void);
int after_tables(void);
uint64_t later_work(uint64_t x);
uint64_t alias_code(uint64_t x);
void switch_cr3(uint64_t cr3);
extern char cr3_loaded[];
/* No compiler between the load and the label: GDB steps exactly over the load. */
__asm__(".text\n"
	".globl switch_cr3\n"
	".type switch_cr3, @function\n"
	"switch_cr3:\n"
	"	mov %rdi, %cr3\n"
	".globl cr3_loaded\n"
	"cr3_loaded:\n"
	"	ret\n"
	".size switch_cr3, . - switch_cr3\n");

__attribute__((noinline)) void before_tables(void)
{
	__asm__ volatile("" : : : "memory");
}

__attribute__((noinline)) int after_tables(void)
{
	__asm__ volatile("" : : : "memory");
	return tables_state;
}

__attribute__((noinline)) uint64_t later_work(uint64_t x)
{
	__asm__ volatile("" : "+r"(x) : : "memory");
	return x + 1;
}

/* A leaf without data references: it runs the same from the alias. */
__attribute__((noinline)) uint64_t alias_code(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 7 + 5;
}

__attribute__((noreturn)) static void fail(const char *what, uint64_t got)
{
	rt_printf("tables: FAIL %s (0x%lx)\n", what, (unsigned long)got);
	rt_exit(1);
}

static uint64_t read_cr3(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	return cr3 & PTE_ADDR_MASK;
}

static uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* the image is identity-mapped */
}

static int through_recursive_slot(void)
{
	return rt_fdt_gen == RT_GEN_FDT10 || rt_fdt_gen >= RT_GEN_M2;
}

/* The live table at `level` (4 = PML4, 3 = PDPT, 2 = PD) on the way to `va`:
 * through the recursive slot (`level` times 511, then va's upper indices), or
 * walked from CR3 at virtual = physical. */
static volatile uint64_t *live_table(uint64_t va, int level)
{
	if (!through_recursive_slot()) {
		volatile uint64_t *t = (volatile uint64_t *)(uintptr_t)read_cr3();
		for (int l = 4; l > level; l--)
			t = (volatile uint64_t *)(uintptr_t)(t[(va >> (12 + 9 * (l - 1))) & 511] &
							     PTE_ADDR_MASK);
		return t;
	}
	uint64_t a = 0xFFFF000000000000ULL; /* sign extension of index 511 */
	for (int k = 0, l = 4; k < 4; k++) {
		uint64_t idx = k < level ? HFDT_RECURSIVE_SLOT : (va >> (12 + 9 * (l-- - 1))) & 511;
		a |= idx << (39 - 9 * k);
	}
	return (volatile uint64_t *)(uintptr_t)a;
}

static uint64_t *new_table(void)
{
	if (new_tables_used == POOL)
		fail("out of page-table frames", POOL);
	return new_tables[new_tables_used++]; /* .bss: zero */
}

/* Make sure the entries over `va` down to the table at `level` point to tables. */
static void ensure_path(uint64_t va, int level_wanted)
{
	for (int level = 4; level > level_wanted; level--) {
		volatile uint64_t *t = live_table(va, level);
		unsigned i = (va >> (12 + 9 * (level - 1))) & 511;
		if (t[i] & PTE_PAGE_SIZE)
			fail("a 1 GiB leaf over RAM", t[i]);
		if (!(t[i] & PTE_PRESENT)) {
			t[i] = phys(new_table()) | TABLE_FLAGS;
			__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3"
					 :
					 :
					 : "rax", "memory");
		}
	}
}

/* Step 2: every 2 MiB frame of RAM as an identity leaf of the live tables. */
static void map_all_ram(uint64_t start, uint64_t end)
{
	for (uint64_t a = start & ~(PAGE_2M - 1); a < end; a += PAGE_2M) {
		ensure_path(a, 2);
		volatile uint64_t *pd = live_table(a, 2);
		unsigned i = (a >> 21) & 511;
		uint64_t want = a | TABLE_FLAGS | PTE_PAGE_SIZE;
		if (!(pd[i] & PTE_PRESENT)) {
			pd[i] = want;
			frames_added++;
		} else if ((pd[i] & (PTE_ADDR_MASK | PTE_PAGE_SIZE | PTE_PRESENT)) !=
			   (want & (PTE_ADDR_MASK | PTE_PAGE_SIZE | PTE_PRESENT))) {
			fail("an existing entry is not the identical 2 MiB leaf", pd[i]);
		}
	}
	ensure_path(MOVED_VA, 1);
	live_table(MOVED_VA, 1)[(MOVED_VA >> 12) & 511] = phys(old_page) | TABLE_FLAGS;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
}

static uint64_t *fresh_table(const volatile uint64_t *from)
{
	if (fresh_used == sizeof(fresh) / sizeof(fresh[0]))
		fail("out of fresh tables", fresh_used);
	uint64_t *t = fresh[fresh_used++];
	for (int i = 0; from && i < 512; i++)
		t[i] = from[i];
	return t;
}

/* Step 3: a deep copy of PML4, PDPTs and PDs (page tables, if any, are shared). */
static uint64_t *copy_tables(void)
{
	const volatile uint64_t *pml4 = live_table(0, 4);
	uint64_t *np = fresh_table(pml4);
	for (unsigned i = 0; i < HFDT_RECURSIVE_SLOT; i++) {
		if (!(pml4[i] & PTE_PRESENT) || i == ALIAS_SLOT) /* add_alias's own */
			continue;
		uint64_t va = (uint64_t)i << 39;
		const volatile uint64_t *pdpt = live_table(va, 3);
		uint64_t *nd = fresh_table(pdpt);
		np[i] = phys(nd) | (pml4[i] & ~PTE_ADDR_MASK);
		for (unsigned j = 0; j < 512; j++) {
			if ((pdpt[j] & (PTE_PRESENT | PTE_PAGE_SIZE)) != PTE_PRESENT)
				continue;
			uint64_t *nq = fresh_table(live_table(va | (uint64_t)j << 30, 2));
			nd[j] = phys(nq) | (pdpt[j] & ~PTE_ADDR_MASK);
		}
	}
	np[HFDT_RECURSIVE_SLOT] = phys(np) | TABLE_FLAGS;
	return np;
}

/* The alias window: PT[0] = the data page, PT[1..2] = the code pages of alias_code. */
static void add_alias(uint64_t *pml4)
{
	uint64_t *pdpt = fresh_table(NULL), *pd = fresh_table(NULL), *pt = fresh_table(NULL);
	uint64_t code = phys((const void *)alias_code) & ~0xFFFULL;
	pml4[ALIAS_SLOT] = phys(pdpt) | TABLE_FLAGS;
	pdpt[0] = phys(pd) | TABLE_FLAGS;
	pd[0] = phys(pt) | TABLE_FLAGS;
	pt[0] = phys(alias_data) | TABLE_FLAGS;
	pt[1] = code | PTE_PRESENT;
	pt[2] = (code + 0x1000) | PTE_PRESENT;
	pt[(MOVED_VA >> 12) & 511] = phys(new_page) | TABLE_FLAGS;
	alias_data_ptr = (volatile uint32_t *)(uintptr_t)ALIAS_VA;
	alias_fn = (uint64_t(*)(uint64_t))(uintptr_t)(ALIAS_VA + 0x1000 +
						      (phys((const void *)alias_code) & 0xFFF));
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint64_t g = rt_fdt_guest_base(), boot_cr3 = read_cr3();
	if (boot_cr3 != g + HFDT_PML4_OFF)
		fail("CR3 at boot is not G + 0x10000", boot_cr3);
	before_tables();
	map_all_ram(g, rt_limit());
	uint64_t *pml4 = copy_tables();
	add_alias(pml4);
	if (*(volatile uint8_t *)(uintptr_t)MOVED_VA != 0x11)
		fail("MOVED_VA on the boot tables is not old_page", MOVED_VA);
	fresh_cr3 = phys(pml4);
	switch_cr3(fresh_cr3);
	uint64_t now;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(now) : : "memory"); /* TLB flush */
	if ((now & PTE_ADDR_MASK) != fresh_cr3)
		fail("CR3 is not the fresh copy", now);
	tables_state = 2;
	if (alias_data_ptr[0] != ALIAS_MAGIC)
		fail("the alias does not show the data page", alias_data_ptr[0]);
	alias_data_ptr[1] = 0xa11a5;
	if (alias_data[1] != 0xa11a5)
		fail("a write through the alias did not reach the page", alias_data[1]);
	uint64_t from_alias = alias_fn(6);
	if (from_alias != 47)
		fail("alias_code(6) from the alias", from_alias);
	if (*(volatile uint8_t *)(uintptr_t)MOVED_VA != 0x22)
		fail("MOVED_VA on the new tables is not new_page", MOVED_VA);
	int state = after_tables();
	if (old_page[0] != 0x11 || new_page[0] != 0x22)
		fail("old_page/new_page changed", (uint64_t)old_page[0] << 8 | new_page[0]);
	uint64_t w = later_work((uint64_t)state);
	uint64_t top = rt_limit() - 8; /* the last word of RAM, mapped only now */
	*(volatile uint64_t *)(uintptr_t)top = w;
	rt_printf("tables: ok frames_added=%lu state=%d alias=0x%x work=%lu last=%lu\n",
		  (unsigned long)frames_added, state, alias_data[1], (unsigned long)w,
		  (unsigned long)*(volatile uint64_t *)(uintptr_t)top);
	return 0;
}
