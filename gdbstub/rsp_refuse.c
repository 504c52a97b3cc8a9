/* rsp_refuse.c: answer a turned-away client's first packet with the reason, then close. */
#include "rsp_refuse.h"

#include "rsp_packet.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void rsp_refusal_init(struct rsp_refusal *r)
{
	r->fd = -1;
	r->state = 0;
	r->reason[0] = 0;
}

void rsp_refusal_end(struct rsp_refusal *r)
{
	if (r->fd >= 0)
		close(r->fd);
	rsp_refusal_init(r);
}

void rsp_refusal_start(struct rsp_refusal *r, int fd, const char *reason)
{
	rsp_refusal_end(r);
	r->fd = fd;
	snprintf(r->reason, sizeof(r->reason), "E.%s", reason);
}

/* Track the client's first packet: `$`, the body, `#`, two checksum digits (not
 * checked: the answer is the same whatever was asked). True once it is complete
 * (state 4: answered). */
static bool packet_seen(struct rsp_refusal *r, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && r->state < 4; i++) {
		if (r->state == 0 && buf[i] == '$')
			r->state = 1;
		else if (r->state == 1 && buf[i] == '#')
			r->state = 2;
		else if (r->state >= 2)
			r->state++;
	}
	return r->state == 4;
}

/* After the answer the stub's side is shut down but the socket stays open until the
 * client closes it: closing with the client's ack of the answer unread would reset the
 * connection, and GDB would print "Connection reset by peer" after the reason. */
void rsp_refusal_input(struct rsp_refusal *r)
{
	uint8_t buf[512], frame[RSP_REFUSAL_MAX * 2 + 8];
	ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* the client went away */
		rsp_refusal_end(r);
		return;
	}
	if (r->state == 4 || !packet_seen(r, buf, (size_t)n))
		return; /* drained, or the first packet is not complete yet */
	size_t len = rsp_frame(frame + 1, sizeof(frame) - 1, r->reason, strlen(r->reason));
	frame[0] = '+'; /* the client's packet, acknowledged */
	if (len == 0 || send(r->fd, frame, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		rsp_refusal_end(r);
	else
		shutdown(r->fd, SHUT_WR);
}
