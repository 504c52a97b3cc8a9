/* migrate.c: cold migration over TCP: the checkpoint stream of snap_format.h, full,
 * from a paused source to a target that has not started a VM yet. The target
 * answers one byte, 'K', once the guest is in its VM; only then does the source end
 * (status 0). Without that answer the guest goes on at the source.
 */
#include "checkpoint.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snap_internal.h"

#define CONFIRM_TIMEOUT_MS (600 * 1000) /* the target loads all of RAM before it answers */
#define STALL_TIMEOUT_S	   60		/* a peer that stops sending or reading */

/* A stalled peer makes a read or write fail instead of holding the VM (source)
 * or proxy (target) forever. */
static void set_stall_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = STALL_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* connect's too */
}

/* "[ADDR:]PORT" (bracketed IPv6 allowed) into host and port. */
static int split_host_port(const char *s, const char *default_host, char *host, size_t hlen,
			   char *port, size_t plen)
{
	const char *colon = strrchr(s, ':');
	const char *p = colon ? colon + 1 : s;
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) >= plen)
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

static int listen_on(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return snprintf(err, errlen, "%s: %s", host, gai_strerror(rc)), -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%s: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

void migrate_accept(const struct config *c, struct restore_source *src,
		    bool (*allowed)(int fd, const struct config *c))
{
	char host[256], port[16], err[512];
	if (split_host_port(c->incoming, "127.0.0.1", host, sizeof(host), port, sizeof(port)))
		die("HERMIT_MIGRATION_SERVER/--incoming %s is invalid: expected [ADDR:]PORT",
		    c->incoming);
	int lfd = listen_on(host, port, err, sizeof(err));
	if (lfd < 0)
		die("--incoming: %s", err);
	warnx_("waiting for a migrating guest on %s:%s", host, port);
	memset(src, 0, sizeof(*src));
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			die("--incoming: accept on %s:%s: %s", host, port, strerror(errno));
		if (allowed(fd, c)) {
			set_stall_timeouts(fd);
			src->fds[0] = fd;
			src->n = 1;
			break;
		}
		close(fd);
	}
	close(lfd);
}

static struct addrinfo *resolve(const char *to, char *err, size_t errlen)
{
	char host[256], port[16];
	if (split_host_port(to, "127.0.0.1", host, sizeof(host), port, sizeof(port)))
		return snprintf(err, errlen, "%s is not HOST:PORT", to), NULL;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return snprintf(err, errlen, "%s: %s", host, gai_strerror(rc)), NULL;
	return ai;
}

void migrate_prepare(struct vm *vm)
{
	char err[512];
	const char *to = vm->cfg->migrate_to;
	/* Now, while proxy can still read /etc/hosts and resolv.conf (the sandbox). */
	if (to && !(vm->snap->migrate_ai = resolve(to, err, sizeof(err))))
		die("HERMIT_MIGRATION_SUPPORT/--migrate-to %s: %s", to, err);
}

static int connect_to(struct vm *vm, const char *to, char *err, size_t errlen)
{
	bool prepared =
		vm->snap->migrate_ai && vm->cfg->migrate_to && !strcmp(to, vm->cfg->migrate_to);
	struct addrinfo *ai = prepared ? vm->snap->migrate_ai : resolve(to, err, errlen);
	if (!ai)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		set_stall_timeouts(fd);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", to, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (!prepared)
		freeaddrinfo(ai);
	return fd;
}

/* The target's 'K': it has the guest. */
static int wait_confirm(int fd, const char *to, char *err, size_t errlen)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char k = 0;
	int rc = poll(&p, 1, CONFIRM_TIMEOUT_MS);
	if (rc > 0 && read(fd, &k, 1) == 1 && k == 'K')
		return 0;
	snprintf(err, errlen, "%s did not confirm it took the guest (%s)", to,
		 rc == 0 ? "no answer" : "the connection closed: see the target's message");
	return -1;
}

int migrate_send(struct vm *vm, const char *to, char *err, size_t errlen)
{
	to = to && *to ? to : vm->cfg->migrate_to;
	if (!to)
		return snprintf(err, errlen,
				"no target: give HOST:PORT (or start proxy with "
				"--migrate-to)"),
		       -1;
	int fd = connect_to(vm, to, err, errlen);
	if (fd < 0)
		return -1;
	uint64_t pages, bytes, t0 = now_ns();
	if (snapshot_pause(vm, err, errlen)) {
		close(fd);
		return -1;
	}
	int rc = snapshot_save(vm, fd, SAVE_FULL_KEEP_LOG, 1, 0, &pages, &bytes, err, errlen);
	shutdown(fd, SHUT_WR);
	rc = rc ?: wait_confirm(fd, to, err, errlen);
	close(fd);
	if (rc) {
		snapshot_resume(vm);
		return -1;
	}
	warnx_("migrated to %s (%llu pages, %llu KiB, VM paused %.1f ms)", to,
	       (unsigned long long)pages, (unsigned long long)(bytes >> 10), (now_ns() - t0) / 1e6);
	vm_end(vm, 0); /* the guest lives on at the target */
	snapshot_resume(vm);
	return 0;
}
