/* memory.c: guest RAM is where the header's limit says, including above the PCI hole.
 *
 * argv[1] = HERMIT_MEM in bytes (optional). RAM below 0xD0000000 is contiguous;
 * beyond that it continues at 4 GiB and limit counts the 768 MiB hole. Each
 * probe address gets a distinct value first and all are read back after, so
 * two addresses aliasing the same host page (e.g. 4 GiB onto 0) are caught.
 */
#include "rt.h"

#define HOLE_SIZE  (HERMIT_PCI_HOLE_END - HERMIT_PCI_HOLE_START)
#define MAX_PROBES 16

static uint64_t probes[MAX_PROBES];
static int nprobes;

static void probe(uint64_t addr)
{
	addr &= ~7ULL;
	for (int i = 0; i < nprobes; i++)
		if (probes[i] == addr)
			return; /* e.g. limit - 8 == 1 GiB - 8 */
	if (nprobes < MAX_PROBES)
		probes[nprobes++] = addr;
}

static uint64_t pattern(int i, uint64_t addr)
{
	return 0x5A5A000000000000ULL ^ (addr * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)i;
}

static uint64_t expected_limit(uint64_t mem)
{
	return mem <= HERMIT_PCI_HOLE_START ? mem : mem + HOLE_SIZE;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	uint64_t limit = rt_limit();
	int64_t mem = 0;
	if (argc > 1 && (rt_parse_int(argv[1], &mem) || mem <= 0)) {
		rt_printf("memory: bad size '%s'\n", argv[1]);
		return 2;
	}
	if (mem && limit != expected_limit((uint64_t)mem)) {
		rt_printf("memory: limit 0x%lx, expected 0x%lx for %ld bytes of RAM\n",
			  (unsigned long)limit, (unsigned long)expected_limit((uint64_t)mem),
			  (long)mem);
		return 1;
	}
	if (limit > HERMIT_PCI_HOLE_START && limit <= HERMIT_PCI_HOLE_END) {
		rt_printf("memory: limit 0x%lx ends inside the PCI hole\n", (unsigned long)limit);
		return 1;
	}

	uint64_t image_end = (uint64_t)(uintptr_t)__image_end;
	probe(image_end); /* just above the image */
	probe(limit - 8 < HERMIT_PCI_HOLE_START ? limit - 8 : HERMIT_PCI_HOLE_START - 8);
	if (limit >= HERMIT_IDENTITY_MAP_SIZE)
		probe(HERMIT_IDENTITY_MAP_SIZE - 8); /* last word the boot tables map */
	if (limit > HERMIT_IDENTITY_MAP_SIZE)
		probe(HERMIT_IDENTITY_MAP_SIZE); /* first word they do not */
	if (limit > HERMIT_PCI_HOLE_END) {
		probe(HERMIT_PCI_HOLE_END); /* first byte above the hole */
		probe(HERMIT_PCI_HOLE_END + (limit - HERMIT_PCI_HOLE_END) / 2);
		probe(limit - 8);
	}
	probe(0x100000); /* low RAM below the image, a reference for aliasing */

	for (int i = 0; i < nprobes; i++)
		if (probes[i] + 8 > HERMIT_IDENTITY_MAP_SIZE && rt_map_identity(probes[i], 8)) {
			rt_printf("memory: cannot map 0x%lx\n", (unsigned long)probes[i]);
			return 1;
		}
	for (int i = 0; i < nprobes; i++)
		*(volatile uint64_t *)(uintptr_t)probes[i] = pattern(i, probes[i]);
	int bad = 0;
	for (int i = 0; i < nprobes; i++) {
		uint64_t got = *(volatile uint64_t *)(uintptr_t)probes[i];
		if (got != pattern(i, probes[i])) {
			rt_printf("memory: at 0x%lx read 0x%lx, wrote 0x%lx\n",
				  (unsigned long)probes[i], (unsigned long)got,
				  (unsigned long)pattern(i, probes[i]));
			bad = 1;
		}
	}
	if (bad)
		return 1;
	rt_printf("memory: %d addresses written and read back\n", nprobes);
	rt_printf("memory: limit=0x%lx ok\n", (unsigned long)limit);
	return 0;
}
