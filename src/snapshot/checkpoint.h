/* checkpoint.h: periodic checkpoints (HERMIT_CHECKPOINT), restore (--restore) and
 * migration (--incoming, --migrate-to): the checkpoint streams' sources and
 * destinations around snapshot.h. */
#ifndef PROXY_CHECKPOINT_H
#define PROXY_CHECKPOINT_H

#include <stddef.h>

#include "snapshot.h"

#define RESTORE_MAX_CHAIN 128 /* a full checkpoint comes every CHAIN_FULL_EVERY */
#define CHAIN_FULL_EVERY  64

/* Where a restored guest comes from: checkpoint files, full one first, or one
 * migration socket. */
struct restore_source {
	const char *dir;	  /* NULL: the migration stream */
	struct snap_reader first; /* fds[0], after its configuration (restore_read_config) */
	int n;
	int fds[RESTORE_MAX_CHAIN];
	char names[RESTORE_MAX_CHAIN][1024];
	uint64_t t0_ns;	   /* when the restore began: its verbose line's time counts from it */
	struct vm *loaded; /* restore_load's VM, for restore_confirm's verbose line */
	int files;	   /* how many streams it loaded */
};

/* checkpoint.c. checkpoint_prepare: open (create, mode 0700, owned by the --user)
 * HERMIT_CHECKPOINT_DIR before the sandbox closes the file system (after
 * snapshot_init); it must be that user's and writable by no one else; checkpoint_start: the
 * thread, once the vCPUs run; checkpoint_join after the VM ended. */
void checkpoint_prepare(struct vm *vm);
void checkpoint_start(struct vm *vm);
void checkpoint_join(struct vm *vm);
/* HERMIT_CHECKPOINT_DIR open as fd, `made` by proxy a moment ago or not: with --user a
 * directory proxy made goes to that user, but only if it still is proxy's, private
 * and empty (one put in its place is refused, never given away); then it must be
 * the user's and writable by no one else, and it is made 0700. 0, or -1 with a
 * message. (checkpoint_prepare's; exposed for the unit tests.) */
int checkpoint_claim_dir(int fd, bool made, const struct config *c, char *err, size_t errlen);
/* The chain of checkpoint files that ends at c->restore's latest: the directory and
 * each file must belong to proxy's user (or root) and be writable by no one else,
 * the files regular ones, no symbolic link followed. 0, or -1 with a message. */
int checkpoint_open_latest(const struct config *c, struct restore_source *src, char *err,
			   size_t errlen);
void restore_source_close(struct restore_source *src);

/* restore.c: read the first stream's configuration into *sc and make c describe its
 * VM (then main builds the VM from it; the file policy and environment stay c's),
 * load every stream into the VM, check the host, put the state in; for a
 * migration, confirm to the source. Each ends proxy with a message on failure
 * (nothing has run yet). restore_load reopens the guest's files: after --user. */
void restore_read_config(struct restore_source *src, struct snap_config *sc, struct config *c);
void restore_load(struct vm *vm, struct restore_source *src, const struct snap_config *sc);
/* A migration, once nothing can fail any more (right before the vCPUs start): tell
 * the source the guest is ready here ('R') and wait MIG_CONFIRM_S for its go ('G');
 * without it, end proxy (status 1, a message) with nothing run: the source may
 * have resumed the guest. No-op for files. */
void restore_confirm(struct restore_source *src);

/* migrate.c */
/* Whether the peer of a loopback connection is a user proxy trusts (main.c knows
 * who may); used only without --migration-key, whose handshake proves the peer. */
typedef bool (*mig_peer_check)(int fd, void *ctx);
/* Target: listen on cfg->incoming (loopback only without a key), accept one source
 * that `allowed` lets in or that proves it holds the key: src then reads from it.
 * A connection that fails either (a handshake gets MIG_HANDSHAKE_S, others go on
 * meanwhile) is turned away with a message and the next one waited for; one
 * accepted must deliver the guest within MIG_INCOMING_DEADLINE_S. */
void migrate_accept(const struct config *c, struct restore_source *src, mig_peer_check allowed,
		    void *ctx);
/* The source's set-up, before the sandbox (after snapshot_init): the key (GnuTLS
 * loaded), the target resolved (--migrate-to), who may be a keyless target. */
void migrate_prepare(struct vm *vm, mig_peer_check peer_ok, void *ctx);
/* Send the guest to HOST:PORT (NULL: cfg->migrate_to), live while it runs
 * (mig_live.c) or, with cfg->migrate_downtime_ms 0, stopped first; end the VM with 0
 * once the target is ready ('R') and told to go ('G'). 0, or -1 with a message (no
 * 'R' in MIG_CONFIRM_S or a failure before 'G': the guest goes on here). */
int migrate_send(struct vm *vm, const char *to, char *err, size_t errlen);

#endif
