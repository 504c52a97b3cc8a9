/* test_gdb_packet.c: the pure parts of the GDB stub: RSP framing (decoder, encoder,
 * escapes, checksums, oversize, garbage), hex helpers, the argument schema parser,
 * vCont parsing, stop-reply formatting and the target description. */
#include "gdb_session.h"
#include "rsp_args.h"
#include "rsp_packet.h"
#include "target_xml.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feed a string; returns the last non-NONE event (and how many there were). */
static enum rsp_event feed(struct rsp_decoder *d, const char *s, size_t len, int *events)
{
	enum rsp_event last = RSP_EV_NONE;

	*events = 0;
	for (size_t i = 0; i < len; i++) {
		enum rsp_event ev = rsp_decoder_feed(d, (uint8_t)s[i]);

		if (ev != RSP_EV_NONE) {
			last = ev;
			(*events)++;
		}
	}
	return last;
}

static enum rsp_event feed_str(struct rsp_decoder *d, const char *s)
{
	int n;

	return feed(d, s, strlen(s), &n);
}

static void test_decoder_basic(struct rsp_decoder *d)
{
	rsp_decoder_init(d);
	CHECK_EQ(feed_str(d, "$g#67"), RSP_EV_PACKET);
	CHECK_STR((char *)d->buf, "g");
	CHECK_EQ(feed_str(d, "$qSupported:multiprocess+#c6"), RSP_EV_PACKET);
	CHECK_STR((char *)d->buf, "qSupported:multiprocess+");
	CHECK_EQ(feed_str(d, "$#00"), RSP_EV_PACKET); /* empty packet */
	CHECK_EQ(d->len, 0);
	CHECK_EQ(feed_str(d, "$g#67"), RSP_EV_PACKET); /* upper/lower case checksum */
	CHECK_EQ(feed_str(d, "$m0,1#FA"), RSP_EV_PACKET);
	CHECK_EQ(feed_str(d, "+"), RSP_EV_ACK);
	CHECK_EQ(feed_str(d, "-"), RSP_EV_NAK);
	CHECK_EQ(feed_str(d, "\x03"), RSP_EV_INTERRUPT);
}

static void test_decoder_errors(struct rsp_decoder *d)
{
	int n;

	rsp_decoder_init(d);
	CHECK_EQ(feed_str(d, "$g#68"), RSP_EV_BAD_CHECKSUM);
	CHECK_EQ(feed_str(d, "$g#zz"), RSP_EV_BAD_CHECKSUM);
	/* garbage between packets is ignored, and a 0x03 inside a packet is data */
	CHECK_EQ(feed(d, "xyz\r\n\0$g#67", 11, &n), RSP_EV_PACKET);
	CHECK_EQ(n, 1);
	/* a truncated packet is abandoned at the next `$` */
	CHECK_EQ(feed(d, "$m10,4$g#67", 11, &n), RSP_EV_PACKET);
	CHECK_EQ(n, 1);
	CHECK_STR((char *)d->buf, "g");
	/* ... even when cut inside its checksum */
	CHECK_EQ(feed(d, "$qC#$g#67", 9, &n), RSP_EV_PACKET);
	CHECK_EQ(n, 1);
	CHECK_EQ(feed(d, "$qC#b$g#67", 10, &n), RSP_EV_PACKET);
	CHECK_EQ(n, 1);
	CHECK_EQ(feed(d, "$X}$g#67", 8, &n), RSP_EV_PACKET);
	CHECK_EQ(n, 1);
}

static void test_decoder_escapes(struct rsp_decoder *d)
{
	/* X with the bytes # $ } * escaped; checksum over the raw bytes */
	const char raw[] = "X0,4:}\x03}\x04}]}\x0a";
	uint8_t frame[64];
	size_t n = rsp_frame(frame, sizeof(frame), "X0,4:#$}*", 9);
	int events;

	CHECK_EQ(n, strlen(raw) + 4);
	CHECK_MEM(frame + 1, raw, strlen(raw));
	rsp_decoder_init(d);
	CHECK_EQ(feed(d, (char *)frame, n, &events), RSP_EV_PACKET);
	CHECK_EQ(d->len, 9);
	CHECK_MEM(d->buf, "X0,4:#$}*", 9);
	/* run-length: "0* " is 0 repeated 3 more times (' ' - 29 = 3) */
	CHECK_EQ(feed_str(d, "$0* #7a"), RSP_EV_PACKET);
	CHECK_STR((char *)d->buf, "0000");
	CHECK_EQ(feed_str(d, "$*!#4b"), RSP_EV_BAD_CHECKSUM); /* run with nothing to repeat */
}

static void test_decoder_oversize(struct rsp_decoder *d)
{
	size_t big = RSP_PACKET_SIZE + 100;
	char *p = malloc(big + 8);
	uint8_t sum = 0;
	int n;

	p[0] = '$';
	memset(p + 1, 'a', big);
	for (size_t i = 0; i < big; i++)
		sum += 'a';
	sprintf(p + 1 + big, "#%02x", sum);
	rsp_decoder_init(d);
	CHECK_EQ(feed(d, p, big + 4, &n), RSP_EV_OVERSIZE);
	CHECK_EQ(n, 1);
	CHECK_EQ(d->len, 0);
	CHECK_EQ(feed_str(d, "$g#67"), RSP_EV_PACKET); /* and the decoder goes on */
	/* exactly PacketSize is accepted */
	memset(p + 1, 'a', RSP_PACKET_SIZE);
	sum = 0;
	for (size_t i = 0; i < RSP_PACKET_SIZE; i++)
		sum += 'a';
	sprintf(p + 1 + RSP_PACKET_SIZE, "#%02x", sum);
	CHECK_EQ(feed(d, p, RSP_PACKET_SIZE + 4, &n), RSP_EV_PACKET);
	CHECK_EQ(d->len, RSP_PACKET_SIZE);
	free(p);
}

static void test_encoder(void)
{
	uint8_t out[16];

	CHECK_EQ(rsp_frame(out, sizeof(out), "OK", 2), 6);
	CHECK_MEM(out, "$OK#9a", 6);
	CHECK_EQ(rsp_frame(out, sizeof(out), "", 0), 4);
	CHECK_MEM(out, "$#00", 4);
	CHECK_EQ(rsp_frame(out, 8, "0123456789", 10), 0); /* does not fit */
	CHECK_EQ(rsp_checksum("g", 1), 0x67);
}

static void test_hex(void)
{
	const char *s = "1fX";
	uint8_t b[4];
	uint64_t v;
	char h[8];

	CHECK_EQ(rsp_hex_val('a'), 10);
	CHECK_EQ(rsp_hex_val('F'), 15);
	CHECK_EQ(rsp_hex_val('g'), -1);
	CHECK_EQ(rsp_hex_encode(h, "\x01\xab", 2), 4);
	CHECK_MEM(h, "01ab", 4);
	CHECK_EQ(rsp_hex_decode(b, sizeof(b), "01aB", 4), 2);
	CHECK_EQ(b[1], 0xab);
	CHECK_EQ(rsp_hex_decode(b, sizeof(b), "01a", 3), -1);
	CHECK_EQ(rsp_hex_decode(b, sizeof(b), "0g", 2), -1);
	CHECK_EQ(rsp_hex_decode(b, 1, "0102", 4), -1);
	CHECK(rsp_parse_hex_u64(&s, s + 3, &v));
	CHECK_EQ(v, 0x1f);
	CHECK_EQ(*s, 'X');
	s = "ffffffffffffffff0";
	CHECK(!rsp_parse_hex_u64(&s, s + 17, &v)); /* 65 bits */
	s = "0000000000000000001";
	CHECK(rsp_parse_hex_u64(&s, s + 19, &v)); /* leading zeros are fine */
	CHECK_EQ(v, 1);
	s = "";
	CHECK(!rsp_parse_hex_u64(&s, s, &v));
}

static bool parse(const char *schema, const char *p, struct rsp_args *a)
{
	return rsp_parse_args(schema, p, strlen(p), a);
}

static void test_args(void)
{
	struct rsp_args a;

	CHECK(parse("L,L", "1000,20", &a));
	CHECK_EQ(a.count, 2);
	CHECK_EQ(a.v[0].u, 0x1000);
	CHECK_EQ(a.v[1].u, 0x20);
	CHECK(!parse("L,L", "1000", &a));
	CHECK(!parse("L,L", "1000,20x", &a)); /* trailing junk */
	CHECK(!parse("L,L", ",20", &a));
	CHECK(parse("L,L:s", "10,2:ab", &a));
	CHECK_EQ(a.v[2].len, 2);
	CHECK(parse("ct", "g-1", &a));
	CHECK_EQ(a.v[0].c, 'g');
	CHECK_EQ(a.v[1].tid, -1);
	CHECK(parse("ct", "c2", &a));
	CHECK_EQ(a.v[1].tid, 2);
	CHECK(!a.v[1].has_pid);
	/* multiprocess thread ids: pPID.TID, pPID (all its threads), -1 for all */
	CHECK(parse("ct", "gp1.2", &a));
	CHECK(a.v[1].has_pid && a.v[1].pid == 1 && a.v[1].tid == 2);
	CHECK(parse("ct", "cp-1.-1", &a));
	CHECK(a.v[1].pid == -1 && a.v[1].tid == -1);
	CHECK(parse("t", "pa410", &a));
	CHECK(a.v[0].pid == 0xa410 && a.v[0].tid == -1);
	CHECK(parse("t", "p0.0", &a));
	CHECK(a.v[0].pid == 0 && a.v[0].tid == 0);
	CHECK(!parse("t", "p", &a));
	CHECK(!parse("t", "p1.", &a));
	CHECK(!parse("t", "p1.2.3", &a));
	CHECK(parse(".L", "", &a));
	CHECK_EQ(a.count, 0);
	CHECK(parse("L.;L", "05;1234", &a));
	CHECK_EQ(a.v[1].u, 0x1234);
	CHECK(parse("L.;L", "05", &a));
	CHECK(parse("s:L,L", "target.xml:0,ffb", &a));
	CHECK_EQ(a.v[0].len, 10);
	CHECK_EQ(a.v[2].u, 0xffb);
	CHECK(parse("", "", &a));
	CHECK(!parse("", "x", &a));
}

static void test_vcont(void)
{
	enum gdb_resume_action act[3];
	const char *p;

	p = "s:2;c";
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[0] == GDB_RESUME_CONTINUE && act[1] == GDB_RESUME_STEP &&
	      act[2] == GDB_RESUME_CONTINUE);
	p = "s:1"; /* scheduler-locking: the others stay stopped */
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[0] == GDB_RESUME_STEP && act[1] == GDB_RESUME_NONE && act[2] == GDB_RESUME_NONE);
	p = "c:2;s:2"; /* leftmost wins */
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[1] == GDB_RESUME_CONTINUE && act[0] == GDB_RESUME_NONE);
	p = "C05:-1";
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[2] == GDB_RESUME_CONTINUE);
	p = "S02:3;c";
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[2] == GDB_RESUME_STEP && act[0] == GDB_RESUME_CONTINUE);
	p = "s:0"; /* any thread: the current one */
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 1, act), 0);
	CHECK(act[1] == GDB_RESUME_STEP && act[0] == GDB_RESUME_NONE);
	p = "s:p1.2;c:p1.-1"; /* multiprocess ids */
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[1] == GDB_RESUME_STEP && act[0] == GDB_RESUME_CONTINUE &&
	      act[2] == GDB_RESUME_CONTINUE);
	p = "c:p-1.-1";
	CHECK_EQ(gdb_parse_vcont(p, strlen(p), 3, 0, act), 0);
	CHECK(act[0] == GDB_RESUME_CONTINUE && act[2] == GDB_RESUME_CONTINUE);
	const char *bad[] = {"",    "x",  "c:4",  "s:",	  "C",	    "Cz",
			     "c;;", "cc", "c:1x", "r1,2", "s:p2.1", "c:p1.4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(gdb_parse_vcont(bad[i], strlen(bad[i]), 3, 0, act), -EINVAL);
}

static void check_stop_f(struct gdb_stop st, unsigned features, const char *want)
{
	char buf[64];
	size_t n = gdb_format_stop(buf, sizeof(buf), &st, features);

	buf[n] = 0;
	CHECK_STR(buf, want);
}

#define ALL_REASONS (GDB_FEAT_SWBREAK | GDB_FEAT_HWBREAK)

static void check_stop(struct gdb_stop st, const char *want)
{
	check_stop_f(st, ALL_REASONS, want);
}

/* Stop reasons and thread ids in the form the client asked for in qSupported. */
static void test_stop_reply_features(void)
{
	struct gdb_stop sw = {.kind = GDB_STOP_SWBREAK, .cpu = 1};
	struct gdb_stop hw = {.kind = GDB_STOP_HWBREAK, .cpu = 0};

	check_stop_f(sw, 0, "T05thread:02;");
	check_stop_f(hw, 0, "T05thread:01;");
	check_stop_f(sw, GDB_FEAT_HWBREAK, "T05thread:02;");
	check_stop_f(hw, GDB_FEAT_SWBREAK, "T05thread:01;");
	check_stop_f(sw, GDB_FEAT_MULTIPROCESS | GDB_FEAT_SWBREAK, "T05thread:p1.02;swbreak:;");
	check_stop_f((struct gdb_stop){.kind = GDB_STOP_WATCH, .cpu = 1, .addr = 0x10},
		     GDB_FEAT_MULTIPROCESS, "T05thread:p1.02;watch:10;");
	check_stop_f((struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 3},
		     GDB_FEAT_MULTIPROCESS, "W03;process:1");
}

static void test_stop_replies(void)
{
	check_stop((struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = 5},
		   "T05thread:01;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 2, .signal = 2},
		   "T02thread:03;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_SWBREAK, .cpu = 1}, "T05thread:02;swbreak:;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_HWBREAK, .cpu = 0}, "T05thread:01;hwbreak:;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_WATCH, .addr = 0x1234},
		   "T05thread:01;watch:1234;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_RWATCH, .addr = 0xff},
		   "T05thread:01;rwatch:ff;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_AWATCH, .addr = 0xffffffff80001000},
		   "T05thread:01;awatch:ffffffff80001000;");
	check_stop((struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 3}, "W03");
	check_stop((struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 256 + 42}, "W2a");
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_target_xml(void)
{
	size_t len;
	char *xml = target_xml_build(&len);
	int total = 0;

	CHECK(xml && strlen(xml) == len);
	CHECK(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	CHECK_EQ(count(xml, "<reg "), GDB_REG_COUNT);
	CHECK_EQ(count(xml, "<feature "), 6);
	CHECK_EQ(count(xml, "</feature>"), 6);
	CHECK(strstr(xml, "<feature name=\"org.gnu.gdb.i386.avx\">\n<reg name=\"ymm0h\" "
			  "bitsize=\"128\" regnum=\"67\""));
	CHECK(strstr(xml, "name=\"fs_base\" bitsize=\"64\" regnum=\"57\""));
	CHECK(strstr(xml, "name=\"gs_base\" bitsize=\"64\" regnum=\"58\""));
	CHECK(strstr(xml, "name=\"efer\" bitsize=\"64\" regnum=\"65\""));
	CHECK(strstr(xml, "<feature name=\"org.gnu.gdb.i386.linux\">\n<reg name=\"orig_rax\" "
			  "bitsize=\"64\" regnum=\"66\""));
	CHECK(strstr(xml, "name=\"rip\" bitsize=\"64\" regnum=\"16\" type=\"code_ptr\""));
	CHECK(strstr(xml, "name=\"st7\" bitsize=\"80\" regnum=\"31\" type=\"i387_ext\""));
	CHECK(strstr(xml, "name=\"xmm15\" bitsize=\"128\" regnum=\"55\" type=\"vec128\""));
	CHECK(strstr(xml, "name=\"mxcsr\" bitsize=\"32\" regnum=\"56\" type=\"i386_mxcsr\""));
	for (int r = 0; r < GDB_REG_COUNT; r++) {
		char want[64];

		snprintf(want, sizeof(want), "name=\"%s\" ", target_xml_reg_name(r));
		CHECK(strstr(xml, want));
		total += target_xml_reg_size(r);
	}
	CHECK_EQ(total, 872); /* the `g` packet's size, in bytes, with AVX */
	free(xml);
	/* Without AVX the feature is left out, and the rest is the same. */
	xml = target_xml_build_for(&len, false);
	CHECK(xml && strlen(xml) == len);
	CHECK_EQ(count(xml, "<reg "), GDB_REG_YMM0H);
	CHECK_EQ(count(xml, "<feature "), 5);
	CHECK(!strstr(xml, "ymm"));
	CHECK(strstr(xml, "name=\"orig_rax\" bitsize=\"64\" regnum=\"66\""));
	CHECK(target_xml_reg_optional(GDB_REG_YMM0H) && target_xml_reg_optional(GDB_REG_YMM15H));
	CHECK(!target_xml_reg_optional(GDB_REG_ORIG_RAX) && !target_xml_reg_optional(-1));
	CHECK_EQ(target_xml_reg_size(GDB_REG_COUNT), 0);
	CHECK_EQ(target_xml_reg_size(-1), 0);
	CHECK(target_xml_reg_name(GDB_REG_COUNT) == NULL);
	free(xml);
}

int main(void)
{
	struct rsp_decoder *d = malloc(sizeof(*d));

	test_decoder_basic(d);
	test_decoder_errors(d);
	test_decoder_escapes(d);
	test_decoder_oversize(d);
	test_encoder();
	test_hex();
	test_args();
	test_vcont();
	test_stop_replies();
	test_stop_reply_features();
	test_target_xml();
	free(d);
	return unit_report();
}
