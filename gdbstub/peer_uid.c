/* peer_uid.c: the owner of a loopback TCP client, from /proc/net/tcp{,6}.
 *
 * Only the row of the exact connection (the client's end: local = our peer, remote =
 * us) in state ESTABLISHED names an owner; any other row with that 4-tuple, or a table
 * that does not parse, proves nothing and the client is refused. */
#include "peer_uid.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define TABLE_MAX	      (64u << 20) /* a host with a million sockets: give up, refuse */
#define TCP_STATE_ESTABLISHED 0x01	  /* the `st` column (include/net/tcp_states.h) */

void peer_tables_open(struct peer_tables *t)
{
	t->tcp4 = open("/proc/net/tcp", O_RDONLY | O_CLOEXEC);
	t->tcp6 = open("/proc/net/tcp6", O_RDONLY | O_CLOEXEC);
}

void peer_tables_close(struct peer_tables *t)
{
	if (t->tcp4 >= 0)
		close(t->tcp4);
	if (t->tcp6 >= 0)
		close(t->tcp6);
	t->tcp4 = t->tcp6 = -1;
}

/* The whole table as it is now: pread from 0 makes the kernel regenerate it. */
static char *read_table(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		if (len + 1 == cap) {
			char *bigger = cap < TABLE_MAX ? realloc(buf, cap * 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* One data row: its two addresses, state and uid; false if it is not such a row. */
static bool parse_row(const char *line, char loc[64], char rem[64], unsigned *state,
		      unsigned long *uid)
{
	int end = 0;

	return sscanf(line, " %*[0-9]: %63[0-9A-Fa-f:] %63[0-9A-Fa-f:] %2x %*s %*s %*s %lu%n", loc,
		      rem, state, uid, &end) == 4 &&
	       end > 0;
}

long peer_uid_in_table(const char *text, const char *local, const char *remote)
{
	const char *line = strchr(text, '\n'); /* the first line is the header */
	long found = PEER_UID_UNKNOWN;

	while (line && *++line) {
		char loc[64], rem[64];
		unsigned state;
		unsigned long uid;

		/* A table we cannot read proves nothing: refuse rather than guess. */
		if (!parse_row(line, loc, rem, &state, &uid))
			return PEER_UID_UNPROVEN;
		if (!strcasecmp(loc, local) && !strcasecmp(rem, remote)) {
			/* Only a live socket shows its owner: TIME_WAIT and request rows show
			 * uid 0, and a closed client's 4-tuple can be taken again by another
			 * user's socket while the old row is still listed. */
			if (state != TCP_STATE_ESTABLISHED)
				found = found == PEER_UID_UNKNOWN ? PEER_UID_UNPROVEN : found;
			else if (found >= 0 && found != (long)uid)
				return PEER_UID_UNPROVEN; /* two live owners: trust neither */
			else
				found = (long)uid;
		}
		line = strchr(line, '\n');
	}
	return found;
}

/* An address as /proc/net/tcp prints it: each 32-bit word of it as the kernel
 * holds it in memory, in hex, then the port in host order. */
static void format_v4(const struct in_addr *a, uint16_t port_be, char *out, size_t len)
{
	snprintf(out, len, "%08X:%04X", a->s_addr, ntohs(port_be));
}

static void format_v6(const struct in6_addr *a, uint16_t port_be, char *out, size_t len)
{
	uint32_t w[4];

	memcpy(w, a, sizeof(w));
	snprintf(out, len, "%08X%08X%08X%08X:%04X", w[0], w[1], w[2], w[3], ntohs(port_be));
}

static long lookup(int fd, const char *local, const char *remote)
{
	if (fd < 0)
		return PEER_UID_UNPROVEN;
	char *text = read_table(fd);
	long uid = text ? peer_uid_in_table(text, local, remote) : PEER_UID_UNPROVEN;
	free(text);
	return uid;
}

/* An IPv4 client of an IPv6 listener (::ffff:a.b.c.d) has its row in /proc/net/tcp. */
static void unmap_v4(const struct sockaddr_in6 *a6, struct in_addr *out)
{
	memcpy(&out->s_addr, &a6->sin6_addr.s6_addr[12], 4);
}

long peer_uid(const struct peer_tables *t, int fd)
{
	struct sockaddr_storage me, peer;
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	char loc[64], rem[64];

	if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl) < 0 || me.ss_family != peer.ss_family)
		return PEER_UID_UNKNOWN;
	if (peer.ss_family == AF_INET) {
		const struct sockaddr_in *m = (void *)&me, *p = (void *)&peer;
		format_v4(&p->sin_addr, p->sin_port, loc, sizeof(loc));
		format_v4(&m->sin_addr, m->sin_port, rem, sizeof(rem));
		return lookup(t->tcp4, loc, rem);
	}
	if (peer.ss_family != AF_INET6)
		return PEER_UID_UNKNOWN;
	const struct sockaddr_in6 *m = (void *)&me, *p = (void *)&peer;
	format_v6(&p->sin6_addr, p->sin6_port, loc, sizeof(loc));
	format_v6(&m->sin6_addr, m->sin6_port, rem, sizeof(rem));
	long uid = lookup(t->tcp6, loc, rem);
	if (uid == PEER_UID_UNKNOWN && IN6_IS_ADDR_V4MAPPED(&p->sin6_addr) &&
	    IN6_IS_ADDR_V4MAPPED(&m->sin6_addr)) {
		struct in_addr p4, m4;
		unmap_v4(p, &p4);
		unmap_v4(m, &m4);
		format_v4(&p4, p->sin6_port, loc, sizeof(loc));
		format_v4(&m4, m->sin6_port, rem, sizeof(rem));
		uid = lookup(t->tcp4, loc, rem);
	}
	return uid;
}
