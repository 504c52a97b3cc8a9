/* migrate.c: migration over TCP: the checkpoint stream of snap_format.h, full,
 * written live while the guest runs (mig_live.c) or from a paused source (cold,
 * --migrate-downtime 0), to a target that has not started a VM yet, then a two-byte
 * commit so that the guest never runs at both ends: the target, with the guest in
 * its VM and nothing left that can fail, answers 'R' (ready) and runs it only once
 * the source's 'G' (go) came back; the source sends 'G' on 'R' and ends (status 0).
 * Without 'R' within MIG_CONFIRM_S (or when the target refuses) the guest goes on
 * at the source; after 'G' it never does (the target may not have heard it: then
 * the guest runs nowhere, which the source says). Having read 'G', the target sends
 * 'T' and its CLOCK_MONOTONIC time, for the source's downtime. The connection itself (TLS-PSK
 * with --migration-key, time limits) is mig_transport.c's: this file reads and
 * writes a plain stream.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mig_live.h"
#include "mig_transport.h"
#include "snap_internal.h"

/* "[ADDR:]PORT" (bracketed IPv6 allowed, PORT up to 65535) into host and port. */
static int split_host_port(const char *s, const char *default_host, char *host, size_t hlen,
			   char *port, size_t plen)
{
	const char *colon = strrchr(s, ':');
	const char *p = colon ? colon + 1 : s;
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) >= plen || strlen(p) > 5 ||
	    strtoul(p, NULL, 10) > 65535) /* getaddrinfo would wrap it to another port */
		return -1;
	snprintf(port, plen, "%s", p);
	if (!colon) {
		snprintf(host, hlen, "%s", default_host);
		return 0;
	}
	size_t n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (!n || n >= hlen)
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	return 0;
}

/* Without a key, a connection is only allowed between proxies of one user on one
 * host: anywhere else the stream would cross the network in the clear. */
static int require_key_off_loopback(const struct addrinfo *ai, const struct mig_key *key,
				    const char *what, char *err, size_t errlen)
{
	if (key || mig_addr_is_loopback(ai->ai_addr))
		return 0;
	return snprintf(err, errlen,
			"%s is not a loopback address: a migration to or from another host "
			"needs --migration-key FILE (HERMIT_MIGRATION_KEY) on both ends, which "
			"authenticates and encrypts the stream",
			what),
	       -1;
}

#define MIG_BACKLOG 16
#define MIG_PENDING 8 /* handshakes under way at once (more wait in the backlog) */

static int listen_on(const char *host, const char *port, const struct mig_key *key, char *err,
		     size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return snprintf(err, errlen, "%s: %s", host, gai_strerror(rc)), -1;
	if (require_key_off_loopback(ai, key, host, err, errlen)) {
		freeaddrinfo(ai);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, MIG_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%s: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* --migration-key, read at start (the file's owner and mode checked on the
 * descriptor read, as config_check did on the path). */
static struct mig_key *load_key(const struct config *c)
{
	char err[768];
	if (!c->migration_key)
		return NULL;
	struct mig_key *k = calloc(1, sizeof(*k));
	if (!k)
		die("out of memory");
	if (mig_key_load(c->migration_key, c->user ? (long)c->user_uid : -1, k, err, sizeof(err)))
		die("HERMIT_MIGRATION_KEY/--migration-key %s", err);
	return k;
}

/* One accepted connection: the peer's user when there is no key (the key proves
 * who it is otherwise), then its handshake begins. NULL: turned away. */
static struct mig_conn *take_connection(int fd, const struct mig_key *key, mig_peer_check allowed,
					void *ctx)
{
	char err[512];
	if (!key && !allowed(fd, ctx)) {
		close(fd);
		return NULL;
	}
	struct mig_conn *m = mig_conn_start(fd, key, err, sizeof(err));
	if (!m)
		warnx_("--incoming: turned away a connection: %s", err);
	return m;
}

/* The handshakes under way (keyed --incoming). */
struct pending {
	struct mig_conn *m[MIG_PENDING];
	int n;
};

static void drop_pending(struct pending *pd, int i)
{
	mig_conn_free(pd->m[i]);
	pd->m[i] = pd->m[--pd->n];
}

/* The pending handshake i moved: the plain stream when it completed, else -1 (and
 * it is gone when it failed). */
static int advance(struct pending *pd, int i)
{
	char err[512];
	int rc = mig_conn_step(pd->m[i], err, sizeof(err));
	if (rc == 0)
		return -1;
	if (rc > 0) {
		struct mig_conn *m = pd->m[i];
		pd->m[i] = pd->m[--pd->n];
		int s = mig_conn_finish(m, err, sizeof(err));
		if (s >= 0)
			return s;
	}
	warnx_("--incoming: turned away a connection: %s", err);
	if (rc < 0)
		drop_pending(pd, i);
	return -1;
}

/* A new connection becomes a pending handshake; without a key (nothing to
 * shake: the peer's user was checked) it is the stream at once: its fd, else -1. */
static int accept_one(int lfd, struct pending *pd, const struct mig_key *key,
		      mig_peer_check allowed, void *ctx)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 && errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
		die("--incoming: accept: %s", strerror(errno));
	struct mig_conn *m = fd < 0 ? NULL : take_connection(fd, key, allowed, ctx);
	if (!m)
		return -1;
	pd->m[pd->n++] = m;
	return key ? -1 : advance(pd, pd->n - 1);
}

/* --incoming's wait: the listener and up to MIG_PENDING handshakes in one poll, so
 * a peer that connects and says nothing holds up no other, and itself no longer
 * than MIG_HANDSHAKE_S. The stream of the first source that gets through. */
static int wait_for_source(int lfd, const struct mig_key *key, mig_peer_check allowed, void *ctx)
{
	struct pending pd = {.n = 0};
	int s = -1;
	while (s < 0) {
		struct pollfd p[MIG_PENDING + 1];
		uint64_t now = mig_mono_ns(), first = UINT64_MAX;
		int n = pd.n;
		for (int i = 0; i < n; i++) {
			p[i] = (struct pollfd){.fd = mig_conn_fd(pd.m[i]),
					       .events = mig_conn_events(pd.m[i])};
			uint64_t end = mig_conn_deadline_ns(pd.m[i]);
			first = end < first ? end : first;
		}
		/* The listener waits while every handshake slot is taken. */
		p[n] = (struct pollfd){.fd = n < MIG_PENDING ? lfd : -1, .events = POLLIN};
		int timeout = first == UINT64_MAX ? -1
			      : first <= now	  ? 0
						  : (int)((first - now) / 1000000 + 1);
		int rc = poll(p, (nfds_t)n + 1, timeout);
		if (rc < 0 && errno != EINTR)
			die("--incoming: poll: %s", strerror(errno));
		now = mig_mono_ns();
		/* From the last: advance() moves the last one into slot i. */
		for (int i = n - 1; i >= 0 && s < 0; i--)
			if ((rc > 0 && p[i].revents) || now >= mig_conn_deadline_ns(pd.m[i]))
				s = advance(&pd, i);
		if (s < 0 && rc > 0 && p[n].revents & POLLIN)
			s = accept_one(lfd, &pd, key, allowed, ctx);
	}
	while (pd.n) /* one source at a time: the others go */
		drop_pending(&pd, pd.n - 1);
	return s;
}

/* Where the listener waits, with the port the kernel chose for PORT 0 and IPv6
 * addresses in brackets, so the line can be pasted into --migrate-to. */
static void say_waiting(int lfd, const char *host, const char *port, bool keyed)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned real = (unsigned)strtoul(port, NULL, 10);
	if (!getsockname(lfd, (struct sockaddr *)&ss, &len))
		real = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	bool v6 = strchr(host, ':') != NULL;
	warnx_("waiting for a migrating guest on %s%s%s:%u%s", v6 ? "[" : "", host, v6 ? "]" : "",
	       real, keyed ? " (TLS, --migration-key)" : "");
}

void migrate_accept(const struct config *c, struct restore_source *src, mig_peer_check allowed,
		    void *ctx)
{
	char host[256], port[16], err[768];
	if (split_host_port(c->incoming, "127.0.0.1", host, sizeof(host), port, sizeof(port)))
		die("HERMIT_MIGRATION_SERVER/--incoming %s is invalid: expected [ADDR:]PORT",
		    c->incoming);
	struct mig_key *key = load_key(c);
	int lfd = listen_on(host, port, key, err, sizeof(err));
	if (lfd < 0)
		die("--incoming: %s", err);
	fcntl(lfd, F_SETFL, O_NONBLOCK); /* a connection gone before accept blocks nothing */
	say_waiting(lfd, host, port, key != NULL);
	memset(src, 0, sizeof(*src));
	src->fds[0] = wait_for_source(lfd, key, allowed, ctx);
	src->n = 1;
	close(lfd);
	if (key)
		explicit_bzero(key, sizeof(*key));
	free(key);
}

static struct addrinfo *resolve(const char *to, const struct mig_key *key, char *err, size_t errlen)
{
	char host[256], port[16];
	if (split_host_port(to, "127.0.0.1", host, sizeof(host), port, sizeof(port)))
		return snprintf(err, errlen, "%s is not HOST:PORT (PORT from 1 to 65535)", to),
		       NULL;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return snprintf(err, errlen, "%s: %s", host, gai_strerror(rc)), NULL;
	if (require_key_off_loopback(ai, key, host, err, errlen)) {
		freeaddrinfo(ai);
		return NULL;
	}
	return ai;
}

void migrate_prepare(struct vm *vm, mig_peer_check peer_ok, void *ctx)
{
	char err[768];
	struct snapshot *s = vm->snap;
	const char *to = vm->cfg->migrate_to;
	s->migrate_key = load_key(vm->cfg);
	s->migrate_peer_ok = peer_ok;
	s->migrate_peer_ctx = ctx;
	/* Boot wrote the image and its tables through gpa_ptr: no vCPU has run, no such
	 * write is in flight, so a live migration need not send those pages again. */
	uint64_t *boot = calloc((vm->mem.size / GUEST_PAGE + 63) / 64, 8);
	if (!boot)
		die("out of memory");
	guest_mem_take_host_dirty(&vm->mem, boot, true);
	free(boot);
	/* Now, while proxy can still read /etc/hosts and resolv.conf (the sandbox). */
	if (to && !(s->migrate_ai = resolve(to, s->migrate_key, err, sizeof(err))))
		die("HERMIT_MIGRATION_SUPPORT/--migrate-to %s: %s", to, err);
}

/* The plain stream to the target (through TLS with a key), or -1. */
static int connect_to(struct vm *vm, const char *to, char *err, size_t errlen)
{
	struct snapshot *s = vm->snap;
	bool prepared = s->migrate_ai && vm->cfg->migrate_to && !strcmp(to, vm->cfg->migrate_to);
	struct addrinfo *ai = prepared ? s->migrate_ai : resolve(to, s->migrate_key, err, errlen);
	if (!ai)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		mig_set_stall_timeouts(fd);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", to, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (!prepared)
		freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	/* Without a key: the target must be a proxy of this user (the key proves it
	 * otherwise). */
	if (!s->migrate_key &&
	    !(s->migrate_peer_ok && s->migrate_peer_ok(fd, s->migrate_peer_ctx))) {
		close(fd);
		return snprintf(err, errlen,
				"%s is not run by proxy's user: without --migration-key the "
				"guest only goes to a proxy of the same user on this host",
				to),
		       -1;
	}
	char why[512];
	int stream = mig_transport_open(fd, s->migrate_key, why, sizeof(why));
	if (stream < 0)
		return snprintf(err, errlen, "%s: %s", to, why), -1;
	return stream;
}

/* The target's 'R': it has the guest in its VM and waits for our 'G'. */
static int wait_ready(int fd, const char *to, char *err, size_t errlen)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char r = 0;
	int rc;
	do
		rc = poll(&p, 1, MIG_CONFIRM_S * 1000);
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && read(fd, &r, 1) == 1 && r == 'R')
		return 0;
	if (rc == 0)
		return snprintf(err, errlen, "%s did not confirm it can run the guest within %d s",
				to, MIG_CONFIRM_S),
		       -1;
	return snprintf(err, errlen,
			"%s did not confirm it can run the guest (the connection closed: see "
			"the target's message)",
			to),
	       -1;
}

/* After 'G': the target sends the CLOCK_MONOTONIC time it starts the guest ('T'
 * and 8 bytes; an older target sends nothing) and closes the stream once it read
 * 'G'. Whether it did (true), or the stream stayed open past MIG_STALL_S or failed
 * (the target may have it or not). Either way the guest is not ours any more.
 * *started: the target's time, 0 without one. */
static bool go_heard(int fd, uint64_t *started)
{
	uint8_t b[16];
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	*started = 0;
	shutdown(fd, SHUT_WR);
	for (;;) {
		int rc = poll(&p, 1, MIG_STALL_S * 1000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return false;
		ssize_t n = read(fd, b + (got < 9 ? got : 9), got < 9 ? 9 - got : 1);
		if (n == 0) {
			if (got == 9 && b[0] == 'T')
				memcpy(started, b + 1, 8);
			return true;
		}
		if (n < 0 && errno != EINTR)
			return false;
		got += n > 0 ? (size_t)n : 0;
	}
}

/* The downtime: from the guest's last instruction here (`stopped`) to its first at
 * the target (`started`, that proxy's CLOCK_MONOTONIC: both on this host). A time
 * outside [stopped, now] is of another host's clock: then until the target closed
 * the stream, an upper bound (*upper). */
static double downtime_ms(uint64_t stopped, uint64_t started, bool *upper)
{
	uint64_t now = mig_mono_ns();
	*upper = !(started >= stopped && started <= now);
	return (double)((*upper ? now : started) - stopped) / 1e6;
}

/* The live path: the stream while the guest runs; it is stopped on return 0. */
static int send_live(struct vm *vm, int fd, struct mig_live_result *live, char *err, size_t errlen)
{
	return mig_live_send(vm, fd, vm->cfg->migrate_downtime_ms, live, err, errlen);
}

/* The cold path (--migrate-downtime 0): stop, then the whole stream. */
static int send_cold(struct vm *vm, int fd, struct mig_live_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	res->stop_ns = mig_mono_ns();
	if (snapshot_pause(vm, err, errlen))
		return -1;
	res->paused = true;
	if (!snapshot_save(vm, fd, SAVE_FULL_KEEP_LOG, 1, 0, &res->pages, &res->bytes, err, errlen))
		return 0;
	snapshot_resume(vm);
	return -1;
}

static void say_migrated(struct vm *vm, const char *to, const struct mig_live_result *r,
			 uint64_t t0, uint64_t started)
{
	bool upper;
	double down = downtime_ms(r->stop_ns, started, &upper);
	double total = (double)(mig_mono_ns() - t0) / 1e6;
	unsigned budget = vm->cfg->migrate_downtime_ms;
	if (!budget) {
		warnx_("migrated to %s (%llu pages, %llu KiB, VM paused %.1f ms, downtime %s%.1f "
		       "ms, total %.1f ms, cold)",
		       to, (unsigned long long)r->pages, (unsigned long long)(r->bytes >> 10),
		       (double)(mig_mono_ns() - r->stop_ns) / 1e6, upper ? "at most " : "", down,
		       total);
		return;
	}
	char note[160] = "";
	if (!r->converged)
		snprintf(note, sizeof(note),
			 "; it did not converge to the %u ms budget (the guest dirtied memory "
			 "faster than the link moved it): stopped after %u rounds anyway",
			 budget, r->rounds);
	warnx_("migrated to %s live: %u rounds, %llu KiB sent (%llu KiB while stopped), total "
	       "%.1f ms, downtime %s%.1f ms (budget %u ms)%s",
	       to, r->rounds, (unsigned long long)(r->bytes >> 10),
	       (unsigned long long)(r->stop_bytes >> 10), total, upper ? "at most " : "", down,
	       budget, note);
}

int migrate_send(struct vm *vm, const char *to, char *err, size_t errlen)
{
	to = to && *to ? to : vm->cfg->migrate_to;
	if (!to)
		return snprintf(err, errlen,
				"no target: give HOST:PORT (or start proxy with "
				"--migrate-to)"),
		       -1;
	uint64_t t0 = mig_mono_ns();
	int fd = connect_to(vm, to, err, errlen);
	if (fd < 0)
		return -1;
	bool live = vm->cfg->migrate_downtime_ms > 0;
	struct mig_live_result res;
	if (live ? send_live(vm, fd, &res, err, errlen) : send_cold(vm, fd, &res, err, errlen)) {
		close(fd); /* the guest goes on here */
		return -1;
	}
	int rc = wait_ready(fd, to, err, errlen);
	/* A 'G' not written is not sent (one byte into a socketpair): the target cannot
	 * run the guest, so it goes on here. */
	if (!rc && write(fd, "G", 1) != 1) {
		snprintf(err, errlen, "cannot tell %s to go: %s", to, strerror(errno));
		rc = -1;
	}
	if (rc) {
		close(fd);
		if (live) /* the callers say the guest goes on here */
			mig_live_abort(vm, &res);
		else
			snapshot_resume(vm);
		return -1;
	}
	uint64_t started;
	bool heard = go_heard(fd, &started);
	close(fd);
	if (heard)
		say_migrated(vm, to, &res, t0, started);
	else
		warnx_("migrated to %s, but it did not confirm it heard the go: the guest "
		       "runs there if it did, else nowhere (see the target's messages); it "
		       "does not go on here",
		       to);
	vm_end(vm, 0); /* the guest lives on at the target */
	snapshot_resume(vm);
	return 0;
}
