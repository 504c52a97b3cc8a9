/* test_watch_split.c: watched ranges as aligned 1/2/4/8-byte debug-register pieces. */
#include <limits.h>

#include "unit.h"
#include "watch_split.h"

static void check_pieces(uint64_t addr, uint64_t len, int want_n, const struct watch_piece *want)
{
	struct watch_piece got[8];
	int n = watch_split(addr, len, got, 8);
	CHECK_EQ(n, want_n);
	for (int i = 0; i < want_n && i < n && i < 8; i++) {
		CHECK_EQ(got[i].addr, want[i].addr);
		CHECK_EQ(got[i].len, want[i].len);
	}
}

int main(void)
{
	/* Aligned 1/2/4/8: one piece, as before. */
	check_pieces(0x1000, 8, 1, (struct watch_piece[]){{0x1000, 8}});
	check_pieces(0x1004, 4, 1, (struct watch_piece[]){{0x1004, 4}});
	check_pieces(0x1003, 1, 1, (struct watch_piece[]){{0x1003, 1}});
	/* Unaligned 4 bytes at ...1: 1 + 2 + 1. */
	check_pieces(0x1001, 4, 3, (struct watch_piece[]){{0x1001, 1}, {0x1002, 2}, {0x1004, 1}});
	/* 16 aligned bytes: two 8s; 12 bytes at ...4: 4 + 8. */
	check_pieces(0x2000, 16, 2, (struct watch_piece[]){{0x2000, 8}, {0x2008, 8}});
	check_pieces(0x2004, 12, 2, (struct watch_piece[]){{0x2004, 4}, {0x2008, 8}});
	/* 3 bytes: 2 + 1 or 1 + 2 as alignment allows. */
	check_pieces(0x3000, 3, 2, (struct watch_piece[]){{0x3000, 2}, {0x3002, 1}});
	check_pieces(0x3001, 3, 2, (struct watch_piece[]){{0x3001, 1}, {0x3002, 2}});
	/* 8 bytes at ...6: 2 + 4 + 2 (what `watch` on an unaligned long gives). */
	check_pieces(0x4006, 8, 3, (struct watch_piece[]){{0x4006, 2}, {0x4008, 4}, {0x400c, 2}});

	/* More pieces than room: the count says so, only `max` are stored. */
	struct watch_piece few[4];
	CHECK_EQ(watch_split(0x5001, 40, few, 4), 8); /* 1+2+4 + 8*4 + 1 */
	CHECK_EQ(few[3].addr, 0x5008);
	CHECK_EQ(few[3].len, 8);
	CHECK_EQ(watch_split(0x6000, 32, few, 4), 4); /* exactly four 8s fit */

	/* Empty or wrapping ranges are refused. */
	CHECK_EQ(watch_split(0x1000, 0, few, 4), -1);
	CHECK_EQ(watch_split(UINT64_MAX - 3, 8, few, 4), -1);
	CHECK_EQ(watch_split(UINT64_MAX - 7, 8, few, 4), 1); /* the last 8 bytes are fine */

	/* Huge ranges (Z2 takes any 64-bit length) are counted, not walked piece by
	 * piece: this used to loop 2^61 times and hang the stub. */
	CHECK_EQ(watch_split(0, UINT64_MAX, few, 4), INT_MAX);
	CHECK_EQ(watch_split(0x1000, 1ULL << 40, few, 4), INT_MAX); /* 2^37 pieces */
	CHECK_EQ(watch_split(0x1000, 1 << 20, few, 4), 1 << 17);
	/* 1 + 2 + 4 up to 0x1008, 131071 eights, 1 byte left. */
	CHECK_EQ(watch_split(0x1001, 1 << 20, few, 4), 131075);
	CHECK_EQ(few[0].addr, 0x1001);
	CHECK_EQ(few[0].len, 1);
	CHECK_EQ(few[3].addr, 0x1008);
	CHECK_EQ(few[3].len, 8);
	return unit_report();
}
