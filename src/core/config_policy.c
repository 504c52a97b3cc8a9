/* config_policy.c: what of the host the guest is given: files (--mount) and the
 * environment (--env, --env-host).
 *
 * The guest is untrusted, so both start empty: it opens only paths under a mapping
 * and sees only the variables named. Each entry is checked here for its form; that
 * a HOST_PATH exists is config_check's (it needs the whole configuration first).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return CONFIG_ERROR;                                                               \
	} while (0)

/* Append `path` (absolute or relative) to the absolute, normalised `out`: empty and
 * "." components go, ".." drops the last one when dotdot allows it. -1: a ".." that
 * is not allowed, or no room. */
static int join_normalised(char *out, size_t size, const char *path, bool dotdot)
{
	size_t len = strlen(out);
	while (*path) {
		size_t n = strcspn(path, "/");
		if (n == 2 && !strncmp(path, "..", 2)) {
			if (!dotdot)
				return -1;
			while (len > 0 && out[len - 1] != '/')
				len--;
			len = len > 1 ? len - 1 : 1;
			out[len] = '\0';
		} else if (n && !(n == 1 && path[0] == '.')) {
			bool root = len == 1;
			if (len + n + 2 > size)
				return -1;
			if (!root)
				out[len++] = '/';
			memcpy(out + len, path, n);
			len += n;
			out[len] = '\0';
		}
		path += n;
		path += *path == '/';
	}
	return 0;
}

/* GUEST_PATH: absolute, normalised; without one, HOST_PATH made absolute (as the
 * user spelled it: symlinks are not resolved, so the guest uses the same name). */
static int guest_path(const char *host, const char *given, const char **out, const char *what,
		      const char *entry, char *err, size_t errlen)
{
	char buf[4096] = "/";
	if (given) {
		if (given[0] != '/')
			FAIL("%s %s: the guest path %s is not absolute (expected "
			     "HOST_PATH[:GUEST_PATH][:ro], GUEST_PATH starting with /)",
			     what, entry, given);
		if (join_normalised(buf, sizeof(buf), given, false))
			FAIL("%s %s: the guest path %s may not contain '..'", what, entry, given);
	} else {
		if (host[0] != '/' && (!getcwd(buf, sizeof(buf)) || buf[0] != '/'))
			FAIL("%s %s: cannot tell the current directory, which the relative "
			     "HOST_PATH %s names",
			     what, entry, host);
		if (join_normalised(buf, sizeof(buf), host, true))
			FAIL("%s %s: the path is too long", what, entry);
	}
	*out = strdup(buf);
	return *out ? CONFIG_OK : CONFIG_ERROR;
}

int parse_mount(const char *entry, struct mount_spec *out, const char *what, char *err,
		size_t errlen)
{
	char *copy = strdup(entry);
	if (!copy)
		FAIL("out of memory");
	char *fields[4] = {NULL};
	int n = 0;
	for (char *p = copy, *f; n < 4 && (f = strsep(&p, ":"));)
		fields[n++] = f;
	const char *given = NULL;
	bool ro = false;
	bool ok = n >= 1 && n <= 3 && *fields[0];
	if (ok && n == 2 && !strcmp(fields[1], "ro"))
		ro = true;
	else if (ok && n >= 2)
		given = fields[1];
	if (ok && n == 3) {
		ok = !strcmp(fields[2], "ro");
		ro = true;
	}
	if (!ok) {
		free(copy);
		FAIL("%s %s is invalid: expected HOST_PATH[:GUEST_PATH][:ro] (e.g. /srv/data, "
		     "/srv/data:/data or /srv/data:/data:ro)",
		     what, entry);
	}
	if (guest_path(fields[0], given, &out->guest, what, entry, err, errlen)) {
		free(copy);
		return CONFIG_ERROR;
	}
	out->host = fields[0];
	out->ro = ro;
	return CONFIG_OK; /* copy lives on in out->host, for the whole run */
}

static int add_mount(struct config *c, const char *entry, const char *what, char *err,
		     size_t errlen)
{
	if (c->nmounts == CONFIG_MAX_MOUNTS) /* each is one Landlock rule, in a fixed list */
		FAIL("%s %s: more than %d mappings; map a common parent directory instead", what,
		     entry, CONFIG_MAX_MOUNTS);
	struct mount_spec *grown = realloc(c->mounts, (c->nmounts + 1) * sizeof(*grown));
	if (!grown)
		FAIL("out of memory");
	c->mounts = grown;
	if (parse_mount(entry, &c->mounts[c->nmounts], what, err, errlen))
		return CONFIG_ERROR;
	c->nmounts++;
	return CONFIG_OK;
}

int config_add_mounts(struct config *c, const char *list, char sep, const char *what, char *err,
		      size_t errlen)
{
	if (!sep)
		return add_mount(c, list, what, err, errlen);
	char *copy = strdup(list);
	if (!copy)
		FAIL("out of memory");
	char seps[2] = {sep, 0};
	int rc = CONFIG_OK;
	for (char *p = copy, *e; !rc && (e = strsep(&p, seps));)
		if (*e) /* "a,,b" or a trailing ',' */
			rc = add_mount(c, e, what, err, errlen);
	free(copy);
	return rc;
}

static int add_env(struct config *c, char *entry, const char *what, char *err, size_t errlen)
{
	if (!*entry || *entry == '=')
		FAIL("%s %s is invalid: expected NAME (the host's value) or NAME=VALUE", what,
		     entry);
	const char **grown = realloc(c->env_entries, (c->nenv_entries + 1) * sizeof(*grown));
	if (!grown)
		FAIL("out of memory");
	c->env_entries = grown;
	c->env_entries[c->nenv_entries++] = entry;
	return CONFIG_OK;
}

/* --env takes one entry as it is (its value may hold spaces); HERMIT_ENV splits at
 * blanks. Each entry is a copy of its own (config_drop_envs frees them). */
int config_add_envs(struct config *c, const char *list, const char *what, char *err, size_t errlen)
{
	char *copy = strdup(list);
	if (!copy)
		FAIL("out of memory");
	if (what[0] == '-') {
		int rc = add_env(c, copy, what, err, errlen);
		if (rc)
			free(copy);
		return rc;
	}
	int rc = CONFIG_OK;
	for (char *p = copy, *e; !rc && (e = strsep(&p, " \t\n"));) {
		char *own = *e ? strdup(e) : NULL;
		if (*e && !own)
			rc = CONFIG_ERROR;
		else if (own && (rc = add_env(c, own, what, err, errlen)))
			free(own);
	}
	free(copy);
	return rc;
}

static const char *env_lookup(char **env, const char *name, size_t n)
{
	for (char **e = env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e;
	return NULL;
}

/* Put `var` (NAME=VALUE) in env[0..*n), replacing a variable of the same name. */
static void env_set(char **env, int *n, char *var)
{
	size_t len = strcspn(var, "=");
	for (int i = 0; i < *n; i++)
		if (!strncmp(env[i], var, len) && env[i][len] == '=') {
			env[i] = var;
			return;
		}
	env[(*n)++] = var;
}

int config_build_environ(struct config *c, char **host_env, char *err, size_t errlen)
{
	static char *none[] = {NULL}; /* the default: nothing to allocate */
	int nhost = 0;
	while (c->env_host && host_env && host_env[nhost])
		nhost++;
	if (!nhost && !c->nenv_entries) {
		c->environ = none;
		return CONFIG_OK;
	}
	char **env = calloc((size_t)nhost + (size_t)c->nenv_entries + 1, sizeof(*env));
	if (!env)
		FAIL("out of memory");
	int n = 0;
	for (int i = 0; i < nhost; i++)
		env[n++] = host_env[i];
	for (int i = 0; i < c->nenv_entries; i++) {
		const char *e = c->env_entries[i];
		/* NAME alone: the host's value; not set on the host, nothing (as docker -e). */
		const char *var = strchr(e, '=') ? e : env_lookup(host_env, e, strlen(e));
		if (var)
			env_set(env, &n, (char *)var);
	}
	env[n] = NULL;
	if (!n) { /* every NAME unset on the host: config_release frees only a non-empty one */
		free(env);
		env = none;
	}
	c->environ = env;
	return CONFIG_OK;
}

void config_drop_mounts(struct config *c)
{
	for (int i = 0; i < c->nmounts; i++) {
		free((char *)c->mounts[i].host);
		free((char *)c->mounts[i].guest);
	}
	free(c->mounts);
	c->mounts = NULL;
	c->nmounts = 0;
}

void config_drop_envs(struct config *c)
{
	for (int i = 0; i < c->nenv_entries; i++)
		free((char *)c->env_entries[i]);
	free(c->env_entries);
	c->env_entries = NULL;
	c->nenv_entries = 0;
}

void config_release(struct config *c)
{
	config_drop_mounts(c);
	config_drop_envs(c);
	if (c->environ && c->environ[0])
		free(c->environ);
	c->environ = NULL;
	free(c->monitor_history_alloc); /* parsing many times (tests, fuzzing) must not leak */
	c->monitor_history_alloc = NULL;
	c->monitor_history = NULL;
}
