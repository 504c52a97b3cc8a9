/* watch_split.c: watched ranges cut into debug-register pieces (see watch_split.h). */
#include "watch_split.h"

#include <limits.h>

#define DR_MAX_LEN 8

int watch_split(uint64_t addr, uint64_t len, struct watch_piece *pieces, int max)
{
	if (len == 0 || addr + len - 1 < addr)
		return -1;
	uint64_t n = 0;
	while (len > 0) {
		size_t size = DR_MAX_LEN;
		while (size > len || addr % size)
			size /= 2;
		/* An aligned run of 8-byte pieces is counted at once: a client's length may
		 * be up to 2^64 - 1, far too many pieces to walk one by one. */
		uint64_t run = size == DR_MAX_LEN ? len / DR_MAX_LEN : 1;
		for (uint64_t i = 0; i < run && n + i < (uint64_t)max; i++)
			pieces[n + i] = (struct watch_piece){.addr = addr + i * size, .len = size};
		n += run;
		addr += run * size;
		len -= run * size;
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}
