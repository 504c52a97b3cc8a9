/* tempdir.c: the per-run directory for files a guest creates at unmapped paths.
 *
 * The registry maps guest paths (normalised, absolute) to names in the directory;
 * a registered directory also covers the paths below it, so a guest that makes
 * /scratch and then creates /scratch/a finds a listing with `a` in it. Host names
 * are a counter and the guest's last component (readable in a kept --tempdir),
 * created with O_EXCL so a kept directory's old files are never reused.
 *
 * The registry holds at most TEMPDIR_MAX_ENTRIES entries (a create beyond it is
 * -ENOSPC): it lives in proxy's memory and a guest must not grow it without end.
 * Lookups go through a hash table of the guest paths, seeded per run so a guest
 * cannot aim its paths at one chain; "below a registered directory" looks up each
 * of the path's '/' prefixes, so no lookup scans the registry.
 *
 * Removal at exit goes through the core's exit remover: proxy is sandboxed by then
 * (Landlock would refuse the rmdir of the directory itself, which needs a right on
 * its parent) and may end by a fatal signal.
 */
#include "tempdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "exit_remover.h"

struct temp_entry {
	struct temp_entry *next; /* in its hash chain */
	uint64_t hash;		 /* of guest */
	size_t len;		 /* strlen(guest) */
	char *guest;		 /* normalised absolute guest path */
	char *host;		 /* its name in the directory */
	bool dir;
};

struct tempdir {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	int fd; /* O_PATH of the directory */
	bool keep;
	bool made; /* by proxy (not a --tempdir that existed): handed to --user */
	bool walk; /* beneath.c: no openat2 here */
	unsigned counter;
	struct temp_entry **bucket; /* hash chains; nbuckets a power of two */
	size_t nbuckets, n, max;
	uint64_t seed;
	struct exit_remover *remover; /* NULL: kept */
};

void tempdir_finish(struct tempdir *t)
{
	if (t)
		exit_remover_finish(t->remover);
}

void tempdir_close(struct tempdir *t)
{
	if (!t)
		return;
	tempdir_finish(t);
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct temp_entry *e = t->bucket[i], *next; e; e = next) {
			next = e->next;
			free(e->guest);
			free(e->host);
			free(e);
		}
	free(t->bucket);
	close(t->fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* A private directory under base, or the kept one (made if missing). */
static int make_dir(struct tempdir *t, const char *keep, const char *base, char *err, size_t errlen)
{
	if (keep) {
		if (snprintf(t->path, sizeof(t->path), "%s", keep) >= (int)sizeof(t->path)) {
			snprintf(err, errlen, "--tempdir %s: path too long", keep);
			return -1;
		}
		t->made = mkdir(keep, 0700) == 0;
		if (!t->made && errno != EEXIST) {
			snprintf(err, errlen, "--tempdir %s: cannot create it: %s", keep,
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!base || !*base)
		base = "/tmp";
	if (snprintf(t->path, sizeof(t->path), "%s/proxy-XXXXXX", base) >= (int)sizeof(t->path) ||
	    !mkdtemp(t->path)) {
		snprintf(err, errlen, "cannot create a temporary directory in %s: %s", base,
			 errno ? strerror(errno) : "path too long");
		return -1;
	}
	t->made = true;
	return 0;
}

struct tempdir *tempdir_create(const char *keep, const char *base, uid_t owner_uid, gid_t owner_gid,
			       char *err, size_t errlen)
{
	err[0] = '\0';
	struct tempdir *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->max = TEMPDIR_MAX_ENTRIES;
	/* The seed only spreads the chains: a fallback when there is no entropy is fine. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)t;
	t->keep = keep != NULL;
	t->fd = -1;
	if (make_dir(t, keep, base, err, errlen))
		goto fail;
	t->fd = open(t->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		goto fail_made;
	}
	if (owner_uid != (uid_t)-1 && t->made && chown(t->path, owner_uid, owner_gid)) {
		snprintf(err, errlen, "%s: cannot hand it to uid %u: %s", t->path,
			 (unsigned)owner_uid, strerror(errno));
		goto fail_made;
	}
	/* Without a shell the run goes on; the directory then outlives it (err says so). */
	if (!t->keep && !(t->remover = exit_remover_spawn(t->path, NULL, err, errlen)))
		snprintf(err + strlen(err), errlen - strlen(err), "; it will stay after exit");
	return t;
fail_made:
	if (!t->keep)
		rmdir(t->path);
fail:
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return NULL;
}

const char *tempdir_path(const struct tempdir *t)
{
	return t->path;
}

void tempdir_set_limit(struct tempdir *t, size_t max_entries)
{
	pthread_mutex_lock(&t->lock);
	t->max = max_entries;
	pthread_mutex_unlock(&t->lock);
}

/* `path` (absolute) without "//", "." and "..": into out, "/" at least. */
static int normalise(const char *path, char *out, size_t size)
{
	size_t len = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			len -= len > 0; /* and its '/' */
		} else {
			if (len + 1 + n + 1 > size)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* FNV-1a over bytes, from state h: the state of a path's prefix carries on to the
 * whole path, so all '/' prefixes hash in one pass. */
static uint64_t hash_more(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* The final hash of a state: every bit of it reaches the chain index. */
static uint64_t hash_end(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t hash_start(const struct tempdir *t)
{
	return 0xcbf29ce484222325ULL ^ t->seed;
}

/* With the lock: the entry registered as exactly guest[0..len) (hash its hash), or NULL. */
static struct temp_entry *lookup(struct tempdir *t, const char *guest, size_t len, uint64_t hash)
{
	if (!t->nbuckets)
		return NULL;
	for (struct temp_entry *e = t->bucket[hash & (t->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && e->len == len && !memcmp(e->guest, guest, len))
			return e;
	return NULL;
}

static struct temp_entry *find_exact(struct tempdir *t, const char *guest)
{
	size_t len = strlen(guest);
	return lookup(t, guest, len, hash_end(hash_more(hash_start(t), guest, len)));
}

/* With the lock: where `guest` lies in the directory (into rel): its own entry or
 * below a registered directory (the longest). 0, or -ENOENT when nothing covers it. */
static int resolve(struct tempdir *t, const char *guest, char *rel, size_t size)
{
	struct temp_entry *e = find_exact(t, guest);
	if (e) {
		snprintf(rel, size, "%s", e->host);
		return 0;
	}
	const struct temp_entry *best = NULL;
	uint64_t h = hash_start(t);
	size_t done = 0;
	for (const char *slash = strchr(guest + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - guest);
		h = hash_more(h, guest + done, len - done);
		done = len;
		struct temp_entry *d = lookup(t, guest, len, hash_end(h));
		if (d && d->dir)
			best = d;
	}
	if (!best)
		return -ENOENT;
	if ((size_t)snprintf(rel, size, "%s%s", best->host, guest + best->len) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Double the chains once they are as many as the entries (and at the first entry). */
static int grow(struct tempdir *t)
{
	if (t->n < t->nbuckets)
		return 0;
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 16;
	struct temp_entry **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct temp_entry *e = t->bucket[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = nb;
	return 0;
}

static int add_entry(struct tempdir *t, const char *guest, const char *host, bool dir)
{
	if (grow(t))
		return -ENOMEM;
	struct temp_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->guest = strdup(guest)) || !(e->host = strdup(host))) {
		if (e)
			free(e->guest);
		free(e);
		return -ENOMEM;
	}
	e->len = strlen(guest);
	e->hash = hash_end(hash_more(hash_start(t), guest, e->len));
	e->dir = dir;
	e->next = t->bucket[e->hash & (t->nbuckets - 1)];
	t->bucket[e->hash & (t->nbuckets - 1)] = e;
	t->n++;
	return 0;
}

static void drop_entry(struct tempdir *t, struct temp_entry *e)
{
	struct temp_entry **at = &t->bucket[e->hash & (t->nbuckets - 1)];
	while (*at != e)
		at = &(*at)->next;
	*at = e->next;
	free(e->guest);
	free(e->host);
	free(e);
	t->n--;
}

/* A fresh host name for guest path `guest`: "<n>-<its last component>", kept to
 * portable characters. */
static void new_name(struct tempdir *t, const char *guest, char *out, size_t size)
{
	const char *last = strrchr(guest, '/');
	last = last ? last + 1 : guest;
	int len = snprintf(out, size, "%u-", ++t->counter);
	for (const char *c = last; *c && len + 1 < (int)size && c - last < 48; c++)
		out[len++] = (strchr("-_.", *c) || (*c >= '0' && *c <= '9') ||
			      ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z'))
				     ? *c
				     : '_';
	out[len] = '\0';
}

/* Make a new entry for `guest` (a file opened with flags/mode, or a directory). */
static int create_entry(struct tempdir *t, const char *guest, bool dir, int flags, mode_t mode)
{
	if (t->n >= t->max)
		return -ENOSPC;
	for (int tries = 0; tries < 1000; tries++) {
		char name[80];
		new_name(t, guest, name, sizeof(name));
		int fd = dir ? (mkdirat(t->fd, name, 0777) ? -errno : 0)
			     : beneath_open(t->fd, name, flags | O_CREAT | O_EXCL, mode, &t->walk);
		if (fd == -EEXIST)
			continue; /* a kept directory's file of an earlier run */
		if (fd < 0)
			return fd;
		int rc = add_entry(t, guest, name, dir);
		if (rc) {
			if (!dir)
				close(fd);
			unlinkat(t->fd, name, dir ? AT_REMOVEDIR : 0);
			return rc;
		}
		return fd;
	}
	return -EEXIST;
}

int tempdir_open(struct tempdir *t, const char *path, int flags, mode_t mode)
{
	char guest[PATH_MAX], rel[2 * PATH_MAX];
	int rc = normalise(path, guest, sizeof(guest));
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	rc = resolve(t, guest, rel, sizeof(rel));
	if (rc == 0)
		rc = beneath_open(t->fd, rel, flags, mode, &t->walk);
	else if (rc == -ENOENT && (flags & O_CREAT))
		rc = strcmp(guest, "/") ? create_entry(t, guest, false, flags, mode) : -EISDIR;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* With the lock: unlink or make (a directory) `rel`'s last component, in its parent
 * opened beneath the directory. */
static int at_parent(struct tempdir *t, const char *rel, bool mkdir_it)
{
	const char *slash = strrchr(rel, '/');
	char dir[2 * PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	const char *name = slash ? slash + 1 : rel;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	int dfd = *dir ? beneath_open(t->fd, dir, O_PATH | O_DIRECTORY, 0, &t->walk)
		       : fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return *dir ? dfd : -errno;
	int rc = mkdir_it ? mkdirat(dfd, name, 0777) : unlinkat(dfd, name, 0);
	rc = rc ? -errno : 0;
	close(dfd);
	return rc;
}

int tempdir_unlink(struct tempdir *t, const char *path)
{
	char guest[PATH_MAX], rel[2 * PATH_MAX];
	int rc = normalise(path, guest, sizeof(guest));
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	struct temp_entry *e = find_exact(t, guest);
	if (e && e->dir) {
		rc = -EISDIR;
	} else if (e) {
		rc = unlinkat(t->fd, e->host, 0) ? -errno : 0;
		if (rc == 0 || rc == -ENOENT)
			drop_entry(t, e);
	} else {
		rc = resolve(t, guest, rel, sizeof(rel));
		if (rc == 0)
			rc = at_parent(t, rel, false);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int tempdir_mkdir(struct tempdir *t, const char *path)
{
	char guest[PATH_MAX], rel[2 * PATH_MAX];
	int rc = normalise(path, guest, sizeof(guest));
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (!strcmp(guest, "/") || find_exact(t, guest))
		rc = -EEXIST;
	else if ((rc = resolve(t, guest, rel, sizeof(rel))) == 0)
		rc = at_parent(t, rel, true);
	else if (rc == -ENOENT)
		rc = create_entry(t, guest, true, 0, 0);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int tempdir_stat(struct tempdir *t, const char *path, bool follow, struct stat *st)
{
	char guest[PATH_MAX], rel[2 * PATH_MAX];
	int rc = normalise(path, guest, sizeof(guest));
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	rc = resolve(t, guest, rel, sizeof(rel));
	int fd =
		rc ? rc : beneath_open(t->fd, rel, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, &t->walk);
	pthread_mutex_unlock(&t->lock);
	if (fd < 0)
		return fd;
	rc = fstat(fd, st) ? -errno : 0;
	close(fd);
	return rc;
}
