/* beneath.h: open a relative path without leaving a directory (beneath.c). */
#ifndef PROXY_BENEATH_H
#define PROXY_BENEATH_H

#include <stdbool.h>
#include <sys/types.h>

/* open(2) of `path` (relative) beneath the directory `root`: `..` past root, an
 * absolute symlink, a symlink leading out, and any link in procfs (magic links
 * such as /proc/self/fd/N) give -EACCES; otherwise a new fd (O_CLOEXEC) or what
 * open(2) answers, as -errno. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * unless *walk is set; a kernel without openat2 sets it, and from then on a
 * component-by-component walk (O_PATH | O_NOFOLLOW) does the same. */
int beneath_open(int root, const char *path, int flags, mode_t mode, bool *walk);

#endif
