/* mounts.c: the file policy: guest paths against the --mount mappings.
 *
 * A guest path falls in the mapping whose GUEST_PATH is its longest prefix, compared
 * component by component; what follows is opened beneath that mapping's host root
 * (beneath.c), which was opened once at start. A file mapping keeps its parent
 * directory and its name, so the file is reopened with the guest's flags without
 * following a symlink put there later. `:ro` is checked before anything is opened.
 * A path in no mapping goes to the temporary directory when one is attached
 * (tempdir.c: the Hermit FDT kernels' rule), else it does not exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "mounts.h"
#include "tempdir.h"

struct mount {
	const char *guest; /* normalised, absolute */
	int fd;		   /* O_PATH: the directory, or the mapped file's directory */
	char *file;	   /* a file mapping: its name in fd; NULL: a directory */
	bool ro;
};

struct mounts {
	struct mount *m;
	int n;
	char *cwd;	      /* the guest path relative paths resolve under; NULL: none */
	bool walk;	      /* no openat2 here: the checked walk */
	struct tempdir *temp; /* unmapped paths (uhyve's rule); NULL: -ENOENT */
};

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -1;                                                                         \
	} while (0)

static int open_root(struct mount *m, const struct mount_spec *s, char *err, size_t errlen)
{
	struct stat st;
	if (stat(s->host, &st))
		FAIL("mapping %s:%s: cannot open %s: %s", s->host, s->guest, s->host,
		     strerror(errno));
	m->guest = s->guest;
	m->ro = s->ro;
	m->file = NULL;
	if (S_ISDIR(st.st_mode))
		m->fd = open(s->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else {
		/* The file proper (a symlink the user named is the user's choice), then its
		 * directory and name: realpath gives an absolute path with a '/'. */
		char real[PATH_MAX];
		if (!realpath(s->host, real))
			FAIL("mapping %s:%s: cannot resolve %s: %s", s->host, s->guest, s->host,
			     strerror(errno));
		char *slash = strrchr(real, '/');
		m->file = strdup(slash + 1);
		slash[slash == real] = '\0'; /* "/f" keeps "/" */
		m->fd = m->file ? open(real, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	}
	if (m->fd < 0)
		FAIL("mapping %s:%s: cannot open %s: %s", s->host, s->guest, s->host,
		     strerror(errno));
	return 0;
}

/* The components of `prefix` (normalised) that `path` starts with: the rest of path
 * after them, or NULL when path does not lie under prefix. */
static const char *under(const char *prefix, const char *path)
{
	const char *p = path;
	for (const char *q = prefix + 1; *q;) {
		size_t n = strcspn(q, "/");
		while (*p == '/' || (p[0] == '.' && (p[1] == '/' || !p[1])))
			p++;
		if (strncmp(p, q, n) || (p[n] && p[n] != '/'))
			return NULL;
		p += n;
		q += n;
		q += *q == '/';
	}
	while (*p == '/')
		p++;
	return p;
}

/* The mapping `path` (absolute) falls in and what follows its GUEST_PATH. */
static const struct mount *find(const struct mounts *ms, const char *path, const char **rest)
{
	const struct mount *best = NULL;
	size_t best_len = 0;
	for (int i = 0; i < ms->n; i++) {
		const char *r = under(ms->m[i].guest, path);
		size_t len = strlen(ms->m[i].guest);
		if (r && (!best || len > best_len)) {
			best = &ms->m[i];
			best_len = len;
			*rest = r;
		}
	}
	return best;
}

/* The guest's current directory: the ABI's mount point when a mapping lies at or
 * in it (not merely around it: under `--mount /` a Hermit 0.6 guest's paths stay
 * relative to the host's current directory, as with uhyve), else the first
 * directory mapping, at the host's current directory when that lies inside it. */
static char *guest_cwd(const struct mounts *ms, const struct mount_spec *specs,
		       const char *relative_under)
{
	for (int i = 0; relative_under && i < ms->n; i++)
		if (under(relative_under, ms->m[i].guest))
			return strdup(relative_under);
	for (int i = 0; i < ms->n; i++) {
		if (ms->m[i].file)
			continue;
		char host[PATH_MAX], here[PATH_MAX], *cwd;
		if (!realpath(specs[i].host, host) || !getcwd(here, sizeof(here)))
			return strdup(ms->m[i].guest);
		const char *inside = under(host, here);
		if (!inside || !*inside)
			return strdup(ms->m[i].guest);
		bool root = !strcmp(ms->m[i].guest, "/");
		return asprintf(&cwd, "%s/%s", root ? "" : ms->m[i].guest, inside) < 0 ? NULL : cwd;
	}
	return NULL;
}

struct mounts *mounts_open(const struct mount_spec *specs, int n, const char *relative_under,
			   char *err, size_t errlen)
{
	struct mounts *ms = calloc(1, sizeof(*ms));
	if (!ms || !(ms->m = calloc((size_t)n + 1, sizeof(*ms->m)))) {
		snprintf(err, errlen, "out of memory");
		free(ms);
		return NULL;
	}
	for (; ms->n < n; ms->n++)
		if (open_root(&ms->m[ms->n], &specs[ms->n], err, errlen)) {
			mounts_close(ms);
			return NULL;
		}
	ms->cwd = guest_cwd(ms, specs, relative_under);
	return ms;
}

void mounts_close(struct mounts *ms)
{
	if (!ms)
		return;
	for (int i = 0; i < ms->n; i++) {
		close(ms->m[i].fd);
		free(ms->m[i].file);
	}
	free(ms->m);
	free(ms->cwd);
	tempdir_close(ms->temp);
	free(ms);
}

void mounts_use_walk(struct mounts *ms, bool walk)
{
	ms->walk = walk;
}

void mounts_attach_tempdir(struct mounts *ms, struct tempdir *t)
{
	if (ms->temp != t)
		tempdir_close(ms->temp);
	ms->temp = t;
}

struct tempdir *mounts_tempdir(const struct mounts *ms)
{
	return ms->temp;
}

/* Where `path` leads: its mapping, and in *rest what to open beneath the mapping's
 * fd. A relative path is taken from the guest's current directory (into buf). */
static int locate(const struct mounts *ms, const char *path, char *buf, size_t size,
		  const struct mount **m, const char **rest)
{
	if (path[0] != '/') {
		if (!ms->cwd)
			return -ENOENT;
		if ((size_t)snprintf(buf, size, "%s/%s", ms->cwd, path) >= size)
			return -ENAMETOOLONG;
		path = buf;
	}
	*m = find(ms, path, rest);
	if (!*m)
		return -ENOENT;
	if ((*m)->file) {
		if (**rest)
			return -ENOTDIR; /* a path below a file */
		*rest = (*m)->file;
	}
	return 0;
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | __O_TMPFILE));
}

/* The guest path for the temporary directory: absolute (into buf). */
static const char *temp_path(const char *path, char *buf, size_t size)
{
	if (path[0] == '/')
		return path;
	snprintf(buf, size, "/%s", path);
	return buf;
}

int mounts_open_path(struct mounts *ms, const char *path, int flags, mode_t mode)
{
	char buf[2 * PATH_MAX];
	const struct mount *m;
	const char *rest;
	int rc = locate(ms, path, buf, sizeof(buf), &m, &rest);
	if (rc == -ENOENT && ms->temp) /* permission bits only, as below */
		return tempdir_open(ms->temp, temp_path(path, buf, sizeof(buf)), flags,
				    mode & 0777);
	if (rc)
		return rc;
	if (m->ro && writes(flags))
		return -EROFS;
	if (m->file)
		flags |= O_NOFOLLOW; /* the mapped file itself, not what replaced it */
	/* Permission bits only: a guest never creates setuid, setgid or sticky files, even
	 * when proxy runs as root (a 04755 file there would be a setuid-root program). */
	return beneath_open(m->fd, rest, flags, mode & 0777, &ms->walk);
}

static int in_parent(struct mounts *ms, const struct mount *m, const char *rest, bool make);

int mounts_unlink(struct mounts *ms, const char *path)
{
	char buf[2 * PATH_MAX];
	const struct mount *m;
	const char *rest;
	int rc = locate(ms, path, buf, sizeof(buf), &m, &rest);
	if (rc == -ENOENT && ms->temp)
		return tempdir_unlink(ms->temp, temp_path(path, buf, sizeof(buf)));
	if (rc)
		return rc;
	if (m->ro)
		return -EROFS;
	return in_parent(ms, m, rest, false);
}

int mounts_mkdir(struct mounts *ms, const char *path)
{
	char buf[2 * PATH_MAX];
	const struct mount *m;
	const char *rest;
	int rc = locate(ms, path, buf, sizeof(buf), &m, &rest);
	if (rc == -ENOENT && ms->temp)
		return tempdir_mkdir(ms->temp, temp_path(path, buf, sizeof(buf)));
	if (rc)
		return rc;
	if (m->ro)
		return -EROFS;
	if (m->file || !*rest)
		return -EEXIST; /* the mapping itself */
	return in_parent(ms, m, rest, true);
}

int mounts_stat(struct mounts *ms, const char *path, bool follow, struct stat *st)
{
	char buf[2 * PATH_MAX];
	const struct mount *m;
	const char *rest;
	int rc = locate(ms, path, buf, sizeof(buf), &m, &rest);
	if (rc == -ENOENT && ms->temp)
		return tempdir_stat(ms->temp, temp_path(path, buf, sizeof(buf)), follow, st);
	if (rc)
		return rc;
	int flags = O_PATH | (follow && !m->file ? 0 : O_NOFOLLOW);
	int fd = beneath_open(m->fd, rest, flags, 0, &ms->walk);
	if (fd < 0)
		return fd;
	rc = fstat(fd, st) ? -errno : 0;
	close(fd);
	return rc;
}

/* unlink(2) or mkdir(2) (mode 0777 & ~umask) of `rest` beneath mapping m. */
static int in_parent(struct mounts *ms, const struct mount *m, const char *rest, bool make)
{
	char dir[2 * PATH_MAX];
	/* The parent is resolved beneath the mapping; unlinkat never follows the name. */
	const char *slash = strrchr(rest, '/');
	const char *name = slash ? slash + 1 : rest;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return make ? -EEXIST : -EISDIR;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rest) : 0, rest);
	int dfd = beneath_open(m->fd, dir, O_PATH | O_DIRECTORY, 0, &ms->walk);
	if (dfd < 0)
		return dfd;
	int rc = (make ? mkdirat(dfd, name, 0777) : unlinkat(dfd, name, 0)) ? -errno : 0;
	close(dfd);
	return rc;
}
