/* test_config_policy.c: --mount / HERMIT_MOUNT and --env / --env-host / HERMIT_ENV
 * as config_parse reads them, and the refusals that name the entry. */
#include "config.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[4096];

/* Each parse releases what the previous one into the same (static) struct allocated. */
#define PARSE(c, envp, ...)                                                                        \
	({                                                                                         \
		static char *argv_[] = {"proxy", __VA_ARGS__, NULL};                               \
		config_release(c);                                                                 \
		err[0] = 0;                                                                        \
		config_parse((c), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (envp), err, \
			     sizeof(err));                                                         \
	})

#define CHECK_ERR_HAS(s) unit_result(strstr(err, (s)) != NULL, __FILE__, __LINE__, "err has " s)

static int count(char **env)
{
	int n = 0;
	while (env[n])
		n++;
	return n;
}

static struct mount_spec m;

/* parse_mount into m, after freeing what the previous call put there. */
static int pm(const char *entry, const char *what)
{
	free((char *)m.host);
	free((char *)m.guest);
	m.host = m.guest = NULL;
	return parse_mount(entry, &m, what, err, sizeof(err));
}

static void test_parse_mount_forms(void)
{
	CHECK_EQ(pm("/srv/data", "--mount"), CONFIG_OK);
	CHECK_STR(m.host, "/srv/data");
	CHECK_STR(m.guest, "/srv/data");
	CHECK(!m.ro);
	CHECK_EQ(pm("/srv/data:/data", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/data");
	CHECK_EQ(pm("/srv/data:/data:ro", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/data");
	CHECK(m.ro);
	CHECK_EQ(pm("/srv/data:ro", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/srv/data");
	CHECK(m.ro);
	/* The guest path is normalised: no "//", ".", trailing '/'. */
	CHECK_EQ(pm("/x://a/./b/:ro", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/a/b");
	CHECK_EQ(pm("/x:/", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/");
	CHECK_EQ(pm("/", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, "/");
	/* A relative HOST_PATH gives an absolute guest path: the current directory's. */
	char cwd[4096], want[4200];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ(pm(".", "--mount"), CONFIG_OK);
	CHECK_STR(m.guest, cwd);
	snprintf(want, sizeof(want), "%s/d", cwd);
	CHECK_EQ(pm("./d/", "--mount"), CONFIG_OK);
	CHECK_STR(m.host, "./d/");
	CHECK_STR(m.guest, want);
}

static void test_parse_mount_refused(void)
{
	static const char *bad[] = {"",	       ":/data",     "/a:/b:rw", "/a:/b:ro:x",
				    "/a:data", "/a:/b/../c", "/a::ro"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(pm(bad[i], "--mount"), CONFIG_ERROR);
		CHECK_ERR_HAS("--mount");
	}
	pm("/a:/b:rw", "HERMIT_MOUNT");
	CHECK_ERR_HAS("HERMIT_MOUNT /a:/b:rw is invalid: expected HOST_PATH[:GUEST_PATH][:ro]");
	pm("/a:data", "--mount");
	CHECK_ERR_HAS("the guest path data is not absolute");
	pm("/a:/b/../c", "--mount");
	CHECK_ERR_HAS("may not contain '..'");
}

static void test_mounts_from_env_and_flags(void)
{
	static struct config c;
	char *env[] = {"HERMIT_MOUNT=/:/host:ro,,/tmp:/t,", NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(c.nmounts, 2);
	CHECK_STR(c.mounts[0].guest, "/host");
	CHECK(c.mounts[0].ro);
	CHECK_STR(c.mounts[1].host, "/tmp");
	CHECK_STR(c.mounts[1].guest, "/t");
	/* The flags replace the variable as a whole. */
	static struct config d;
	CHECK_EQ(PARSE(&d, env, "--mount", "/tmp", "--mount", "/:/r:ro", "img"), CONFIG_OK);
	CHECK_EQ(d.nmounts, 2);
	CHECK_STR(d.mounts[0].guest, "/tmp");
	CHECK_STR(d.mounts[1].guest, "/r");
	CHECK(d.mounts[1].ro);
	CHECK(d.mounts_from_flag);
}

static void test_mount_host_checked(void)
{
	static struct config c;
	char *env[] = {NULL};
	CHECK_EQ(PARSE(&c, env, "--mount", "/no/such/dir:/data", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--mount: the host path /no/such/dir (mapped to /data in the guest) does "
		      "not exist");
	char *env2[] = {"HERMIT_MOUNT=/no/such", NULL};
	CHECK_EQ(PARSE(&c, env2, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HERMIT_MOUNT: the host path /no/such");
	CHECK_EQ(PARSE(&c, env, "--mount", "/tmp:/d", "--mount", "/:/d", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("the guest path /d is mapped twice");
}

static void test_env_default_empty(void)
{
	static struct config c;
	char *env[] = {"PATH=/bin", "USER=u", "HERMIT_CPUS=2", NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(count(c.environ), 0);
	CHECK_EQ(c.ncpus, 2);
}

static void test_env_entries(void)
{
	static struct config c;
	char *env[] = {"PATH=/bin", "USER=u", NULL};
	CHECK_EQ(PARSE(&c, env, "--env", "USER", "--env", "A=b c", "--env", "UNSET", "--env",
		       "E=", "img"),
		 CONFIG_OK);
	CHECK_EQ(count(c.environ), 3);
	CHECK_STR(c.environ[0], "USER=u");
	CHECK_STR(c.environ[1], "A=b c");
	CHECK_STR(c.environ[2], "E=");
	/* HERMIT_ENV splits at blanks; a flag replaces it as a whole. */
	char *env2[] = {"PATH=/bin", "HERMIT_ENV=PATH  X=1\tY=2 ", NULL};
	CHECK_EQ(PARSE(&c, env2, "img"), CONFIG_OK);
	CHECK_EQ(count(c.environ), 3);
	CHECK_STR(c.environ[0], "PATH=/bin");
	CHECK_STR(c.environ[1], "X=1");
	CHECK_STR(c.environ[2], "Y=2");
	CHECK_EQ(PARSE(&c, env2, "--env", "Z=3", "img"), CONFIG_OK);
	CHECK_EQ(count(c.environ), 1);
	CHECK_STR(c.environ[0], "Z=3");
	/* A later entry for the same name wins. */
	CHECK_EQ(PARSE(&c, env, "--env", "A=1", "--env", "A=2", "img"), CONFIG_OK);
	CHECK_EQ(count(c.environ), 1);
	CHECK_STR(c.environ[0], "A=2");
}

static void test_env_host(void)
{
	static struct config c;
	char *env[] = {"PATH=/bin", "HERMIT_CPUS=2", "USER=h", NULL};
	CHECK_EQ(PARSE(&c, env, "--env-host", "img"), CONFIG_OK);
	CHECK_EQ(count(c.environ), 3); /* HERMIT_* included, as the seed forwarded them */
	CHECK_STR(c.environ[1], "HERMIT_CPUS=2");
	CHECK_EQ(PARSE(&c, env, "--env-host", "--env", "USER=guest", "--env", "NEW=1", "img"),
		 CONFIG_OK);
	CHECK_EQ(count(c.environ), 4);
	CHECK_STR(c.environ[2], "USER=guest");
	CHECK_STR(c.environ[3], "NEW=1");
}

static void test_env_refused(void)
{
	static struct config c;
	char *env[] = {NULL};
	CHECK_EQ(PARSE(&c, env, "--env", "=x", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--env =x is invalid: expected NAME (the host's value) or NAME=VALUE");
	CHECK_EQ(PARSE(&c, env, "--env", "", "img"), CONFIG_ERROR);
	CHECK_EQ(PARSE(&c, env, "--env-host=1", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("option --env-host takes no value");
	/* 128 variables named: more than the ABI passes. */
	static char *many[130];
	static char names[128][16];
	for (int i = 0; i < 128; i++) {
		snprintf(names[i], sizeof(names[i]), "V%d=x", i);
		many[i] = names[i];
	}
	CHECK_EQ(PARSE(&c, many, "img"), CONFIG_OK); /* not forwarded: fine */
	CHECK_EQ(PARSE(&c, many, "--env-host", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("128 variables");
}

/* Each mapping becomes a Landlock rule in a fixed-size list: past the limit, a message. */
static void test_mount_count_limited(void)
{
	static struct config c;
	static char list[4096];
	size_t n = 0;
	for (int i = 0; i <= CONFIG_MAX_MOUNTS; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "/tmp:/m%d,", i);
	char var[4200];
	snprintf(var, sizeof(var), "HERMIT_MOUNT=%s", list);
	char *env[] = {var, NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("more than 32 mappings");
	list[strlen(list) - strlen("/tmp:/m32,")] = 0; /* exactly the limit */
	snprintf(var, sizeof(var), "HERMIT_MOUNT=%s", list);
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(c.nmounts, CONFIG_MAX_MOUNTS);
}

int main(void)
{
	test_parse_mount_forms();
	test_parse_mount_refused();
	test_mounts_from_env_and_flags();
	test_mount_host_checked();
	test_mount_count_limited();
	test_env_default_empty();
	test_env_entries();
	test_env_host();
	test_env_refused();
	return unit_report();
}
