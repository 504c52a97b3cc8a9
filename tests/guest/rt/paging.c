/* paging.c: extend the boot identity map (first 1 GiB, 2 MiB pages) on demand.
 *
 * The hypervisor maps only [0, 1 GiB). Guests that test large RAM, the PCI
 * hole or the LAPIC add 2 MiB identity pages here. PML4[0] covers 512 GiB, so
 * each missing GiB only needs a PDPT entry pointing to a fresh page directory
 * taken from a static pool inside the image (identity-mapped, so its address
 * is its physical address). The tables are found through CR3 rather than the
 * ABI constants, so this also works if a hypervisor placed them elsewhere.
 * Not thread-safe: call it from one CPU (CPU 0 in practice).
 */
#include "rt.h"

#define PD_POOL_SIZE 8 /* enough for 8 GiB-sized windows */
#define PAGE_2M	     (1ULL << 21)
#define GIB	     (1ULL << 30)
#define TABLE_FLAGS  (PTE_PRESENT | PTE_WRITABLE)

static uint64_t pd_pool[PD_POOL_SIZE][512] __attribute__((aligned(4096)));
static unsigned pd_pool_used;

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

static uint64_t *pd_for(uint64_t *pdpt, unsigned gib)
{
	if (!(pdpt[gib] & PTE_PRESENT)) {
		if (pd_pool_used == PD_POOL_SIZE)
			return NULL;
		uint64_t *pd = pd_pool[pd_pool_used++]; /* .bss: already zero */
		pdpt[gib] = (uint64_t)(uintptr_t)pd | TABLE_FLAGS;
	}
	if (pdpt[gib] & PTE_PAGE_SIZE)
		return NULL; /* a 1 GiB page: already mapped as a whole */
	return table_at(pdpt[gib]);
}

int rt_map_identity_flags(uint64_t phys_start, uint64_t size, uint64_t extra_flags)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = table_at(cr3);
	if (!(pml4[0] & PTE_PRESENT) || !size || phys_start + size < phys_start ||
	    phys_start + size > 512 * GIB)
		return -1;
	uint64_t *pdpt = table_at(pml4[0]);
	for (uint64_t a = phys_start & ~(PAGE_2M - 1); a < phys_start + size; a += PAGE_2M) {
		unsigned gib = (unsigned)(a / GIB);
		if ((pdpt[gib] & (PTE_PRESENT | PTE_PAGE_SIZE)) == (PTE_PRESENT | PTE_PAGE_SIZE))
			continue;
		uint64_t *pd = pd_for(pdpt, gib);
		if (!pd)
			return -1;
		unsigned i = (unsigned)((a % GIB) / PAGE_2M);
		if (!(pd[i] & PTE_PRESENT))
			pd[i] = a | TABLE_FLAGS | PTE_PAGE_SIZE | extra_flags;
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory"); /* flush the TLB */
	return 0;
}

int rt_map_identity(uint64_t phys_start, uint64_t size)
{
	return rt_map_identity_flags(phys_start, size, 0);
}
