/* gdb_session.c: one client session: socket I/O, acknowledgements and the event loop.
 *
 * The loop waits with poll() on the client, the target's stop_fd (for the stops of a
 * running VM, and for a stopped VM being ended from outside) and the listening socket
 * (a second client is accepted and told why it is turned away: rsp_refuse.h). Bytes
 * go through the RSP decoder; each complete packet is acknowledged and dispatched. A
 * packet that arrives while the VM runs (GDB never sends one in all-stop) is kept and
 * handled after the next stop, while reading goes on so a Ctrl-C behind it still
 * works. A client that goes away is a detach. Whoever embeds the stub hears of a
 * client that detached, vanished, killed the VM or was turned away (on_event).
 */
#include "gdb_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void gdb_peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(buf, len, "a Unix socket");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
		return;
	}
	inet_ntop(AF_INET, &((const struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	snprintf(buf, len, "%s:%u", host, ntohs(((const struct sockaddr_in *)&ss)->sin_port));
}

void gdb_session_event(const struct gdb_session *s, enum gdbstub_event ev, const char *peer)
{
	if (s->on_event)
		s->on_event(s->event_arg, ev, peer);
}

static bool send_all(struct gdb_session *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		/* MSG_NOSIGNAL: a client that vanished must not kill proxy with SIGPIPE. */
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void client_gone(struct gdb_session *s)
{
	if (s->end != GDB_SESSION_ON)
		return;
	s->tgt.ops->detach(s->tgt.ctx);
	s->end = GDBSTUB_DETACHED;
	gdb_session_event(s, GDBSTUB_EV_LOST, s->peer);
}

bool gdb_send_packet(struct gdb_session *s, const void *payload, size_t len)
{
	s->frame_len = rsp_frame(s->frame, RSP_FRAME_MAX, payload, len);
	if (s->frame_len == 0) /* cannot happen for payloads within RSP_REPLY_MAX */
		s->frame_len = rsp_frame(s->frame, RSP_FRAME_MAX, "E01", 3);
	if (!send_all(s, s->frame, s->frame_len)) {
		client_gone(s);
		return false;
	}
	return true;
}

static void send_ack(struct gdb_session *s, char c)
{
	if (!s->no_ack && !send_all(s, &c, 1))
		client_gone(s);
}

static bool reply_room(struct gdb_session *s, size_t n)
{
	if (s->reply_overflow || n > RSP_REPLY_MAX - s->reply_len) {
		s->reply_overflow = true;
		return false;
	}
	return true;
}

void gdb_reply_bin(struct gdb_session *s, const void *data, size_t n)
{
	if (!reply_room(s, n))
		return;
	memcpy(s->reply + s->reply_len, data, n);
	s->reply_len += n;
}

void gdb_reply_str(struct gdb_session *s, const char *str)
{
	gdb_reply_bin(s, str, strlen(str));
}

void gdb_reply_fmt(struct gdb_session *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		s->reply_overflow = true;
		return;
	}
	gdb_reply_bin(s, buf, (size_t)n);
}

void gdb_reply_hex(struct gdb_session *s, const void *data, size_t n)
{
	if (n > RSP_REPLY_MAX / 2 || !reply_room(s, 2 * n))
		return;
	s->reply_len += rsp_hex_encode(s->reply + s->reply_len, data, n);
}

void gdb_reply_error(struct gdb_session *s, int err)
{
	if (err < 0)
		err = -err;
	gdb_reply_fmt(s, "E%02x", err & 0xff ? err & 0xff : 1);
}

void gdb_reply_tid(struct gdb_session *s, int cpu)
{
	if (s->features & GDB_FEAT_MULTIPROCESS)
		gdb_reply_fmt(s, "p%x.%x", GDB_PID, cpu + 1);
	else
		gdb_reply_fmt(s, "%x", cpu + 1);
}

void gdb_reply_error_text(struct gdb_session *s, int err, const char *fmt, ...)
{
	char text[200], out[2 * sizeof(text) + 2] = "O";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	if (s->features & GDB_FEAT_ERROR_MESSAGE) {
		gdb_reply_fmt(s, "E.%s", text);
		return;
	}
	/* GDB 13 has no error-message feature: the text goes to its console first. */
	strcat(text, "\n");
	gdb_send_packet(s, out, 1 + rsp_hex_encode(out + 1, text, strlen(text)));
	gdb_reply_error(s, err);
}

/* Handle one decoded packet now that the VM is stopped. */
static void handle_packet(struct gdb_session *s, const uint8_t *pkt, size_t len)
{
	gdb_dispatch(s, (const char *)pkt, len);
	if (s->no_ack_pending) {
		s->no_ack = true;
		s->no_ack_pending = false;
	}
}

/* Keep a packet that came while the VM runs; only one, as no client has a reason to
 * send any (a second one is dropped, after its ack, like line noise). */
static void defer_packet(struct gdb_session *s)
{
	if (s->deferred)
		return;
	memcpy(s->deferred_pkt, s->dec.buf, s->dec.len + 1);
	s->deferred_len = s->dec.len;
	s->deferred = true;
}

static void handle_event(struct gdb_session *s, enum rsp_event ev)
{
	switch (ev) {
	case RSP_EV_PACKET:
		send_ack(s, '+');
		if (s->running)
			defer_packet(s);
		else
			handle_packet(s, s->dec.buf, s->dec.len);
		break;
	case RSP_EV_BAD_CHECKSUM:
		send_ack(s, '-'); /* the packet is not acted upon; GDB resends it */
		break;
	case RSP_EV_OVERSIZE:
		/* It arrived intact, but we will not act on more than we advertised. */
		send_ack(s, '+');
		gdb_send_packet(s, "E01", 3);
		break;
	case RSP_EV_NAK:
		if (!s->no_ack && s->frame_len && !send_all(s, s->frame, s->frame_len))
			client_gone(s);
		break;
	case RSP_EV_INTERRUPT:
		if (s->running) /* a Ctrl-C that crossed a stop reply is moot */
			s->tgt.ops->interrupt(s->tgt.ctx);
		break;
	case RSP_EV_ACK:
	case RSP_EV_NONE:
		break;
	}
}

/* Feed buffered input to the decoder until it is used up or the session ends. */
static void process_input(struct gdb_session *s)
{
	while (s->in_pos < s->in_len && s->end == GDB_SESSION_ON)
		handle_event(s, rsp_decoder_feed(&s->dec, s->in[s->in_pos++]));
}

static void read_client(struct gdb_session *s)
{
	ssize_t n;

	do {
		n = recv(s->fd, s->in, sizeof(s->in), 0);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		client_gone(s);
		return;
	}
	s->in_len = (size_t)n;
	s->in_pos = 0;
	process_input(s);
}

static void take_stop(struct gdb_session *s)
{
	struct gdb_stop st;

	if (s->tgt.ops->take_stop(s->tgt.ctx, &st) != 0)
		return; /* spurious wake-up */
	if (!s->running && st.kind != GDB_STOP_EXITED) {
		s->last_stop = st; /* nobody asked: keep it for `?` */
		return;
	}
	gdb_handle_stop(s, &st);
	if (s->deferred && s->end == GDB_SESSION_ON) {
		s->deferred = false;
		handle_packet(s, s->deferred_pkt, s->deferred_len);
	}
}

static void refuse_client(struct gdb_session *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	char peer[GDB_PEER_MAX];

	if (fd < 0) {
		/* Out of descriptors: the queued client would wake every poll. It waits
		 * in the backlog until this session ends. */
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			s->listen_fd = -1;
		return;
	}
	gdb_peer_name(fd, peer, sizeof(peer));
	/* One client at a time; the first session goes on. */
	if (s->refusal)
		rsp_refusal_start(s->refusal, fd,
				  "proxy: another debugger is attached to this VM; only one at a "
				  "time (it must detach first)");
	else
		close(fd);
	gdb_session_event(s, GDBSTUB_EV_REFUSED, peer);
}

enum { PFD_CLIENT, PFD_STOP, PFD_LISTEN, PFD_REFUSED, PFD_COUNT };

static void wait_and_handle(struct gdb_session *s)
{
	struct pollfd p[PFD_COUNT] = {
		[PFD_CLIENT] = {.fd = s->fd, .events = POLLIN},
		/* Watched even while stopped: the VM can still end (signal, monitor). */
		[PFD_STOP] = {.fd = s->tgt.ops->stop_fd(s->tgt.ctx), .events = POLLIN},
		[PFD_LISTEN] = {.fd = s->listen_fd, .events = POLLIN},
		[PFD_REFUSED] = {.fd = s->refusal ? s->refusal->fd : -1, .events = POLLIN},
	};

	if (poll(p, PFD_COUNT, -1) < 0)
		return; /* EINTR: vCPU kicks may land here; just wait again */
	if (p[PFD_REFUSED].revents)
		rsp_refusal_input(s->refusal);
	if (p[PFD_LISTEN].revents & POLLIN)
		refuse_client(s);
	if (p[PFD_STOP].revents & POLLIN)
		take_stop(s);
	if (s->end == GDB_SESSION_ON && (p[PFD_CLIENT].revents & (POLLIN | POLLHUP | POLLERR)))
		read_client(s);
}

static bool session_init(struct gdb_session *s, int fd, struct gdb_target tgt,
			 const struct gdb_session_env *env)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->listen_fd = env->listen_fd;
	s->refusal = env->refusal;
	s->tgt = tgt;
	s->on_event = env->on_event;
	s->event_arg = env->event_arg;
	snprintf(s->peer, sizeof(s->peer), "%s", env->peer ? env->peer : "the client");
	s->xml = env->xml;
	s->xml_len = env->xml_len;
	s->ncpu = tgt.ops->cpu_count(tgt.ctx);
	s->c_cpu = -1;
	s->end = GDB_SESSION_ON;
	s->last_stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .signal = 5};
	if (env->initial)
		s->last_stop = *env->initial;
	if (s->last_stop.cpu >= 0 && s->last_stop.cpu < s->ncpu)
		s->g_cpu = s->last_stop.cpu;
	rsp_decoder_init(&s->dec);
	s->reply = malloc(RSP_REPLY_MAX);
	s->frame = malloc(RSP_FRAME_MAX);
	s->scratch = malloc(GDB_MEM_MAX);
	s->deferred_pkt = malloc(RSP_PACKET_SIZE + 1);
	return s->reply && s->frame && s->scratch && s->deferred_pkt && s->ncpu > 0;
}

static void session_free(struct gdb_session *s)
{
	free(s->reply);
	free(s->frame);
	free(s->scratch);
	free(s->deferred_pkt);
}

int gdb_session_run(int fd, int listen_fd, struct gdb_target tgt, const char *xml, size_t xml_len,
		    const struct gdb_stop *initial)
{
	const struct gdb_session_env env = {
		.listen_fd = listen_fd, .xml = xml, .xml_len = xml_len, .initial = initial};

	return gdb_session_serve(fd, tgt, &env);
}

int gdb_session_serve(int fd, struct gdb_target tgt, const struct gdb_session_env *env)
{
	/* The decoder and buffers are large (PacketSize); keep them off the stack. */
	struct gdb_session *s = malloc(sizeof(*s));
	int end;

	if (!s) {
		tgt.ops->detach(tgt.ctx);
		return GDBSTUB_DETACHED;
	}
	if (!session_init(s, fd, tgt, env)) {
		fprintf(stderr, "gdbstub: cannot start a session (out of memory or no vCPU)\n");
		client_gone(s);
	}
	while (s->end == GDB_SESSION_ON)
		wait_and_handle(s);
	end = s->end;
	session_free(s);
	free(s);
	return end;
}
