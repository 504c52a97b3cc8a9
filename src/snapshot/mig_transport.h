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
#define MIG_CONFIRM_S		3 /* each end waits this long for the other's 'R' / 'G' */
#define MIG_INCOMING_DEADLINE_S 6 /* the whole guest, from the connection (both ends) */
#define MIG_HANDSHAKE_S		2 /* --incoming: a peer's TLS handshake */
#else
#define MIG_STALL_S		60
#define MIG_CONFIRM_S		60
#define MIG_INCOMING_DEADLINE_S 600
#define MIG_HANDSHAKE_S		10
#endif

/* A pre-shared key (--migration-key): psktool's "IDENTITY:HEXKEY" line. */
#define MIG_KEY_MAX 64
struct mig_key {
	char identity[128];
	uint8_t key[MIG_KEY_MAX];
	size_t len;
};

/* Read the key file and load GnuTLS. At start, before the sandbox. The file is
 * opened once (no symlink, no FIFO) and that descriptor checked as config_check
 * checked the path: a regular file of this effective uid or of `other_uid` (--user's;
 * -1: none) that nobody else may read or write. 0, or -1 with a message. */
int mig_key_load(const char *path, long other_uid, struct mig_key *k, char *err, size_t errlen);
/* The text of a key file, parsed (exposed for the unit tests and the fuzzer). */
int mig_key_parse(const char *text, struct mig_key *k, char *err, size_t errlen);

/* Whether an address is loopback (127/8, ::1, ::ffff:127/8): no key needed there. */
bool mig_addr_is_loopback(const void *sockaddr);

/* Take over the connected TCP socket `sock` (closed on failure too): with `key`,
 * complete the TLS-PSK handshake (at most MIG_STALL_S); then return the fd the
 * caller reads and writes the plain stream on. The carrier gives up
 * MIG_INCOMING_DEADLINE_S from now and closes the stream, saying so. -1 with a
 * message when the handshake fails (wrong key, a peer without TLS, no answer).
 * The source's side (--migrate-to); --incoming uses mig_conn_*. */
int mig_transport_open(int sock, const struct mig_key *key, char *err, size_t errlen);

/* --incoming's connections, several at once: each accepted socket becomes a
 * mig_conn whose TLS handshake (MIG_HANDSHAKE_S at most) advances whenever its
 * socket is ready, so one silent peer holds up no other. */
struct mig_conn;
/* Take over `sock` (closed on failure too); NULL with a message. */
struct mig_conn *mig_conn_start(int sock, const struct mig_key *key, char *err, size_t errlen);
/* What to poll the socket for now, and the CLOCK_MONOTONIC ns its handshake ends. */
int mig_conn_fd(const struct mig_conn *m);
short mig_conn_events(const struct mig_conn *m);
uint64_t mig_conn_deadline_ns(const struct mig_conn *m);
/* One step of the handshake: 1 done, 0 not yet, -1 failed or out of time (a
 * message; free it then). */
int mig_conn_step(struct mig_conn *m, char *err, size_t errlen);
/* A finished handshake: start the carrier (the whole guest within
 * MIG_INCOMING_DEADLINE_S from now) and return the plain stream's fd, or -1. */
int mig_conn_finish(struct mig_conn *m, char *err, size_t errlen);
void mig_conn_free(struct mig_conn *m);
uint64_t mig_mono_ns(void);

/* Make reads and writes on a socket fail after MIG_STALL_S without progress. */
void mig_set_stall_timeouts(int fd);

#endif
