/* rsp_packet.c: RSP framing: the incremental decoder, the encoder and hex helpers.
 *
 * The decoder never trusts the peer: every store is bounded by the buffer, an overlong
 * packet is swallowed (its checksum still computed) and then reported as oversized, a
 * `$` anywhere restarts framing (a raw `$` is never part of a packet, so a packet cut
 * short, even inside its checksum, cannot swallow the next one), and bytes between
 * packets that mean nothing are dropped.
 */
#include "rsp_packet.h"

#include <string.h>

void rsp_decoder_init(struct rsp_decoder *d)
{
	d->state = RSP_DEC_IDLE;
	d->sum = 0;
	d->rx_sum = 0;
	d->overflow = false;
	d->raw_len = 0;
	d->len = 0;
	d->buf[0] = 0;
}

static void decoder_start_packet(struct rsp_decoder *d)
{
	rsp_decoder_init(d);
	d->state = RSP_DEC_DATA;
}

/* Count one raw payload byte against the checksum and the PacketSize limit. */
static void decoder_count_raw(struct rsp_decoder *d, uint8_t byte)
{
	d->sum += byte;
	if (++d->raw_len > RSP_PACKET_SIZE)
		d->overflow = true;
}

static void decoder_store(struct rsp_decoder *d, uint8_t byte)
{
	if (d->len >= RSP_PACKET_SIZE) {
		d->overflow = true;
		return;
	}
	d->buf[d->len++] = byte;
}

/* `X*c`: X is repeated (c - 29) more times. GDB never sends it, but the protocol
 * allows it; a count that makes no sense marks the packet bad rather than guessing. */
static void decoder_expand_run(struct rsp_decoder *d, uint8_t count_char)
{
	int repeat = (int)count_char - 29;

	if (d->len == 0 || repeat < 3 || repeat > 97) {
		d->sum ^= 0xff; /* forces a checksum mismatch: the packet is not acted on */
		return;
	}
	for (int i = 0; i < repeat; i++)
		decoder_store(d, d->buf[d->len - 1]);
}

static enum rsp_event decoder_idle(uint8_t byte)
{
	switch (byte) {
	case '+':
		return RSP_EV_ACK;
	case '-':
		return RSP_EV_NAK;
	case 0x03:
		return RSP_EV_INTERRUPT;
	default:
		return RSP_EV_NONE; /* line noise between packets */
	}
}

static enum rsp_event decoder_data(struct rsp_decoder *d, uint8_t byte)
{
	switch (byte) {
	case '#':
		d->state = RSP_DEC_CSUM1;
		return RSP_EV_NONE;
	case '}':
		d->state = RSP_DEC_ESC;
		break;
	case '*':
		d->state = RSP_DEC_RLE;
		break;
	default:
		decoder_store(d, byte);
		break;
	}
	decoder_count_raw(d, byte);
	return RSP_EV_NONE;
}

static enum rsp_event decoder_finish(struct rsp_decoder *d)
{
	d->state = RSP_DEC_IDLE;
	if (d->rx_sum != d->sum)
		return RSP_EV_BAD_CHECKSUM;
	if (d->overflow) {
		d->len = 0;
		d->buf[0] = 0;
		return RSP_EV_OVERSIZE;
	}
	d->buf[d->len] = 0;
	return RSP_EV_PACKET;
}

enum rsp_event rsp_decoder_feed(struct rsp_decoder *d, uint8_t byte)
{
	int v;

	if (byte == '$') { /* a new packet; any unfinished one was cut short */
		decoder_start_packet(d);
		return RSP_EV_NONE;
	}
	switch (d->state) {
	case RSP_DEC_IDLE:
		return decoder_idle(byte);
	case RSP_DEC_DATA:
		return decoder_data(d, byte);
	case RSP_DEC_ESC:
		decoder_count_raw(d, byte);
		decoder_store(d, byte ^ 0x20);
		d->state = RSP_DEC_DATA;
		return RSP_EV_NONE;
	case RSP_DEC_RLE:
		decoder_count_raw(d, byte);
		decoder_expand_run(d, byte);
		d->state = RSP_DEC_DATA;
		return RSP_EV_NONE;
	case RSP_DEC_CSUM1:
	case RSP_DEC_CSUM2:
		v = rsp_hex_val(byte);
		if (v < 0) {
			d->state = RSP_DEC_IDLE;
			return RSP_EV_BAD_CHECKSUM;
		}
		d->rx_sum = (uint8_t)(d->rx_sum << 4 | v);
		if (d->state == RSP_DEC_CSUM1) {
			d->state = RSP_DEC_CSUM2;
			return RSP_EV_NONE;
		}
		return decoder_finish(d);
	}
	return RSP_EV_NONE;
}

uint8_t rsp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

/* The bytes a frame must escape: `$ # } *`. */
static const bool escaped[256] = {['$'] = true, ['#'] = true, ['}'] = true, ['*'] = true};

/* Length of the run of bytes equal to p[0] in p[0..len). */
static size_t run_length(const uint8_t *p, size_t len)
{
	size_t n = 1;

	while (n < len && p[n] == p[0])
		n++;
	return n;
}

/* Whether a run worth encoding starts at p: the byte RSP_RLE_MIN_RUN - 1 on is the
 * same (cheap, and rarely true for data without runs), then the whole run. */
static size_t long_run(const uint8_t *p, size_t len)
{
	if (len < RSP_RLE_MIN_RUN || p[RSP_RLE_MIN_RUN - 1] != p[0] || escaped[p[0]])
		return 0;
	size_t n = run_length(p, len);
	return n >= RSP_RLE_MIN_RUN ? n : 0;
}

/* A run of `n` copies of c: c, then `*` and a count byte for up to 97 more each
 * time (the count is repeats + 29, printable; 6 and 7 would make `#` and `$`).
 * Returns the bytes written, 0 if they do not fit in `room`; adds them to *sum. */
static size_t put_run(uint8_t *out, size_t room, uint8_t c, size_t n, uint8_t *sum)
{
	size_t o = 0;

	while (n > 0) {
		size_t more = n - 1 > RSP_RLE_MAX_REPEAT ? RSP_RLE_MAX_REPEAT : n - 1;

		if (more == 6 || more == 7)
			more = 5;
		if (more < 3)
			more = 0;
		if (o + (more ? 3 : 1) > room)
			return 0;
		out[o++] = c;
		*sum += c;
		if (more) {
			out[o++] = '*';
			out[o++] = (uint8_t)(more + 29);
			*sum += '*' + (uint8_t)(more + 29);
		}
		n -= 1 + more;
	}
	return o;
}

size_t rsp_frame(uint8_t *out, size_t cap, const void *payload, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = payload;
	size_t n = 1;
	uint8_t sum = 0;

	if (cap < RSP_FRAME_OVERHEAD)
		return 0;
	out[0] = '$';
	for (size_t i = 0; i < len;) {
		uint8_t c = p[i];
		size_t run;

		if (n + 2 + 3 > cap) /* room for an escape pair and `#xx` */
			return 0;
		if (escaped[c]) {
			out[n++] = '}';
			sum += '}';
			c ^= 0x20;
		} else if (len - i >= RSP_RLE_MIN_RUN && p[i + RSP_RLE_MIN_RUN - 1] == c &&
			   (run = long_run(p + i, len - i))) {
			size_t w = put_run(out + n, cap - n - 3, c, run, &sum);

			if (!w)
				return 0;
			n += w;
			i += run;
			continue;
		}
		out[n++] = c;
		sum += c;
		i++;
	}
	out[n++] = '#';
	out[n++] = digits[sum >> 4];
	out[n++] = digits[sum & 15];
	return n;
}

int rsp_hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t rsp_hex_encode(char *out, const void *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	return 2 * n;
}

ssize_t rsp_hex_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = rsp_hex_val((uint8_t)in[2 * i]);
		int lo = rsp_hex_val((uint8_t)in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(len / 2);
}

bool rsp_parse_hex_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;
	int d;

	while (s < end && (d = rsp_hex_val((uint8_t)*s)) >= 0) {
		if (v >> 60) /* one more digit would overflow 64 bits */
			return false;
		v = v << 4 | (uint64_t)d;
		digits++;
		s++;
	}
	if (digits == 0)
		return false;
	*p = s;
	*out = v;
	return true;
}
