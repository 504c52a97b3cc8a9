/* gdbstub.h: the GDB remote stub as src/main sees it: open a socket, serve one
 * debugging session, close.
 *
 * The stub knows nothing of KVM: it drives the VM only through struct gdb_target
 * (gdb_target.h). It listens on loopback by default, serves one client at a time and
 * waits with poll() on the sockets and the target's stop_fd, never by spinning.
 */
#ifndef GDBSTUB_H
#define GDBSTUB_H

#include <stddef.h>

#include "gdb_target.h"

struct gdbstub_config {
	const char *bind_addr; /* numeric IPv4/IPv6 address; NULL: "127.0.0.1" */
	int port;	       /* TCP port; 0: any free port (see gdbstub_port) */
	const char *unix_path; /* if set, listen on this Unix socket instead of TCP */
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
 * from the client never end the session. */
int gdbstub_serve(struct gdbstub *stub);
/* Close the sockets (removing a Unix socket path) and free. NULL is allowed. */
void gdbstub_close(struct gdbstub *stub);

#endif
