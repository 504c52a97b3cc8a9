/* peer_uid.h: which local user is on the other end of a debugger connection.
 *
 * The stub listens on loopback TCP (GDB's `target remote :1234`), where the kernel
 * gives no peer credentials. A local client's socket is in /proc/net/tcp{,6} with
 * its owner's uid: the row whose local end is our peer and whose remote end is us,
 * while it is ESTABLISHED (a TIME_WAIT row shows uid 0, root's).
 * The tables are opened once, before proxy confines itself, and re-read per client.
 */
#ifndef GDB_PEER_UID_H
#define GDB_PEER_UID_H

#include <stddef.h>

struct peer_tables {
	int tcp4, tcp6; /* /proc/net/tcp, /proc/net/tcp6; -1 when absent */
};

void peer_tables_open(struct peer_tables *t);
void peer_tables_close(struct peer_tables *t);

#define PEER_UID_UNKNOWN (-1L) /* no row of this connection: a peer on another host */
/* A row of this connection that is not ESTABLISHED (TIME_WAIT and the like show uid
 * 0), two live rows of different owners, or a table that cannot be read or parsed:
 * the peer may be local and its owner is not proven. Always refuse. */
#define PEER_UID_UNPROVEN (-2L)

/* The uid owning the client end of the connected TCP socket `fd`: PEER_UID_UNKNOWN or
 * PEER_UID_UNPROVEN when there is none to prove. */
long peer_uid(const struct peer_tables *t, int fd);

/* The uid in the /proc/net/tcp text whose row in state 01 (ESTABLISHED) has local
 * address `local` and remote address `remote` (both "HEX:PORTHEX", as the kernel
 * prints them); PEER_UID_UNKNOWN if no row has them, else PEER_UID_UNPROVEN.
 * Exposed for the unit tests. */
long peer_uid_in_table(const char *text, const char *local, const char *remote);

#endif
