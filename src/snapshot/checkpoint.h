/* checkpoint.h: periodic checkpoints (HERMIT_CHECKPOINT), restore (--restore) and
 * cold migration (--incoming, --migrate-to): the checkpoint streams' sources and
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
};

/* checkpoint.c. checkpoint_prepare: open (create) HERMIT_CHECKPOINT_DIR before the
 * sandbox closes the file system (after snapshot_init); checkpoint_start: the
 * thread, once the vCPUs run; checkpoint_join after the VM ended. */
void checkpoint_prepare(struct vm *vm);
void checkpoint_start(struct vm *vm);
void checkpoint_join(struct vm *vm);
/* The chain of checkpoint files that ends at DIR's latest. 0, or -1 with a message. */
int checkpoint_open_latest(const char *dir, struct restore_source *src, char *err, size_t errlen);
void restore_source_close(struct restore_source *src);

/* restore.c: read the first stream's configuration into *sc (then main builds the
 * VM from it), load every stream into the VM, check the host, put the state in;
 * for a migration, confirm to the source. Each ends proxy with a message on failure
 * (nothing has run yet). */
void restore_read_config(struct restore_source *src, struct snap_config *sc);
void restore_load(struct vm *vm, struct restore_source *src, const struct snap_config *sc);
/* A migration: tell the source the guest runs here (once nothing can fail any
 * more: right before the vCPUs start), so it may exit. No-op for files. */
void restore_confirm(struct restore_source *src);

/* migrate.c */
/* Target: listen on cfg->incoming, accept one source that `allowed` lets in (the
 * peer's user: main.c knows who may): src then reads from it. */
void migrate_accept(const struct config *c, struct restore_source *src,
		    bool (*allowed)(int fd, const struct config *c));
/* --migrate-to: resolve the target now, before the sandbox (after snapshot_init). */
void migrate_prepare(struct vm *vm);
/* Send the guest to HOST:PORT (NULL: cfg->migrate_to), end the VM with 0 once the
 * target confirms. 0, or -1 with a message (the guest goes on here). */
int migrate_send(struct vm *vm, const char *to, char *err, size_t errlen);

#endif
