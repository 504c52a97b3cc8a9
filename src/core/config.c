/* config.c: parse HERMIT_* variables and command-line flags into struct config.
 *
 * Every refusal names the variable or flag and says what form is accepted, so a
 * user never has to read the source to fix a typo.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: proxy [options] <unikernel> [guest arguments...]\n"
	"\n"
	"Boots a HermitCore unikernel in a KVM virtual machine.\n"
	"\n"
	"options (each overrides the environment variable in brackets):\n"
	"  -c, --cpus N          number of vCPUs [HERMIT_CPUS, default 1]\n"
	"  -m, --memory SIZE     guest RAM, suffix K/M/G/T [HERMIT_MEM, default 512M]\n"
	"  -v, --verbose         show the kernel log on stderr [HERMIT_VERBOSE=1]\n"
	"  -d, --debug           wait for GDB before the first instruction [HERMIT_DEBUG=1]\n"
	"  -s, --gdb-port PORT   GDB port, default 1234, 0: any free one [HERMIT_DEBUG_PORT];\n"
	"                        without -d: the guest runs at once, GDB may attach (and\n"
	"                        attach again) at any time [HERMIT_DEBUG=listen]\n"
	"      --gdb-addr ADDR   address or host name the GDB stub listens on, default\n"
	"                        127.0.0.1; needs -d or -s [HERMIT_DEBUG_ADDR]\n"
	"      --gdb-socket PATH the GDB stub listens on a Unix socket PATH (mode 0600, in\n"
	"                        a directory only proxy's user can write) instead of TCP;\n"
	"                        without -d like -s [HERMIT_DEBUG_SOCKET]\n"
	"      --abi NAME        guest ABI: rusty (RustyHermit), c (C HermitCore),\n"
	"                        hermit-entry (Hermit 0.6), hermit-fdt1, hermit-fdt2,\n"
	"                        hermit-fdt3 (Hermit 0.10 - main: FDT boot with\n"
	"                        uhyve-interface 1, 2, 3), or auto: detect it (default)\n"
	"                        [HERMIT_ABI]\n"
	"      --aslr            Hermit 0.10 - main: guest RAM at a random 2 MiB-aligned\n"
	"                        base in its window (default: fixed) [HERMIT_ASLR=1]\n"
	"      --dumpdtb FILE    Hermit 0.10 - main: write the FDT the guest would receive\n"
	"                        to FILE and exit [HERMIT_DUMPDTB]\n"
	"      --host-info       print what this host's KVM supports and exit\n"
	"      --monitor         monitor console on stdin, output on stderr [HERMIT_MONITOR=1]\n"
	"      --trace[=FILE]    trace hypercalls to stderr, or to FILE (only with '=')\n"
	"                        [HERMIT_TRACE=1|FILE]\n"
	"      --stats           print run statistics at exit [HERMIT_STATS=1]\n"
	"      --coredump FILE   write a guest core file if the guest fails [HERMIT_COREDUMP]\n"
	"      --mount HOST_PATH[:GUEST_PATH][:ro]\n"
	"                        let the guest open files under HOST_PATH, as GUEST_PATH\n"
	"                        (default: HOST_PATH); ro: no writes, creation or unlink;\n"
	"                        repeatable; default: nothing of the host, '--mount /' is\n"
	"                        everything [HERMIT_MOUNT, entries separated by ',']\n"
	"      --tempdir DIR     Hermit 0.10 and later: files the guest creates outside its\n"
	"                        mounts go to DIR, kept at exit (default: a private\n"
	"                        directory in $TMPDIR, removed at exit) [HERMIT_TEMPDIR]\n"
	"      --env NAME[=VALUE] give the guest NAME, with the host's value or VALUE;\n"
	"                        repeatable; default: no variable [HERMIT_ENV, entries\n"
	"                        separated by spaces]\n"
	"      --env-host        give the guest the whole host environment\n"
	"      --user NAME       once /dev/kvm, the tap device and the GDB port are open,\n"
	"                        run as user NAME (proxy started as root)\n"
	"      --no-sandbox      do not confine proxy (Landlock, seccomp) after set-up, to\n"
	"                        debug proxy itself [HERMIT_SANDBOX=0]\n"
	"      --restore DIR     continue the latest checkpoint in DIR (no image argument:\n"
	"                        the checkpoint names it) [HERMIT_RESTORE]\n"
	"      --incoming [ADDR:]PORT  wait on PORT (ADDR default 127.0.0.1) for a guest\n"
	"                        migrating here, and run it [HERMIT_MIGRATION_SERVER]\n"
	"      --migrate-to HOST:PORT  on SIGUSR2 or the monitor's `migrate`, send the guest\n"
	"                        to a proxy --incoming there [HERMIT_MIGRATION_SUPPORT]\n"
	"      --migrate-downtime MS  live migration: send memory while the guest runs and\n"
	"                        stop it when the rest fits MS ms (default 20; 0: stop\n"
	"                        first, a cold migration) [HERMIT_MIGRATION_DOWNTIME]\n"
	"      --migration-key FILE  authenticate and encrypt the migration (TLS-PSK; FILE:\n"
	"                        IDENTITY:HEXKEY as `psktool -u ID -p FILE` writes it, mode\n"
	"                        0600); needed off loopback [HERMIT_MIGRATION_KEY]\n"
	"  -h, --help            this help\n"
	"      --version         print the version and the build's features\n"
	"\n"
	"environment (boolean ones take " CONFIG_BOOL_VALUES "):\n"
	"  HERMIT_CPUS HERMIT_MEM HERMIT_VERBOSE HERMIT_DEBUG HERMIT_DEBUG_PORT\n"
	"  HERMIT_DEBUG_ADDR HERMIT_DEBUG_SOCKET HERMIT_DEBUG_RECORD HERMIT_ABI HERMIT_ASLR\n"
	"  HERMIT_DUMPDTB\n"
	"  HERMIT_HUGEPAGE HERMIT_MERGEABLE\n"
	"  HERMIT_IP HERMIT_GATEWAY HERMIT_MASK HERMIT_NETIF HERMIT_NETIF_MAC\n"
	"  HERMIT_MONITOR HERMIT_MONITOR_HISTORY HERMIT_TRACE HERMIT_STATS HERMIT_COREDUMP\n"
	"  HERMIT_MOUNT HERMIT_TEMPDIR HERMIT_ENV HERMIT_SANDBOX\n"
	"  HERMIT_CHECKPOINT (seconds) HERMIT_FULLCHECKPOINT HERMIT_CHECKPOINT_DIR\n"
	"  HERMIT_CHECKPOINT_PAUSED\n"
	"  HERMIT_RESTORE HERMIT_MIGRATION_SERVER HERMIT_MIGRATION_SUPPORT\n"
	"  HERMIT_MIGRATION_KEY HERMIT_MIGRATION_DOWNTIME\n"
	"  (see proxy(1) or README.md)\n";

const char *config_usage_text(void)
{
	return usage_text;
}

int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_mem_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*end && end[1] != '\0')
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return *out ? 0 : -1;
}

int parse_ipv4(const char *s, uint8_t out[4])
{
	unsigned a[4];
	char tail;
	if (!s || sscanf(s, "%u.%u.%u.%u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (a[i] > 255)
			return -1;
		out[i] = (uint8_t)a[i];
	}
	return 0;
}

int parse_mac(const char *s, uint8_t out[6])
{
	if (!s || strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -1;
		if (i < 5 && p[2] != ':')
			return -1;
		char hex[3] = {p[0], p[1], 0};
		out[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	if (!s)
		return -1;
	if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
	    !strcasecmp(s, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
	    !strcasecmp(s, "off") || !*s) {
		*out = false;
		return 0;
	}
	return -1;
}

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return CONFIG_ERROR;                                                               \
	} while (0)

static int set_cpus(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	unsigned long n;
	if (parse_uint(v, CONFIG_MAX_CPUS, &n) || n == 0)
		FAIL("%s%s is invalid: expected a number of vCPUs from 1 to %d", what, v,
		     CONFIG_MAX_CPUS);
	c->ncpus = (unsigned)n;
	c->ncpus_given = true;
	return 0;
}

static int set_mem(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	if (parse_mem_size(v, &c->mem_size))
		FAIL("%s%s is invalid: expected a size in bytes with an optional suffix K, M, G "
		     "or T (e.g. 512M, 4G)",
		     what, v);
	if (c->mem_size > CONFIG_MAX_MEM)
		FAIL("%s%s is too large: KVM can map at most %llu GiB (one memory slot holds "
		     "at most 8 TiB)",
		     what, v, (unsigned long long)(CONFIG_MAX_MEM >> 30));
	if (c->mem_size < CONFIG_MIN_MEM)
		FAIL("%s%s is too small: a HermitCore guest needs at least 4M", what, v);
	/* KVM maps whole pages. */
	c->mem_size = (c->mem_size + 4095) & ~4095ULL;
	c->mem_given = true;
	return 0;
}

static int set_bool(bool *dst, const char *what, const char *v, char *err, size_t errlen)
{
	if (parse_bool(v, dst))
		FAIL("%s=%s is invalid: expected " CONFIG_BOOL_VALUES, what, v);
	return 0;
}

/* HERMIT_DEBUG: a boolean (true: stop before the first instruction), or `listen`. */
static int set_debug(struct config *c, const char *v, char *err, size_t errlen)
{
	bool on;
	if (!strcasecmp(v, "listen")) {
		c->debug = DEBUG_LISTEN;
		return 0;
	}
	if (parse_bool(v, &on))
		FAIL("HERMIT_DEBUG=%s is invalid: expected 1, true, yes or on (stop before the "
		     "first instruction and wait for GDB), listen (run at once, GDB may attach "
		     "later), or 0, false, no, off or empty",
		     v);
	c->debug = on ? DEBUG_WAIT : DEBUG_OFF;
	return 0;
}

static int set_port(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	unsigned long n;
	if (parse_uint(v, 65535, &n))
		FAIL("%s%s is invalid: expected a TCP port from 0 to 65535", what, v);
	c->gdb_port = (int)n;
	return 0;
}

static int set_abi(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "rusty"))
		c->abi = ABI_RUSTY;
	else if (!strcmp(v, "c"))
		c->abi = ABI_C;
	else if (!strcmp(v, "hermit-entry"))
		c->abi = ABI_HERMIT_ENTRY;
	else if (!strcmp(v, "hermit-fdt1"))
		c->abi = ABI_HERMIT_FDT1;
	else if (!strcmp(v, "hermit-fdt2"))
		c->abi = ABI_HERMIT_FDT2;
	else if (!strcmp(v, "hermit-fdt3"))
		c->abi = ABI_HERMIT_FDT3;
	else if (!strcmp(v, "auto") || !*v)
		c->abi = ABI_AUTO;
	else
		FAIL("%s=%s is invalid: expected rusty, c, hermit-entry, hermit-fdt1, hermit-fdt2, "
		     "hermit-fdt3 or auto",
		     what, v);
	return 0;
}

static int set_ip(uint8_t dst[4], bool *set, const char *what, const char *v, char *err,
		  size_t errlen)
{
	if (parse_ipv4(v, dst))
		FAIL("%s=%s is invalid: expected an IPv4 address like 10.0.5.2", what, v);
	*set = true;
	return 0;
}

/* HERMIT_TRACE / --trace=: a true value or "-" is stderr, a false one (or empty) is
 * off, anything else a file. */
static void set_trace(struct config *c, const char *v)
{
	bool on;
	if (!parse_bool(v, &on))
		c->trace = on ? "-" : NULL;
	else
		c->trace = v;
}

static int set_coredump(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	if (!*v || !strcmp(v, "0")) {
		c->coredump = NULL;
		return 0;
	}
	if (!strcmp(v, "1"))
		FAIL("%s=%s is invalid: expected the name of the core file to write", what, v);
	c->coredump = v;
	c->coredump_source = what[0] == '-' ? "--coredump " : "HERMIT_COREDUMP=";
	return 0;
}

/* The console's history: HERMIT_MONITOR_HISTORY (empty: none), else ~/.proxy_history. */
static void set_history(struct config *c, char **envp)
{
	const char *v = env_get(envp, "HERMIT_MONITOR_HISTORY");
	const char *home = env_get(envp, "HOME");
	char *path = NULL;
	if (v)
		c->monitor_history = *v ? v : NULL;
	else if (home && *home && asprintf(&path, "%s/.proxy_history", home) > 0)
		c->monitor_history = c->monitor_history_alloc = path;
}

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->ncpus = 1;
	c->mem_size = CONFIG_DEFAULT_MEM;
	c->hugepage = true;
	c->gdb_port = CONFIG_DEFAULT_GDB_PORT;
	c->gdb_bind = "127.0.0.1";
	c->sandbox = true;
	c->checkpoint_dir = "checkpoint";
	c->migrate_downtime_ms = CONFIG_DEFAULT_MIGRATE_DOWNTIME;
}

/* sudo's record of who ran it: that user may drive the stub of a root proxy. */
static void set_sudo_uid(struct config *c, const char *v)
{
	unsigned long uid;
	c->sudo_uid = v && *v && !parse_uint(v, 0xfffffffeUL, &uid) ? (long)uid : -1;
}

static int set_downtime(struct config *c, const char *what, const char *v, char *err, size_t errlen)
{
	unsigned long ms;
	if (parse_uint(v, CONFIG_MAX_MIGRATE_DOWNTIME, &ms))
		FAIL("%s%s is invalid: expected the milliseconds a live migration may stop the "
		     "guest, at most %u (0: a cold migration)",
		     what, v, CONFIG_MAX_MIGRATE_DOWNTIME);
	c->migrate_downtime_ms = (unsigned)ms;
	return 0;
}

static int checkpoint_from_env(struct config *c, char **envp, char *err, size_t errlen)
{
	const char *v;
	int rc = 0;
	unsigned long secs;
	if ((v = env_get(envp, "HERMIT_CHECKPOINT")) && *v) {
		if (parse_uint(v, CONFIG_MAX_CHECKPOINT_INTERVAL, &secs))
			FAIL("HERMIT_CHECKPOINT=%s is invalid: expected the seconds between "
			     "checkpoints, at most %u (0: none)",
			     v, CONFIG_MAX_CHECKPOINT_INTERVAL);
		c->checkpoint_interval = (unsigned)secs;
	}
	if ((v = env_get(envp, "HERMIT_FULLCHECKPOINT")))
		rc = rc ?: set_bool(&c->full_checkpoint, "HERMIT_FULLCHECKPOINT", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_CHECKPOINT_PAUSED")))
		rc = rc
			     ?: set_bool(&c->checkpoint_paused, "HERMIT_CHECKPOINT_PAUSED", v, err,
					 errlen);
	if ((v = env_get(envp, "HERMIT_CHECKPOINT_DIR")) && *v)
		c->checkpoint_dir = v;
	if ((v = env_get(envp, "HERMIT_RESTORE")) && *v)
		c->restore = v;
	if ((v = env_get(envp, "HERMIT_MIGRATION_SERVER")) && *v)
		c->incoming = v;
	if ((v = env_get(envp, "HERMIT_MIGRATION_SUPPORT")) && *v)
		c->migrate_to = v;
	if ((v = env_get(envp, "HERMIT_MIGRATION_KEY")) && *v)
		c->migration_key = v;
	if ((v = env_get(envp, "HERMIT_MIGRATION_DOWNTIME")) && *v)
		rc = rc ?: set_downtime(c, "HERMIT_MIGRATION_DOWNTIME=", v, err, errlen);
	return rc;
}

static int config_from_env(struct config *c, char **envp, char *err, size_t errlen)
{
	const char *v;
	int rc = 0;
	if ((v = env_get(envp, "HERMIT_CPUS")))
		rc = rc ?: set_cpus(c, "HERMIT_CPUS=", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_MEM")))
		rc = rc ?: set_mem(c, "HERMIT_MEM=", v, err, errlen);
	c->tmpdir = env_get(envp, "TMPDIR");
	set_sudo_uid(c, env_get(envp, "SUDO_UID"));
	if ((v = env_get(envp, "HERMIT_SANDBOX")))
		rc = rc ?: set_bool(&c->sandbox, "HERMIT_SANDBOX", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_VERBOSE")))
		rc = rc ?: set_bool(&c->verbose, "HERMIT_VERBOSE", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_DEBUG")))
		rc = rc ?: set_debug(c, v, err, errlen);
	if ((v = env_get(envp, "HERMIT_DEBUG_RECORD")))
		rc = rc ?: set_bool(&c->debug_record, "HERMIT_DEBUG_RECORD", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_DEBUG_PORT")))
		rc = rc ?: set_port(c, "HERMIT_DEBUG_PORT=", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_DEBUG_ADDR")) && *v) {
		c->gdb_bind = v;
		c->gdb_bind_source = "HERMIT_DEBUG_ADDR=";
	}
	if ((v = env_get(envp, "HERMIT_DEBUG_SOCKET")) && *v) {
		c->gdb_socket = v;
		c->gdb_socket_source = "HERMIT_DEBUG_SOCKET=";
	}
	if ((v = env_get(envp, "HERMIT_HUGEPAGE")))
		rc = rc ?: set_bool(&c->hugepage, "HERMIT_HUGEPAGE", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_MERGEABLE")))
		rc = rc ?: set_bool(&c->mergeable, "HERMIT_MERGEABLE", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_ABI")))
		rc = rc ?: set_abi(c, "HERMIT_ABI", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_ASLR")))
		rc = rc ?: set_bool(&c->aslr, "HERMIT_ASLR", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_DUMPDTB")) && *v)
		c->dumpdtb = v;
	if ((v = env_get(envp, "HERMIT_IP")) && *v)
		rc = rc ?: set_ip(c->ip, &c->ip_set, "HERMIT_IP", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_GATEWAY")) && *v)
		rc = rc ?: set_ip(c->gateway, &c->gateway_set, "HERMIT_GATEWAY", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_MASK")) && *v)
		rc = rc ?: set_ip(c->mask, &c->mask_set, "HERMIT_MASK", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_NETIF")) && *v)
		c->netif = v;
	if (!rc && (v = env_get(envp, "HERMIT_NETIF_MAC")) && *v) {
		if (parse_mac(v, c->mac))
			FAIL("HERMIT_NETIF_MAC=%s is invalid: expected xx:xx:xx:xx:xx:xx", v);
		c->mac_set = true;
	}
	if ((v = env_get(envp, "HERMIT_MONITOR")))
		rc = rc ?: set_bool(&c->monitor, "HERMIT_MONITOR", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_STATS")))
		rc = rc ?: set_bool(&c->stats, "HERMIT_STATS", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_TRACE")))
		set_trace(c, v);
	if ((v = env_get(envp, "HERMIT_COREDUMP")))
		rc = rc ?: set_coredump(c, "HERMIT_COREDUMP", v, err, errlen);
	if ((v = env_get(envp, "HERMIT_MOUNT")))
		rc = rc ?: config_add_mounts(c, v, ',', "HERMIT_MOUNT", err, errlen);
	if ((v = env_get(envp, "HERMIT_TEMPDIR")) && *v)
		c->guest_tempdir = v;
	if ((v = env_get(envp, "HERMIT_ENV")))
		rc = rc ?: config_add_envs(c, v, "HERMIT_ENV", err, errlen);
	set_history(c, envp);
	return rc ?: checkpoint_from_env(c, envp, err, errlen);
}

enum {
	OPT_VERSION = 256,
	OPT_HOST_INFO,
	OPT_ABI,
	OPT_GDB_ADDR,
	OPT_GDB_SOCKET,
	OPT_MONITOR,
	OPT_TRACE,
	OPT_STATS,
	OPT_COREDUMP,
	OPT_MOUNT,
	OPT_ENV,
	OPT_ENV_HOST,
	OPT_NO_SANDBOX,
	OPT_USER,
	OPT_RESTORE,
	OPT_INCOMING,
	OPT_MIGRATE_TO,
	OPT_ASLR,
	OPT_DUMPDTB,
	OPT_TEMPDIR,
	OPT_MIGRATION_KEY,
	OPT_MIGRATE_DOWNTIME,
};

static const struct option long_options[] = {
	{"cpus", required_argument, NULL, 'c'},
	{"memory", required_argument, NULL, 'm'},
	{"verbose", no_argument, NULL, 'v'},
	{"debug", no_argument, NULL, 'd'},
	{"gdb-port", required_argument, NULL, 's'},
	{"gdb-addr", required_argument, NULL, OPT_GDB_ADDR},
	{"gdb-socket", required_argument, NULL, OPT_GDB_SOCKET},
	{"abi", required_argument, NULL, OPT_ABI},
	{"host-info", no_argument, NULL, OPT_HOST_INFO},
	{"monitor", no_argument, NULL, OPT_MONITOR},
	{"trace", optional_argument, NULL, OPT_TRACE},
	{"stats", no_argument, NULL, OPT_STATS},
	{"coredump", required_argument, NULL, OPT_COREDUMP},
	{"mount", required_argument, NULL, OPT_MOUNT},
	{"env", required_argument, NULL, OPT_ENV},
	{"env-host", no_argument, NULL, OPT_ENV_HOST},
	{"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
	{"user", required_argument, NULL, OPT_USER},
	{"restore", required_argument, NULL, OPT_RESTORE},
	{"incoming", required_argument, NULL, OPT_INCOMING},
	{"migrate-to", required_argument, NULL, OPT_MIGRATE_TO},
	{"aslr", no_argument, NULL, OPT_ASLR},
	{"dumpdtb", required_argument, NULL, OPT_DUMPDTB},
	{"tempdir", required_argument, NULL, OPT_TEMPDIR},
	{"migration-key", required_argument, NULL, OPT_MIGRATION_KEY},
	{"migrate-downtime", required_argument, NULL, OPT_MIGRATE_DOWNTIME},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The option getopt stopped at: a short one by its letter (it may sit inside a
 * cluster like -qv), a long one by the word getopt just passed. */
static const char *option_name(char **argv, int opt)
{
	static __thread char shortopt[3];
	if (opt > 0 && opt < 256) {
		shortopt[0] = '-';
		shortopt[1] = (char)opt;
		return shortopt;
	}
	return argv[optind - 1];
}

/* A long option that takes no value but got one (--verbose=1) is named by its long
 * name; anything else getopt did not know is unknown. */
static void unknown_option(char **argv, int opt, char *err, size_t errlen)
{
	const char *word = argv[optind - 1];
	if (!strncmp(word, "--", 2)) {
		size_t len = strcspn(word + 2, "=");
		for (const struct option *o = long_options; o->name; o++)
			if (o->has_arg == no_argument && strlen(o->name) == len &&
			    !strncmp(o->name, word + 2, len) && word[2 + len] == '=') {
				snprintf(err, errlen,
					 "option --%s takes no value (see proxy --help)\n",
					 o->name);
				return;
			}
	}
	snprintf(err, errlen, "unknown option %s (see proxy --help)\n", option_name(argv, opt));
}

/* One debug endpoint: the Unix socket replaces TCP. Flags override the environment
 * (-s/--gdb-addr drop HERMIT_DEBUG_SOCKET, --gdb-socket drops HERMIT_DEBUG_PORT and
 * HERMIT_DEBUG_ADDR); both kinds of flag at once is a usage error. */
static int choose_gdb_endpoint(struct config *c, bool tcp_flag, char *err, size_t errlen)
{
	bool socket_flag = c->gdb_socket_source && c->gdb_socket_source[0] == '-';
	if (tcp_flag && socket_flag) {
		snprintf(
			err, errlen,
			"--gdb-socket replaces the TCP port: give it or -s/--gdb-addr, not both\n");
		return CONFIG_USAGE;
	}
	if (tcp_flag) {
		c->gdb_socket = c->gdb_socket_source = NULL;
		return 0;
	}
	if (socket_flag && c->debug == DEBUG_OFF)
		c->debug = DEBUG_LISTEN; /* like -s: a stub there, the guest not held for it */
	if (c->gdb_socket) {
		c->gdb_bind = "127.0.0.1";
		c->gdb_bind_source = NULL;
	}
	return 0;
}

/* The option getopt just read as the user spelled it, with what separated it from
 * its value: `joined` ("--cpus=4"), `spaced` ("--cpus 4") or `shrt` ("-c 4", "-c4"). */
static const char *as_typed(char **argv, const char *joined, const char *spaced, const char *shrt)
{
	const char *word = optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
	if (strncmp(word, "--", 2))
		return shrt;
	return strchr(word, '=') ? joined : spaced;
}

static int config_from_flags(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	int opt, rc = 0;
	bool port_flag = false, tcp_flag = false;
	optind = 0; /* glibc and musl: 0 also forgets the place inside an earlier "-abc" */
	opterr = 0;
	/* '+': stop at the image, so the guest's own arguments may start with '-'. */
	while (!rc && (opt = getopt_long(argc, argv, "+:c:m:vds:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			rc = set_cpus(c, as_typed(argv, "--cpus=", "--cpus ", "-c "), optarg, err,
				      errlen);
			break;
		case 'm':
			rc = set_mem(c, as_typed(argv, "--memory=", "--memory ", "-m "), optarg,
				     err, errlen);
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'd':
			c->debug = DEBUG_WAIT;
			break;
		case 's':
			rc = set_port(c, as_typed(argv, "--gdb-port=", "--gdb-port ", "-s "),
				      optarg, err, errlen);
			port_flag = tcp_flag = true;
			break;
		case OPT_GDB_ADDR:
			c->gdb_bind = optarg;
			c->gdb_bind_source = "--gdb-addr ";
			tcp_flag = true;
			break;
		case OPT_GDB_SOCKET:
			c->gdb_socket = optarg;
			c->gdb_socket_source = "--gdb-socket ";
			break;
		case OPT_ABI:
			rc = set_abi(c, "--abi", optarg, err, errlen);
			break;
		case OPT_ASLR:
			c->aslr = true;
			break;
		case OPT_DUMPDTB:
			c->dumpdtb = optarg;
			break;
		case OPT_HOST_INFO:
			c->host_info = true;
			break;
		case OPT_MONITOR:
			c->monitor = true;
			break;
		case OPT_TRACE:
			/* The file only with '=': a bare --trace must not eat the image. */
			if (optarg)
				set_trace(c, optarg);
			else
				c->trace = "-";
			c->trace_bare = !optarg;
			break;
		case OPT_STATS:
			c->stats = true;
			break;
		case OPT_COREDUMP:
			rc = set_coredump(c, "--coredump", optarg, err, errlen);
			break;
		case OPT_MOUNT:
			/* The flags override HERMIT_MOUNT as a whole, not entry by entry. */
			if (!c->mounts_from_flag)
				config_drop_mounts(c);
			c->mounts_from_flag = true;
			rc = config_add_mounts(c, optarg, 0, "--mount", err, errlen);
			break;
		case OPT_ENV:
			if (!c->env_from_flag)
				config_drop_envs(c);
			c->env_from_flag = true;
			rc = config_add_envs(c, optarg, "--env", err, errlen);
			break;
		case OPT_ENV_HOST:
			c->env_host = true;
			break;
		case OPT_NO_SANDBOX:
			c->sandbox = false;
			break;
		case OPT_USER:
			c->user = optarg;
			break;
		case OPT_TEMPDIR:
			c->guest_tempdir = optarg;
			break;
		case OPT_RESTORE:
			c->restore = optarg;
			break;
		case OPT_INCOMING:
			c->incoming = optarg;
			break;
		case OPT_MIGRATE_TO:
			c->migrate_to = optarg;
			break;
		case OPT_MIGRATION_KEY:
			c->migration_key = optarg;
			break;
		case OPT_MIGRATE_DOWNTIME:
			rc = set_downtime(
				c,
				as_typed(argv, "--migrate-downtime=", "--migrate-downtime ", NULL),
				optarg, err, errlen);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CONFIG_EXIT_OK;
		case OPT_VERSION:
			printf("proxy %s\nfeatures: %s\n", PROXY_VERSION, config_features());
			return CONFIG_EXIT_OK;
		case ':':
			snprintf(err, errlen, "option %s needs a value (see proxy --help)\n",
				 option_name(argv, optopt));
			return CONFIG_USAGE;
		default:
			unknown_option(argv, optopt, err, errlen);
			return CONFIG_USAGE;
		}
	}
	/* QEMU's -s without -S: a stub on that port, the guest not held for it. */
	if (port_flag && c->debug == DEBUG_OFF)
		c->debug = DEBUG_LISTEN;
	return rc ?: choose_gdb_endpoint(c, tcp_flag, err, errlen);
}

int config_parse(struct config *c, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	config_defaults(c);
	int rc = config_from_env(c, envp, err, errlen);
	if (rc)
		return rc;
	rc = config_from_flags(c, argc, argv, err, errlen);
	if (rc)
		return rc;
	rc = config_build_environ(c, envp, err, errlen);
	if (rc)
		return rc;
	if (c->host_info)
		return CONFIG_OK;
	if (c->restore || c->incoming)
		return config_check_resumed(c, argc - optind, argv + optind, err, errlen);
	if (optind >= argc) {
		snprintf(err, errlen, "no unikernel image given\n%s", usage_text);
		return CONFIG_USAGE;
	}
	c->image = argv[optind];
	c->guest_argv = &argv[optind];
	c->guest_argc = argc - optind;
	return config_check(c, err, errlen);
}
