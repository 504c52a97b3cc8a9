/* test_ram_plan.c: how guest RAM is cut into memory slots, and how an access KVM
 * handed over as MMIO (its slot not registered yet) is completed in RAM.
 *
 * The slots must cover exactly the RAM the layout describes, boot's part first,
 * below the PCI hole and above it, without overlaps or gaps; a load or store
 * completed through gpa_complete_access must land where the guest's own would.
 */
#include "guest_mem.h"
#include "hermit_abi.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* The ranges cover [0, low_size) and [4 GiB, limit) in order, none larger than
 * `chunk` after the first; returns how many there were (0 on any fault). */
static unsigned check_plan(uint64_t size, uint64_t boot, uint64_t chunk)
{
	struct guest_mem m = {0};
	guest_mem_layout(&m, size);
	unsigned n = ram_plan(&m, boot, chunk, NULL, 0);
	struct ram_range *r = calloc(n, sizeof(*r));
	if (!r || ram_plan(&m, boot, chunk, r, n) != n)
		return 0;
	uint64_t want = 0, total = 0;
	int bad = r[0].gpa != 0 || r[0].size != (boot < m.low_size ? boot : m.low_size);
	for (unsigned i = 0; i < n; i++) {
		if (want == m.low_size)
			want = HERMIT_PCI_HOLE_END;
		bad += r[i].gpa != want || r[i].size == 0 || (i > 0 && r[i].size > chunk);
		bad += !gpa_valid(&m, r[i].gpa, r[i].size);
		want = r[i].gpa + r[i].size;
		total += r[i].size;
	}
	if (want == m.low_size && m.limit > m.low_size)
		want = HERMIT_PCI_HOLE_END; /* RAM ends exactly at the hole: limit counts it */
	bad += total != size || want != m.limit;
	free(r);
	return bad ? 0 : n;
}

static void test_plans(void)
{
	CHECK_EQ(check_plan(32 * MiB, 66 * MiB, 256 * MiB), 1);	 /* all of it is boot's */
	CHECK_EQ(check_plan(512 * MiB, 66 * MiB, 256 * MiB), 3); /* 66 + 256 + 190 */
	CHECK_EQ(check_plan(512 * MiB, 512 * MiB, 256 * MiB), 1);
	/* 3.25 GiB below the hole: 66 MiB, 12 whole pieces and a short one */
	CHECK_EQ(check_plan(0xD0000000ULL, 66 * MiB, 256 * MiB), 14);
	CHECK_EQ(check_plan(4 * GiB, 66 * MiB, 256 * MiB), 14 + 3); /* 768 MiB above */
	CHECK_EQ(check_plan(64 * GiB, 66 * MiB, 256 * MiB), 14 + 243);
	CHECK_EQ(check_plan(64 * GiB, 66 * MiB, 1 * GiB), 1 + 4 + 61);
	CHECK(check_plan(64 * GiB + 4096, 66 * MiB, 256 * MiB) > 0); /* a last short piece */
}

static void test_complete_access(void)
{
	struct guest_mem m = {0};
	uint64_t size = 4 * GiB; /* laid out only: the mapping is a small window */
	guest_mem_layout(&m, size);
	uint8_t *ram = calloc(1, 2 * MiB);
	/* Pretend the mapping starts 0xCFF00000 below ram, so the last MiB below the
	 * hole and the first MiB above it are the buffer (gpa_ptr's arithmetic). */
	m.host = ram - (m.low_size - MiB);
	uint64_t v = 0x1122334455667788ULL, got = 0;
	CHECK(gpa_complete_access(&m, HERMIT_PCI_HOLE_END + 16, &v, 8, true));
	CHECK_EQ(*(uint64_t *)(ram + MiB + 16), (long long)v);
	CHECK(gpa_complete_access(&m, HERMIT_PCI_HOLE_END + 16, &got, 8, false));
	CHECK_EQ(got, (long long)v);
	uint16_t w = 0xBEEF;
	CHECK(gpa_complete_access(&m, m.low_size - 2, &w, 2, true)); /* below the hole */
	CHECK_EQ(ram[MiB - 1], 0xBE);
	CHECK(!gpa_complete_access(&m, m.low_size - 2, &v, 4, true)); /* into the hole */
	CHECK(!gpa_complete_access(&m, HERMIT_PCI_HOLE_START + 8, &v, 8, false));
	CHECK(!gpa_complete_access(&m, m.limit, &v, 1, false)); /* past the end */
	m.host = NULL;
	free(ram);
}

int main(void)
{
	test_plans();
	test_complete_access();
	return unit_report();
}
