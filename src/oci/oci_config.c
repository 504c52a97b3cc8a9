/* oci_config.c: a bundle's config.json into proxy's command line.
 *
 * The table in README "Running under container engines" is this file's contract:
 * process.args[0] is the Hermit ELF inside root.path (resolved inside it, never
 * outside), the rest the guest's arguments; process.env the guest's variables and
 * nothing else; the root file system and bind mounts become --mount; the memory
 * limit the guest RAM, the CPU quota (or org.hermit.cpus) the vCPUs. The kernel
 * file systems engines add for a Linux process (proc, sysfs, tmpfs, ...) mean
 * nothing to a unikernel and are skipped; fields about Linux processes (user, cwd,
 * capabilities, namespaces, seccomp, ...) are accepted and ignored; hooks and any
 * other mount type are refused, so nothing the engine asked for is dropped silently.
 */
#include "oci.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hermit_abi.h"

/* proxy's limit on --mount (CONFIG_MAX_MOUNTS: one Landlock rule each). */
#define OCI_MAX_MOUNTS 32

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 2, 3))) static int plan_add(struct oci_plan *p, const char *fmt, ...)
{
	if (p->argc + 2 > p->cap) {
		int cap = p->cap ? 2 * p->cap : 16;
		char **grown = realloc(p->argv, (size_t)cap * sizeof(*grown));
		if (!grown)
			return -1;
		p->argv = grown;
		p->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&p->argv[p->argc], fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	p->argv[++p->argc] = NULL;
	return 0;
}

void oci_plan_free(struct oci_plan *plan)
{
	for (int i = 0; i < plan->argc; i++)
		free(plan->argv[i]);
	free(plan->argv);
	memset(plan, 0, sizeof(*plan));
}

int oci_check_hermit_elf(int fd, const char *path, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	ssize_t n = pread(fd, &eh, sizeof(eh), 0);
	if (n < 0)
		return fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	if ((size_t)n < EI_NIDENT || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail(err, errlen, "%s is not a Hermit image: not an ELF file", path);
	if ((size_t)n < sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "%s is not a Hermit image: not a 64-bit ELF file", path);
	if (eh.e_ident[EI_OSABI] != HERMIT_ELFOSABI)
		return fail(err, errlen,
			    "%s is not a Hermit image: ELF OSABI is 0x%02x, a Hermit unikernel's "
			    "is 0xff (proxy-oci runs Hermit unikernels, not Linux programs)",
			    path, eh.e_ident[EI_OSABI]);
	if (eh.e_machine != EM_X86_64)
		return fail(err, errlen, "%s is not an x86-64 Hermit image (e_machine %u)", path,
			    eh.e_machine);
	return 0;
}

static const char *str_field(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A path proxy's --mount can carry (HOST[:GUEST][:ro]: no ':' or ','). */
static int mount_path_ok(const char *what, const char *path, char *err, size_t errlen)
{
	if (!path || !*path)
		return fail(err, errlen, "%s: missing", what);
	if (strpbrk(path, ":,"))
		return fail(err, errlen, "%s %s: paths with ':' or ',' cannot be mapped", what,
			    path);
	return 0;
}

/* args[0] opened inside the root file system (symlinks and .. stay in it), checked
 * to be a Hermit image; its host path in elf (malloc'd). */
static int find_elf(const char *rootfs, const char *arg0, char **elf, char *err, size_t errlen)
{
	int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return fail(err, errlen, "root.path %s: %s", rootfs, strerror(errno));
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	int fd = (int)syscall(SYS_openat2, root, arg0, &how, sizeof(how));
	int e = errno;
	close(root);
	if (fd < 0)
		return fail(err, errlen,
			    "process.args[0] %s: %s in the image (root.path %s); it must name the "
			    "Hermit unikernel",
			    arg0, e == ENOENT ? "no such file" : strerror(e), rootfs);
	struct stat st;
	char link[64], host[4096];
	int rc = fstat(fd, &st) ? fail(err, errlen, "%s: %s", arg0, strerror(errno))
		 : !S_ISREG(st.st_mode)
			 ? fail(err, errlen, "process.args[0] %s is not a regular file", arg0)
			 : oci_check_hermit_elf(fd, arg0, err, errlen);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = rc ? -1 : readlink(link, host, sizeof(host) - 1);
	if (!rc && n < 0)
		rc = fail(err, errlen, "%s: cannot tell its path: %s", arg0, strerror(errno));
	close(fd);
	if (rc)
		return rc;
	host[n] = 0;
	*elf = strdup(host);
	return *elf ? 0 : fail(err, errlen, "out of memory");
}

static int map_memory(const json_t *resources, struct oci_plan *p, char *err, size_t errlen)
{
	json_t *limit = json_object_get(json_object_get(resources, "memory"), "limit");
	if (!limit || json_is_null(limit))
		return 0;
	if (!json_is_integer(limit))
		return fail(err, errlen, "linux.resources.memory.limit: not an integer");
	json_int_t v = json_integer_value(limit);
	if (v <= 0) /* -1: unlimited; proxy's default RAM */
		return 0;
	if ((unsigned long long)v < OCI_MIN_MEM)
		return fail(err, errlen,
			    "linux.resources.memory.limit %lld is too small: a Hermit guest "
			    "needs at least 4 MiB",
			    (long long)v);
	if ((unsigned long long)v > OCI_MAX_MEM)
		return fail(err, errlen,
			    "linux.resources.memory.limit %lld is too large: proxy maps at most "
			    "%llu GiB",
			    (long long)v, OCI_MAX_MEM >> 30);
	return plan_add(p, "-m") || plan_add(p, "%lld", (long long)v) ? -1 : 0;
}

/* vCPUs: the annotation, else the CFS quota rounded up (--cpus 1.5: 2). */
static int map_cpus(const json_t *config, const json_t *resources, struct oci_plan *p, char *err,
		    size_t errlen)
{
	const char *a = str_field(json_object_get(config, "annotations"), OCI_CPUS_ANNOTATION);
	long long n = 0;
	if (a) {
		char *end;
		errno = 0;
		n = strtoll(a, &end, 10);
		if (errno || end == a || *end || n < 1 || n > OCI_MAX_CPUS)
			return fail(err, errlen,
				    "annotation " OCI_CPUS_ANNOTATION "=%s: expected a number of "
				    "vCPUs from 1 to %d",
				    a, OCI_MAX_CPUS);
	} else {
		const json_t *cpu = json_object_get(resources, "cpu");
		json_t *quota = json_object_get(cpu, "quota"),
		       *period = json_object_get(cpu, "period");
		json_int_t q = json_integer_value(quota), per = json_integer_value(period);
		if (json_is_integer(quota) && q > 0) {
			if (per <= 0)
				per = 100000;	      /* the kernel's default CFS period */
			n = q / per + (q % per != 0); /* rounded up; q + per may overflow */
		}
		if (n > OCI_MAX_CPUS)
			return fail(
				err, errlen,
				"linux.resources.cpu: quota %lld per period %lld is %lld vCPUs; "
				"proxy runs at most %d",
				(long long)q, (long long)per, n, OCI_MAX_CPUS);
	}
	if (!n)
		return 0;
	return plan_add(p, "-c") || plan_add(p, "%lld", n) ? -1 : 0;
}

static bool has_option(const json_t *options, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(options, i, o) if (json_is_string(o) &&
					      !strcmp(json_string_value(o), name)) return true;
	return false;
}

/* Kernel file systems engines mount for any Linux process; a unikernel has its own. */
static bool linux_only_type(const char *type)
{
	static const char *const types[] = {
		"proc",	   "sysfs",    "tmpfs",	     "devpts",	  "mqueue",  "shm", "cgroup",
		"cgroup2", "devtmpfs", "securityfs", "hugetlbfs", "debugfs", NULL};
	for (int i = 0; types[i]; i++)
		if (!strcmp(type, types[i]))
			return true;
	return false;
}

static int map_mount(const json_t *m, size_t i, struct oci_plan *p, char *err, size_t errlen)
{
	const char *type = str_field(m, "type"), *src = str_field(m, "source");
	const char *dst = str_field(m, "destination");
	const json_t *options = json_object_get(m, "options");
	char what[64];
	snprintf(what, sizeof(what), "mounts[%zu]", i);
	if (!json_is_object(m) || !dst || dst[0] != '/')
		return fail(err, errlen, "%s: destination must be an absolute path", what);
	bool bind = (type && !strcmp(type, "bind")) || has_option(options, "bind") ||
		    has_option(options, "rbind");
	if (!bind && type && linux_only_type(type))
		return 0;
	if (!bind)
		return fail(err, errlen,
			    "%s (%s on %s): mount type %s is not supported; a Hermit guest gets "
			    "host directories and files through bind mounts only",
			    what, src ? src : "?", dst, type ? type : "(none)");
	if (mount_path_ok(what, src, err, errlen) || mount_path_ok(what, dst, err, errlen))
		return -1;
	struct stat st;
	if (src[0] != '/' || stat(src, &st))
		return fail(err, errlen, "%s: bind mount source %s: %s", what, src,
			    src[0] != '/' ? "not an absolute path" : strerror(errno));
	return plan_add(p, "--mount") || plan_add(p, "%s:%s%s", src, dst,
						  has_option(options, "ro") ? ":ro" : "")
		       ? -1
		       : 0;
}

static int map_env(const json_t *env, struct oci_plan *p, char *err, size_t errlen)
{
	size_t i;
	json_t *e;
	if (env && !json_is_array(env))
		return fail(err, errlen, "process.env: not an array");
	if (json_array_size(env) > HERMIT_MAX_ENVC)
		return fail(err, errlen,
			    "process.env: %zu variables; a Hermit guest takes at most %d",
			    json_array_size(env), HERMIT_MAX_ENVC);
	json_array_foreach(env, i, e)
	{
		const char *v = json_string_value(e);
		if (!v || !strchr(v, '=') || v[0] == '=')
			return fail(err, errlen, "process.env[%zu]: expected KEY=value", i);
		if (plan_add(p, "--env") || plan_add(p, "%s", v))
			return -1;
	}
	return 0;
}

/* The hooks run Linux programs around the container's life; none would see a guest. */
static int refuse_hooks(const json_t *hooks, char *err, size_t errlen)
{
	const char *kind;
	json_t *list;
	json_object_foreach((json_t *)hooks, kind, list) if (json_array_size(list)) return fail(
		err, errlen, "hooks.%s: hooks are not supported by proxy-oci", kind);
	return 0;
}

static int map_root(const char *bundle, const json_t *config, char **rootfs, struct oci_plan *p,
		    char *err, size_t errlen)
{
	const json_t *root = json_object_get(config, "root");
	const char *path = str_field(root, "path");
	if (!path || !*path)
		return fail(err, errlen, "root.path: missing");
	if (path[0] == '/')
		*rootfs = strdup(path);
	else if (asprintf(rootfs, "%s/%s", bundle, path) < 0)
		*rootfs = NULL;
	if (!*rootfs)
		return fail(err, errlen, "out of memory");
	if (mount_path_ok("root.path", *rootfs, err, errlen))
		return -1;
	/* The image's files are the guest's at /, as a container's are. */
	bool ro = json_is_true(json_object_get(root, "readonly"));
	return plan_add(p, "--mount") || plan_add(p, "%s:/%s", *rootfs, ro ? ":ro" : "") ? -1 : 0;
}

static int check_process(const json_t *config, const json_t **args, char *err, size_t errlen)
{
	const char *version = str_field(config, "ociVersion");
	if (!version || strncmp(version, "1.", 2))
		return fail(err, errlen, "ociVersion %s: proxy-oci supports 1.x",
			    version ? version : "missing");
	const json_t *process = json_object_get(config, "process");
	if (!json_is_object(process))
		return fail(err, errlen, "process: missing");
	*args = json_object_get(process, "args");
	if (!json_is_array(*args) || !json_array_size(*args))
		return fail(err, errlen,
			    "process.args: missing or empty (args[0] names the Hermit "
			    "unikernel in the image)");
	size_t i;
	json_t *a;
	if (json_array_size(*args) > HERMIT_MAX_ARGC)
		return fail(err, errlen,
			    "process.args: %zu arguments; a Hermit guest takes at most %d",
			    json_array_size(*args), HERMIT_MAX_ARGC);
	json_array_foreach(*args, i, a) if (!json_is_string(a)) return fail(
		err, errlen, "process.args[%zu]: not a string", i);
	if (!*json_string_value(json_array_get(*args, 0)))
		return fail(err, errlen, "process.args[0]: empty");
	return 0;
}

static int build(const char *bundle, const json_t *config, const char *proxy, struct oci_plan *p,
		 char **rootfs, char **elf, char *err, size_t errlen)
{
	const json_t *args = NULL, *process = json_object_get(config, "process");
	const json_t *resources = json_object_get(json_object_get(config, "linux"), "resources");
	if (check_process(config, &args, err, errlen) ||
	    refuse_hooks(json_object_get(config, "hooks"), err, errlen))
		return -1;
	if (plan_add(p, "%s", proxy) || map_root(bundle, config, rootfs, p, err, errlen) ||
	    find_elf(*rootfs, json_string_value(json_array_get(args, 0)), elf, err, errlen) ||
	    map_memory(resources, p, err, errlen) || map_cpus(config, resources, p, err, errlen))
		return -1;
	const json_t *mounts = json_object_get(config, "mounts");
	if (mounts && !json_is_array(mounts))
		return fail(err, errlen, "mounts: not an array");
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) if (map_mount(m, i, p, err, errlen)) return -1;
	int nmounts = 0;
	for (int a = 0; a < p->argc; a++)
		nmounts += !strcmp(p->argv[a], "--mount");
	if (nmounts > OCI_MAX_MOUNTS)
		return fail(err, errlen,
			    "mounts: %d bind mounts and the root; proxy maps at most %d (bind a "
			    "common parent directory instead)",
			    nmounts - 1, OCI_MAX_MOUNTS);
	if (map_env(json_object_get(process, "env"), p, err, errlen))
		return -1;
	p->terminal = json_is_true(json_object_get(process, "terminal"));
	if (plan_add(p, "--") || plan_add(p, "%s", *elf))
		return -1;
	for (i = 1; i < json_array_size(args); i++)
		if (plan_add(p, "%s", json_string_value(json_array_get(args, i))))
			return -1;
	return 0;
}

int oci_plan_build(const char *bundle, const json_t *config, const char *proxy,
		   struct oci_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	char *rootfs = NULL, *elf = NULL;
	err[0] = 0;
	if (!json_is_object(config))
		return fail(err, errlen, "config.json: not a JSON object");
	int rc = build(bundle, config, proxy, plan, &rootfs, &elf, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "out of memory");
	if (rc)
		oci_plan_free(plan);
	free(rootfs);
	free(elf);
	return rc;
}
