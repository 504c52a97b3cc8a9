/* test_gdb_fake.h: a fake gdb_target and an RSP client for the gdbstub unit tests.
 *
 * The fake has 2 vCPUs with recognisable register values (byte i of register r of vCPU
 * c is r + 16*c + i), guest memory at [0x1000, 0x2000) and [0x3000, 0x4000) with a hole
 * between, a breakpoint list, and a scripted stop: resume() records its actions and,
 * if `auto_stop` is set, posts `next_stop` at once; interrupt() posts a SIGINT stop;
 * can_progress() is false for the vCPUs marked `stuck`.
 * The client side frames packets with the stub's own encoder and reads replies with
 * its decoder (both tested on their own in test_gdb_packet.c).
 */
#ifndef TEST_GDB_FAKE_H
#define TEST_GDB_FAKE_H

#include "gdb_session.h"
#include "target_xml.h"
#include "unit.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_NCPU     2
#define FAKE_MEM_BASE 0x1000
#define FAKE_HOLE     0x2000 /* [0x2000, 0x3000) is unmapped */
#define FAKE_MEM_END  0x4000
#define FAKE_MAX_BP   4

struct fake_bp {
	enum gdb_bp_kind kind;
	uint64_t addr;
	size_t len;
};

struct fake {
	uint8_t regs[FAKE_NCPU][GDB_REG_COUNT][16];
	uint8_t mem[FAKE_MEM_END - FAKE_MEM_BASE];
	struct fake_bp bps[FAKE_MAX_BP];
	int nbp;
	enum gdb_resume_action actions[FAKE_NCPU];
	int resumes;
	int stop_fd; /* eventfd */
	bool auto_stop;
	struct gdb_stop next_stop;
	bool stuck[FAKE_NCPU]; /* can_progress() says no: halted with interrupts off */
	int interrupts, detached, killed;
	const char *monitor_said;
	int reverse_steps, reverse_continues; /* bs / bc received */
	int reverse_cpu;
	bool in_past; /* write_refused() says why */
};

static inline struct fake *fk(void *ctx)
{
	return ctx;
}

static inline int fake_cpu_count(void *ctx)
{
	(void)ctx;
	return FAKE_NCPU;
}

static inline int fake_reg_size(void *ctx, int regno)
{
	(void)ctx;
	return target_xml_reg_size(regno);
}

static inline int fake_read_reg(void *ctx, int cpu, int regno, uint8_t *buf)
{
	if (regno == GDB_REG_CR8)
		return -EIO; /* one unreadable register: sent as xx */
	memcpy(buf, fk(ctx)->regs[cpu][regno], (size_t)fake_reg_size(ctx, regno));
	return 0;
}

static inline int fake_write_reg(void *ctx, int cpu, int regno, const uint8_t *buf)
{
	memcpy(fk(ctx)->regs[cpu][regno], buf, (size_t)fake_reg_size(ctx, regno));
	return 0;
}

static inline bool fake_mapped(uint64_t a)
{
	return a >= FAKE_MEM_BASE && a < FAKE_MEM_END && !(a >= FAKE_HOLE && a < 0x3000);
}

static inline ssize_t fake_access(void *ctx, uint64_t addr, void *rbuf, const void *wbuf,
				  size_t len)
{
	size_t n = 0;

	while (n < len && fake_mapped(addr + n)) {
		uint8_t *m = &fk(ctx)->mem[addr + n - FAKE_MEM_BASE];

		if (rbuf)
			((uint8_t *)rbuf)[n] = *m;
		else
			*m = ((const uint8_t *)wbuf)[n];
		n++;
	}
	return n ? (ssize_t)n : -EFAULT;
}

static inline ssize_t fake_read_mem(void *ctx, int cpu, uint64_t addr, void *buf, size_t len)
{
	(void)cpu;
	return fake_access(ctx, addr, buf, NULL, len);
}

static inline ssize_t fake_write_mem(void *ctx, int cpu, uint64_t addr, const void *buf, size_t len)
{
	(void)cpu;
	return fake_access(ctx, addr, NULL, buf, len);
}

static inline int fake_insert_bp(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	struct fake *f = ctx;

	if (kind == GDB_WP_READ)
		return -EOPNOTSUPP;
	for (int i = 0; i < f->nbp; i++)
		if (f->bps[i].kind == kind && f->bps[i].addr == addr)
			return 0;
	if (f->nbp == FAKE_MAX_BP)
		return -ENOSPC;
	f->bps[f->nbp++] = (struct fake_bp){kind, addr, len};
	return 0;
}

static inline int fake_remove_bp(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	struct fake *f = ctx;

	(void)len;
	for (int i = 0; i < f->nbp; i++)
		if (f->bps[i].kind == kind && f->bps[i].addr == addr)
			f->bps[i] = f->bps[--f->nbp];
	return 0;
}

static inline void fake_post_stop(struct fake *f, struct gdb_stop st)
{
	uint64_t one = 1;

	f->next_stop = st;
	if (write(f->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static inline int fake_resume(void *ctx, const enum gdb_resume_action *actions)
{
	struct fake *f = ctx;

	memcpy(f->actions, actions, sizeof(f->actions));
	f->resumes++;
	if (f->auto_stop)
		fake_post_stop(f, f->next_stop);
	return 0;
}

static inline int fake_stop_fd(void *ctx)
{
	return fk(ctx)->stop_fd;
}

static inline int fake_take_stop(void *ctx, struct gdb_stop *out)
{
	uint64_t n;

	if (read(fk(ctx)->stop_fd, &n, sizeof(n)) != sizeof(n))
		return -EAGAIN;
	*out = fk(ctx)->next_stop;
	return 0;
}

static inline void fake_interrupt(void *ctx)
{
	fk(ctx)->interrupts++;
	fake_post_stop(ctx, (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = 2});
}

static inline void fake_thread_info(void *ctx, int cpu, char *buf, size_t len)
{
	(void)ctx;
	snprintf(buf, len, "vCPU %d, halted", cpu);
}

static inline int fake_monitor(void *ctx, const char *cmd, gdb_output_fn out, void *arg)
{
	fk(ctx)->monitor_said = strcmp(cmd, "regs") == 0 ? "regs" : NULL;
	if (strcmp(cmd, "regs") == 0) {
		out(arg, "rax 1\n");
		out(arg, "rbx 2\n");
		return 0;
	}
	if (strcmp(cmd, "fail") == 0) { /* a failure GDB must see (as loadvm's): EIO */
		out(arg, "no\n");
		return EIO;
	}
	return strcmp(cmd, "help") == 0 ? -ENOSYS : -EINVAL;
}

static inline void fake_detach(void *ctx)
{
	fk(ctx)->detached++;
}

static inline void fake_kill(void *ctx)
{
	fk(ctx)->killed++;
}

static inline bool fake_can_progress(void *ctx, int cpu, char *why, size_t len)
{
	if (!fk(ctx)->stuck[cpu])
		return true;
	snprintf(why, len, "halted with interrupts off");
	return false;
}

/* bs/bc: the stop is next_stop, as for a resume. */
static inline int fake_reverse(void *ctx, int cpu, bool step, char *err, size_t errlen)
{
	struct fake *f = ctx;

	(void)err, (void)errlen;
	if (step)
		f->reverse_steps++;
	else
		f->reverse_continues++;
	f->reverse_cpu = cpu;
	fake_post_stop(f, f->next_stop);
	return 0;
}

static inline const char *fake_write_refused(void *ctx)
{
	return fk(ctx)->in_past ? "in the past" : NULL;
}

static const struct gdb_target_ops fake_ops __attribute__((unused)) = {
	.cpu_count = fake_cpu_count,
	.reg_size = fake_reg_size,
	.read_reg = fake_read_reg,
	.write_reg = fake_write_reg,
	.read_mem = fake_read_mem,
	.write_mem = fake_write_mem,
	.insert_bp = fake_insert_bp,
	.remove_bp = fake_remove_bp,
	.resume = fake_resume,
	.stop_fd = fake_stop_fd,
	.take_stop = fake_take_stop,
	.interrupt = fake_interrupt,
	.thread_info = fake_thread_info,
	.monitor = fake_monitor,
	.detach = fake_detach,
	.kill = fake_kill,
	.can_progress = fake_can_progress,
	.reverse = fake_reverse,
	.write_refused = fake_write_refused,
};

static inline void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	for (int c = 0; c < FAKE_NCPU; c++)
		for (int r = 0; r < GDB_REG_COUNT; r++)
			for (int i = 0; i < 16; i++)
				f->regs[c][r][i] = (uint8_t)(r + 16 * c + i);
	for (size_t i = 0; i < sizeof(f->mem); i++)
		f->mem[i] = (uint8_t)i;
	f->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->next_stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .signal = 5};
}

/* A session served on one end of a socketpair by a thread; the test is the client. */
struct harness {
	struct fake fake;
	int fd;	     /* the client's end */
	int stub_fd; /* the stub's end */
	pthread_t thread;
	int end;
	char *xml;
	size_t xml_len;
	struct rsp_decoder dec;
	char reply[RSP_PACKET_SIZE + 1];
	size_t reply_len;
	int acks; /* `+` seen since the last reset */
	int naks;
};

static inline void *harness_thread(void *arg)
{
	struct harness *h = arg;
	struct gdb_target tgt = {&fake_ops, &h->fake};

	h->end = gdb_session_run(h->stub_fd, -1, tgt, h->xml, h->xml_len, NULL);
	close(h->stub_fd);
	return NULL;
}

static inline struct harness *harness_start(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	int sv[2];

	if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fake_init(&h->fake);
	h->fd = sv[0];
	h->stub_fd = sv[1];
	h->xml = target_xml_build(&h->xml_len);
	rsp_decoder_init(&h->dec);
	if (pthread_create(&h->thread, NULL, harness_thread, h))
		abort();
	return h;
}

/* Close the client end (a disconnect, unless the session already ended) and wait for
 * the session; returns how it ended, and the fake's final state in *final if asked. */
static inline int harness_finish_state(struct harness *h, struct fake *final)
{
	int end;

	close(h->fd);
	pthread_join(h->thread, NULL);
	end = h->end;
	if (final)
		*final = h->fake;
	close(h->fake.stop_fd);
	free(h->xml);
	free(h);
	return end;
}

static inline int harness_finish(struct harness *h)
{
	return harness_finish_state(h, NULL);
}

static inline void send_raw(struct harness *h, const void *data, size_t len)
{
	if (send(h->fd, data, len, MSG_NOSIGNAL) != (ssize_t)len)
		fprintf(stderr, "send_raw failed\n");
}

static inline void send_str(struct harness *h, const char *s)
{
	send_raw(h, s, strlen(s));
}

static inline void send_pkt_len(struct harness *h, const void *payload, size_t len)
{
	static uint8_t frame[RSP_FRAME_MAX];
	size_t n = rsp_frame(frame, sizeof(frame), payload, len);

	send_raw(h, frame, n);
}

static inline void send_pkt(struct harness *h, const char *payload)
{
	send_pkt_len(h, payload, strlen(payload));
}

/* Read until one packet arrives (counting acks on the way); NULL after 2 s or EOF. */
static inline const char *recv_pkt(struct harness *h)
{
	uint8_t c;

	for (;;) {
		struct pollfd p = {.fd = h->fd, .events = POLLIN};

		if (poll(&p, 1, 2000) <= 0 || recv(h->fd, &c, 1, 0) != 1)
			return NULL;
		switch (rsp_decoder_feed(&h->dec, c)) {
		case RSP_EV_ACK:
			h->acks++;
			break;
		case RSP_EV_NAK:
			h->naks++;
			break;
		case RSP_EV_PACKET:
			memcpy(h->reply, h->dec.buf, h->dec.len + 1);
			h->reply_len = h->dec.len;
			return h->reply;
		default:
			break;
		}
	}
}

/* Wait up to `ms` for anything from the stub; true if nothing came. */
static inline bool quiet_for(struct harness *h, int ms)
{
	struct pollfd p = {.fd = h->fd, .events = POLLIN};

	return poll(&p, 1, ms) == 0;
}

static inline const char *transact(struct harness *h, const char *payload)
{
	send_pkt(h, payload);
	return recv_pkt(h);
}

/* transact() and compare the reply with `want`. */
#define CHECK_REPLY(h, pkt, want)                                                                  \
	do {                                                                                       \
		const char *unit_r_ = transact((h), (pkt));                                        \
		CHECK_STR(unit_r_, (want));                                                        \
	} while (0)

#endif
