/* test_pagewalk.c: pw_for_each_range over a hand-built recursive page table: a
 * callback's non-zero return ends the walk at once (the monitor's `info mem` cap
 * relies on it), and without one the table budget still ends it. */
#include "guest_mem.h"
#include "hermit_abi.h"
#include "pagewalk.h"
#include "unit.h"

#include <stdlib.h>

#define MiB	 (1ULL << 20)
#define RAM_SIZE (16 * MiB)
#define PML4	 0x1000
#define PDPT	 0x2000
#define PD	 0x3000
#define STOP_AT	 4097 /* `info mem` prints 4096 and stops at the next */

struct counter {
	unsigned long calls, stop_at;
	uint64_t last_va;
};

static int count_range(void *arg, const struct pw_range *r)
{
	struct counter *c = arg;
	c->calls++;
	c->last_va = r->va;
	return c->calls == c->stop_at ? 1 : 0;
}

/* PML4[0] -> PDPT -> PD with eight 2 MiB pages; every other PML4 slot -> PML4. */
static void build_recursive(struct guest_mem *m)
{
	guest_mem_layout(m, RAM_SIZE);
	m->host = calloc(1, RAM_SIZE);
	uint64_t *pml4 = gpa_ptr(m, PML4, 4096), *pdpt = gpa_ptr(m, PDPT, 4096),
		 *pd = gpa_ptr(m, PD, 4096);
	pml4[0] = PDPT | PTE_PRESENT | PTE_WRITABLE;
	for (unsigned i = 1; i < 512; i++)
		pml4[i] = PML4 | PTE_PRESENT | PTE_WRITABLE;
	pdpt[0] = PD | PTE_PRESENT | PTE_WRITABLE;
	for (unsigned i = 0; i < 8; i++)
		pd[i] = (i * 2 * MiB) | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE;
}

static void test_callback_stops_the_walk(const struct guest_mem *m)
{
	struct counter c = {.stop_at = STOP_AT};
	CHECK_EQ(pw_for_each_range(m, PML4, false, count_range, &c), 1);
	CHECK_EQ(c.calls, STOP_AT); /* not one call more */
}

static void test_budget_ends_an_unstopped_walk(const struct guest_mem *m)
{
	struct counter c = {.stop_at = 0};
	CHECK_EQ(pw_for_each_range(m, PML4, false, count_range, &c), PW_TRUNCATED);
	CHECK(c.calls > 1000 * STOP_AT); /* what the cap saves: millions of ranges */
}

static void test_plain_table_is_whole(struct guest_mem *m)
{
	uint64_t *pml4 = gpa_ptr(m, PML4, 4096);
	for (unsigned i = 1; i < 512; i++)
		pml4[i] = 0;
	struct counter c = {.stop_at = 0};
	CHECK_EQ(pw_for_each_range(m, PML4, false, count_range, &c), 0);
	CHECK_EQ(c.calls, 1); /* the eight pages merge into one 16 MiB range */
	CHECK_EQ(c.last_va, 0);
}

int main(void)
{
	struct guest_mem m;
	build_recursive(&m);
	test_callback_stops_the_walk(&m);
	test_budget_ends_an_unstopped_walk(&m);
	test_plain_table_is_whole(&m);
	free(m.host);
	return unit_report();
}
