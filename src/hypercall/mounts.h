/* mounts.h: the file policy: which host files a guest path reaches (mounts.c).
 *
 * A guest path is resolved against the --mount mappings (config.h: struct
 * mount_spec) and opened beneath the host root of the mapping it falls in; nothing
 * outside every mapping, nothing reached by `..` or a symlink out of it, and no
 * magic link (/proc/self/fd/N) is ever opened. Errors are -errno:
 *   -ENOENT  the path lies in no mapping (or there is none)
 *   -EACCES  it would leave its mapping (`..`, an absolute or escaping symlink, a
 *            procfs link such as /proc/self/fd/N or /dev/fd/N)
 *   -EROFS   a write, creation, truncation or unlink in a `:ro` mapping
 * and otherwise what open(2) or unlink(2) answers.
 */
#ifndef PROXY_MOUNTS_H
#define PROXY_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"

struct mounts;

/* Open the host root of every mapping (once: later renames on the host do not move
 * a mapping). Relative guest paths resolve under `relative_under` when a mapping
 * lies at or in it (the ABI's mount point, "/root" for Hermit 0.6; NULL: none), else
 * under the first directory mapping: at the host's current directory when that
 * lies inside it, else at its root. NULL with a message in err on failure. */
struct mounts *mounts_open(const struct mount_spec *specs, int n, const char *relative_under,
			   char *err, size_t errlen);
void mounts_close(struct mounts *m);

/* open(2) of guest path `path` under the policy: a host fd (O_CLOEXEC) or -errno. */
int mounts_open_path(struct mounts *m, const char *path, int flags, mode_t mode);
/* unlink(2) of guest path `path`: 0 or -errno. */
int mounts_unlink(struct mounts *m, const char *path);

/* mkdir(2) (mode 0777 & ~umask: the guest's mode is never used) of guest path
 * `path`; stat(2) (follow) or lstat(2) of it. 0 or -errno. */
int mounts_mkdir(struct mounts *m, const char *path);
int mounts_stat(struct mounts *m, const char *path, bool follow, struct stat *st);

/* From now on a path in no mapping is the temporary directory's (tempdir.h): the
 * Hermit FDT kernels' rule. Without it, such a path does not exist (-ENOENT).
 * mounts_close closes it (tempdir_close). */
struct tempdir;
void mounts_attach_tempdir(struct mounts *m, struct tempdir *t);
struct tempdir *mounts_tempdir(const struct mounts *m);

/* Resolve with the checked walk instead of openat2 (what a kernel without openat2
 * gets; the unit tests run both). */
void mounts_use_walk(struct mounts *m, bool walk);

#endif
