/* test_gdb_session.c: the stub's packet handlers end to end, through a socketpair,
 * against the fake target of test_gdb_fake.h. */
#include "test_gdb_fake.h"

/* Most tests speak in no-ack mode; this checks the switch itself. */
static void start_no_ack(struct harness *h)
{
	CHECK_REPLY(h, "QStartNoAckMode", "OK");
	send_str(h, "+"); /* GDB acks the OK */
}

static void test_acks(void)
{
	struct harness *h = harness_start();

	CHECK_REPLY(h, "?", "T05thread:01;");
	CHECK_EQ(h->acks, 1);
	/* a bad checksum gets `-` and is not acted upon */
	send_str(h, "$M1000,1:ff#00");
	CHECK(quiet_for(h, 50) == false);
	CHECK_REPLY(h, "m1000,1", "00");
	CHECK_EQ(h->naks, 1);
	/* `-` from the client: the last reply again */
	send_str(h, "-");
	CHECK_STR(recv_pkt(h), "00");
	start_no_ack(h);
	h->acks = 0;
	CHECK_REPLY(h, "m1001,1", "01");
	CHECK_EQ(h->acks, 0);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_framing_robustness(void)
{
	struct harness *h = harness_start();
	size_t big = RSP_PACKET_SIZE + 10;
	char *p = malloc(big + 1);

	start_no_ack(h);
	send_str(h, "garbage\r\n\x7f");
	CHECK_REPLY(h, "qC", "QC1");
	send_str(h, "$m1000,4"); /* cut short, then a good packet */
	CHECK_REPLY(h, "m1001,1", "01");
	memset(p, 'm', big);
	p[big] = 0;
	CHECK_REPLY(h, p, "E01"); /* oversized: refused, session goes on */
	CHECK_REPLY(h, "qC", "QC1");
	CHECK_REPLY(h, "vMustReplyEmpty", "");
	CHECK_REPLY(h, "qNoSuchThing", "");
	CHECK_REPLY(h, "qCRC:0,1", ""); /* not qC */
	CHECK_REPLY(h, "m10", "E01");
	CHECK_REPLY(h, "Zx", "E01");
	CHECK_REPLY(h, "", "");
	free(p);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_supported(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	r = transact(h, "qSupported:multiprocess+;swbreak+;hwbreak+");
	CHECK(r && strstr(r, "PacketSize=20000;"));
	CHECK(r && strstr(r, "QStartNoAckMode+;"));
	CHECK(r && strstr(r, "qXfer:features:read+;"));
	CHECK(r && strstr(r, "swbreak+;hwbreak+;vContSupported+"));
	CHECK(r && !strstr(r, "binary-upload"));
	/* LLDB's x (no binary-upload+): "OK" to the probe, then the bytes alone */
	CHECK_REPLY(h, "x0,0", "OK");
	r = transact(h, "x1020,4");
	CHECK(r && h->reply_len == 4 && memcmp(r, "\x20\x21\x22\x23", 4) == 0);
	r = transact(h, "qSupported:binary-upload+;swbreak+");
	CHECK(r && strstr(r, "binary-upload+"));
	r = transact(h, "x1020,4");
	CHECK(r && h->reply_len == 5 && memcmp(r, "b\x20\x21\x22\x23", 5) == 0);
	/* bytes that need escaping come back intact: mem[0x23] is '#' */
	CHECK_REPLY(h, "x1023,2", "b#$");
	CHECK_REPLY(h, "x2000,4", "E14");
	CHECK_REPLY(h, "qAttached", "1");
	CHECK_REPLY(h, "qAttached:1", "1");
	CHECK_REPLY(h, "qSymbol::", "OK");
	CHECK_REPLY(h, "vCont?", "vCont;c;C;s;S");
	CHECK_REPLY(h, "qTStatus", "");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_registers(void)
{
	struct harness *h = harness_start();
	char want[64];
	const char *r;

	start_no_ack(h);
	/* GDB's default layout until target.xml is read: rax..mxcsr, 536 bytes */
	r = transact(h, "g");
	CHECK_EQ(r ? strlen(r) : 0, 2 * 536);
	CHECK_REPLY(h, "p39", "4243444546474849"); /* GDB's orig_rax (57): ours is 66 */
	CHECK_REPLY(h, "p3a", "393a3b3c3d3e3f40"); /* GDB's fs_base (58): ours is 57 */
	CHECK_REPLY(h, "p3c", "3c3d3e3f40414243"); /* past GDB's layout: ours (cr0) */
	r = transact(h, "qXfer:features:read:target.xml:0,10");
	CHECK(r && r[0] == 'm');
	r = transact(h, "g");
	CHECK_EQ(r ? strlen(r) : 0, 2 * 872); /* with the ymm halves of the AVX feature */
	CHECK(r && strncmp(r, "0001020304050607", 16) == 0);	       /* rax of vCPU 0 */
	CHECK(r && strncmp(r + 2 * 592, "xxxxxxxxxxxxxxxx", 16) == 0); /* cr8: unreadable */
	CHECK_REPLY(h, "p10", "1011121314151617");		       /* rip */
	CHECK_REPLY(h, "p11", "11121314");			       /* eflags: 4 bytes */
	CHECK_REPLY(h, "p43", "434445464748494a4b4c4d4e4f505152");     /* 67: ymm0h */
	CHECK_REPLY(h, "p53", "E01"); /* 0x53 = 83: past ymm15h, the last one */
	CHECK_REPLY(h, "P10=8877665544332211", "OK");
	CHECK_EQ(h->fake.regs[0][GDB_REG_RIP][0], 0x88);
	CHECK_REPLY(h, "P10=88", "E01"); /* wrong size */
	CHECK_REPLY(h, "P99=00", "E01");
	CHECK_REPLY(h, "Hg2", "OK");
	snprintf(want, sizeof(want), "%s", "1011121314151617"); /* rax of vCPU 1 */
	r = transact(h, "g");
	CHECK(r && strncmp(r, want, 16) == 0);
	/* G writes back what g read, changed in one place */
	char *g = r ? strdup(r) : strdup("");
	g[0] = 'f';
	g[1] = 'f';
	memset(g + 2 * 592, '0', 16); /* cr8 was sent as xx: G needs hex */
	CHECK_REPLY(h, "G00", "E01"); /* too short */
	send_pkt(h, "G");
	CHECK_STR(recv_pkt(h), "E01");
	char *pkt = malloc(strlen(g) + 2);
	sprintf(pkt, "G%s", g);
	CHECK_REPLY(h, pkt, "OK");
	CHECK_EQ(h->fake.regs[1][GDB_REG_RAX][0], 0xff);
	free(pkt);
	free(g);
	CHECK_REPLY(h, "Hg0", "OK"); /* any: stays on vCPU 1 */
	CHECK_REPLY(h, "qC", "QC2");
	CHECK_REPLY(h, "Hg3", "E01");
	CHECK_REPLY(h, "Hc-1", "OK");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_memory(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	CHECK_REPLY(h, "m1000,4", "00010203");
	/* across the hole at 0x2000: only what is readable */
	r = transact(h, "m1ffe,10");
	CHECK_STR(r, "feff");
	CHECK_REPLY(h, "m2000,1", "E14");
	CHECK_REPLY(h, "m0,1", "E14");
	CHECK_REPLY(h, "mffffffffffffffff,10", "E14");
	CHECK_REPLY(h, "m1000,0", "E01");
	r = transact(h, "m1000,100000"); /* more than a reply holds: clamped, not refused */
	CHECK(r && strlen(r) == 2 * 0x1000);
	CHECK_REPLY(h, "M1000,2:abcd", "OK");
	CHECK_EQ(h->fake.mem[0], 0xab);
	CHECK_EQ(h->fake.mem[1], 0xcd);
	CHECK_REPLY(h, "M1000,2:abc", "E01");
	CHECK_REPLY(h, "M1fff,2:0102", "E14"); /* half in the hole */
	CHECK_REPLY(h, "M2000,1:01", "E14");
	CHECK_REPLY(h, "M1000,0:", "OK");
	/* X with every byte that must be escaped */
	send_pkt_len(h, "X1004,5:#$}*\x03", 13);
	CHECK_STR(recv_pkt(h), "OK");
	CHECK_MEM(h->fake.mem + 4, "#$}*\x03", 5);
	CHECK_REPLY(h, "X1000,0:", "OK"); /* GDB's probe */
	CHECK_REPLY(h, "X1000,3:ab", "E01");
	CHECK_REPLY(h, "X2000,1:a", "E14");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_breakpoints(void)
{
	struct harness *h = harness_start();

	start_no_ack(h);
	CHECK_REPLY(h, "Z0,1000,1", "OK");
	CHECK_REPLY(h, "Z0,1000,1", "OK"); /* idempotent */
	CHECK_EQ(h->fake.nbp, 1);
	CHECK_EQ(h->fake.bps[0].addr, 0x1000);
	CHECK_REPLY(h, "Z2,3000,8", "OK");
	CHECK_EQ(h->fake.bps[1].kind, GDB_WP_WRITE);
	CHECK_EQ(h->fake.bps[1].len, 8);
	CHECK_REPLY(h, "Z3,3000,4", ""); /* -EOPNOTSUPP: GDB falls back */
	CHECK_REPLY(h, "Z1,1,1", "OK");
	CHECK_REPLY(h, "Z4,2,1", "OK");
	CHECK_REPLY(h, "Z1,5,1", "E1c"); /* fifth slot: ENOSPC */
	CHECK_REPLY(h, "Z5,1000,1", "");
	CHECK_REPLY(h, "z0,1000,1", "OK");
	CHECK_EQ(h->fake.nbp, 3);
	CHECK_REPLY(h, "Z0,1000", "E01");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_threads(void)
{
	struct harness *h = harness_start();

	start_no_ack(h);
	CHECK_REPLY(h, "qfThreadInfo", "m1,2");
	CHECK_REPLY(h, "qsThreadInfo", "l");
	CHECK_REPLY(h, "qC", "QC1");
	CHECK_REPLY(h, "T1", "OK");
	CHECK_REPLY(h, "T2", "OK");
	CHECK_REPLY(h, "T3", "E01");
	CHECK_REPLY(h, "T0", "E01");
	/* "vCPU 1, halted" in hex */
	CHECK_REPLY(h, "qThreadExtraInfo,2", "7643505520312c2068616c746564");
	CHECK_REPLY(h, "qThreadExtraInfo,9", "E01");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_resume_and_stops(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	r = transact(h, "qSupported:swbreak+;hwbreak+"); /* the stop reasons are wanted */
	CHECK(r && !strstr(r, "multiprocess"));
	h->fake.auto_stop = true;
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_SWBREAK, .cpu = 1};
	CHECK_REPLY(h, "vCont;s:2;c", "T05thread:02;swbreak:;");
	CHECK(h->fake.actions[0] == GDB_RESUME_CONTINUE && h->fake.actions[1] == GDB_RESUME_STEP);
	CHECK_REPLY(h, "qC", "QC2"); /* the stopped thread is now current */
	r = transact(h, "g");
	CHECK(r && strncmp(r, "1011", 4) == 0);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = 5};
	CHECK_REPLY(h, "vCont;s:1", "T05thread:01;");
	CHECK(h->fake.actions[0] == GDB_RESUME_STEP && h->fake.actions[1] == GDB_RESUME_NONE);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_WATCH, .cpu = 1, .addr = 0x3008};
	CHECK_REPLY(h, "c", "T05thread:02;watch:3008;");
	CHECK(h->fake.actions[0] == GDB_RESUME_CONTINUE &&
	      h->fake.actions[1] == GDB_RESUME_CONTINUE);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_HWBREAK, .cpu = 0};
	CHECK_REPLY(h, "s", "T05thread:01;hwbreak:;"); /* legacy s: steps vCPU 2 (Hc) */
	CHECK(h->fake.actions[1] == GDB_RESUME_STEP && h->fake.actions[0] == GDB_RESUME_NONE);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_AWATCH, .cpu = 0, .addr = 0x10};
	CHECK_REPLY(h, "C05", "T05thread:01;awatch:10;");
	CHECK_REPLY(h, "?", "T05thread:01;awatch:10;");
	CHECK_EQ(h->fake.resumes, 5);
	CHECK_REPLY(h, "vCont;c:5", "E01");
	CHECK_REPLY(h, "vCont;x", "E01");
	CHECK_EQ(h->fake.resumes, 5);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 7};
	CHECK_REPLY(h, "vCont;c", "W07");
	CHECK_EQ(harness_finish(h), GDBSTUB_EXITED);
}

static void test_interrupt_and_deferred(void)
{
	struct harness *h = harness_start();

	start_no_ack(h);
	send_pkt(h, "c");
	CHECK(quiet_for(h, 50)); /* running: no reply yet */
	send_pkt(h, "qC");	 /* GDB would not, but it must wait for the stop */
	CHECK(quiet_for(h, 50));
	send_str(h, "\x03"); /* still seen behind the waiting packet */
	CHECK_STR(recv_pkt(h), "T02thread:01;");
	CHECK_STR(recv_pkt(h), "QC1");
	CHECK_EQ(h->fake.interrupts, 1);
	send_pkt(h, "c");
	send_str(h, "\x03");
	CHECK_STR(recv_pkt(h), "T02thread:01;");
	CHECK_EQ(h->fake.interrupts, 2);
	send_str(h, "\x03"); /* while stopped: ignored */
	CHECK_REPLY(h, "qC", "QC1");
	CHECK_EQ(h->fake.interrupts, 2);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_xfer(void)
{
	struct harness *h = harness_start();
	char *got = calloc(1, h->xml_len + 1);
	size_t off = 0;
	char req[64];
	const char *r;

	start_no_ack(h);
	/* read target.xml in small chunks: `m` while more follows, `l` at the end */
	for (int i = 0; i < 1000; i++) {
		snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,%x", off, 100);
		r = transact(h, req);
		if (!r || (r[0] != 'm' && r[0] != 'l') || off + h->reply_len - 1 > h->xml_len)
			break;
		memcpy(got + off, r + 1, h->reply_len - 1);
		off += h->reply_len - 1;
		if (r[0] == 'l')
			break;
		CHECK_EQ(h->reply_len, 101);
	}
	CHECK_EQ(off, h->xml_len);
	CHECK_MEM(got, h->xml, h->xml_len);
	snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,100", h->xml_len);
	CHECK_REPLY(h, req, "l");
	CHECK_REPLY(h, "qXfer:features:read:other.xml:0,100", "E00");
	CHECK_REPLY(h, "qXfer:features:read:target.xml:0", "");
	free(got);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_monitor(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	/* "regs": the target prints two lines, each an O packet, then OK */
	CHECK_REPLY(h, "qRcmd,72656773", "O72617820310a");
	CHECK_STR(recv_pkt(h), "O72627820320a");
	CHECK_STR(recv_pkt(h), "OK");
	/* "help": the target has none (-ENOSYS), so the stub's own help */
	r = transact(h, "qRcmd,68656c70");
	CHECK(r && r[0] == 'O' && h->reply_len > 20);
	while (r && r[0] == 'O' && strcmp(r, "OK") != 0)
		r = recv_pkt(h);
	CHECK_STR(r, "OK");
	/* "nope" fails (EINVAL) silently: the stub says why, then OK, as QEMU does (an
	 * E.. reply is "Protocol error with Rcmd" to GDB, which ends a -x script) */
	r = transact(h, "qRcmd,6e6f7065");
	CHECK(r && r[0] == 'O');
	if (r && r[0] == 'O') {
		char text[256];
		ssize_t n = rsp_hex_decode((uint8_t *)text, sizeof(text) - 1, r + 1, strlen(r + 1));

		text[n > 0 ? n : 0] = 0;
		CHECK(strstr(text, "'nope' failed: Invalid argument"));
	}
	CHECK_STR(recv_pkt(h), "OK");
	/* "fail" fails with a positive errno: its output, then an E reply */
	CHECK_REPLY(h, "qRcmd,6661696c", "O6e6f0a");
	CHECK_STR(recv_pkt(h), "E05");
	CHECK_REPLY(h, "qRcmd,6", "E01");
	CHECK_REPLY(h, "qRcmd,00", "E01");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_detach(void)
{
	struct harness *h = harness_start();
	struct fake *f = &h->fake;

	CHECK_REPLY(h, "D", "OK");
	CHECK_EQ(f->detached, 1);
	CHECK_EQ(f->killed, 0);
	CHECK(recv_pkt(h) == NULL); /* the stub hung up */
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_kill(void)
{
	struct harness *h = harness_start();

	/* LLDB waits for an exit reply to `k` (killed by signal 9) */
	CHECK_REPLY(h, "k", "X09");
	CHECK(recv_pkt(h) == NULL);
	CHECK_EQ(h->fake.killed, 1);
	CHECK_EQ(h->fake.detached, 0);
	CHECK_EQ(harness_finish(h), GDBSTUB_KILLED);
}

static void test_disconnect_while_running(void)
{
	struct harness *h = harness_start();
	struct fake final;

	start_no_ack(h);
	send_pkt(h, "vCont;c");
	CHECK(quiet_for(h, 50)); /* running: no stop reply */
	send_str(h, "$m10");	 /* and the client vanishes mid-packet */
	CHECK_EQ(harness_finish_state(h, &final), GDBSTUB_DETACHED);
	CHECK_EQ(final.detached, 1);
	CHECK_EQ(final.resumes, 1);
}

static void test_vm_ends_while_stopped(void)
{
	struct harness *h = harness_start();

	start_no_ack(h);
	transact(h, "qSupported:hwbreak+");
	/* a stop nobody asked for is only remembered for `?` */
	fake_post_stop(&h->fake, (struct gdb_stop){.kind = GDB_STOP_HWBREAK, .cpu = 1});
	CHECK(quiet_for(h, 50));
	CHECK_REPLY(h, "?", "T05thread:02;hwbreak:;");
	/* the VM ended from outside (a signal to proxy): W, and the session is over */
	fake_post_stop(&h->fake, (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 9});
	CHECK_STR(recv_pkt(h), "W09");
	CHECK_EQ(harness_finish(h), GDBSTUB_EXITED);
}

/* Sessions with event reports and a target whose resume can refuse: the harness of
 * test_gdb_fake.h, served by gdb_session_serve with these. */
struct events {
	int n;
	enum gdbstub_event ev[8];
	char peer[8][GDB_PEER_MAX];
};

static struct events events;
static struct gdb_target_ops ev_ops;
static int resume_rc; /* non-zero: ev_resume refuses with it */

static void record_event(void *arg, enum gdbstub_event ev, const char *peer)
{
	struct events *e = arg;

	if (e->n < 8) {
		e->ev[e->n] = ev;
		snprintf(e->peer[e->n++], GDB_PEER_MAX, "%s", peer);
	}
}

static int ev_resume(void *ctx, const enum gdb_resume_action *actions)
{
	return resume_rc ? resume_rc : fake_resume(ctx, actions);
}

static void fake_not_started(void *ctx, int cpu, char *buf, size_t len)
{
	(void)ctx;
	snprintf(buf, len, "vCPU %d, not started", cpu);
}

static void *event_thread(void *arg)
{
	struct harness *h = arg;
	struct gdb_target tgt = {&ev_ops, &h->fake};
	struct gdb_session_env env = {.listen_fd = -1,
				      .xml = h->xml,
				      .xml_len = h->xml_len,
				      .on_event = record_event,
				      .event_arg = &events,
				      .peer = "10.0.0.1:99"};

	h->end = gdb_session_serve(h->stub_fd, tgt, &env);
	close(h->stub_fd);
	return NULL;
}

static struct harness *event_harness_start(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	int sv[2];

	if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	memset(&events, 0, sizeof(events));
	ev_ops = fake_ops;
	ev_ops.resume = ev_resume;
	ev_ops.thread_info = fake_not_started;
	resume_rc = 0;
	fake_init(&h->fake);
	h->fd = sv[0];
	h->stub_fd = sv[1];
	h->xml = target_xml_build(&h->xml_len);
	rsp_decoder_init(&h->dec);
	if (pthread_create(&h->thread, NULL, event_thread, h))
		abort();
	return h;
}

static void test_events(void)
{
	struct harness *h = event_harness_start();

	CHECK_REPLY(h, "D", "OK");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
	CHECK_EQ(events.n, 1);
	CHECK(events.ev[0] == GDBSTUB_EV_DETACHED);
	CHECK_STR(events.peer[0], "10.0.0.1:99");

	h = event_harness_start();
	start_no_ack(h);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED); /* gone without D */
	CHECK(events.n == 1 && events.ev[0] == GDBSTUB_EV_LOST);

	h = event_harness_start();
	CHECK_REPLY(h, "k", "X09");
	CHECK(recv_pkt(h) == NULL);
	CHECK_EQ(harness_finish(h), GDBSTUB_KILLED);
	CHECK(events.n == 1 && events.ev[0] == GDBSTUB_EV_KILLED);
}

/* A resume the target refuses with -ESRCH (a thread that has not started) is an
 * E.text reply naming the thread, and the session goes on stopped. */
static void test_resume_of_unstarted_thread(void)
{
	struct harness *h = event_harness_start();

	start_no_ack(h);
	resume_rc = -ESRCH;
	CHECK_REPLY(h, "vCont;s:2",
		    "E.cannot step Thread 2 (vCPU 1, not started): it has not started running "
		    "yet; continue the other threads until it has");
	CHECK_REPLY(h, "vCont;s:2;c", /* the step is named, not the first resumed */
		    "E.cannot step Thread 2 (vCPU 1, not started): it has not started running "
		    "yet; continue the other threads until it has");
	CHECK_REPLY(h, "vCont;c:2",
		    "E.cannot continue Thread 2 (vCPU 1, not started): it has not started "
		    "running yet; resume it together with threads that run");
	resume_rc = -EIO; /* any other refusal: a plain error number */
	CHECK_REPLY(h, "vCont;c", "E05");
	CHECK_REPLY(h, "qC", "QC1"); /* still stopped, still served */
	CHECK_EQ(h->fake.resumes, 0);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

/* A client that offers multiprocess+ gets it, and pPID.TID thread ids everywhere. */
static void test_multiprocess(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	r = transact(h, "qSupported:multiprocess+;swbreak+;hwbreak+;error-message+");
	CHECK(r && strstr(r, ";multiprocess+"));
	CHECK_REPLY(h, "qfThreadInfo", "mp1.1,p1.2");
	CHECK_REPLY(h, "qsThreadInfo", "l");
	CHECK_REPLY(h, "qC", "QCp1.1");
	CHECK_REPLY(h, "Tp1.2", "OK");
	CHECK_REPLY(h, "T2", "OK"); /* the plain form is still taken */
	CHECK_REPLY(h, "Tp2.1", "E01");
	CHECK_REPLY(h, "Tp1.3", "E01");
	CHECK_REPLY(h, "Hgp1.2", "OK");
	r = transact(h, "g");
	CHECK(r && strncmp(r, "1011", 4) == 0); /* vCPU 1's rax */
	CHECK_REPLY(h, "qC", "QCp1.2");
	CHECK_REPLY(h, "Hgp0.0", "OK"); /* any: stays */
	CHECK_REPLY(h, "Hgp2.1", "E01");
	CHECK_REPLY(h, "Hcp1.-1", "OK");
	CHECK_REPLY(h, "Hcp-1.-1", "OK");
	CHECK_REPLY(h, "qThreadExtraInfo,p1.2", "7643505520312c2068616c746564");
	h->fake.auto_stop = true;
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_SWBREAK, .cpu = 1};
	CHECK_REPLY(h, "vCont;s:p1.2;c:p1.-1", "T05thread:p1.02;swbreak:;");
	CHECK(h->fake.actions[0] == GDB_RESUME_CONTINUE && h->fake.actions[1] == GDB_RESUME_STEP);
	CHECK_REPLY(h, "?", "T05thread:p1.02;swbreak:;");
	CHECK_REPLY(h, "vCont;c:p2.-1", "E01");
	CHECK_EQ(h->fake.resumes, 1);
	CHECK_REPLY(h, "D;2", "E01"); /* not our process */
	CHECK_REPLY(h, "vKill;2", "E03");
	CHECK_EQ(h->fake.detached + h->fake.killed, 0);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 4};
	CHECK_REPLY(h, "vCont;c", "W04;process:1");
	CHECK_EQ(harness_finish(h), GDBSTUB_EXITED);

	h = harness_start();
	transact(h, "qSupported:multiprocess+");
	CHECK_REPLY(h, "vKill;1", "OK");
	CHECK(recv_pkt(h) == NULL);
	CHECK_EQ(h->fake.killed, 1);
	CHECK_EQ(harness_finish(h), GDBSTUB_KILLED);

	h = harness_start();
	transact(h, "qSupported:multiprocess+");
	CHECK_REPLY(h, "k", "X09;process:1");
	CHECK_EQ(harness_finish(h), GDBSTUB_KILLED);

	h = harness_start();
	transact(h, "qSupported:multiprocess+");
	CHECK_REPLY(h, "D;1", "OK");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);

	/* without multiprocess, GDB names its made-up process 42000 */
	h = harness_start();
	CHECK_REPLY(h, "vKill;a410", "OK");
	CHECK_EQ(harness_finish(h), GDBSTUB_KILLED);
}

/* A step of a vCPU that can never execute (halted with interrupts off) is refused with
 * the reason: as E.text to a client that takes it, else an O packet and E<errno>. */
static void test_step_of_stuck_cpu(void)
{
	struct harness *h = harness_start();
	char hex[256];

	start_no_ack(h);
	h->fake.stuck[1] = true;
	h->fake.auto_stop = true;
	rsp_hex_encode(hex, "cannot step Thread 2: halted with interrupts off\n", 49);
	hex[98] = 0;
	const char *r = transact(h, "vCont;s:2");
	CHECK(r && r[0] == 'O' && strcmp(r + 1, hex) == 0);
	CHECK_STR(recv_pkt(h), "E23");
	r = transact(h, "vCont;s:2;c"); /* the others would run, but the step never ends */
	CHECK(r && strcmp(r + 1, hex) == 0);
	CHECK_STR(recv_pkt(h), "E23");
	CHECK_EQ(h->fake.resumes, 0);
	CHECK_REPLY(h, "vCont;s:1;c", "T05thread:01;"); /* stepping another one is fine */
	CHECK_REPLY(h, "vCont;c", "T05thread:01;");	/* so is continuing it */
	CHECK_EQ(h->fake.resumes, 2);
	transact(h, "qSupported:error-message+");
	CHECK_REPLY(h, "vCont;s:2", "E.cannot step Thread 2: halted with interrupts off");
	CHECK_EQ(h->fake.resumes, 2);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

/* bs/bc reach the target for the Hc thread; the log's beginning is `replaylog:begin`;
 * writes in the past are refused with the target's reason when the client takes it. */
static void test_reverse(void)
{
	struct harness *h = harness_start();
	const char *r;

	start_no_ack(h);
	r = transact(h, "qSupported:swbreak+");
	CHECK(r && strstr(r, ";ReverseStep+;ReverseContinue+"));
	CHECK_REPLY(h, "Hc2", "OK");
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 1, .signal = 5};
	CHECK_REPLY(h, "bs", "T05thread:02;");
	CHECK_EQ(h->fake.reverse_steps, 1);
	CHECK_EQ(h->fake.reverse_cpu, 1);
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_SWBREAK, .cpu = 0};
	CHECK_REPLY(h, "bc", "T05thread:01;swbreak:;");
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_NO_HISTORY, .cpu = 0, .signal = 5};
	CHECK_REPLY(h, "bc", "T05thread:01;replaylog:begin;");
	CHECK_EQ(h->fake.reverse_continues, 2);
	CHECK_EQ(h->fake.resumes, 0);
	h->fake.in_past = true;
	CHECK_REPLY(h, "M1000,1:aa", "E1e");
	CHECK_REPLY(h, "P0=0100000000000000", "E1e");
	CHECK_EQ(h->fake.mem[0], 0); /* unchanged */
	transact(h, "qSupported:error-message+");
	CHECK_REPLY(h, "X1000,1:a", "E.in the past");
	h->fake.in_past = false;
	CHECK_REPLY(h, "M1000,1:aa", "OK");
	CHECK_EQ(h->fake.mem[0], 0xaa);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

int main(void)
{
	test_acks();
	test_framing_robustness();
	test_supported();
	test_registers();
	test_memory();
	test_breakpoints();
	test_threads();
	test_resume_and_stops();
	test_interrupt_and_deferred();
	test_xfer();
	test_monitor();
	test_detach();
	test_kill();
	test_disconnect_while_running();
	test_vm_ends_while_stopped();
	test_events();
	test_resume_of_unstarted_thread();
	test_multiprocess();
	test_step_of_stuck_cpu();
	test_reverse();
	return unit_report();
}
