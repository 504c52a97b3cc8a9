/* rsp_packet.h: GDB remote-serial-protocol framing, with no I/O and no target in it.
 *
 * The decoder is fed the client's bytes one at a time and reports whole events
 * (a packet, an ack, a Ctrl-C, a corrupt or oversized packet); the encoder frames a
 * payload as `$...#xx` with binary escapes. Both work on caller-owned buffers of fixed
 * size, so no input can make them allocate or overflow; that is what lets the unit
 * tests (and a fuzzer) drive them directly.
 */
#ifndef RSP_PACKET_H
#define RSP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The PacketSize we advertise: the longest packet payload (as sent, escapes included)
 * we accept. Large, so GDB moves memory in few round trips. */
#define RSP_PACKET_SIZE 0x20000
/* The longest reply payload we build (before escaping; a frame may be twice that). */
#define RSP_REPLY_MAX RSP_PACKET_SIZE
/* Bytes of a frame around its payload: `$`, `#` and two checksum digits. */
#define RSP_FRAME_OVERHEAD 4
#define RSP_FRAME_MAX	   (2 * RSP_REPLY_MAX + RSP_FRAME_OVERHEAD)

enum rsp_event {
	RSP_EV_NONE,	     /* byte consumed, nothing complete yet */
	RSP_EV_PACKET,	     /* a packet with a good checksum is in the decoder */
	RSP_EV_BAD_CHECKSUM, /* a complete packet whose checksum did not match */
	RSP_EV_OVERSIZE,     /* a complete packet longer than RSP_PACKET_SIZE */
	RSP_EV_ACK,	     /* `+` between packets */
	RSP_EV_NAK,	     /* `-` between packets: resend the last reply */
	RSP_EV_INTERRUPT,    /* 0x03 between packets (Ctrl-C) */
};

enum rsp_dec_state {
	RSP_DEC_IDLE,  /* between packets */
	RSP_DEC_DATA,  /* inside `$...` */
	RSP_DEC_ESC,   /* after a `}` */
	RSP_DEC_RLE,   /* after a `*`: the next byte is a repeat count */
	RSP_DEC_CSUM1, /* after `#` */
	RSP_DEC_CSUM2,
};

struct rsp_decoder {
	enum rsp_dec_state state;
	uint8_t sum;	/* running checksum of the raw payload bytes */
	uint8_t rx_sum; /* checksum digits received */
	bool overflow;	/* payload longer than we accept: swallowed, then refused */
	size_t raw_len; /* payload bytes as sent (escapes counted) */
	size_t len;	/* decoded bytes in buf */
	uint8_t buf[RSP_PACKET_SIZE + 1]; /* decoded payload, NUL-terminated for parsers */
};

void rsp_decoder_init(struct rsp_decoder *d);
/* Feed one byte. After RSP_EV_PACKET, d->buf/d->len hold the decoded payload until the
 * next byte is fed. */
enum rsp_event rsp_decoder_feed(struct rsp_decoder *d, uint8_t byte);

/* Runs of at least this many equal bytes are sent run-length encoded (`c*n`), as
 * gdbserver does: a page of zeros is 8 KiB of `0` in an `m` reply, and GDB and LLDB
 * spend their time per byte received. Shorter runs go as they are, so every reply
 * a few registers or words long reads the same to a client that ignores RLE. */
#define RSP_RLE_MIN_RUN	   64
#define RSP_RLE_MAX_REPEAT 97 /* the count byte, repeats + 29, stays printable */

/* Frame `payload` into `out` as `$<escaped payload>#xx`. `$ # } *` are always escaped:
 * our text replies never contain them, and binary replies (x, qXfer) must have them
 * escaped. Long runs are run-length encoded (RSP_RLE_MIN_RUN). Returns the frame
 * length, or 0 if it does not fit in `cap`. */
size_t rsp_frame(uint8_t *out, size_t cap, const void *payload, size_t len);

uint8_t rsp_checksum(const void *data, size_t len);

/* Hex helpers. rsp_hex_val: the value of one hex digit, or -1. */
int rsp_hex_val(int c);
/* Write 2*n lower-case hex digits (no NUL). Returns 2*n. */
size_t rsp_hex_encode(char *out, const void *in, size_t n);
/* Decode `len` hex digits into at most `cap` bytes; -1 if odd, invalid or too long. */
ssize_t rsp_hex_decode(uint8_t *out, size_t cap, const char *in, size_t len);
/* Parse 1..16 hex digits at *p (stopping at `end`); advance *p. False if none. */
bool rsp_parse_hex_u64(const char **p, const char *end, uint64_t *out);

#endif
