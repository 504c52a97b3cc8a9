/* bgckpt.c: the guest of the background checkpoint tests
 * (tests/integration/test_checkpoint_background.py).
 *
 *   bgckpt PAGES GATE_PATH
 *
 * Rewrites every one of PAGES pages (at most MAX_PAGES) over and over: sweep G
 * stores G in each page's first word and G * MIX ^ page in its last, after checking
 * that the page still holds sweep G - 1's values. A checkpoint whose memory is not
 * exactly that of one instant (a page saved after the guest rewrote it, or before
 * an earlier write) shows after the restore: the sweep that reaches such a page
 * finds the wrong generation and says "bgckpt: FAIL page P holds gen X, expected Y"
 * (status 3). Between two sweeps it looks for GATE_PATH; once it exists it does
 * two more sweeps, prints "bgckpt: ok gen=G" and exits 0. Prints "bgckpt: running"
 * after the first sweep. Integer code only (KVM-PVM emulates ring 0).
 */
#include "rt.h"

#define PAGE_WORDS 512
#define MAX_PAGES  8192 /* 32 MiB */
#define MIX	   0x9E3779B97F4A7C15ULL

static uint64_t area[MAX_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));

static uint64_t tail_of(uint64_t gen, uint64_t page)
{
	return gen * MIX ^ page;
}

static uint64_t parse(const char *s)
{
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

/* Sweep gen over the pages: 0, or 1 after a FAIL line. */
static int sweep(uint64_t gen, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t *w = &area[p * PAGE_WORDS];
		if (gen > 1 && (w[0] != gen - 1 || w[PAGE_WORDS - 1] != tail_of(gen - 1, p))) {
			rt_printf("bgckpt: FAIL page %lu holds gen %lu, expected %lu\n",
				  (unsigned long)p, (unsigned long)w[0], (unsigned long)(gen - 1));
			return 1;
		}
		w[0] = gen;
		w[PAGE_WORDS - 1] = tail_of(gen, p);
	}
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	uint64_t pages = argc > 1 ? parse(argv[1]) : 0;
	if (argc < 3 || pages < 1 || pages > MAX_PAGES) {
		rt_printf("usage: bgckpt PAGES (1..%d) GATE_PATH\n", MAX_PAGES);
		return 2;
	}
	int after_gate = -1;
	for (uint64_t gen = 1;; gen++) {
		if (sweep(gen, pages))
			return 3;
		if (gen == 1)
			rt_printf("bgckpt: running\n");
		if (after_gate < 0) {
			int fd = rt_open(argv[2], RT_O_RDONLY, 0);
			if (fd >= 0) {
				rt_close(fd);
				after_gate = 0;
			}
		} else if (++after_gate == 2) {
			rt_printf("bgckpt: ok gen=%lu\n", (unsigned long)gen);
			return 0;
		}
	}
}
