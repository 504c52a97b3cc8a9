/* tempdir.h: where files a guest creates outside every --mount mapping go (tempdir.c).
 *
 * uhyve's behaviour for the Hermit FDT kernels (hermit-fdt-abi.md section 5): a file
 * created (O_CREAT) or a directory made at a guest path no mapping covers lands in a
 * per-run directory, mode 0700, under a fresh host name, and is registered under its
 * guest path: later opens, unlinks and stats of that path (and of paths below such a
 * directory) reach it. Everything is opened beneath the directory (beneath.c). The
 * private directory is removed with its content when proxy exits, by a small process
 * forked before the sandbox is applied (so it also goes after a kill); a directory the
 * user named (--tempdir) is kept. Errors are -errno. The registry holds at most
 * TEMPDIR_MAX_ENTRIES paths (it is proxy's memory); a create that would add one more
 * is -ENOSPC. Files made below a registered directory take no entry.
 */
#ifndef PROXY_TEMPDIR_H
#define PROXY_TEMPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct tempdir;

#define TEMPDIR_MAX_ENTRIES 65536

/* keep != NULL: that directory (created 0700 if missing), kept at exit. Else a new
 * private one, proxy-XXXXXX under `base` ($TMPDIR; NULL: /tmp), removed at exit.
 * owner_uid/gid (not -1): its owner (--user drops to them later). NULL with a
 * message in err on failure; a directory with a warning in err (else "") when no
 * process could be started to remove it at exit. */
struct tempdir *tempdir_create(const char *keep, const char *base, uid_t owner_uid, gid_t owner_gid,
			       char *err, size_t errlen);
/* Its host path (the sandbox must allow it). */
const char *tempdir_path(const struct tempdir *t);
/* The registry's limit instead of TEMPDIR_MAX_ENTRIES (tests use a small one). */
void tempdir_set_limit(struct tempdir *t, size_t max_entries);
/* Remove a private directory and its content now and wait until it is gone (what
 * exit does; a second call does nothing). A kept directory stays. */
void tempdir_finish(struct tempdir *t);
/* tempdir_finish, then free it (the registry is lost: mounts_close does it). */
void tempdir_close(struct tempdir *t);

/* The guest path's entry, for `path` absolute: open(2) (flags as the guest gave
 * them; O_CREAT of an unknown path makes and registers a new file), unlink(2),
 * mkdir(2) (mode 0777 & ~umask, registered), stat (follow: stat, else lstat). */
int tempdir_open(struct tempdir *t, const char *path, int flags, mode_t mode);
int tempdir_unlink(struct tempdir *t, const char *path);
int tempdir_mkdir(struct tempdir *t, const char *path);
int tempdir_stat(struct tempdir *t, const char *path, bool follow, struct stat *st);

#endif
