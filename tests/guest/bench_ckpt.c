/* bench_ckpt.c: the guest of scripts/bench's checkpoint cases.
 *
 * Arguments: gate=PATH [mib=N, default and maximum 64] [high=1].
 * With high=1 the area is guest RAM from HIGH_BASE on instead (mib up to
 * MAX_HIGH_MIB; HERMIT_MEM must hold it): RAM proxy backs with huge pages, as a
 * guest's heap. Writes one non-zero word into every 4 KiB page of an N MiB .bss array (guest RAM
 * starts zero and unbacked, so those pages are what a full checkpoint carries beyond
 * the image), prints "ckpt: touched pages=P", then polls open(PATH) until the file
 * exists; between two looks it writes one word of a scratch page (SCRATCH_PAGES in
 * turn) and busy-waits, so an incremental checkpoint taken while it waits carries a
 * few dozen pages. Once the file is there: "ckpt: gate looks=L" (the first line a
 * restored guest prints), then every touched page is checked ("ckpt: ok pages=P")
 * and the exit status is 0; a page that lost its word prints "ckpt: FAIL ..." and
 * exits 1.
 */
#include "../../bench/bench_guest.h"

#define PAGE_WORDS    512 /* 64-bit words in a 4 KiB page */
#define MAX_MIB	      64
#define HIGH_BASE     (72ULL << 20) /* above the image, 2 MiB-aligned */
#define MAX_HIGH_MIB  (1024 - 72)   /* proxy's boot page tables map the first GiB */
#define MAX_PAGES     (MAX_MIB * 256)
#define SCRATCH_PAGES 64
#define BUSY_PAUSES   20000 /* between two looks for the gate file */

static uint64_t low_area[MAX_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));
static uint64_t scratch[SCRATCH_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));

static uint64_t word_of(uint64_t page)
{
	return (page + 1) * 0x9E3779B97F4A7C15ULL | 1;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	const char *gate = bench_arg_str("gate", NULL);
	int64_t mib = bench_arg_int("mib", MAX_MIB);
	int64_t high = bench_arg_int("high", 0);
	if (!gate || mib < 1 || mib > (high ? MAX_HIGH_MIB : MAX_MIB)) {
		rt_printf("usage: bench_ckpt gate=PATH [mib=N <= %d] [high=1, mib <= %d]\n",
			  MAX_MIB, MAX_HIGH_MIB);
		return 2;
	}
	uint64_t *area = high ? (uint64_t *)(uintptr_t)HIGH_BASE : low_area;
	const uint64_t pages = (uint64_t)mib * 256;
	for (uint64_t p = 0; p < pages; p++)
		area[p * PAGE_WORDS + (p & (PAGE_WORDS - 1))] = word_of(p);
	rt_printf("ckpt: touched pages=%lu\n", (unsigned long)pages);
	uint64_t looks = 0;
	for (;;) {
		int fd = rt_open(gate, RT_O_RDONLY, 0);
		if (fd >= 0) {
			rt_close(fd);
			break;
		}
		if (fd != -RT_ENOENT) {
			rt_printf("ckpt: FAIL open(%s) = %d (is its directory mounted?)\n", gate,
				  fd);
			return 1;
		}
		scratch[(looks % SCRATCH_PAGES) * PAGE_WORDS] = looks + 1;
		looks++;
		for (uint32_t i = 0; i < BUSY_PAUSES; i++)
			rt_pause();
	}
	rt_printf("ckpt: gate looks=%lu\n", (unsigned long)looks);
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t v = area[p * PAGE_WORDS + (p & (PAGE_WORDS - 1))];
		if (v != word_of(p)) {
			rt_printf("ckpt: FAIL page %lu holds 0x%lx, expected 0x%lx\n",
				  (unsigned long)p, (unsigned long)v, (unsigned long)word_of(p));
			return 1;
		}
	}
	rt_printf("ckpt: ok pages=%lu\n", (unsigned long)pages);
	return 0;
}
