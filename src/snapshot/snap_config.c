/* snap_config.c: the CONFIG section: what the VM was built from, so a restore can
 * build the same one. Text, one `key=value` line each, values with '%', TAB and
 * newline written as %25, %09, %0a:
 *   image=PATH  image_size=N  image_crc=N  abi=rusty|c|hermit-entry|hermit-fdtN  guest_base=N
 *   arg=VALUE (the guest's argv, in order)  mount=ro|rw<TAB>HOST<TAB>GUEST
 * vCPUs and memory are in the header. Unknown keys are skipped (a later version
 * may add some). The mount lines say what the guest ran with; a restore never
 * takes them as its file policy (that is its own --mount). */
#include "snap_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_abi.h"
#include "hermit_abi.h"

static const struct {
	const char *name;
	int choice;
} abis[] = {{"rusty", ABI_RUSTY},
	    {"c", ABI_C},
	    {"hermit-entry", ABI_HERMIT_ENTRY},
	    {"hermit-fdt1", ABI_HERMIT_FDT1},
	    {"hermit-fdt2", ABI_HERMIT_FDT2},
	    {"hermit-fdt3", ABI_HERMIT_FDT3}};

static void put_escaped(struct snap_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '\t' || *s == '\n') {
			char e[4];
			snprintf(e, sizeof(e), "%%%02x", (unsigned char)*s);
			snap_buf_put(b, e, 3);
		} else {
			snap_buf_put(b, s, 1);
		}
	}
}

static void put_line(struct snap_buf *b, const char *key, const char *value)
{
	snap_buf_put(b, key, strlen(key));
	snap_buf_put(b, "=", 1);
	put_escaped(b, value);
	snap_buf_put(b, "\n", 1);
}

/* Size and CRC-32 of the image open as fd: a restore refuses another image. Only
 * a regular file, and no more than its size: a checkpoint may name a FIFO or
 * /dev/zero. pread: the offset is left alone. */
static int identity_of_fd(int fd, uint64_t *size, uint32_t *crc)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	enum { CHUNK = 1 << 16 };
	uint8_t *buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	ssize_t n = 0;
	*size = 0, *crc = 0;
	while (*size < (uint64_t)st.st_size && (n = pread(fd, buf, CHUNK, (off_t)*size)) > 0) {
		*crc = snap_crc32(*crc, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	int e = n < 0 ? errno : 0;
	free(buf);
	return -e;
}

/* The image's size and CRC, read once, at the first save: a run that never saves
 * (most debugging sessions) does not read its image twice at start. */
static int known_image(struct snapshot *s, char *err, size_t errlen)
{
	if (s->image_known)
		return 0;
	int rc = s->image_fd < 0 ? -EBADF
				 : identity_of_fd(s->image_fd, &s->image_size, &s->image_crc);
	if (rc)
		return snprintf(err, errlen, "the unikernel %s: %s", s->image_path, strerror(-rc)),
		       -1;
	s->image_known = true;
	return 0;
}

int snap_config_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen)
{
	const struct config *c = vm->cfg;
	char num[32];
	if (known_image(vm->snap, err, errlen))
		return -1;
	put_line(b, "image", vm->snap->image_path);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)vm->snap->image_size);
	put_line(b, "image_size", num);
	snprintf(num, sizeof(num), "%u", vm->snap->image_crc);
	put_line(b, "image_crc", num);
	put_line(b, "abi", vm->abi->name);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)vm->mem.base);
	put_line(b, "guest_base", num);
	for (int i = 0; i < c->guest_argc; i++)
		put_line(b, "arg", c->guest_argv[i]);
	for (int i = 0; i < c->nmounts; i++) {
		snap_buf_put(b, "mount=", 6);
		snap_buf_put(b, c->mounts[i].ro ? "ro\t" : "rw\t", 3);
		/* Absolute: a restore may start in another directory. */
		char *abs = realpath(c->mounts[i].host, NULL);
		put_escaped(b, abs ? abs : c->mounts[i].host);
		free(abs);
		snap_buf_put(b, "\t", 1);
		put_escaped(b, c->mounts[i].guest);
		snap_buf_put(b, "\n", 1);
	}
	if (b->failed)
		return snprintf(err, errlen, "out of memory"), -1;
	return 0;
}

int snap_config_open_image(struct snapshot *s, const char *path, int image_fd, char *err,
			   size_t errlen)
{
	s->image_path = realpath(path, NULL); /* a restore may start in another directory */
	if (!s->image_path)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	/* The file the VM was built from, not what the path names by now; read at the
	 * first save (known_image). */
	s->image_fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 0);
	return s->image_fd < 0 ? (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1) : 0;
}

/* Undo put_escaped in place; false for a malformed escape. */
static bool unescape(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		unsigned v;
		if (sscanf(s + 1, "%2x", &v) != 1 || !s[1] || !s[2])
			return false;
		*out++ = (char)v;
		s += 2;
	}
	*out = 0;
	return true;
}

/* A guest path as the configuration makes them (config_policy.c): absolute and
 * normalised, no empty, "." or ".." component, no trailing '/'. */
static bool guest_path_ok(const char *g)
{
	if (g[0] != '/')
		return false;
	if (!g[1])
		return true;
	for (const char *p = g + 1;;) {
		size_t n = strcspn(p, "/");
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/* A mount record: only what the guest ran with, never this proxy's policy; still
 * held to the configuration's own limits (32 mappings, absolute guest paths). */
static int add_mount(struct snap_config *sc, char *value)
{
	char *host = strchr(value, '\t'), *guest = host ? strchr(host + 1, '\t') : NULL;
	if (!host || !guest || sc->nmounts >= CONFIG_MAX_MOUNTS)
		return -1;
	*host++ = 0, *guest++ = 0;
	if (strcmp(value, "ro") && strcmp(value, "rw"))
		return -1;
	struct mount_spec *m = realloc(sc->mounts, (size_t)(sc->nmounts + 1) * sizeof(*m));
	if (!m)
		return -1;
	sc->mounts = m;
	char *h = strdup(host), *g = strdup(guest);
	if (!h || !g || !unescape(h) || !unescape(g) || !*h || !guest_path_ok(g)) {
		free(h);
		free(g);
		return -1;
	}
	m[sc->nmounts++] = (struct mount_spec){.host = h, .guest = g, .ro = !strcmp(value, "ro")};
	return 0;
}

static int add_arg(struct snap_config *sc, const char *value)
{
	if (sc->guest_argc >= HERMIT_MAX_ARGC)
		return -1; /* what the guest ABI passes, as for a fresh boot */
	char **a = realloc(sc->guest_argv, (size_t)(sc->guest_argc + 2) * sizeof(*a));
	if (!a)
		return -1;
	sc->guest_argv = a;
	char *arg = strdup(value);
	if (!arg || !unescape(arg)) {
		free(arg);
		return -1;
	}
	a[sc->guest_argc++] = arg;
	a[sc->guest_argc] = NULL;
	return 0;
}

static int take_line(struct snap_config *sc, char *line)
{
	char *value = strchr(line, '=');
	if (!value)
		return -1;
	*value++ = 0;
	if (!strcmp(line, "image")) {
		if (sc->image) /* one image: a second line is malformed, not a leak */
			return -1;
		return (sc->image = strdup(value)) && unescape(sc->image) && *sc->image ? 0 : -1;
	}
	if (!strcmp(line, "image_size"))
		return sc->image_size = strtoull(value, NULL, 10), 0;
	if (!strcmp(line, "image_crc"))
		return sc->image_crc = (uint32_t)strtoul(value, NULL, 10), 0;
	if (!strcmp(line, "arg"))
		return add_arg(sc, value);
	if (!strcmp(line, "mount"))
		return add_mount(sc, value);
	if (!strcmp(line, "guest_base"))
		return sc->has_guest_base = true, sc->guest_base = strtoull(value, NULL, 10), 0;
	if (!strcmp(line, "abi")) {
		for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++)
			if (!strcmp(value, abis[i].name))
				return sc->abi = abis[i].choice, 0;
		return -1;
	}
	return 0;
}

int snap_config_parse(const void *payload, uint64_t len, struct snap_config *sc, char *err,
		      size_t errlen)
{
	char *text = malloc(len + 1);
	if (!text)
		return snprintf(err, errlen, "out of memory"), -1;
	if (len) /* an empty section has no payload (NULL) */
		memcpy(text, payload, len);
	text[len] = 0;
	int rc = strlen(text) != len ? -1 : 0; /* a NUL inside would cut a line short */
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save))
		rc = take_line(sc, line);
	free(text);
	if (rc || !sc->image || !sc->abi || sc->guest_argc < 1)
		return snprintf(err, errlen, "its configuration section is malformed"), -1;
	return 0;
}

/* The groups of `c->user`, as initgroups would set them (at least its group). */
static gid_t *user_groups(const struct config *c, int *n)
{
	*n = 16;
	gid_t *g = malloc(sizeof(*g) * (size_t)*n);
	while (g && getgrouplist(c->user, c->user_gid, g, n) < 0) {
		gid_t *more = realloc(g, sizeof(*g) * (size_t)*n);
		if (!more)
			free(g);
		g = more;
	}
	if (g && *n < 1)
		g[0] = c->user_gid, *n = 1;
	return g;
}

/* Open path read-only with the rights of the user proxy will run as. With --user
 * (proxy being root until its drop), for the open alone proxy takes that user's
 * effective uid, gid and groups, then root's back: the kernel checks the path's
 * directories and the file itself as for that user (ACLs, mounts, links included),
 * and there is no gap between a check and the open. A checkpoint the user planted
 * reaches no file the user could not open. -1 with a message when the rights
 * cannot be taken; otherwise 0 and *fd (-1: the user cannot open it). */
static int open_as_user(const struct config *c, const char *path, int *fd, char *err, size_t errlen)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK; /* a FIFO: refuse, not wait */
	if (!c->user || geteuid() == c->user_uid)
		return *fd = open(path, flags), 0;
	uid_t euid = geteuid();
	gid_t egid = getegid();
	int nsaved = getgroups(0, NULL), nuser = 0;
	gid_t *saved = nsaved >= 0 ? malloc(sizeof(*saved) * (size_t)(nsaved + 1)) : NULL;
	gid_t *groups = user_groups(c, &nuser);
	if (!saved || !groups || getgroups(nsaved, saved) != nsaved) {
		free(saved);
		free(groups);
		return snprintf(err, errlen, "--user %s: cannot read the groups: %s", c->user,
				strerror(errno)),
		       -1;
	}
	int rc = setgroups((size_t)nuser, groups) || setegid(c->user_gid) || seteuid(c->user_uid);
	int e = errno;
	*fd = rc ? -1 : open(path, flags);
	if (seteuid(euid) || setegid(egid) || setgroups((size_t)nsaved, saved))
		die("--user %s: cannot take root's rights back after opening the image as %s: %s",
		    c->user, c->user, strerror(errno));
	free(saved);
	free(groups);
	if (rc)
		return snprintf(err, errlen,
				"--user %s: cannot take its rights to open the image: %s", c->user,
				strerror(e)),
		       -1;
	return 0;
}

/* The image the checkpoint names, opened once with the rights of the user proxy
 * runs as (a checkpoint may name any path): a regular file with the size and CRC-32
 * it had when saved. One message for every failure, which tells nothing about the
 * file that user could not learn. The fd is what the VM is built from. */
int snapshot_check_image(struct snap_config *sc, const struct config *c, char *err, size_t errlen)
{
	uint64_t size = 0;
	uint32_t crc = 0;
	int fd;
	if (open_as_user(c, sc->image, &fd, err, errlen))
		return -1;
	if (fd < 0 || identity_of_fd(fd, &size, &crc) || size != sc->image_size ||
	    crc != sc->image_crc) {
		if (fd >= 0)
			close(fd);
		return snprintf(
			       err, errlen,
			       "the image the checkpoint names, %s, cannot be used: it is missing, "
			       "not a regular file, unreadable by %s, or not the unikernel the "
			       "checkpoint ran (restore needs that same image)",
			       sc->image, c->user ? c->user : "proxy's user"),
		       -1;
	}
	if (sc->image_fd >= 0)
		close(sc->image_fd);
	sc->image_fd = fd;
	return 0;
}

/* -c and -m cannot change a running guest: one that contradicts the checkpoint is
 * refused rather than ignored. */
int snapshot_apply_config(const struct snap_config *sc, struct config *c, char *err, size_t errlen)
{
	if (c->ncpus_given && c->ncpus != sc->header.ncpus)
		return snprintf(err, errlen,
				"the checkpoint's guest has %u vCPUs: -c/HERMIT_CPUS %u cannot "
				"change that (leave it out)",
				sc->header.ncpus, c->ncpus),
		       -1;
	if (c->mem_given && c->mem_size != sc->header.mem_size)
		return snprintf(err, errlen,
				"the checkpoint's guest has %llu MiB of memory: -m/HERMIT_MEM "
				"cannot change that (leave it out)",
				(unsigned long long)(sc->header.mem_size >> 20)),
		       -1;
	c->image = sc->image;
	c->abi = (enum abi_choice)sc->abi;
	c->guest_base_set = sc->has_guest_base;
	c->guest_base = sc->guest_base;
	c->ncpus = sc->header.ncpus;
	c->mem_size = sc->header.mem_size;
	c->guest_argc = sc->guest_argc;
	c->guest_argv = sc->guest_argv;
	return 0;
}

void snapshot_free_config(struct snap_config *sc)
{
	free(sc->image);
	for (int i = 0; i < sc->nmounts; i++) {
		free((char *)sc->mounts[i].host);
		free((char *)sc->mounts[i].guest);
	}
	free(sc->mounts);
	for (int i = 0; i < sc->guest_argc; i++)
		free(sc->guest_argv[i]);
	free(sc->guest_argv);
	memset(sc, 0, sizeof(*sc));
	sc->image_fd = -1; /* not closed: main hands it to the image loader */
}
