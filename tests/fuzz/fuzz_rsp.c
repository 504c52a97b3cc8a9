/* fuzz_rsp.c: the GDB stub's packet layer (gdbstub/rsp_packet.c) and a whole session
 * (gdb_session.c, gdb_dispatch.c, the gdb_cmd_*.c handlers) on arbitrary client bytes.
 *
 * The input is what a client sends: it goes into one end of a socketpair, whose
 * write side is then shut, and the session runs on the other end against the fake
 * target of the unit tests (test_gdb_fake.h: 2 vCPUs, memory with a hole, a stop
 * posted at once on every resume) until the end of input ends it. Nobody reads the
 * replies: the stub's end is non-blocking with the largest send buffer the kernel
 * gives, so an input whose replies overflow it ends as a client that went away, the
 * same way every run (a reading thread per input cost half the speed). The input is
 * also fed to a bare decoder, which sees every byte even after a `k`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_quiet.h"
#include "test_gdb_fake.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *xml; /* the target description, built once like the stub does */
static size_t xml_len;

/* The fake target with what issue 23 added: extended-remote (`!`, vRun; the restart
 * fails every third time), a siginfo for vCPU 0 and a notice at every resume. */
static int restarts;

static void fz_set_extended(void *ctx, int on)
{
	(void)ctx, (void)on;
}

static int fz_restart(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (++restarts % 3)
		return 0;
	snprintf(err, errlen, "a vCPU is busy");
	return -EBUSY;
}

static int fz_siginfo(void *ctx, int cpu, struct gdb_siginfo *out)
{
	(void)ctx;
	*out = (struct gdb_siginfo){.signal = 11, .code = 14, .error = 2, .addr = 0xdead};
	return cpu == 0 ? 0 : -ENOENT;
}

static const char *fz_take_notice(void *ctx)
{
	(void)ctx;
	return "notice\n";
}

static struct gdb_target_ops fuzz_ops;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	fuzz_ops = fake_ops;
	fuzz_ops.set_extended = fz_set_extended;
	fuzz_ops.restart = fz_restart;
	fuzz_ops.siginfo = fz_siginfo;
	fuzz_ops.take_notice = fz_take_notice;
	xml = target_xml_build(&xml_len);
	return xml ? 0 : -1;
}

/* The packet layer alone: decode, and re-frame what it decoded. */
static void decode_all(const uint8_t *data, size_t size)
{
	static struct rsp_decoder dec; /* large (a packet's worth): off the stack */
	static uint8_t frame[RSP_FRAME_MAX];
	rsp_decoder_init(&dec);
	for (size_t i = 0; i < size; i++)
		if (rsp_decoder_feed(&dec, data[i]) == RSP_EV_PACKET)
			rsp_frame(frame, sizeof(frame), dec.buf, dec.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* All of it before the session starts (what does not fit the socket is dropped),
	 * so the session reads the same chunks every run. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	while (sent < size) {
		ssize_t n = send(sv[0], data + sent, size - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	fcntl(sv[0], F_SETFL, 0);
	shutdown(sv[0], SHUT_WR);
	int big = 1 << 30; /* the kernel caps it at wmem_max */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);

	static struct fake f; /* 8 KiB of memory and registers: off the stack */
	fake_init(&f);
	f.auto_stop = true;
	struct gdb_target tgt = {&fuzz_ops, &f};
	gdb_session_run(sv[1], -1, tgt, xml, xml_len, NULL);
	close(sv[1]);
	close(sv[0]);
	close(f.stop_fd);
	decode_all(data, size);
	return 0;
}
