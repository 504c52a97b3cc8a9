/* exit_remover.h: remove a path when proxy ends, however it ends (exit_remover.c). */
#ifndef PROXY_EXIT_REMOVER_H
#define PROXY_EXIT_REMOVER_H

#include <stddef.h>
#include <sys/stat.h>

struct exit_remover;

/* Start the remover of `path` (before the sandbox and any --user drop). With `same`,
 * only a file with that device and inode is removed (rm -f: a later run's file
 * at the same path stays); without, whatever is there, recursively (rm -rf).
 * NULL with err set when /bin/sh cannot be started. */
struct exit_remover *exit_remover_spawn(const char *path, const struct stat *same, char *err,
					size_t errlen);

/* Remove now and wait until it is done (also run at exit); idempotent. */
void exit_remover_finish(struct exit_remover *r);

#endif
