/* bench_mig.c: the guest of scripts/bench's live migration cases and of
 * tests/integration/test_live_migration.py: memory that keeps changing while it
 * migrates, in a pattern it checks at the end.
 *
 * Arguments: gate=PATH [mib=N, default and maximum 64] [rate=R, MB/s, default 0].
 * Writes one word into every 4 KiB page of an N MiB array (the touched memory),
 * prints "mig: touched pages=P", then until open(PATH) succeeds rewrites one word
 * per page, page after page, pass after pass: R MB/s of pages paced by the TSC
 * (0: none, idle; -1: as fast as it can). Page p holds base(p) + the number of
 * passes that wrote it, so the guest knows what every page must hold. Once the
 * file is there: "mig: gate", every page checked ("mig: ok pages=P", status 0), or
 * "mig: FAIL ..." and status 1 (a page migrated from the wrong moment).
 */
#include <stdbool.h>

#include "../../bench/bench_guest.h"

#define PAGE_WORDS  512 /* 64-bit words in a 4 KiB page */
#define MAX_MIB	    64
#define MAX_PAGES   (MAX_MIB * 256)
#define IDLE_PAUSES 20000 /* between two looks for the gate file when idle */
#define LOOK_PAGES  1024  /* at most this many pages between two looks */

static uint64_t area[MAX_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));

static uint64_t *slot(uint64_t p)
{
	return &area[p * PAGE_WORDS + (p & (PAGE_WORDS - 1))];
}

static uint64_t base(uint64_t p)
{
	return (p + 1) * 0x9E3779B97F4A7C15ULL | 1;
}

static bool gate_open(const char *gate)
{
	int fd = rt_open(gate, RT_O_RDONLY, 0);
	if (fd >= 0) {
		rt_close(fd);
		return true;
	}
	if (fd != -RT_ENOENT) {
		rt_printf("mig: FAIL open(%s) = %d (is its directory mounted?)\n", gate, fd);
		rt_exit(1);
	}
	return false;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	const char *gate = bench_arg_str("gate", NULL);
	int64_t mib = bench_arg_int("mib", MAX_MIB), rate = bench_arg_int("rate", 0);
	if (!gate || mib < 1 || mib > MAX_MIB || rate < -1) {
		rt_printf("usage: bench_mig gate=PATH [mib=N <= %d] [rate=MB/s, -1: max]\n",
			  MAX_MIB);
		return 2;
	}
	const uint64_t pages = (uint64_t)mib * 256;
	for (uint64_t p = 0; p < pages; p++)
		*slot(p) = base(p);
	rt_printf("mig: touched pages=%lu\n", (unsigned long)pages);
	/* TSC ticks per page at `rate` MB/s (1 MB = 1e6 bytes). */
	uint64_t per_page = rate > 0 ? (uint64_t)bench_mhz() * 4096 / (uint64_t)rate : 0;
	uint64_t pass = 0, cursor = 0, due = bench_tsc();
	while (!gate_open(gate)) {
		if (rate == 0) {
			for (uint32_t i = 0; i < IDLE_PAUSES; i++)
				rt_pause();
			continue;
		}
		for (uint32_t n = 0; n < LOOK_PAGES; n++) {
			if (rate > 0 && bench_tsc() < due)
				break;
			due += per_page;
			*slot(cursor) = base(cursor) + pass + 1;
			if (++cursor == pages)
				cursor = 0, pass++;
		}
		if (rate > 0 && bench_tsc() > due + per_page * LOOK_PAGES)
			due = bench_tsc(); /* a stop (the migration): no catching up */
	}
	rt_printf("mig: gate\n");
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t want = base(p) + pass + (p < cursor ? 1 : 0);
		if (*slot(p) != want) {
			rt_printf("mig: FAIL page %lu holds 0x%lx, expected 0x%lx\n",
				  (unsigned long)p, (unsigned long)*slot(p), (unsigned long)want);
			return 1;
		}
	}
	rt_printf("mig: ok pages=%lu\n", (unsigned long)pages);
	return 0;
}
