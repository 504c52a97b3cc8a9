/* test_gdb_extended.c: extended-remote (`!`, vRun, the session after the guest's exit
 * and after `k`) against the fake target of test_gdb_fake.h, given a restart. */
#include "test_gdb_fake.h"

static int restarts, extended_on;

static void ext_set_extended(void *ctx, int on)
{
	(void)ctx;
	extended_on = on;
}

static int ext_restart(void *ctx, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	restarts++;
	return 0;
}

static struct gdb_target_ops ext_ops;

static void *ext_thread(void *arg)
{
	struct harness *h = arg;
	struct gdb_target tgt = {&ext_ops, &h->fake};

	h->end = gdb_session_run(h->stub_fd, -1, tgt, h->xml, h->xml_len, NULL);
	close(h->stub_fd);
	return NULL;
}

/* harness_start with the restart-capable target (`extended`: it offers `!`). */
static struct harness *ext_start(bool extended)
{
	struct harness *h = calloc(1, sizeof(*h));
	int sv[2];

	ext_ops = fake_ops;
	ext_ops.set_extended = extended ? ext_set_extended : NULL;
	ext_ops.restart = extended ? ext_restart : NULL;
	restarts = extended_on = 0;
	if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fake_init(&h->fake);
	h->fd = sv[0];
	h->stub_fd = sv[1];
	h->xml = target_xml_build(&h->xml_len);
	rsp_decoder_init(&h->dec);
	if (pthread_create(&h->thread, NULL, ext_thread, h))
		abort();
	CHECK_REPLY(h, "QStartNoAckMode", "OK");
	send_str(h, "+");
	return h;
}

static void test_not_offered(void)
{
	struct harness *h = ext_start(false);

	CHECK_REPLY(h, "!", "");
	CHECK_REPLY(h, "vRun;", "");
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_vrun_needs_extended_mode(void)
{
	struct harness *h = ext_start(true);

	CHECK_REPLY(h, "vRun;", ""); /* plain `target remote`: no run */
	CHECK_EQ(restarts, 0);
	CHECK_REPLY(h, "qAttached", "1");
	CHECK_REPLY(h, "!", "OK");
	CHECK_EQ(extended_on, 1);
	CHECK_REPLY(h, "vRun;", "T05thread:01;");
	CHECK_EQ(restarts, 1);
	CHECK_REPLY(h, "qAttached", "0");		  /* GDB started it: quitting kills it */
	CHECK_REPLY(h, "vRun;61707031", "T05thread:01;"); /* the file name is ignored */
	CHECK_EQ(restarts, 2);
	const char *r = transact(h, "vRun;;61726731"); /* an argument: refused */
	CHECK(r && !strncmp(r, "E.", 2));
	CHECK_EQ(restarts, 2);
	CHECK_EQ(harness_finish(h), GDBSTUB_DETACHED);
}

static void test_exit_keeps_the_session(void)
{
	struct harness *h = ext_start(true);
	struct fake final;

	CHECK_REPLY(h, "!", "OK");
	h->fake.auto_stop = true;
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 3};
	CHECK_REPLY(h, "vCont;c", "W03");
	CHECK_REPLY(h, "?", "W03");	     /* the session goes on */
	CHECK_REPLY(h, "qfThreadInfo", "l"); /* no process, no threads */
	CHECK_REPLY(h, "vRun;", "T05thread:01;");
	CHECK_REPLY(h, "qfThreadInfo", "m1,2");
	send_pkt(h, "k"); /* `run` on a live guest: k, then vRun */
	CHECK(quiet_for(h, 50));
	CHECK_EQ(h->fake.killed, 1);
	CHECK_REPLY(h, "vRun;", "T05thread:01;");
	CHECK_EQ(restarts, 2);
	CHECK_EQ(harness_finish_state(h, &final), GDBSTUB_DETACHED);
	CHECK_EQ(final.detached, 1);
}

static void test_plain_exit_still_ends(void)
{
	struct harness *h = ext_start(true);

	h->fake.auto_stop = true;
	h->fake.next_stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 3};
	CHECK_REPLY(h, "vCont;c", "W03");
	CHECK(recv_pkt(h) == NULL); /* without `!` the stub hangs up */
	CHECK_EQ(harness_finish(h), GDBSTUB_EXITED);
}

int main(void)
{
	test_not_offered();
	test_vrun_needs_extended_mode();
	test_exit_keeps_the_session();
	test_plain_exit_still_ends();
	return unit_report();
}
