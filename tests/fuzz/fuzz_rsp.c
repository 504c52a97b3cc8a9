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
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_quiet.h"
#include "test_gdb_fake.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *xml; /* the target description, built once like the stub does */
static size_t xml_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
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
	struct gdb_target tgt = {&fake_ops, &f};
	gdb_session_run(sv[1], -1, tgt, xml, xml_len, NULL);
	close(sv[1]);
	close(sv[0]);
	close(f.stop_fd);
	decode_all(data, size);
	return 0;
}
