/* mig_transport.c: the migration connection, plain or TLS-PSK (GnuTLS).
 *
 * The snapshot code writes and reads a checkpoint stream on a file descriptor. For a
 * migration that descriptor is one end of a socketpair; a carrier thread of this
 * file moves the bytes between its other end and the TCP socket, encrypting and
 * checking them with the peer when a pre-shared key is given (as QEMU's
 * tls-creds-psk: both ends prove they hold the key, no certificates). The thread
 * also enforces --incoming's overall deadline, so the reader needs no timer.
 *
 * GnuTLS is loaded (dlopen) only when a key is given: linked, it and the
 * libraries it needs, with their start-up work (priorities, the system
 * configuration), added about 1.5 ms of user time to every boot of hello.elf. It is
 * loaded at start, before the sandbox closes the file system (its configuration,
 * /etc/gnutls/config, is read then).
 */
#include "mig_transport.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define GNUTLS_SONAME "libgnutls.so.30"
/* TLS 1.3 (or 1.2) with the key and an ephemeral Diffie-Hellman (forward secrecy);
 * no certificates, no PSK without DH. */
#define MIG_PRIORITY "NORMAL:-KX-ALL:+ECDHE-PSK:+DHE-PSK"
#define CARRY_BUF    (64 << 10)

struct gnutls_api {
	bool loaded;
	int (*init)(gnutls_session_t *, unsigned);
	void (*deinit)(gnutls_session_t);
	int (*priority_set_direct)(gnutls_session_t, const char *, const char **);
	int (*credentials_set)(gnutls_session_t, gnutls_credentials_type_t, void *);
	void (*transport_set_int2)(gnutls_session_t, int, int);
	void (*session_set_ptr)(gnutls_session_t, void *);
	void *(*session_get_ptr)(gnutls_session_t);
	int (*handshake)(gnutls_session_t);
	void (*handshake_set_timeout)(gnutls_session_t, unsigned);
	ssize_t (*record_send)(gnutls_session_t, const void *, size_t);
	ssize_t (*record_recv)(gnutls_session_t, void *, size_t);
	size_t (*record_check_pending)(gnutls_session_t);
	int (*bye)(gnutls_session_t, gnutls_close_request_t);
	const char *(*strerror)(int);
	int (*psk_alloc_client)(gnutls_psk_client_credentials_t *);
	int (*psk_set_client)(gnutls_psk_client_credentials_t, const char *, const gnutls_datum_t *,
			      gnutls_psk_key_flags);
	void (*psk_free_client)(gnutls_psk_client_credentials_t);
	int (*psk_alloc_server)(gnutls_psk_server_credentials_t *);
	void (*psk_set_server_function)(gnutls_psk_server_credentials_t,
					gnutls_psk_server_credentials_function *);
	void (*psk_free_server)(gnutls_psk_server_credentials_t);
	gnutls_alloc_function *malloc; /* the key the server callback returns */
};

static struct gnutls_api tls;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

#define SYM(field, name) *(void **)&tls.field = dlsym(lib, name)

static void gnutls_load(void)
{
	void *lib = dlopen(GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return;
	SYM(init, "gnutls_init");
	SYM(deinit, "gnutls_deinit");
	SYM(priority_set_direct, "gnutls_priority_set_direct");
	SYM(credentials_set, "gnutls_credentials_set");
	SYM(transport_set_int2, "gnutls_transport_set_int2");
	SYM(session_set_ptr, "gnutls_session_set_ptr");
	SYM(session_get_ptr, "gnutls_session_get_ptr");
	SYM(handshake, "gnutls_handshake");
	SYM(handshake_set_timeout, "gnutls_handshake_set_timeout");
	SYM(record_send, "gnutls_record_send");
	SYM(record_recv, "gnutls_record_recv");
	SYM(record_check_pending, "gnutls_record_check_pending");
	SYM(bye, "gnutls_bye");
	SYM(strerror, "gnutls_strerror");
	SYM(psk_alloc_client, "gnutls_psk_allocate_client_credentials");
	SYM(psk_set_client, "gnutls_psk_set_client_credentials");
	SYM(psk_free_client, "gnutls_psk_free_client_credentials");
	SYM(psk_alloc_server, "gnutls_psk_allocate_server_credentials");
	SYM(psk_set_server_function, "gnutls_psk_set_server_credentials_function");
	SYM(psk_free_server, "gnutls_psk_free_server_credentials");
	SYM(malloc, "gnutls_malloc");
	void **f = (void **)&tls.init;
	tls.loaded = true;
	for (size_t i = 0; i < (sizeof(tls) - offsetof(struct gnutls_api, init)) / sizeof(void *);
	     i++)
		tls.loaded &= f[i] != NULL;
	if (tls.loaded)
		tls.loaded = *tls.malloc != NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int mig_key_parse(const char *text, struct mig_key *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	const char *colon = strchr(text, ':');
	size_t idlen = colon ? (size_t)(colon - text) : 0;
	if (!colon || !idlen || idlen >= sizeof(k->identity) || memchr(text, '\n', idlen))
		return snprintf(err, errlen,
				"expected one line IDENTITY:HEXKEY (psktool -u "
				"IDENTITY -p FILE writes one)"),
		       -1;
	memcpy(k->identity, text, idlen);
	const char *h = colon + 1;
	size_t n = 0;
	while (hexval(h[0]) >= 0 && hexval(h[1]) >= 0 && n < MIG_KEY_MAX) {
		k->key[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
		h += 2;
	}
	if (h[0] == '\r')
		h++;
	if ((h[0] && h[0] != '\n') || (h[0] && h[1]))
		return snprintf(err, errlen,
				"the key after \"%s:\" is not an even number of hex digits (at "
				"most %d bytes) on one line",
				k->identity, MIG_KEY_MAX),
		       -1;
	if (n < 16)
		return snprintf(err, errlen,
				"the key is %zu bytes: at least 16 are needed (psktool makes "
				"32)",
				n),
		       -1;
	k->len = n;
	return 0;
}

int mig_key_load(const char *path, struct mig_key *k, char *err, size_t errlen)
{
	char text[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	text[n] = 0;
	char why[256];
	int rc = mig_key_parse(text, k, why, sizeof(why));
	explicit_bzero(text, sizeof(text));
	if (rc)
		return snprintf(err, errlen, "%s: %s", path, why), -1;
	pthread_once(&tls_once, gnutls_load);
	if (!tls.loaded)
		return snprintf(err, errlen,
				"migration keys need GnuTLS (%s; Debian: apt-get install "
				"libgnutls30)",
				GNUTLS_SONAME),
		       -1;
	return 0;
}

bool mig_addr_is_loopback(const void *sockaddr)
{
	const struct sockaddr *sa = sockaddr;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

void mig_set_stall_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = MIG_STALL_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* connect's too */
}

/* One connection's carrier: the TCP socket, the session (NULL: plain), our end of
 * the socketpair, and what is on its way to the local side. */
struct carrier {
	int sock, local;
	gnutls_session_t session;
	gnutls_psk_client_credentials_t ccred;
	gnutls_psk_server_credentials_t scred;
	const struct mig_key *key;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
	unsigned deadline_s;
	uint8_t in[CARRY_BUF];
	size_t in_len, in_off;
	uint8_t out[CARRY_BUF];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void carrier_free(struct carrier *c)
{
	if (c->session)
		tls.deinit(c->session);
	if (c->ccred)
		tls.psk_free_client(c->ccred);
	if (c->scred)
		tls.psk_free_server(c->scred);
	if (c->sock >= 0)
		close(c->sock);
	if (c->local >= 0)
		close(c->local);
	free(c);
}

/* The server's side of the key: the same identity, then the key for the handshake
 * to prove (a wrong key fails the handshake; it is never compared here). */
static int server_key(gnutls_session_t s, const char *identity, gnutls_datum_t *out)
{
	const struct mig_key *k = ((struct carrier *)tls.session_get_ptr(s))->key;
	if (strcmp(identity, k->identity))
		return -1;
	out->data = (*tls.malloc)(k->len);
	if (!out->data)
		return -1;
	memcpy(out->data, k->key, k->len);
	out->size = (unsigned)k->len;
	return 0;
}

static int tls_setup(struct carrier *c, bool server)
{
	int rc =
		tls.init(&c->session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS);
	if (rc)
		return c->session = NULL, rc;
	tls.session_set_ptr(c->session, c);
	if (server) {
		rc = tls.psk_alloc_server(&c->scred);
		if (rc)
			return c->scred = NULL, rc;
		tls.psk_set_server_function(c->scred, server_key);
		rc = tls.credentials_set(c->session, GNUTLS_CRD_PSK, c->scred);
	} else {
		rc = tls.psk_alloc_client(&c->ccred);
		if (rc)
			return c->ccred = NULL, rc;
		gnutls_datum_t key = {.data = (unsigned char *)c->key->key,
				      .size = (unsigned)c->key->len};
		rc = tls.psk_set_client(c->ccred, c->key->identity, &key, GNUTLS_PSK_KEY_RAW);
		rc = rc ?: tls.credentials_set(c->session, GNUTLS_CRD_PSK, c->ccred);
	}
	rc = rc ?: tls.priority_set_direct(c->session, MIG_PRIORITY, NULL);
	if (rc)
		return rc;
	tls.transport_set_int2(c->session, c->sock, c->sock);
	tls.handshake_set_timeout(c->session, MIG_STALL_S * 1000);
	do
		rc = tls.handshake(c->session);
	while (rc == GNUTLS_E_INTERRUPTED);
	return rc;
}

/* Everything of buf to the peer. */
static int send_all(struct carrier *c, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = c->session ? tls.record_send(c->session, buf, len)
				       : send(c->sock, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (c->session ? n == GNUTLS_E_INTERRUPTED : errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		buf += n, len -= (size_t)n;
	}
	return 0;
}

static ssize_t recv_some(struct carrier *c)
{
	for (;;) {
		ssize_t n = c->session ? tls.record_recv(c->session, c->in, sizeof(c->in))
				       : recv(c->sock, c->in, sizeof(c->in), 0);
		if (n < 0 && (c->session ? n == GNUTLS_E_INTERRUPTED : errno == EINTR))
			continue;
		return n;
	}
}

/* The local side finished writing: tell the peer (TLS's close_notify, or a FIN). */
static void close_write(struct carrier *c)
{
	if (c->session)
		tls.bye(c->session, GNUTLS_SHUT_WR);
	else
		shutdown(c->sock, SHUT_WR);
}

/* How long poll may wait: until the deadline, and on the target (which has one)
 * while it waits for the source's bytes, until the source has been silent for
 * MIG_STALL_S. `stall_from`: when the wait for the source began (0: not waiting). */
static int poll_timeout(const struct carrier *c, uint64_t stall_from)
{
	if (!c->deadline_ns)
		return -1;
	uint64_t end = c->deadline_ns, now = mono_ns();
	if (stall_from && stall_from + MIG_STALL_S * 1000000000ULL < end)
		end = stall_from + MIG_STALL_S * 1000000000ULL;
	return now >= end ? 0 : (int)((end - now) / 1000000 + 1);
}

/* The deadline or the stall limit passed: say which, and give up. */
static void time_is_up(const struct carrier *c)
{
	if (mono_ns() >= c->deadline_ns)
		warnx_("the migration stream: not complete within %u s (the deadline of "
		       "--incoming); giving up",
		       c->deadline_s);
	else
		warnx_("the migration stream: nothing from the source for %d s; giving up",
		       MIG_STALL_S);
}

/* Until both directions ended, the local side closed, the peer failed or a time
 * limit passed. The local fd is non-blocking: a peer that sends what the local side
 * does not read waits (back-pressure), instead of blocking this thread. */
static void carry(struct carrier *c)
{
	bool local_eof = false, peer_eof = false;
	uint64_t stall_from = mono_ns();
	for (;;) {
		bool pending = c->session && !peer_eof && c->in_len == 0 &&
			       tls.record_check_pending(c->session);
		bool waiting_peer = !peer_eof && !c->in_len;
		if (!waiting_peer)
			stall_from = 0;
		else if (!stall_from)
			stall_from = mono_ns();
		struct pollfd p[2] = {
			{.fd = c->local,
			 .events = (short)((local_eof ? 0 : POLLIN) | (c->in_len ? POLLOUT : 0))},
			{.fd = c->sock, .events = (short)(waiting_peer ? POLLIN : 0)},
		};
		int rc = pending ? 0 : poll(p, 2, poll_timeout(c, stall_from));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0 && !pending) {
			time_is_up(c);
			return;
		}
		if (p[0].revents & (POLLERR | POLLNVAL) || (local_eof && peer_eof && !c->in_len) ||
		    (p[0].revents & POLLHUP && !(p[0].revents & POLLIN)))
			return; /* the local side closed: nothing more to carry */
		if (p[0].revents & POLLIN && !local_eof) {
			ssize_t n = read(c->local, c->out, sizeof(c->out));
			if (n == 0)
				local_eof = true, close_write(c);
			else if (n > 0 && send_all(c, c->out, (size_t)n))
				return;
		}
		if (c->in_len && p[0].revents & POLLOUT) {
			ssize_t n = write(c->local, c->in + c->in_off, c->in_len);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return;
			if (n > 0)
				c->in_off += (size_t)n, c->in_len -= (size_t)n;
		}
		if (pending || p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv_some(c);
			if (n < 0) /* the peer failed: the local side sees the stream end */
				return;
			if (n == 0)
				peer_eof = true, shutdown(c->local, SHUT_WR);
			c->in_len = (size_t)n, c->in_off = 0;
			stall_from = mono_ns();
		}
	}
}

static void *carrier_thread(void *arg)
{
	struct carrier *c = arg;
	carry(c);
	carrier_free(c); /* the local side reads the end of the stream */
	return NULL;
}

int mig_transport_open(int sock, const struct mig_key *key, bool server, unsigned deadline_s,
		       char *err, size_t errlen)
{
	struct carrier *c = calloc(1, sizeof(*c));
	int sv[2];
	if (!c) {
		close(sock);
		return snprintf(err, errlen, "out of memory"), -1;
	}
	c->sock = sock, c->local = -1, c->key = key, c->deadline_s = deadline_s;
	if (deadline_s)
		c->deadline_ns = mono_ns() + (uint64_t)deadline_s * 1000000000ULL;
	mig_set_stall_timeouts(sock);
	int rc = key ? tls_setup(c, server) : 0;
	c->key = NULL; /* needed for the handshake only: the caller may drop it now */
	if (rc) {
		snprintf(err, errlen,
			 "the TLS handshake failed: %s (the peer has another --migration-key, "
			 "none, or is not proxy)",
			 tls.strerror(rc));
		carrier_free(c);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		carrier_free(c);
		return -1;
	}
	c->local = sv[1];
	fcntl(c->local, F_SETFL, O_NONBLOCK);
	pthread_t t;
	if (pthread_create(&t, NULL, carrier_thread, c)) {
		close(sv[0]);
		carrier_free(c);
		return snprintf(err, errlen, "cannot start the migration carrier thread"), -1;
	}
	pthread_detach(t);
	return sv[0];
}
