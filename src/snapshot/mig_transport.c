/* mig_transport.c: the migration connection, plain or TLS-PSK (GnuTLS).
 *
 * The snapshot code writes and reads a checkpoint stream on a file descriptor. For a
 * migration that descriptor is one end of a socketpair; a carrier thread of this
 * file moves the bytes between its other end and the TCP socket, encrypting and
 * checking them with the peer when a pre-shared key is given (as QEMU's
 * tls-creds-psk: both ends prove they hold the key, no certificates). The socket
 * is non-blocking and every wait a poll bounded by the time limits (the handshake's,
 * MIG_STALL_S without progress, the overall deadline, on both ends), so no peer
 * holds a call into GnuTLS or send past them; the reader needs no timer.
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
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	int (*record_get_direction)(gnutls_session_t);
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
	SYM(record_get_direction, "gnutls_record_get_direction");
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

/* The key file as config_check saw its path, checked again on the descriptor read:
 * the path may have been replaced in between. */
static int key_fd_ok(int fd, const char *path, long other_uid, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	if (!S_ISREG(st.st_mode))
		return snprintf(err, errlen, "%s is not a regular file", path), -1;
	if (st.st_uid != geteuid() && (other_uid < 0 || st.st_uid != (uid_t)other_uid))
		return snprintf(err, errlen,
				"%s belongs to uid %u, not to proxy's user (uid %u): refused, as "
				"ssh refuses such keys",
				path, (unsigned)st.st_uid, (unsigned)geteuid()),
		       -1;
	if (st.st_mode & 077)
		return snprintf(err, errlen,
				"%s is accessible by others (mode %04o): the key must be private "
				"(chmod 600 %s)",
				path, (unsigned)(st.st_mode & 07777), path),
		       -1;
	return 0;
}

int mig_key_load(const char *path, long other_uid, struct mig_key *k, char *err, size_t errlen)
{
	char text[512];
	/* O_NOFOLLOW: no symlink; O_NONBLOCK: a FIFO put there cannot hang the open. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	if (key_fd_ok(fd, path, other_uid, err, errlen)) {
		close(fd);
		return -1;
	}
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

/* One connection: the TCP socket (non-blocking: no call into GnuTLS or send waits
 * past a time limit), the session (NULL: plain), and once carried our end of the
 * socketpair and what is on its way to the local side. */
struct mig_conn {
	int sock, local;
	bool server;	  /* the --incoming side */
	bool local_spoke; /* the local side sent something (the target's 'R') */
	gnutls_session_t session;
	gnutls_psk_client_credentials_t ccred;
	gnutls_psk_server_credentials_t scred;
	const struct mig_key *key;
	uint64_t hs_end_ns;   /* CLOCK_MONOTONIC: the handshake's limit */
	uint64_t deadline_ns; /* the whole migration's */
	uint8_t in[CARRY_BUF];
	size_t in_len, in_off;
	uint8_t out[CARRY_BUF];
};

#define NS_PER_S 1000000000ULL

uint64_t mig_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void mig_conn_free(struct mig_conn *c)
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
	const struct mig_key *k = ((struct mig_conn *)tls.session_get_ptr(s))->key;
	if (!k || strcmp(identity, k->identity))
		return -1;
	out->data = (*tls.malloc)(k->len);
	if (!out->data)
		return -1;
	memcpy(out->data, k->key, k->len);
	out->size = (unsigned)k->len;
	return 0;
}

/* The session and its credentials; the handshake is mig_conn_step's. NO_SIGNAL:
 * GnuTLS's own sends to a peer that closed must not raise SIGPIPE. */
static int tls_setup(struct mig_conn *c)
{
	int rc = tls.init(&c->session, (c->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
					       GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
	if (rc)
		return c->session = NULL, rc;
	tls.session_set_ptr(c->session, c);
	if (c->server) {
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
	tls.handshake_set_timeout(c->session, (c->server ? MIG_HANDSHAKE_S : MIG_STALL_S) * 1000);
	return 0;
}

static struct mig_conn *conn_new(int sock, const struct mig_key *key, bool server, char *err,
				 size_t errlen)
{
	struct mig_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(sock);
		return snprintf(err, errlen, "out of memory"), NULL;
	}
	c->sock = sock, c->local = -1, c->key = key, c->server = server;
	uint64_t now = mig_mono_ns();
	c->hs_end_ns = now + (server ? MIG_HANDSHAKE_S : MIG_STALL_S) * NS_PER_S;
	c->deadline_ns = now + MIG_INCOMING_DEADLINE_S * NS_PER_S;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	/* The last bytes before a stop must not wait for the peer's delayed ACK
	 * (Nagle: up to 40 ms of a live migration's downtime). */
	int one = 1;
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int rc = key ? tls_setup(c) : 0;
	if (rc) {
		snprintf(err, errlen, "cannot set up TLS: %s", tls.strerror(rc));
		mig_conn_free(c);
		return NULL;
	}
	return c;
}

struct mig_conn *mig_conn_start(int sock, const struct mig_key *key, char *err, size_t errlen)
{
	return conn_new(sock, key, true, err, errlen);
}

int mig_conn_fd(const struct mig_conn *c)
{
	return c->sock;
}

short mig_conn_events(const struct mig_conn *c)
{
	return c->session && tls.record_get_direction(c->session) ? POLLOUT : POLLIN;
}

uint64_t mig_conn_deadline_ns(const struct mig_conn *c)
{
	return c->hs_end_ns;
}

static bool tls_again(ssize_t rc)
{
	return rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
}

int mig_conn_step(struct mig_conn *c, char *err, size_t errlen)
{
	if (!c->session)
		return 1;
	int rc = tls.handshake(c->session);
	if (rc == GNUTLS_E_SUCCESS) {
		c->key = NULL; /* needed for the handshake only: the caller may drop it now */
		return 1;
	}
	if (tls_again(rc) && mig_mono_ns() < c->hs_end_ns)
		return 0;
	if (tls_again(rc) || rc == GNUTLS_E_TIMEDOUT)
		return snprintf(err, errlen, "no TLS handshake within %d s",
				c->server ? MIG_HANDSHAKE_S : MIG_STALL_S),
		       -1;
	return snprintf(err, errlen,
			"the TLS handshake failed: %s (the peer has another --migration-key, "
			"none, or is not proxy)",
			tls.strerror(rc)),
	       -1;
}

/* Until the socket is ready for `events` (1) or `until_ns` passed (0). */
static int wait_sock(int fd, short events, uint64_t until_ns)
{
	for (;;) {
		uint64_t now = mig_mono_ns();
		if (now >= until_ns)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)((until_ns - now) / 1000000 + 1));
		if (rc > 0 || (rc < 0 && errno != EINTR))
			return 1; /* ready, or an error the next call reports */
	}
}

/* The time limit past which the peer holds us up: no progress for MIG_STALL_S, or
 * the whole migration's deadline. */
static uint64_t stall_limit(const struct mig_conn *c, uint64_t progress_ns)
{
	uint64_t end = progress_ns + MIG_STALL_S * NS_PER_S;
	return end < c->deadline_ns ? end : c->deadline_ns;
}

/* A time limit passed: say which, and give up. */
static void time_is_up(const struct mig_conn *c, const char *stalled)
{
	if (mig_mono_ns() < c->deadline_ns)
		warnx_("the migration stream: %s for %d s; giving up", stalled, MIG_STALL_S);
	else if (c->server)
		warnx_("the migration stream: not complete within %d s (the deadline of "
		       "--incoming); giving up",
		       MIG_INCOMING_DEADLINE_S);
	else
		warnx_("the migration: not complete within %d s; giving up",
		       MIG_INCOMING_DEADLINE_S);
}

/* Everything of buf to the peer, within the time limits. */
static int send_all(struct mig_conn *c, const uint8_t *buf, size_t len)
{
	uint64_t progress = mig_mono_ns();
	while (len) {
		ssize_t n = c->session ? tls.record_send(c->session, buf, len)
				       : send(c->sock, buf, len, MSG_NOSIGNAL);
		bool again =
			c->session ? tls_again(n) : n < 0 && (errno == EAGAIN || errno == EINTR);
		if (again && !wait_sock(c->sock, POLLOUT, stall_limit(c, progress))) {
			time_is_up(c, "the peer took nothing");
			return -1;
		}
		if (again)
			continue;
		if (n <= 0)
			return -1;
		buf += n, len -= (size_t)n;
		progress = mig_mono_ns();
	}
	return 0;
}

#define RECV_AGAIN (-2)

/* Bytes from the peer into c->in: their count, 0 at its end, -1 on failure,
 * RECV_AGAIN when nothing is there yet. */
static ssize_t recv_some(struct mig_conn *c)
{
	for (;;) {
		ssize_t n = c->session ? tls.record_recv(c->session, c->in, sizeof(c->in))
				       : recv(c->sock, c->in, sizeof(c->in), 0);
		if (c->session ? n == GNUTLS_E_INTERRUPTED : n < 0 && errno == EINTR)
			continue;
		if (c->session ? n == GNUTLS_E_AGAIN : n < 0 && errno == EAGAIN)
			return RECV_AGAIN;
		return n < 0 ? -1 : n;
	}
}

/* The local side finished writing: tell the peer (TLS's close_notify, or a FIN). */
static void close_write(struct mig_conn *c)
{
	if (!c->session) {
		shutdown(c->sock, SHUT_WR);
		return;
	}
	uint64_t progress = mig_mono_ns();
	while (tls_again(tls.bye(c->session, GNUTLS_SHUT_WR)))
		if (!wait_sock(c->sock, POLLOUT, stall_limit(c, progress)))
			return; /* the carry loop meets its time limit */
}

/* How long poll may wait: until the deadline, and on the target while it waits for
 * the source's stream (before its own 'R'; restore.c bounds the wait after it),
 * until the source has been silent for MIG_STALL_S. `stall_from`: when the wait for
 * the source began (0: not waiting). */
static int poll_timeout(const struct mig_conn *c, uint64_t stall_from)
{
	uint64_t end = c->deadline_ns, now = mig_mono_ns();
	if (c->server && !c->local_spoke && stall_from)
		end = stall_limit(c, stall_from);
	return now >= end ? 0 : (int)((end - now) / 1000000 + 1);
}

/* Until both directions ended, the local side closed, the peer failed or a time
 * limit passed. The local fd is non-blocking: a peer that sends what the local side
 * does not read waits (back-pressure), instead of blocking this thread. */
static void carry(struct mig_conn *c)
{
	bool local_eof = false, peer_eof = false;
	uint64_t stall_from = mig_mono_ns();
	for (;;) {
		bool waiting_peer = !peer_eof && !c->in_len;
		bool pending = c->session && waiting_peer && tls.record_check_pending(c->session);
		if (!waiting_peer)
			stall_from = 0;
		else if (!stall_from)
			stall_from = mig_mono_ns();
		struct pollfd p[2] = {
			{.fd = c->local,
			 .events = (short)((local_eof ? 0 : POLLIN) | (c->in_len ? POLLOUT : 0))},
			{.fd = c->sock, .events = (short)(waiting_peer ? POLLIN : 0)},
		};
		int rc = pending ? 0 : poll(p, 2, poll_timeout(c, stall_from));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0 && !pending) {
			time_is_up(c, "nothing from the source");
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
			c->local_spoke |= n > 0;
		}
		if (c->in_len && p[0].revents & POLLOUT) {
			ssize_t n = write(c->local, c->in + c->in_off, c->in_len);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return;
			if (n > 0)
				c->in_off += (size_t)n, c->in_len -= (size_t)n;
		}
		/* Only into an empty c->in (a POLLHUP or POLLERR comes whatever was asked):
		 * bytes not yet passed on stay. */
		if (waiting_peer && (pending || p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv_some(c);
			if (n == RECV_AGAIN)
				continue;
			if (n < 0) /* the peer failed: the local side sees the stream end */
				return;
			if (n == 0)
				peer_eof = true, shutdown(c->local, SHUT_WR);
			c->in_len = (size_t)n, c->in_off = 0;
			stall_from = mig_mono_ns();
		}
	}
}

static void *carrier_thread(void *arg)
{
	struct mig_conn *c = arg;
	carry(c);
	mig_conn_free(c); /* the local side reads the end of the stream */
	return NULL;
}

int mig_conn_finish(struct mig_conn *c, char *err, size_t errlen)
{
	int sv[2];
	c->deadline_ns = mig_mono_ns() + MIG_INCOMING_DEADLINE_S * NS_PER_S;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		mig_conn_free(c);
		return -1;
	}
	c->local = sv[1];
	fcntl(c->local, F_SETFL, O_NONBLOCK);
	pthread_t t;
	if (pthread_create(&t, NULL, carrier_thread, c)) {
		close(sv[0]);
		mig_conn_free(c);
		return snprintf(err, errlen, "cannot start the migration carrier thread"), -1;
	}
	pthread_detach(t);
	return sv[0];
}

int mig_transport_open(int sock, const struct mig_key *key, char *err, size_t errlen)
{
	struct mig_conn *c = conn_new(sock, key, false, err, errlen);
	if (!c)
		return -1;
	int rc;
	while (!(rc = mig_conn_step(c, err, errlen)))
		wait_sock(c->sock, mig_conn_events(c), c->hs_end_ns);
	if (rc < 0) {
		mig_conn_free(c);
		return -1;
	}
	return mig_conn_finish(c, err, errlen);
}
