/* test_gdb_siginfo.c: $_siginfo of a guest fault: the signal and fields the debugger
 * derives from what the core recorded (debug_fault_siginfo), and the 128-byte Linux
 * x86-64 siginfo_t GDB reads through qXfer:siginfo:read (gdb_siginfo_layout). */
#include "debug_internal.h"
#include "log.h"
#include "test_gdb_fake.h"

#include <stdint.h>
#include <string.h>

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static struct gdb_siginfo siginfo_of(int status, int vector, uint32_t error)
{
	struct vcpu_fault f = {.valid = true,
			       .status = status,
			       .rip = 0x200108,
			       .cr2 = 0xbadc0de0008,
			       .addr = 0x200108};
	if (vector >= 0)
		f.exception = (struct vcpu_exception){.valid = true,
						      .vector = (uint8_t)vector,
						      .has_error_code = error != 0,
						      .error_code = error};
	struct gdb_siginfo si;
	debug_fault_siginfo(&f, &si);
	return si;
}

static void test_signals_by_vector(void)
{
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 14, 2).signal, 11);	/* #PF: SIGSEGV */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 6, 0).signal, 4);	/* #UD: SIGILL */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 0, 0).signal, 8);	/* #DE: SIGFPE */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 13, 0x10).signal, 11); /* #GP: SIGSEGV */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 17, 0).signal, 10);	/* #AC: GDB's SIGBUS */
	/* No exception known: by status. */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, -1, 0).signal, 11);
	CHECK_EQ(siginfo_of(STATUS_UNHANDLED_IO, -1, 0).signal, 10);
	CHECK_EQ(siginfo_of(STATUS_INTERNAL_ERROR, -1, 0).signal, 4);
}

static void test_fields(void)
{
	struct gdb_siginfo pf = siginfo_of(STATUS_TRIPLE_FAULT, 14, 2);
	CHECK_EQ(pf.code, 14);
	CHECK_EQ(pf.error, 2);
	CHECK_EQ(pf.addr, 0xbadc0de0008ULL); /* CR2 */
	struct gdb_siginfo gp = siginfo_of(STATUS_INTERNAL_ERROR, 13, 0x18);
	CHECK_EQ(gp.code, 13);
	CHECK_EQ(gp.error, 0x18);
	CHECK_EQ(gp.addr, 0x200108ULL); /* RIP: CR2 says nothing about a #GP */
	struct gdb_siginfo tf = siginfo_of(STATUS_TRIPLE_FAULT, -1, 0);
	CHECK_EQ(tf.code, GDB_SI_KERNEL);
	CHECK_EQ(tf.error, 0);
	CHECK_EQ(tf.addr, 0xbadc0de0008ULL); /* the last page fault's address */
	struct gdb_siginfo io = siginfo_of(STATUS_UNHANDLED_IO, -1, 0);
	CHECK_EQ(io.code, GDB_SI_KERNEL);
	CHECK_EQ(io.addr, 0x200108ULL);
}

static void test_layout(void)
{
	uint8_t b[128];
	memset(b, 0xAA, sizeof(b));
	struct gdb_siginfo si = {.signal = 10, .code = 14, .error = 3, .addr = 0x1122334455667788};
	gdb_siginfo_layout(&si, b);
	CHECK_EQ(le(b, 4), 7u);				/* si_signo: Linux's SIGBUS, not GDB's 10 */
	CHECK_EQ(le(b + 4, 4), 3u);			/* si_errno: the error code */
	CHECK_EQ(le(b + 8, 4), 14u);			/* si_code: the vector */
	CHECK_EQ(le(b + 12, 4), 0u);			/* padding before the union */
	CHECK_EQ(le(b + 16, 8), 0x1122334455667788ULL); /* _sigfault.si_addr */
	int rest = 0;
	for (size_t i = 24; i < sizeof(b); i++)
		rest |= b[i];
	CHECK_EQ(rest, 0);
	si.signal = 11;
	gdb_siginfo_layout(&si, b);
	CHECK_EQ(le(b, 4), 11u);
}

/* The fake target with a fault on vCPU 1 only (thread 2). */
static int fault_siginfo(void *ctx, int cpu, struct gdb_siginfo *out)
{
	(void)ctx;
	if (cpu != 1)
		return -ENOENT;
	*out = (struct gdb_siginfo){.signal = 11, .code = 14, .error = 2, .addr = 0xbadc0de0008};
	return 0;
}

static struct gdb_target_ops siginfo_ops;

static void *siginfo_thread(void *arg)
{
	struct harness *h = arg;
	struct gdb_target tgt = {&siginfo_ops, &h->fake};
	h->end = gdb_session_run(h->stub_fd, -1, tgt, h->xml, h->xml_len, NULL);
	close(h->stub_fd);
	return NULL;
}

/* harness_start, with the fake's operations plus siginfo (NULL: the fake's alone). */
static struct harness *start_with_siginfo(bool with)
{
	struct harness *h = calloc(1, sizeof(*h));
	int sv[2];
	if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	siginfo_ops = fake_ops;
	siginfo_ops.siginfo = with ? fault_siginfo : NULL;
	fake_init(&h->fake);
	h->fd = sv[0];
	h->stub_fd = sv[1];
	h->xml = target_xml_build(&h->xml_len);
	rsp_decoder_init(&h->dec);
	if (pthread_create(&h->thread, NULL, siginfo_thread, h))
		abort();
	CHECK_REPLY(h, "QStartNoAckMode", "OK");
	send_str(h, "+");
	return h;
}

/* qXfer:siginfo:read through the stub: the thread Hg selected, chunks, refusals. */
static void test_xfer(void)
{
	struct harness *h = start_with_siginfo(true);
	const char *r = transact(h, "qSupported:swbreak+");
	CHECK(r && strstr(r, "qXfer:siginfo:read+"));
	CHECK_REPLY(h, "qXfer:siginfo:read::0,80", "E01"); /* thread 1: no fault */
	CHECK_REPLY(h, "Hg2", "OK");
	r = transact(h, "qXfer:siginfo:read::0,80");
	CHECK(r && h->reply_len == 129 && r[0] == 'l');
	if (r && h->reply_len == 129) {
		CHECK_EQ(le((const uint8_t *)r + 1, 4), 11u);
		CHECK_EQ(le((const uint8_t *)r + 5, 4), 2u);
		CHECK_EQ(le((const uint8_t *)r + 9, 4), 14u);
		CHECK_EQ(le((const uint8_t *)r + 17, 8), 0xbadc0de0008ULL);
	}
	r = transact(h, "qXfer:siginfo:read::10,8"); /* si_addr alone, more follows */
	CHECK(r && h->reply_len == 9 && r[0] == 'm');
	if (r && h->reply_len == 9)
		CHECK_EQ(le((const uint8_t *)r + 1, 8), 0xbadc0de0008ULL);
	CHECK_REPLY(h, "qXfer:siginfo:read::80,10", "l");   /* past the end */
	CHECK_REPLY(h, "qXfer:siginfo:read:x:0,80", "E01"); /* siginfo has no annexes */
	CHECK_REPLY(h, "qXfer:siginfo:read::zz", "");	    /* malformed: not that packet */
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);

	h = start_with_siginfo(false); /* a target without the operation */
	CHECK_REPLY(h, "Hg2", "OK");
	CHECK_REPLY(h, "qXfer:siginfo:read::0,80", "E01");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

int main(void)
{
	test_signals_by_vector();
	test_fields();
	test_layout();
	test_xfer();
	return unit_report();
}
