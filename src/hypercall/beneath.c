/* beneath.c: open a path beneath a directory and nowhere else.
 *
 * The guest chooses the path, so `..`, symlinks it planted and procfs's magic links
 * (/proc/self/fd/N reopens proxy's own descriptors) must not lead out of the mapped
 * tree. openat2 does it in the kernel, race-free; where it is missing (Linux before
 * 5.6), the walk opens one component at a time with O_PATH | O_NOFOLLOW, holding
 * each directory open, so a rename or a symlink swapped in meanwhile cannot move it
 * out either.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"

#define MAX_DEPTH 256 /* directories held open by the walk (PATH_MAX / 16) */
#define MAX_LINKS 40  /* symlinks followed in one resolution, as Linux */

static bool on_procfs(int fd)
{
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

/* The walk's state: the directories from the root down (dirs[0] is the root, not
 * ours to close) and the path still to go. */
struct walk {
	int dirs[MAX_DEPTH];
	int depth;
	char path[2 * PATH_MAX];
	int links;
};

static void walk_release(struct walk *w)
{
	while (w->depth > 0)
		close(w->dirs[w->depth--]);
}

/* The next component of w->path into name (NUL-terminated), w->path advanced past
 * it; false when none is left. Empty and "." components are skipped. */
static bool next_component(struct walk *w, char name[NAME_MAX + 2], bool *last)
{
	char *p = w->path;
	for (;;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0) {
			w->path[0] = '\0';
			return false;
		}
		if (n == 1 && p[0] == '.') {
			p++;
			continue;
		}
		if (n > NAME_MAX)
			n = NAME_MAX + 1; /* openat gives ENAMETOOLONG */
		memcpy(name, p, n);
		name[n] = '\0';
		p += strcspn(p, "/");
		memmove(w->path, p, strlen(p) + 1);
		const char *q = w->path;
		while (*q == '/' || (q[0] == '.' && (q[1] == '/' || !q[1])))
			q++;
		*last = !*q;
		return true;
	}
}

/* A symlink met on the way: its target goes in front of what is left. */
static int follow_link(struct walk *w, int fd)
{
	char target[PATH_MAX];
	if (on_procfs(fd))
		return -EACCES; /* magic links: proxy's own descriptors, cwd, root */
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (++w->links > MAX_LINKS)
		return -ELOOP;
	if (target[0] == '/')
		return -EACCES; /* as RESOLVE_BENEATH: absolute targets would leave the tree */
	char rest[sizeof(w->path)];
	int len = snprintf(rest, sizeof(rest), "%s/%s", target, w->path);
	if (len < 0 || (size_t)len >= sizeof(rest))
		return -ENAMETOOLONG;
	memcpy(w->path, rest, (size_t)len + 1);
	return 0;
}

/* One intermediate component: go down into it, up for "..", or follow a link. */
static int step(struct walk *w, const char *name)
{
	int cur = w->dirs[w->depth];
	if (!strcmp(name, "..")) {
		if (w->depth == 0)
			return -EACCES;
		close(w->dirs[w->depth--]);
		return 0;
	}
	int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) ? -errno : 0;
	if (!rc && S_ISLNK(st.st_mode))
		rc = follow_link(w, fd);
	else if (!rc && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	else if (!rc && w->depth + 1 >= MAX_DEPTH)
		rc = -ENAMETOOLONG;
	else if (!rc) {
		w->dirs[++w->depth] = fd;
		return 0;
	}
	close(fd);
	return rc;
}

/* The last component: open it, following it only if it is a symlink that stays
 * inside (then *again is set and the walk goes on). */
static int last_step(struct walk *w, const char *name, int flags, mode_t mode, bool *again)
{
	int cur = w->dirs[w->depth];
	*again = false;
	if (!strcmp(name, "..")) {
		int rc = step(w, name);
		if (rc)
			return rc;
		int fd = openat(w->dirs[w->depth], ".", flags, mode);
		return fd < 0 ? -errno : fd;
	}
	int probe = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (probe >= 0) {
		struct stat st;
		int rc = fstat(probe, &st) ? -errno : 0;
		if (!rc && S_ISLNK(st.st_mode) && !(flags & O_NOFOLLOW)) {
			rc = follow_link(w, probe);
			close(probe);
			*again = rc == 0;
			return rc;
		}
		close(probe);
		if (rc)
			return rc;
	}
	/* O_NOFOLLOW: a symlink swapped in since the probe is refused (ELOOP), not followed. */
	int fd = openat(cur, name, flags | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : fd;
}

static int walk_open(int root, const char *path, int flags, mode_t mode)
{
	struct walk w;
	w.dirs[0] = root;
	w.depth = 0;
	w.links = 0;
	if (snprintf(w.path, sizeof(w.path), "%s", path) >= (int)sizeof(w.path))
		return -ENAMETOOLONG;
	char name[NAME_MAX + 2];
	bool last, again;
	int rc = 0;
	for (;;) {
		if (!next_component(&w, name, &last)) {
			/* Nothing (left): the directory reached itself. */
			rc = openat(w.dirs[w.depth], ".", flags, mode);
			rc = rc < 0 ? -errno : rc;
			break;
		}
		if (!last) {
			rc = step(&w, name);
			if (rc)
				break;
			continue;
		}
		rc = last_step(&w, name, flags, mode, &again);
		if (!again)
			break;
	}
	walk_release(&w);
	return rc;
}

static int openat2_beneath(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned)flags,
		/* openat2 refuses a mode without O_CREAT or O_TMPFILE; open ignores it. */
		.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int beneath_open(int root, const char *path, int flags, mode_t mode, bool *walk)
{
	flags |= O_CLOEXEC;
	if (*walk)
		return walk_open(root, path, flags, mode);
	int rc = openat2_beneath(root, path, flags, mode);
	if (rc == -ENOSYS) {
		*walk = true;
		return walk_open(root, path, flags, mode);
	}
	if (rc == -EXDEV)
		return -EACCES; /* the path would leave the tree */
	if (rc == -ELOOP) {
		/* A magic link, or a real loop: the walk tells which, without opening it. */
		int probe = walk_open(root, path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW), 0);
		if (probe >= 0)
			close(probe);
		return probe == -EACCES ? -EACCES : -ELOOP;
	}
	return rc;
}
