/* test_rsp_rle.c: run-length encoding in the stub's frames (rsp_frame).
 *
 * Every frame must decode, through the same rules GDB and LLDB apply (the stub's
 * own decoder follows them), to exactly the payload: for runs of every length
 * around the encoding threshold and the count limits (the repeat counts 6 and 7
 * would make `#` and `$`), runs of bytes that need escaping, and runs at the end.
 * Short runs, as in a reply of a few registers, go out as they are.
 */
#include "rsp_packet.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static struct rsp_decoder dec;
static uint8_t frame[RSP_FRAME_MAX];

/* Frame, check no count byte is a frame character, decode; true if it round-trips. */
static bool round_trips(const uint8_t *payload, size_t len)
{
	size_t n = rsp_frame(frame, sizeof(frame), payload, len);
	enum rsp_event ev = RSP_EV_NONE;

	if (n < RSP_FRAME_OVERHEAD)
		return false;
	for (size_t i = 1; i + 1 < n - 3; i++)
		if (frame[i] == '*' && (frame[i + 1] == '#' || frame[i + 1] == '$'))
			return false;
	rsp_decoder_init(&dec);
	for (size_t i = 0; i < n; i++)
		ev = rsp_decoder_feed(&dec, frame[i]);
	return ev == RSP_EV_PACKET && dec.len == len && memcmp(dec.buf, payload, len) == 0;
}

static bool has_rle(size_t n)
{
	return memchr(frame + 1, '*', n - 4) != NULL;
}

static void test_runs_of_every_length(void)
{
	uint8_t p[400];
	int bad = 0;

	for (size_t run = 1; run <= 300; run++) {
		memset(p, 'x', sizeof(p));
		memset(p + 5, '0', run);
		if (!round_trips(p, run + 10) || !round_trips(p + 5, run) /* at both ends */)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_threshold(void)
{
	uint8_t p[RSP_RLE_MIN_RUN];
	size_t n;

	memset(p, '0', sizeof(p));
	n = rsp_frame(frame, sizeof(frame), p, RSP_RLE_MIN_RUN - 1);
	CHECK_EQ(n, RSP_RLE_MIN_RUN - 1 + RSP_FRAME_OVERHEAD); /* a short run as it is */
	CHECK(!has_rle(n));
	n = rsp_frame(frame, sizeof(frame), p, RSP_RLE_MIN_RUN);
	CHECK(n < RSP_RLE_MIN_RUN / 4 + RSP_FRAME_OVERHEAD);
	CHECK(has_rle(n));
}

static void test_page_of_zeros(void)
{
	size_t len = 2 * 65536; /* the hex of a 64 KiB `m` reply */
	uint8_t *p = malloc(len);
	size_t n;

	memset(p, '0', len);
	n = rsp_frame(frame, sizeof(frame), p, len);
	CHECK(n > 0 && n < len / 30); /* 98 bytes in 3 */
	CHECK(round_trips(p, len));
	memset(p, 0, 65536); /* binary: a run of NULs */
	CHECK(round_trips(p, 65536));
	free(p);
}

static void test_escaped_runs_stay_escaped(void)
{
	uint8_t p[200];
	size_t n;

	memset(p, '#', sizeof(p));
	n = rsp_frame(frame, sizeof(frame), p, sizeof(p));
	CHECK_EQ(n, 2 * sizeof(p) + RSP_FRAME_OVERHEAD);
	CHECK(round_trips(p, sizeof(p)));
	memset(p, '*', sizeof(p));
	CHECK(round_trips(p, sizeof(p)));
}

static void test_mixed_data(void)
{
	uint8_t p[4096];
	int bad = 0;

	srand(16);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(p);) {
			size_t run = (size_t)rand() % 200 + 1;
			uint8_t c = (uint8_t)rand();

			for (size_t j = 0; j < run && i < sizeof(p); j++)
				p[i++] = c;
		}
		bad += !round_trips(p, sizeof(p));
	}
	CHECK_EQ(bad, 0);
}

static void test_capacity(void)
{
	uint8_t p[300], small[16];

	memset(p, '0', sizeof(p));
	CHECK_EQ(rsp_frame(small, sizeof(small), p, sizeof(p)), 16); /* 300 in 4 runs */
	CHECK_EQ(rsp_frame(small, 15, p, sizeof(p)), 0);	     /* one byte short */
	CHECK_EQ(rsp_frame(small, 3, p, 0), 0);			     /* not even `$#xx` */
}

int main(void)
{
	test_runs_of_every_length();
	test_threshold();
	test_page_of_zeros();
	test_escaped_runs_stay_escaped();
	test_mixed_data();
	test_capacity();
	return unit_report();
}
