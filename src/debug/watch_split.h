/* watch_split.h: a watched range as the aligned pieces x86 debug registers can hold.
 *
 * A debug register watches 1, 2, 4 or 8 bytes at an address aligned to that length
 * (DR7 LEN). A range of any length and alignment becomes the fewest such pieces,
 * each the largest that starts aligned and stays inside the range, as gdbserver
 * does (x86_handle_nonaligned_watchpoint).
 */
#ifndef PROXY_WATCH_SPLIT_H
#define PROXY_WATCH_SPLIT_H

#include <stddef.h>
#include <stdint.h>

struct watch_piece {
	uint64_t addr;
	size_t len; /* 1, 2, 4 or 8, and addr % len == 0 */
};

/* Split [addr, addr + len) into pieces, stored while `max` allows. Returns how many
 * pieces the whole range needs (more than `max`: it does not fit; INT_MAX for more
 * than that), or -1 for an empty range or one that wraps past the end of the
 * address space. */
int watch_split(uint64_t addr, uint64_t len, struct watch_piece *pieces, int max);

#endif
