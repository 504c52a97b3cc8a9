/* test_config.c: the HERMIT_* value parsers and config_parse (environment, flags,
 * guest argv, refusals that name the variable). */
#include "config.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[4096];

/* config_parse over a NULL-terminated argv (argv[0] = "proxy") and envp. */
#define PARSE(c, envp, ...)                                                                        \
	({                                                                                         \
		static char *argv_[] = {"proxy", __VA_ARGS__, NULL};                               \
		err[0] = 0;                                                                        \
		config_parse((c), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (envp), err, \
			     sizeof(err));                                                         \
	})

#define CHECK_ERR_HAS(s) unit_result(strstr(err, (s)) != NULL, __FILE__, __LINE__, "err has " s)

/* --help and --version print to stdout: catch it in a file instead. */
static char out[8192];
static int saved_stdout = -1;
static FILE *out_file;

static void capture_begin(void)
{
	fflush(stdout);
	out_file = tmpfile();
	saved_stdout = dup(1);
	dup2(fileno(out_file), 1);
}

static void capture_end(void)
{
	fflush(stdout);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	rewind(out_file);
	out[fread(out, 1, sizeof(out) - 1, out_file)] = 0;
	fclose(out_file);
}

static void test_parse_mem_size(void)
{
	uint64_t v = 7;
	CHECK_EQ(parse_mem_size("512M", &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(parse_mem_size("4g", &v), 0);
	CHECK_EQ(v, 4ULL << 30);
	CHECK_EQ(parse_mem_size("1T", &v), 0);
	CHECK_EQ(v, 1ULL << 40);
	CHECK_EQ(parse_mem_size("64K", &v), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(parse_mem_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(parse_mem_size("16777215T", &v), 0); /* the largest that fits */
	CHECK_EQ(v, 16777215ULL << 40);
	CHECK_EQ(parse_mem_size("12Q", &v), -1);
	CHECK_EQ(parse_mem_size("", &v), -1);
	CHECK_EQ(parse_mem_size("M", &v), -1);
	CHECK_EQ(parse_mem_size("0", &v), -1);
	CHECK_EQ(parse_mem_size("0M", &v), -1);
	CHECK_EQ(parse_mem_size("512MB", &v), -1);
	CHECK_EQ(parse_mem_size("-1M", &v), -1);
	CHECK_EQ(parse_mem_size(" 1M", &v), -1);
	CHECK_EQ(parse_mem_size("16777216T", &v), -1);
	CHECK_EQ(parse_mem_size("99999999999T", &v), -1);
	CHECK_EQ(parse_mem_size("99999999999999999999999", &v), -1);
	CHECK_EQ(parse_mem_size(NULL, &v), -1);
}

static void test_parse_small(void)
{
	unsigned long u = 9;
	CHECK_EQ(parse_uint("0", 10, &u), 0);
	CHECK_EQ(u, 0);
	CHECK_EQ(parse_uint("512", 512, &u), 0);
	CHECK_EQ(u, 512);
	CHECK_EQ(parse_uint("513", 512, &u), -1);
	CHECK_EQ(parse_uint("abc", 512, &u), -1);
	CHECK_EQ(parse_uint("12x", 512, &u), -1);
	CHECK_EQ(parse_uint("-1", 512, &u), -1);
	CHECK_EQ(parse_uint("", 512, &u), -1);
	CHECK_EQ(parse_uint("99999999999999999999999", ~0UL, &u), -1);
	CHECK_EQ(u, 512);

	uint8_t ip[4] = {0};
	CHECK_EQ(parse_ipv4("10.0.5.2", ip), 0);
	CHECK_MEM(ip, ((uint8_t[]){10, 0, 5, 2}), 4);
	CHECK_EQ(parse_ipv4("255.255.255.255", ip), 0);
	CHECK_MEM(ip, ((uint8_t[]){255, 255, 255, 255}), 4);
	CHECK_EQ(parse_ipv4("256.0.0.1", ip), -1);
	CHECK_EQ(parse_ipv4("1.2.3", ip), -1);
	CHECK_EQ(parse_ipv4("1.2.3.4x", ip), -1);
	CHECK_EQ(parse_ipv4("1.2.3.4.5", ip), -1);
	CHECK_EQ(parse_ipv4("", ip), -1);

	uint8_t mac[6] = {0};
	CHECK_EQ(parse_mac("52:54:00:ab:CD:ef", mac), 0);
	CHECK_MEM(mac, ((uint8_t[]){0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}), 6);
	CHECK_EQ(parse_mac("52-54-00-ab-cd-ef", mac), -1);
	CHECK_EQ(parse_mac("52:54:00:ab:cd", mac), -1);
	CHECK_EQ(parse_mac("52:54:00:ab:cd:efa", mac), -1);
	CHECK_EQ(parse_mac("5g:54:00:ab:cd:ef", mac), -1);

	bool b = false;
	const char *yes[] = {"1", "true", "YES", "On"};
	const char *no[] = {"0", "false", "No", "OFF", ""};
	for (size_t i = 0; i < 4; i++) {
		b = false;
		CHECK(parse_bool(yes[i], &b) == 0 && b);
	}
	for (size_t i = 0; i < 5; i++) {
		b = true;
		CHECK(parse_bool(no[i], &b) == 0 && !b);
	}
	CHECK_EQ(parse_bool("2", &b), -1);
	CHECK_EQ(parse_bool("maybe", &b), -1);
}

static void test_defaults(void)
{
	struct config c;
	char *env[] = {"PATH=/bin", NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(c.ncpus, 1);
	CHECK_EQ(c.mem_size, 512ULL << 20);
	CHECK_EQ(c.gdb_port, 1234);
	CHECK_STR(c.gdb_bind, "127.0.0.1");
	CHECK(c.hugepage);
	CHECK(!c.verbose && !c.debug && !c.mergeable && !c.host_info);
	CHECK(!c.ip_set && !c.gateway_set && !c.mask_set && !c.mac_set && !c.netif);
	CHECK_EQ(c.abi, ABI_AUTO);
	CHECK_STR(c.image, "img");
	CHECK_EQ(c.guest_argc, 1);
	CHECK_STR(c.guest_argv[0], "img");
	CHECK(c.guest_argv[1] == NULL);
	CHECK(c.environ && c.environ[0] == NULL); /* nothing of the host by default */
	CHECK_EQ(c.nmounts, 0);
}

static void test_env(void)
{
	struct config c;
	char *env[] = {"HERMIT_CPUS=4",
		       "HERMIT_MEM=2g",
		       "HERMIT_VERBOSE=1",
		       "HERMIT_DEBUG=yes",
		       "HERMIT_DEBUG_PORT=4444",
		       "HERMIT_DEBUG_ADDR=0.0.0.0",
		       "HERMIT_HUGEPAGE=0",
		       "HERMIT_MERGEABLE=1",
		       "HERMIT_IP=10.0.5.2",
		       "HERMIT_GATEWAY=10.0.5.1",
		       "HERMIT_MASK=255.255.255.0",
		       "HERMIT_NETIF=tap0",
		       "HERMIT_NETIF_MAC=52:54:00:12:34:56",
		       "HERMIT_CHECKPOINT=0",
		       NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(c.ncpus, 4);
	CHECK_EQ(c.mem_size, 2ULL << 30);
	CHECK(c.verbose && c.debug && !c.hugepage && c.mergeable);
	CHECK_EQ(c.gdb_port, 4444);
	CHECK_STR(c.gdb_bind, "0.0.0.0");
	CHECK(c.ip_set && c.gateway_set && c.mask_set && c.mac_set);
	CHECK_MEM(c.ip, ((uint8_t[]){10, 0, 5, 2}), 4);
	CHECK_MEM(c.gateway, ((uint8_t[]){10, 0, 5, 1}), 4);
	CHECK_MEM(c.mask, ((uint8_t[]){255, 255, 255, 0}), 4);
	CHECK_MEM(c.mac, ((uint8_t[]){0x52, 0x54, 0, 0x12, 0x34, 0x56}), 6);
	CHECK_STR(c.netif, "tap0");

	/* A variable whose name only starts like ours is not ours. */
	char *env2[] = {"HERMIT_CPUSX=7", "XHERMIT_CPUS=7", NULL};
	CHECK_EQ(PARSE(&c, env2, "img"), CONFIG_OK);
	CHECK_EQ(c.ncpus, 1);
}

static void test_env_refused(void)
{
	struct config c;
	static const struct {
		const char *var, *name;
	} bad[] = {
		{"HERMIT_CPUS=0", "HERMIT_CPUS"},
		{"HERMIT_CPUS=abc", "HERMIT_CPUS"},
		{"HERMIT_CPUS=513", "HERMIT_CPUS"},
		{"HERMIT_MEM=12Q", "HERMIT_MEM"},
		{"HERMIT_MEM=0", "HERMIT_MEM"},
		{"HERMIT_MEM=1M", "HERMIT_MEM"},		   /* below CONFIG_MIN_MEM */
		{"HERMIT_MEM=18446744073709551615", "HERMIT_MEM"}, /* page rounding would wrap */
		{"HERMIT_VERBOSE=2", "HERMIT_VERBOSE"},
		{"HERMIT_DEBUG_PORT=65536", "HERMIT_DEBUG_PORT"},
		{"HERMIT_HUGEPAGE=maybe", "HERMIT_HUGEPAGE"},
		{"HERMIT_IP=10.0.5", "HERMIT_IP"},
		{"HERMIT_MASK=1.2.3.400", "HERMIT_MASK"},
		{"HERMIT_NETIF_MAC=52:54:00", "HERMIT_NETIF_MAC"},
		{"HERMIT_CHECKPOINT=soon", "HERMIT_CHECKPOINT"},
		{"HERMIT_FULLCHECKPOINT=maybe", "HERMIT_FULLCHECKPOINT"},
		{"HERMIT_ABI=bogus", "HERMIT_ABI"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *env[] = {(char *)bad[i].var, NULL};
		int rc = PARSE(&c, env, "img");
		if (rc != CONFIG_ERROR || !strstr(err, bad[i].name))
			fprintf(stderr, "    %s: rc %d, err \"%s\"\n", bad[i].var, rc, err);
		CHECK(rc == CONFIG_ERROR && strstr(err, bad[i].name));
	}
	char *env[] = {"HERMIT_CPUS=513", NULL};
	PARSE(&c, env, "img");
	CHECK_ERR_HAS("513"); /* the value and the accepted range are named too */
	CHECK_ERR_HAS("512");
}

static void test_abi(void)
{
	struct config c;
	char *rusty[] = {"HERMIT_ABI=rusty", NULL}, *cabi[] = {"HERMIT_ABI=c", NULL};
	char *autoabi[] = {"HERMIT_ABI=auto", NULL};
	CHECK(PARSE(&c, rusty, "img") == CONFIG_OK && c.abi == ABI_RUSTY);
	CHECK(PARSE(&c, cabi, "img") == CONFIG_OK && c.abi == ABI_C);
	CHECK(PARSE(&c, autoabi, "img") == CONFIG_OK && c.abi == ABI_AUTO);
	CHECK(PARSE(&c, rusty, "--abi", "c", "img") == CONFIG_OK && c.abi == ABI_C);
	CHECK_EQ(PARSE(&c, NULL, "--abi=bogus", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--abi");
	CHECK_ERR_HAS("hermit-fdt3");
	/* Hermit 0.10 - main: FDT boot with uhyve-interface N, --aslr, --dumpdtb. */
	char *fdt2[] = {"HERMIT_ABI=hermit-fdt2", "HERMIT_ASLR=1", "HERMIT_DUMPDTB=/tmp/x.dtb",
			NULL};
	CHECK(PARSE(&c, fdt2, "img") == CONFIG_OK && c.abi == ABI_HERMIT_FDT2 && c.aslr &&
	      c.dumpdtb && !strcmp(c.dumpdtb, "/tmp/x.dtb"));
	CHECK(PARSE(&c, NULL, "--abi", "hermit-fdt1", "img") == CONFIG_OK &&
	      c.abi == ABI_HERMIT_FDT1 && !c.aslr && !c.dumpdtb);
	CHECK(PARSE(&c, NULL, "--abi=hermit-fdt3", "--aslr", "--dumpdtb", "d.dtb", "img") ==
		      CONFIG_OK &&
	      c.abi == ABI_HERMIT_FDT3 && c.aslr && !strcmp(c.dumpdtb, "d.dtb"));
	char *badaslr[] = {"HERMIT_ASLR=maybe", NULL};
	CHECK_EQ(PARSE(&c, badaslr, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HERMIT_ASLR");
	CHECK_EQ(PARSE(&c, NULL, "--aslr=1", "img"), CONFIG_USAGE);
}

static void test_flags(void)
{
	struct config c;
	char *env[] = {"HERMIT_CPUS=2", "HERMIT_MEM=2G", "HERMIT_DEBUG_PORT=4444",
		       "HERMIT_VERBOSE=0", NULL};
	CHECK_EQ(PARSE(&c, env, "-c", "4", "--memory", "1G", "-v", "-s", "5555", "img"), CONFIG_OK);
	CHECK_EQ(c.ncpus, 4);
	CHECK_EQ(c.mem_size, 1ULL << 30);
	CHECK(c.verbose);
	CHECK_EQ(c.gdb_port, 5555);
	CHECK_STR(c.image, "img");

	CHECK_EQ(PARSE(&c, env, "--gdb-port=6000", "--gdb-addr", "::1", "-d", "img"), CONFIG_OK);
	CHECK_EQ(c.gdb_port, 6000);
	CHECK_STR(c.gdb_bind, "::1");
	CHECK(c.debug);
	CHECK_EQ(c.ncpus, 2); /* the environment still counts where no flag overrides it */

	CHECK_EQ(PARSE(&c, NULL, "-m", "4194305", "img"), CONFIG_OK); /* whole pages */
	CHECK_EQ(c.mem_size, (4ULL << 20) + 4096);

	CHECK_EQ(PARSE(&c, NULL, "--cpus=0", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--cpus");
	CHECK_EQ(PARSE(&c, NULL, "-m", "12Q", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("-m 12Q is invalid");
	CHECK_EQ(PARSE(&c, NULL, "--gdb-port", "70000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--gdb-port");
	CHECK_EQ(PARSE(&c, NULL, "--host-info"), CONFIG_OK); /* no image needed */
	CHECK(c.host_info);
}

/* A refused value is named as the user wrote it: -c, --cpus= or --cpus. */
static void test_flags_named_as_typed(void)
{
	struct config c;
	CHECK_EQ(PARSE(&c, NULL, "-c", "1000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("-c 1000 is invalid");
	CHECK(!strstr(err, "--cpus"));
	CHECK_EQ(PARSE(&c, NULL, "-vc1000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("-c 1000 is invalid");
	CHECK_EQ(PARSE(&c, NULL, "--cpus=1000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--cpus=1000 is invalid");
	CHECK_EQ(PARSE(&c, NULL, "--cpus", "1000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--cpus 1000 is invalid");
	CHECK_EQ(PARSE(&c, NULL, "--memory=1Q", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--memory=1Q is invalid");
	CHECK_EQ(PARSE(&c, NULL, "-s", "70000", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("-s 70000 is invalid");
	char *env[] = {"HERMIT_CPUS=1000", NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HERMIT_CPUS=1000 is invalid");
}

/* One limit in one unit, whatever the size beyond it (64T once got "at most 8195
 * GiB" from vm.c and 100T "at most 64T" from here). */
static void test_memory_limit_message(void)
{
	struct config c;
	char *t64[] = {"HERMIT_MEM=64T", NULL}, *t100[] = {"HERMIT_MEM=100T", NULL};
	char limit[64];
	snprintf(limit, sizeof(limit), "at most %llu GiB",
		 (unsigned long long)(CONFIG_MAX_MEM >> 30));
	CHECK_EQ(PARSE(&c, t64, "img"), CONFIG_ERROR);
	CHECK(strstr(err, "HERMIT_MEM=64T is too large") && strstr(err, limit));
	CHECK_EQ(PARSE(&c, t100, "img"), CONFIG_ERROR);
	CHECK(strstr(err, "HERMIT_MEM=100T is too large") && strstr(err, limit));
	CHECK(!strstr(err, "64T"));
	CHECK_EQ(CONFIG_MAX_MEM >> 30, 8195); /* 3.25 GiB below the PCI hole, 8 TiB above */
}

/* Migration ports: a number above 65535 would reach getaddrinfo, which wraps it. */
static void test_migration_ports(void)
{
	struct config c;
	char *none[] = {NULL};
	static const char *bad_incoming[] = {"65536",	     "99999",	   "127.0.0.1:65536",
					     "[::1]:100000", "127.0.0.1:", "x:-1"};
	for (size_t i = 0; i < sizeof(bad_incoming) / sizeof(bad_incoming[0]); i++) {
		char *argv[] = {"proxy", "--incoming", (char *)bad_incoming[i], NULL};
		CHECK_EQ(config_parse(&c, 3, argv, none, err, sizeof(err)), CONFIG_ERROR);
		CHECK_ERR_HAS("--incoming");
		CHECK_ERR_HAS("from 0 to 65535");
		config_release(&c);
	}
	static const char *good_incoming[] = {"0", "65535", "127.0.0.1:0", "[::1]:4455"};
	for (size_t i = 0; i < sizeof(good_incoming) / sizeof(good_incoming[0]); i++) {
		char *argv[] = {"proxy", "--incoming", (char *)good_incoming[i], NULL};
		CHECK_EQ(config_parse(&c, 3, argv, none, err, sizeof(err)), CONFIG_OK);
		config_release(&c);
	}
	static const char *bad_to[] = {
		"HERMIT_MIGRATION_SUPPORT=host:65536", "HERMIT_MIGRATION_SUPPORT=127.0.0.1:99999",
		"HERMIT_MIGRATION_SUPPORT=127.0.0.1:0", "HERMIT_MIGRATION_SUPPORT=:4455"};
	for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
		char *env[] = {(char *)bad_to[i], NULL};
		CHECK_EQ(PARSE(&c, env, "img"), CONFIG_ERROR);
		CHECK_ERR_HAS("HERMIT_MIGRATION_SUPPORT");
		CHECK_ERR_HAS("from 1 to 65535");
		config_release(&c);
	}
	CHECK_EQ(PARSE(&c, none, "--migrate-to", "[::1]:65535", "img"), CONFIG_OK);
	config_release(&c);
}

/* 130 variables are refused naming where they came from: --env, HERMIT_ENV or
 * --env-host, never one the user did not give. */
static void test_env_count_names_the_source(void)
{
	enum { N = 130 };
	static char names[N][16], hermit_env[N * 16 + 16];
	static char *argv[2 * N + 3], *envp[N + 2];
	struct config c;
	size_t o = snprintf(hermit_env, sizeof(hermit_env), "HERMIT_ENV=");
	argv[0] = "proxy";
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "V%d=1", i);
		argv[1 + 2 * i] = "--env";
		argv[2 + 2 * i] = names[i];
		o += snprintf(hermit_env + o, sizeof(hermit_env) - o, "%sV%d=1", i ? " " : "", i);
		envp[i] = names[i];
	}
	argv[2 * N + 1] = "img";
	CHECK_EQ(config_parse(&c, 2 * N + 2, argv, NULL, err, sizeof(err)), CONFIG_ERROR);
	CHECK_ERR_HAS("130 variables (from --env)");
	CHECK(!strstr(err, "--env-host") && !strstr(err, "HERMIT_ENV"));
	config_release(&c);

	char *henv[] = {hermit_env, NULL};
	CHECK_EQ(PARSE(&c, henv, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("130 variables (from HERMIT_ENV)");
	CHECK(!strstr(err, "--env"));
	config_release(&c);

	envp[N] = NULL;
	CHECK_EQ(PARSE(&c, envp, "--env-host", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("130 variables (--env-host forwards the host's)");
	config_release(&c);
}

/* HERMIT_DEBUG=1 and -d stop before the first instruction; `listen` and -s without -d
 * start the stub with the guest running; --gdb-addr needs one of them. */
static void test_debug_modes(void)
{
	struct config c;
	char *wait[] = {"HERMIT_DEBUG=1", NULL}, *listen[] = {"HERMIT_DEBUG=listen", NULL};
	char *off[] = {"HERMIT_DEBUG=0", NULL}, *bad[] = {"HERMIT_DEBUG=later", NULL};
	char *port_only[] = {"HERMIT_DEBUG_PORT=4321", NULL};
	char *addr_listen[] = {"HERMIT_DEBUG=listen", "HERMIT_DEBUG_ADDR=127.0.0.1", NULL};
	CHECK(PARSE(&c, NULL, "img") == CONFIG_OK && c.debug == DEBUG_OFF);
	CHECK(PARSE(&c, wait, "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, listen, "img") == CONFIG_OK && c.debug == DEBUG_LISTEN);
	CHECK(PARSE(&c, off, "img") == CONFIG_OK && c.debug == DEBUG_OFF);
	CHECK(PARSE(&c, NULL, "-d", "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, NULL, "-s", "4000", "img") == CONFIG_OK && c.debug == DEBUG_LISTEN);
	CHECK_EQ(c.gdb_port, 4000);
	CHECK(PARSE(&c, NULL, "-s", "4000", "-d", "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, NULL, "-d", "--gdb-port=1", "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, wait, "-s", "4000", "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, listen, "-d", "img") == CONFIG_OK && c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, off, "-s", "0", "img") == CONFIG_OK && c.debug == DEBUG_LISTEN);
	/* The port's variable alone is a setting, not a request for a stub. */
	CHECK(PARSE(&c, port_only, "img") == CONFIG_OK && c.debug == DEBUG_OFF);
	CHECK_EQ(PARSE(&c, bad, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HERMIT_DEBUG=later");
	CHECK_ERR_HAS("listen");
	/* --gdb-addr with either mode; without one it is refused, naming both. */
	CHECK(PARSE(&c, NULL, "-s", "0", "--gdb-addr", "127.0.0.1", "img") == CONFIG_OK &&
	      c.debug == DEBUG_LISTEN);
	CHECK(PARSE(&c, addr_listen, "img") == CONFIG_OK && c.debug == DEBUG_LISTEN);
	CHECK_EQ(PARSE(&c, NULL, "--gdb-addr", "127.0.0.1", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("-d");
	CHECK_ERR_HAS("-s PORT");
}

/* --gdb-socket / HERMIT_DEBUG_SOCKET: the socket replaces TCP; flags win over the
 * variables; the directory must be proxy's user's alone. */
static void test_debug_socket(void)
{
	struct config c;
	char dir[] = "/tmp/test-config-sock-XXXXXX", cwd[4096];
	/* PARSE needs constant words: relative paths inside a private directory. */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0 && mkdir("d", 0700) == 0);
	char *env_sock[] = {"HERMIT_DEBUG_SOCKET=d/s", "HERMIT_DEBUG=1", NULL};
	char *env_tcp[] = {"HERMIT_DEBUG_PORT=5", "HERMIT_DEBUG_ADDR=::1", NULL};

	CHECK(PARSE(&c, NULL, "--gdb-socket", "d/s", "img") == CONFIG_OK &&
	      c.debug == DEBUG_LISTEN && c.gdb_socket && !strcmp(c.gdb_socket, "d/s"));
	CHECK(PARSE(&c, NULL, "-d", "--gdb-socket", "d/s", "img") == CONFIG_OK &&
	      c.debug == DEBUG_WAIT);
	CHECK(PARSE(&c, env_sock, "img") == CONFIG_OK && c.gdb_socket != NULL);
	/* The TCP variables give way to the socket; a TCP flag to the socket's variable. */
	CHECK(PARSE(&c, env_tcp, "--gdb-socket", "d/s", "img") == CONFIG_OK &&
	      c.gdb_bind_source == NULL && !strcmp(c.gdb_bind, "127.0.0.1"));
	CHECK(PARSE(&c, env_sock, "-s", "7", "img") == CONFIG_OK && c.gdb_socket == NULL &&
	      c.gdb_port == 7);
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket", "d/s", "-s", "7", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("--gdb-socket replaces the TCP port");
	CHECK_EQ(PARSE(&c, NULL, "--gdb-addr", "::1", "-d", "--gdb-socket", "d/s", "img"),
		 CONFIG_USAGE);
	/* A directory others may write, or a file already there: refused. */
	CHECK_EQ(chmod("d", 0775), 0);
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket", "d/s", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("writable by group or others");
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket", "/tmp/x.sock", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("the directory /tmp is");
	CHECK_EQ(chmod("d", 0700), 0);
	FILE *f = fopen("d/f", "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket", "d/f", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("is not a socket of proxy's user");
	CHECK_EQ(access("d/f", F_OK), 0);
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket", "/nonexistent-dir/s", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("does not exist");
	CHECK_EQ(PARSE(&c, NULL, "--gdb-socket",
		       "d/"
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		       "img"),
		 CONFIG_ERROR);
	CHECK_ERR_HAS("at most 107 bytes");
	unlink("d/f");
	rmdir("d");
	CHECK(chdir(cwd) == 0);
	rmdir(dir);
}

static void test_guest_argv(void)
{
	struct config c;
	CHECK_EQ(PARSE(&c, NULL, "img", "-v", "x"), CONFIG_OK);
	CHECK(!c.verbose);
	CHECK_EQ(c.guest_argc, 3);
	CHECK_STR(c.guest_argv[0], "img");
	CHECK_STR(c.guest_argv[1], "-v");
	CHECK_STR(c.guest_argv[2], "x");
	CHECK(c.guest_argv[3] == NULL);

	CHECK_EQ(PARSE(&c, NULL, "-c", "2", "img", "--memory", "1G", "--help"), CONFIG_OK);
	CHECK_EQ(c.ncpus, 2);
	CHECK_EQ(c.mem_size, 512ULL << 20);
	CHECK_EQ(c.guest_argc, 4);
	CHECK_STR(c.guest_argv[3], "--help");

	CHECK_EQ(PARSE(&c, NULL, "--", "-img"), CONFIG_OK);
	CHECK_STR(c.image, "-img");
	CHECK_EQ(c.guest_argc, 1);
}

static void test_usage(void)
{
	struct config c;
	CHECK_EQ(PARSE(&c, NULL, "-v"), CONFIG_USAGE);
	CHECK_ERR_HAS("no unikernel image");
	CHECK_EQ(PARSE(&c, NULL, "-q", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("-q");
	CHECK_EQ(PARSE(&c, NULL, "-qv", "img"), CONFIG_USAGE); /* inside a cluster */
	CHECK_ERR_HAS("-q");
	CHECK_EQ(PARSE(&c, NULL, "--bogus", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("--bogus");
	CHECK_EQ(PARSE(&c, NULL, "-c"), CONFIG_USAGE);
	CHECK_ERR_HAS("needs a value");
	capture_begin();
	int rc = PARSE(&c, NULL, "--help");
	capture_end();
	CHECK_EQ(rc, CONFIG_EXIT_OK);
	CHECK(strstr(out, "usage: proxy") && strstr(out, "HERMIT_MEM"));
	capture_begin();
	rc = PARSE(&c, NULL, "--version", "img");
	capture_end();
	CHECK_EQ(rc, CONFIG_EXIT_OK);
	CHECK(!strncmp(out, "proxy " PROXY_VERSION "\nfeatures: ",
		       strlen("proxy " PROXY_VERSION "\nfeatures: ")));
	CHECK(strstr(out, config_features()) != NULL);
	CHECK(strstr(out, "abi=rusty,c,hermit-entry,hermit-fdt1,hermit-fdt2,hermit-fdt3") != NULL);
	CHECK(strstr(config_usage_text(), "HERMIT_MEM") != NULL);
}

/* getopt keeps state between calls (the position inside "-hv"); a second parse must
 * start afresh and not pick up the rest of the first argv. */
static void test_reparse(void)
{
	struct config c;
	capture_begin();
	int rc = PARSE(&c, NULL, "-hv", "img");
	capture_end();
	CHECK_EQ(rc, CONFIG_EXIT_OK);
	CHECK_EQ(PARSE(&c, NULL, "img"), CONFIG_OK);
	CHECK(!c.verbose);
	CHECK_STR(c.image, "img");
	CHECK_EQ(PARSE(&c, NULL, "-vq", "img"), CONFIG_USAGE);
	CHECK_EQ(PARSE(&c, NULL, "img2"), CONFIG_OK);
	CHECK_STR(c.image, "img2");
}

/* --user names an account that exists; SUDO_UID is kept for the stub's check. */
static void test_user(void)
{
	struct config c;
	char *env[] = {"SUDO_UID=1000", NULL};
	char *no_env[] = {NULL};

	CHECK_EQ(PARSE(&c, env, "--user", "nobody", "/bin/true"), CONFIG_OK);
	CHECK_STR(c.user, "nobody");
	CHECK_EQ(c.user_uid, 65534);
	CHECK_EQ(c.sudo_uid, 1000);
	config_release(&c);
	CHECK_EQ(PARSE(&c, no_env, "--user", "no-such-user-proxy", "/bin/true"), CONFIG_ERROR);
	CHECK_ERR_HAS("--user no-such-user-proxy: no such user");
	config_release(&c);
	CHECK_EQ(PARSE(&c, no_env, "/bin/true"), CONFIG_OK);
	CHECK_EQ(c.sudo_uid, -1);
	CHECK(c.user == NULL);
	config_release(&c);
}

/* --tempdir and HERMIT_TEMPDIR: the Hermit FDT guests' kept temporary directory. */
static void test_tempdir(void)
{
	struct config c;
	char *env[] = {"HERMIT_TEMPDIR=/var/tmp/from-env", NULL};
	char *no_env[] = {NULL};
	CHECK_EQ(PARSE(&c, no_env, "/bin/true"), CONFIG_OK);
	CHECK(c.guest_tempdir == NULL); /* default: a private one, removed at exit */
	config_release(&c);
	CHECK_EQ(PARSE(&c, env, "/bin/true"), CONFIG_OK);
	CHECK_STR(c.guest_tempdir, "/var/tmp/from-env");
	config_release(&c);
	CHECK_EQ(PARSE(&c, env, "--tempdir", "/var/tmp/flag", "/bin/true"), CONFIG_OK);
	CHECK_STR(c.guest_tempdir, "/var/tmp/flag");
	config_release(&c);
	CHECK(strstr(config_usage_text(), "--tempdir DIR") != NULL);
}

/* The default history path is allocated: config_release frees it (found by
 * tests/fuzz/fuzz_config.c: a leak per parse with HOME set). */
static void test_history_released(void)
{
	struct config c;
	char *env[] = {"HOME=/root", NULL}, *set[] = {"HERMIT_MONITOR_HISTORY=/h", NULL};
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_STR(c.monitor_history, "/root/.proxy_history");
	CHECK(c.monitor_history_alloc == c.monitor_history);
	config_release(&c);
	CHECK(!c.monitor_history && !c.monitor_history_alloc);
	CHECK_EQ(PARSE(&c, set, "img"), CONFIG_OK);
	CHECK_STR(c.monitor_history, "/h");
	CHECK(!c.monitor_history_alloc); /* the environment's string: not freed */
	config_release(&c);
}

/* --env NAME with NAME unset on the host: an empty environment, nothing left
 * allocated (found by fuzz_config.c: config_release leaked the empty array). */
static void test_empty_environ_released(void)
{
	struct config c;
	char *env[] = {"HOME=/root", NULL};
	CHECK_EQ(PARSE(&c, env, "--env", "NOT_SET_HERE", "img"), CONFIG_OK);
	CHECK(c.environ && !c.environ[0]);
	config_release(&c);
	CHECK(!c.environ);
}

/* Checkpoints and migration: the variables and flags, and what they refuse. */
static void test_checkpoint_options(void)
{
	struct config c;
	char *none[] = {NULL};
	char *every5[] = {"HERMIT_CHECKPOINT=5", "HERMIT_FULLCHECKPOINT=1",
			  "HERMIT_CHECKPOINT_DIR=/tmp/ck", NULL};
	CHECK_EQ(PARSE(&c, every5, "img"), CONFIG_OK);
	CHECK_EQ(c.checkpoint_interval, 5);
	CHECK(c.full_checkpoint && c.snapshots);
	CHECK_STR(c.checkpoint_dir, "/tmp/ck");
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "img"), CONFIG_OK);
	CHECK_EQ(c.checkpoint_interval, 0);
	CHECK_STR(c.checkpoint_dir, "checkpoint");
	CHECK(!c.snapshots); /* a plain run pays for none of it */
	config_release(&c);

	char *debug[] = {"HERMIT_CHECKPOINT=5", "HERMIT_DEBUG=1", NULL};
	CHECK_EQ(PARSE(&c, debug, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("monitor savevm");
	config_release(&c);
	char *net[] = {"HERMIT_CHECKPOINT=5", "HERMIT_NETIF=tap0", NULL};
	CHECK_EQ(PARSE(&c, net, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("network device");
	config_release(&c);

	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck"), CONFIG_OK);
	CHECK_STR(c.restore, "/tmp/ck");
	CHECK(c.image == NULL); /* the checkpoint names it */
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck", "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("drop 'img'");
	config_release(&c);
	/* The restored guest's file policy and environment are this command line's. */
	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck", "--mount", "/tmp", "--env", "A=1"),
		 CONFIG_OK);
	CHECK_EQ(c.nmounts, 1);
	CHECK_STR(c.environ[0], "A=1");
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck", "--mount", "/does/not/exist"),
		 CONFIG_ERROR);
	CHECK_ERR_HAS("does not exist");
	config_release(&c);
	/* -c and -m are remembered as given: the restore compares them with the checkpoint. */
	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck", "-c", "2", "-m", "64M"), CONFIG_OK);
	CHECK(c.ncpus_given && c.mem_given);
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--restore", "/tmp/ck"), CONFIG_OK);
	CHECK(!c.ncpus_given && !c.mem_given);
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--restore", "/a", "--incoming", "1234"), CONFIG_USAGE);
	config_release(&c);
	/* A migrating guest gets the target's own file policy: --mount is welcome. */
	CHECK_EQ(PARSE(&c, none, "--incoming", "127.0.0.1:4455", "--mount", "/tmp"), CONFIG_OK);
	CHECK_STR(c.incoming, "127.0.0.1:4455");
	CHECK_EQ(c.nmounts, 1);
	config_release(&c);
	char *server[] = {"HERMIT_MIGRATION_SERVER=4455", NULL};
	CHECK_EQ(PARSE(&c, server, "-v"), CONFIG_OK);
	CHECK_STR(c.incoming, "4455");
	config_release(&c);

	CHECK_EQ(PARSE(&c, none, "--migrate-to", "host:1", "img"), CONFIG_OK);
	CHECK_STR(c.migrate_to, "host:1");
	config_release(&c);
	char *support[] = {"HERMIT_MIGRATION_SUPPORT=nocolon", NULL};
	CHECK_EQ(PARSE(&c, support, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HOST:PORT");
	config_release(&c);
}

/* --migrate-downtime / HERMIT_MIGRATION_DOWNTIME: milliseconds, 20 by default, 0
 * (cold) to 60000; the flag wins over the variable. */
static void test_migrate_downtime(void)
{
	struct config c;
	char *none[] = {NULL};
	char *env[] = {"HERMIT_MIGRATION_DOWNTIME=5", NULL};
	CHECK_EQ(PARSE(&c, none, "img"), CONFIG_OK);
	CHECK_EQ(c.migrate_downtime_ms, 20);
	config_release(&c);
	CHECK_EQ(PARSE(&c, env, "img"), CONFIG_OK);
	CHECK_EQ(c.migrate_downtime_ms, 5);
	config_release(&c);
	CHECK_EQ(PARSE(&c, env, "--migrate-downtime", "0", "img"), CONFIG_OK);
	CHECK_EQ(c.migrate_downtime_ms, 0);
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--migrate-downtime=60000", "img"), CONFIG_OK);
	CHECK_EQ(c.migrate_downtime_ms, 60000);
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--migrate-downtime=60001", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("--migrate-downtime=60001 is invalid");
	config_release(&c);
	char *bad[] = {"HERMIT_MIGRATION_DOWNTIME=1ms", NULL};
	CHECK_EQ(PARSE(&c, bad, "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("HERMIT_MIGRATION_DOWNTIME=1ms is invalid");
	config_release(&c);
}

/* --migration-key / HERMIT_MIGRATION_KEY: a regular file of proxy's user that
 * nobody else may read or write, and only with a migration to use it for. */
static void test_migration_key(void)
{
	struct config c;
	char *none[] = {NULL};
	static char path[] = "/tmp/proxy-unit-key-XXXXXX";
	char env[64];
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "id:00112233445566778899aabbccddeeff\n", 36) == 36);
	close(fd);
	chmod(path, 0600);
	CHECK_EQ(PARSE(&c, none, "--incoming", "4455", "--migration-key", path), CONFIG_OK);
	CHECK_STR(c.migration_key, path);
	config_release(&c);
	snprintf(env, sizeof(env), "HERMIT_MIGRATION_KEY=%s", path);
	char *keyenv[] = {env, NULL};
	CHECK_EQ(PARSE(&c, keyenv, "--migrate-to", "127.0.0.1:1", "img"), CONFIG_OK);
	CHECK_STR(c.migration_key, path);
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--migration-key", path, "img"), CONFIG_USAGE);
	CHECK_ERR_HAS("--migration-key is for --incoming");
	config_release(&c);
	chmod(path, 0644);
	CHECK_EQ(PARSE(&c, none, "--incoming", "4455", "--migration-key", path), CONFIG_ERROR);
	CHECK_ERR_HAS("accessible by others (mode 0644)");
	config_release(&c);
	chmod(path, 0620);
	CHECK_EQ(PARSE(&c, keyenv, "--migrate-to", "127.0.0.1:1", "img"), CONFIG_ERROR);
	CHECK_ERR_HAS("the key must be private");
	config_release(&c);
	unlink(path);
	CHECK_EQ(PARSE(&c, none, "--incoming", "4455", "--migration-key", path), CONFIG_ERROR);
	CHECK_ERR_HAS("No such file");
	config_release(&c);
	CHECK_EQ(PARSE(&c, none, "--incoming", "4455", "--migration-key", "/tmp"), CONFIG_ERROR);
	CHECK_ERR_HAS("not a regular file");
	config_release(&c);
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* `--trace WORD x`: WORD is read to see whether it is an image; a FIFO there must
 * not block the parse (the alarm breaks a hang, which then fails the CHECK). Found
 * reviewing what fuzz_config.c's inputs make the parser touch on the host. */
static void test_trace_word_fifo(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64];
	struct sigaction sa = {.sa_handler = on_alarm};
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) == 0) {
		static char *argv[] = {"proxy", "--trace", NULL, "x", NULL};
		struct config c;
		argv[2] = path;
		sigaction(SIGALRM, &sa, NULL);
		alarm(2);
		CHECK_EQ(config_parse(&c, 4, argv, NULL, err, sizeof(err)), CONFIG_USAGE);
		alarm(0);
		CHECK(!alarmed);
		CHECK_ERR_HAS("--trace=");
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_migration_key();
	test_migrate_downtime();
	test_parse_mem_size();
	test_parse_small();
	test_defaults();
	test_env();
	test_env_refused();
	test_abi();
	test_flags();
	test_flags_named_as_typed();
	test_memory_limit_message();
	test_migration_ports();
	test_env_count_names_the_source();
	test_debug_modes();
	test_debug_socket();
	test_guest_argv();
	test_usage();
	test_reparse();
	test_user();
	test_tempdir();
	test_history_released();
	test_empty_environ_released();
	test_trace_word_fifo();
	test_checkpoint_options();
	return unit_report();
}
