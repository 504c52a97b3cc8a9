/* gdbstub.c: the stub's socket life cycle: listen, wait for a client, serve, close.
 *
 * Loopback by default (a debugger port on every interface lets anyone on the network
 * take over the VM). While no client is connected the target's stop_fd is watched too,
 * so a VM that ends before anyone attaches does not leave proxy waiting forever. A
 * client that connects to a running VM gets it stopped first (attach); after a detach
 * the embedder calls gdbstub_serve again, so debuggers can come and go.
 */
#include "gdbstub.h"

#include "gdb_session.h"
#include "peer_uid.h"
#include "rsp_refuse.h"
#include "target_xml.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct gdbstub {
	int listen_fd;
	int port;
	char *unix_path; /* to unlink at close */
	struct gdb_target tgt;
	gdbstub_event_fn on_event;
	void *event_arg;
	char *xml;
	size_t xml_len;
	bool have_stop; /* a stop taken while waiting, for `?` */
	struct gdb_stop stop;
	unsigned *allowed_uids;
	unsigned nallowed_uids;
	bool remote_ok;
	struct peer_tables peers;
	struct rsp_refusal refusal; /* a turned-away client waiting to be told why */
};

static int fail(char *err, size_t errlen, int e, const char *what, const char *where)
{
	snprintf(err, errlen, "gdbstub: %s %s: %s", what, where, strerror(e));
	return -e;
}

/* A target whose registers disagree with target.xml would garble every `g` packet. */
static int check_target(struct gdb_target tgt, char *err, size_t errlen)
{
	for (int regno = 0; regno < GDB_REG_COUNT; regno++) {
		int want = target_xml_reg_size(regno);
		int got = tgt.ops->reg_size(tgt.ctx, regno);

		if (got != want && !(got == 0 && target_xml_reg_optional(regno))) {
			snprintf(err, errlen,
				 "gdbstub: target register %d (%s) is %d bytes, target.xml says %d",
				 regno, target_xml_reg_name(regno), got, want);
			return -EINVAL;
		}
	}
	return 0;
}

static int listen_unix(struct gdbstub *stub, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(err, errlen, ENAMETOOLONG, "cannot listen on", path);
	strcpy(sa.sun_path, path);
	/* Whatever is at the path stays (bind fails): it may be another user's file or a
	 * live socket; the embedder decides what may be replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, errno, "cannot create socket for", path);
	/* Only proxy's user may connect (the peer check is the second line). */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 1) < 0) {
		int e = errno;

		close(fd);
		return fail(err, errlen, e, "cannot listen on", path);
	}
	stub->listen_fd = fd;
	stub->unix_path = strdup(path);
	return stub->unix_path ? 0 : fail(err, errlen, ENOMEM, "cannot listen on", path);
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int listen_tcp(struct gdbstub *stub, const char *addr, int port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai;
	char where[128], service[16];
	int one = 1, fd, rc, e;

	snprintf(where, sizeof(where), "%s:%d", addr, port);
	snprintf(service, sizeof(service), "%d", port);
	if (port < 0 || port > 65535)
		return fail(err, errlen, EINVAL, "invalid port", where);
	rc = getaddrinfo(addr, service, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "gdbstub: invalid address %s: %s", where, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	e = errno;
	if (fd >= 0) {
		/* Restarting proxy must not wait for TIME_WAIT of the previous session. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		rc = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0;
		e = errno;
		if (rc) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return fail(err, errlen, e, "cannot listen on", where);
	stub->listen_fd = fd;
	stub->port = bound_port(fd);
	return 0;
}

static int keep_allowed_uids(struct gdbstub *stub, const struct gdbstub_config *cfg, char *err,
			     size_t errlen)
{
	stub->allowed_uids = calloc(cfg->nallowed_uids, sizeof(unsigned));
	if (!stub->allowed_uids)
		return fail(err, errlen, ENOMEM, "cannot allocate", "the allowed users");
	memcpy(stub->allowed_uids, cfg->allowed_uids, cfg->nallowed_uids * sizeof(unsigned));
	stub->nallowed_uids = cfg->nallowed_uids;
	stub->remote_ok = cfg->remote_ok;
	if (!cfg->unix_path)
		peer_tables_open(&stub->peers); /* now: proxy may not open files later */
	return 0;
}

int gdbstub_open(struct gdbstub **out, const struct gdbstub_config *cfg, struct gdb_target target,
		 char *err, size_t errlen)
{
	struct gdbstub *stub = calloc(1, sizeof(*stub));
	int rc;

	*out = NULL;
	if (!stub)
		return fail(err, errlen, ENOMEM, "cannot allocate", "the stub");
	stub->listen_fd = -1;
	stub->peers = (struct peer_tables){-1, -1};
	rsp_refusal_init(&stub->refusal);
	stub->tgt = target;
	stub->on_event = cfg->on_event;
	stub->event_arg = cfg->event_arg;
	rc = check_target(target, err, errlen);
	if (rc == 0 && cfg->nallowed_uids)
		rc = keep_allowed_uids(stub, cfg, err, errlen);
	bool avx = target.ops->reg_size(target.ctx, GDB_REG_YMM0H) > 0;
	if (rc == 0 && !(stub->xml = target_xml_build_for(&stub->xml_len, avx)))
		rc = fail(err, errlen, ENOMEM, "cannot build", "target.xml");
	if (rc == 0 && cfg->unix_path)
		rc = listen_unix(stub, cfg->unix_path, err, errlen);
	else if (rc == 0)
		rc = listen_tcp(stub, cfg->bind_addr ? cfg->bind_addr : "127.0.0.1", cfg->port, err,
				errlen);
	if (rc) {
		gdbstub_close(stub);
		return rc;
	}
	*out = stub;
	return 0;
}

int gdbstub_port(const struct gdbstub *stub)
{
	return stub->port;
}

/* Take a stop that happened with no client. True if the guest has exited. */
static bool take_early_stop(struct gdbstub *stub)
{
	struct gdb_stop st;

	if (stub->tgt.ops->take_stop(stub->tgt.ctx, &st) != 0)
		return false;
	stub->stop = st;
	stub->have_stop = true;
	return st.kind == GDB_STOP_EXITED;
}

static bool uid_allowed(const struct gdbstub *stub, long uid)
{
	for (unsigned i = 0; i < stub->nallowed_uids; i++)
		if ((long)stub->allowed_uids[i] == uid)
			return true;
	return false;
}

/* The owner of a Unix client from the kernel; of a TCP one from /proc/net/tcp. */
static long client_uid(const struct gdbstub *stub, int fd)
{
	if (stub->unix_path) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ? PEER_UID_UNKNOWN
										: (long)cred.uid;
	}
	return peer_uid(&stub->peers, fd);
}

/* Is this client one of the users the stub serves? If not, say who it was, and tell
 * the client why (it is closed after that). */
static bool client_allowed(struct gdbstub *stub, int fd)
{
	if (!stub->nallowed_uids)
		return true;
	long uid = client_uid(stub, fd);
	if (uid_allowed(stub, uid) || (uid == PEER_UID_UNKNOWN && stub->remote_ok))
		return true;
	char peer[GDB_PEER_MAX], who[GDB_PEER_MAX + 32];
	gdb_peer_name(fd, peer, sizeof(peer));
	if (uid == PEER_UID_UNKNOWN)
		snprintf(who, sizeof(who), "%s (uid unknown)", peer);
	else if (uid == PEER_UID_UNPROVEN) /* e.g. only a TIME_WAIT row, which shows uid 0 */
		snprintf(who, sizeof(who), "%s (uid not proven)", peer);
	else
		snprintf(who, sizeof(who), "%s (uid %ld)", peer, uid);
	if (stub->on_event)
		stub->on_event(stub->event_arg, GDBSTUB_EV_NOT_OURS, who);
	rsp_refusal_start(&stub->refusal, fd,
			  uid == PEER_UID_UNKNOWN
				  ? "proxy: this GDB stub serves only local users it can identify"
				  : "proxy: this GDB stub serves only the user proxy runs as "
				    "(see its README, Security)");
	return false;
}

/* Wait until a client connects (*fd set, 0 returned) or the VM ends first (1);
 * -errno if the listening socket fails. */
static int wait_for_client(struct gdbstub *stub, int *fd)
{
	struct pollfd p[3] = {
		{.fd = stub->listen_fd, .events = POLLIN},
		{.fd = stub->tgt.ops->stop_fd(stub->tgt.ctx), .events = POLLIN},
		{.events = POLLIN},
	};

	for (;;) {
		p[2].fd = stub->refusal.fd;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[2].revents)
			rsp_refusal_input(&stub->refusal);
		if ((p[1].revents & POLLIN) && take_early_stop(stub))
			return 1;
		if (p[0].revents & POLLIN) {
			*fd = accept4(stub->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (*fd >= 0 && client_allowed(stub, *fd))
				return 0;
			if (*fd >= 0)
				continue; /* client_allowed took it to turn away */
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				return -errno;
		}
	}
}

/* The VM runs (it was not held for a debugger, or an earlier client detached): stop
 * it for the new client, as attaching to a process does. 0 once it is stopped (the
 * stop in stub->stop), 1 if the VM ended first, -errno if waiting fails. */
static int stop_for_client(struct gdbstub *stub)
{
	struct pollfd p = {.fd = stub->tgt.ops->stop_fd(stub->tgt.ctx), .events = POLLIN};

	stub->tgt.ops->interrupt(stub->tgt.ctx);
	while (!stub->have_stop) {
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((p.revents & POLLIN) && take_early_stop(stub))
			return 1;
	}
	return 0;
}

static int serve_client(struct gdbstub *stub, int fd)
{
	char peer[GDB_PEER_MAX];
	struct gdb_session_env env = {
		.listen_fd = stub->listen_fd,
		.xml = stub->xml,
		.xml_len = stub->xml_len,
		.initial = &stub->stop,
		.on_event = stub->on_event,
		.event_arg = stub->event_arg,
		.peer = peer,
		.refusal = &stub->refusal,
	};
	int one = 1;
	int rc = stub->have_stop ? 0 : stop_for_client(stub);

	if (rc) /* the VM ended (or cannot be waited for): nothing to debug */
		return rc > 0 ? GDBSTUB_EXITED : rc;
	/* Without it every `stepi` waits out Nagle against delayed ACKs (tens of ms). */
	if (!stub->unix_path)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	gdb_peer_name(fd, peer, sizeof(peer));
	if (stub->on_event)
		stub->on_event(stub->event_arg, GDBSTUB_EV_CONNECTED, peer);
	return gdb_session_serve(fd, stub->tgt, &env);
}

int gdbstub_serve(struct gdbstub *stub)
{
	int fd = -1;
	int rc = wait_for_client(stub, &fd);

	if (rc == 1)
		return GDBSTUB_EXITED;
	if (rc < 0)
		return rc;
	rc = serve_client(stub, fd);
	close(fd);
	/* The next client finds the VM as this one left it: running, unless it ended. */
	stub->have_stop = false;
	return rc;
}

void gdbstub_close(struct gdbstub *stub)
{
	if (!stub)
		return;
	if (stub->listen_fd >= 0)
		close(stub->listen_fd);
	if (stub->unix_path)
		unlink(stub->unix_path);
	free(stub->unix_path);
	rsp_refusal_end(&stub->refusal);
	free(stub->allowed_uids);
	peer_tables_close(&stub->peers);
	free(stub->xml);
	free(stub);
}
