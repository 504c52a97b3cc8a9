/* gdbstub.h: the GDB remote stub as src/main sees it: open a socket, serve debugging
 * sessions one after the other, close.
 *
 * The stub knows nothing of KVM: it drives the VM only through struct gdb_target
 * (gdb_target.h). It listens on loopback by default, serves one client at a time and
 * waits with poll() on the sockets and the target's stop_fd, never by spinning.
 */
#ifndef GDBSTUB_H
#define GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>

#include "gdb_target.h"

/* What happened to a client, for the embedder's messages (gdbstub_config.on_event).
 * `peer` names the client ("127.0.0.1:41234", "[::1]:41234", "a Unix socket"). */
enum gdbstub_event {
	GDBSTUB_EV_CONNECTED, /* a client was accepted (the VM is stopped for it) */
	GDBSTUB_EV_REFUSED,   /* a second client was turned away: one is attached */
	GDBSTUB_EV_DETACHED,  /* the client sent `D`; the VM runs on */
	GDBSTUB_EV_LOST,      /* the client went away without `D` (GDB's disconnect, a
			       * crash): a detach too */
	GDBSTUB_EV_KILLED,    /* the client sent `k`; target kill() was called */
	GDBSTUB_EV_NOT_OURS,  /* a client of another user (or of an unknown one) was
			       * turned away; `peer` ends with " (uid N)" or " (uid unknown)" */
};

typedef void (*gdbstub_event_fn)(void *arg, enum gdbstub_event ev, const char *peer);

struct gdbstub_config {
	const char *bind_addr; /* numeric IPv4/IPv6 address; NULL: "127.0.0.1" */
	int port;	       /* TCP port; 0: any free port (see gdbstub_port) */
	const char *unix_path; /* if set, listen on this Unix socket (mode 0600) instead of
				* TCP; nothing may be at the path (it is never removed
				* first); peers are checked with SO_PEERCRED */
	/* Who may connect: the owners of a client socket the stub serves. 0 entries:
	 * anyone. A TCP client of unknown owner (not on this host) is served only with
	 * `remote_ok` (the embedder was told to listen beyond loopback). */
	const unsigned *allowed_uids;
	unsigned nallowed_uids;
	bool remote_ok;
	gdbstub_event_fn on_event; /* NULL: no reports */
	void *event_arg;
};

/* How a session ended (gdbstub_serve's non-negative results). */
enum gdbstub_end {
	GDBSTUB_EXITED = 0, /* the guest exited (the client, if any, got W<code>) */
	GDBSTUB_KILLED,	    /* the client sent `k`; target kill() was called */
	GDBSTUB_DETACHED,   /* `D` or the client went away; target detach() was called */
};

struct gdbstub;

/* Bind and listen. On failure fills `err` with a precise message and returns -errno.
 * Also checks that target reg_size() agrees with the target description. */
int gdbstub_open(struct gdbstub **out, const struct gdbstub_config *cfg, struct gdb_target target,
		 char *err, size_t errlen);
/* The TCP port actually bound (useful with port 0); 0 for a Unix socket. */
int gdbstub_port(const struct gdbstub *stub);
/* Wait for a client (returning GDBSTUB_EXITED if the VM ends first), then run the
 * session until the guest exits, the client kills, detaches or disconnects. Returns an
 * enum gdbstub_end, or -errno if the listening socket itself fails. Protocol errors
 * from the client never end the session.
 * A VM that runs when the client connects (no stop came while waiting: the guest was
 * started without waiting for a debugger, or an earlier client detached) is stopped
 * first with target interrupt(), as attaching to a process does. After
 * GDBSTUB_DETACHED, call again to let the next client attach. */
int gdbstub_serve(struct gdbstub *stub);
/* Close the sockets (removing a Unix socket path) and free. NULL is allowed. */
void gdbstub_close(struct gdbstub *stub);

#endif
