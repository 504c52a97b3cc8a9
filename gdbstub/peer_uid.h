/* peer_uid.h: which local user is on the other end of a debugger connection.
 *
 * The stub listens on loopback TCP (GDB's `target remote :1234`), where the kernel
 * gives no peer credentials. A local client's socket is in /proc/net/tcp{,6} with
 * its owner's uid: the row whose local end is our peer and whose remote end is us.
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

#define PEER_UID_UNKNOWN (-1L) /* not a local socket (a remote host), or already gone */

/* The uid owning the client end of the connected TCP socket `fd`, or PEER_UID_UNKNOWN. */
long peer_uid(const struct peer_tables *t, int fd);

/* The uid in the /proc/net/tcp text whose row has local address `local` and remote
 * address `remote` (both "HEX:PORTHEX", as the kernel prints them), else
 * PEER_UID_UNKNOWN. Exposed for the unit tests. */
long peer_uid_in_table(const char *text, const char *local, const char *remote);

#endif
