/* mig_transport.h: the migration connection: its socket, and with a key its
 * GnuTLS TLS-PSK session. migrate.c and restore.c read and write a plain stream
 * (one end of a socketpair); a thread of this file carries it to the peer, through
 * TLS when a key is given, and enforces the time limits.
 */
#ifndef PROXY_MIG_TRANSPORT_H
#define PROXY_MIG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Time limits (README "Checkpoint, restore and migration"). The test build (make
 * fault) takes seconds instead of minutes, so the tests see the same paths end. */
#ifdef PROXY_FAULT_INJECTION
#define MIG_STALL_S		2 /* a peer that stops sending or reading */
#define MIG_CONFIRM_S		3 /* the source waits this long for the target's 'K' */
#define MIG_INCOMING_DEADLINE_S 6 /* --incoming: the whole guest, from the connection */
#else
#define MIG_STALL_S		60
#define MIG_CONFIRM_S		60
#define MIG_INCOMING_DEADLINE_S 600
#endif

/* A pre-shared key (--migration-key): psktool's "IDENTITY:HEXKEY" line. */
#define MIG_KEY_MAX 64
struct mig_key {
	char identity[128];
	uint8_t key[MIG_KEY_MAX];
	size_t len;
};

/* Read the key file (config_check checked its owner and mode) and load GnuTLS. At
 * start, before the sandbox. 0, or -1 with a message. */
int mig_key_load(const char *path, struct mig_key *k, char *err, size_t errlen);
/* The text of a key file, parsed (exposed for the unit tests and the fuzzer). */
int mig_key_parse(const char *text, struct mig_key *k, char *err, size_t errlen);

/* Whether an address is loopback (127/8, ::1, ::ffff:127/8): no key needed there. */
bool mig_addr_is_loopback(const void *sockaddr);

/* Take over the connected TCP socket `sock` (closed on failure too): with `key`,
 * complete the TLS-PSK handshake (`server`: the --incoming side); then return the
 * fd the caller reads and writes the plain stream on. `deadline_s` (0: none): the
 * carrier gives up that long from now and closes the stream, saying so. -1 with a
 * message when the handshake fails (wrong key, a peer without TLS, no answer). */
int mig_transport_open(int sock, const struct mig_key *key, bool server, unsigned deadline_s,
		       char *err, size_t errlen);

/* Make reads and writes on a socket fail after MIG_STALL_S without progress. */
void mig_set_stall_timeouts(int fd);

#endif
