/* watch_split.c: watched ranges cut into debug-register pieces (see watch_split.h). */
#include "watch_split.h"

#define DR_MAX_LEN 8

int watch_split(uint64_t addr, uint64_t len, struct watch_piece *pieces, int max)
{
	if (len == 0 || addr + len - 1 < addr)
		return -1;
	int n = 0;
	while (len > 0) {
		size_t size = DR_MAX_LEN;
		while (size > len || addr % size)
			size /= 2;
		if (n < max)
			pieces[n] = (struct watch_piece){.addr = addr, .len = size};
		n++;
		addr += size;
		len -= size;
	}
	return n;
}
