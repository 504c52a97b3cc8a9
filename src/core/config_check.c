/* config_check.c: checks that need the whole configuration, done before any VM.
 *
 * Each refusal names the variable or flag, the value and what would be accepted,
 * so a wrong setting never costs a boot (or a guest run that ends without the
 * core dump the user asked for).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hermit_abi.h"

#define REFUSE(rc, ...)                                                                            \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return rc;                                                                         \
	} while (0)

static int count_env(char **env)
{
	int n = 0;
	while (env && env[n])
		n++;
	return n;
}

/* Too many guest variables, said with where they came from (only the flags or the
 * variable the user gave are named). */
static int check_env_count(const struct config *c, char *err, size_t errlen)
{
	int envc = count_env(c->environ);
	if (envc <= HERMIT_MAX_ENVC)
		return CONFIG_OK;
	const char *named = c->env_from_flag ? "--env" : "HERMIT_ENV";
	if (c->env_host)
		REFUSE(CONFIG_ERROR,
		       "the guest's environment has %d variables (--env-host forwards the "
		       "host's%s%s"
		       "%s): the guest ABI passes at most %d (name them with --env instead of "
		       "--env-host, or start proxy with fewer, e.g. env -i VAR=value ... proxy)",
		       envc, c->nenv_entries ? " and " : "", c->nenv_entries ? named : "",
		       c->nenv_entries ? " adds to them" : "", HERMIT_MAX_ENVC);
	REFUSE(CONFIG_ERROR,
	       "the guest's environment has %d variables (from %s): the guest ABI passes at "
	       "most %d (name fewer with %s)",
	       envc, named, HERMIT_MAX_ENVC, named);
}

/* The guest ABI has room for 128 arguments and 127 variables: refuse more rather
 * than drop some silently. */
static int check_abi_limits(const struct config *c, char *err, size_t errlen)
{
	if (c->guest_argc > HERMIT_MAX_ARGC)
		REFUSE(CONFIG_USAGE,
		       "%d guest arguments (the image path and %d more): the guest ABI passes at "
		       "most %d\n",
		       c->guest_argc, c->guest_argc - 1, HERMIT_MAX_ARGC);
	return check_env_count(c, err, errlen);
}

static int check_gdb_addr(const struct config *c, char *err, size_t errlen)
{
	if (!c->gdb_bind_source)
		return CONFIG_OK;
	if (!c->debug) {
		if (c->gdb_bind_source[0] == '-')
			REFUSE(CONFIG_USAGE,
			       "option --gdb-addr needs a debugging mode: add -d (stop before the "
			       "first instruction) or -s PORT (GDB may attach later), or set "
			       "HERMIT_DEBUG=1 or HERMIT_DEBUG=listen\n");
		REFUSE(CONFIG_ERROR,
		       "HERMIT_DEBUG_ADDR=%s is set but no debugging mode is: set HERMIT_DEBUG=1 "
		       "or HERMIT_DEBUG=listen (or give -d or -s PORT), or unset "
		       "HERMIT_DEBUG_ADDR",
		       c->gdb_bind);
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	int rc = getaddrinfo(c->gdb_bind, NULL, &hints, &ai);
	if (rc)
		REFUSE(CONFIG_ERROR, "%s%s: cannot resolve this address: %s", c->gdb_bind_source,
		       c->gdb_bind, gai_strerror(rc));
	freeaddrinfo(ai);
	return CONFIG_OK;
}

/* --gdb-socket: file permissions and SO_PEERCRED are the socket's gates, so the
 * directory holding it must be proxy's user's alone (no other user may put a socket
 * of theirs there first, or swap ours; a sticky /tmp lets anyone create names), and
 * a file already there is somebody's: only a socket of proxy's user may be replaced
 * (debug_listen does it when nothing answers on it). */
/* Recording starts before the first instruction: only when the VM waits for GDB there. */
static int check_debug_record(const struct config *c, char *err, size_t errlen)
{
	if (c->debug_record && c->debug != DEBUG_WAIT)
		REFUSE(CONFIG_ERROR,
		       "HERMIT_DEBUG_RECORD=1 needs HERMIT_DEBUG=1 (or -d): recording starts "
		       "before the first instruction, where the VM waits for GDB");
	return CONFIG_OK;
}

static int check_gdb_socket_dir(const struct config *c, char *err, size_t errlen)
{
	const char *src = c->gdb_socket_source, *path = c->gdb_socket;
	char copy[4096];
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		REFUSE(CONFIG_ERROR, "%s%s: the directory %s %s", src, path, dir,
		       errno == ENOENT ? "does not exist" : "is not a directory");
	bool ours = st.st_uid == geteuid() || (c->user && st.st_uid == c->user_uid);
	if (!ours || (st.st_mode & 022))
		REFUSE(CONFIG_ERROR,
		       "%s%s: the directory %s is %s uid %u, mode %04o): another user could "
		       "replace the socket; put it in a directory only proxy's user can write "
		       "(e.g. one made by mktemp -d)",
		       src, path, dir,
		       ours ? "writable by group or others (owner" : "not proxy's (owner",
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (lstat(path, &st) == 0 &&
	    (!S_ISSOCK(st.st_mode) ||
	     !(st.st_uid == geteuid() || (c->user && st.st_uid == c->user_uid))))
		REFUSE(CONFIG_ERROR,
		       "%s%s: already exists and is not a socket of proxy's user: proxy does not "
		       "remove it (choose another path)",
		       src, path);
	return CONFIG_OK;
}

static int check_gdb_socket(const struct config *c, char *err, size_t errlen)
{
	if (!c->gdb_socket)
		return CONFIG_OK;
	if (!c->debug)
		REFUSE(CONFIG_ERROR,
		       "HERMIT_DEBUG_SOCKET=%s is set but no debugging mode is: set HERMIT_DEBUG=1 "
		       "or HERMIT_DEBUG=listen (or give -d), or unset HERMIT_DEBUG_SOCKET",
		       c->gdb_socket);
	if (strlen(c->gdb_socket) >= CONFIG_MAX_SOCKET_PATH)
		REFUSE(CONFIG_ERROR, "%s%s: too long: a Unix socket's path has at most %d bytes",
		       c->gdb_socket_source, c->gdb_socket, CONFIG_MAX_SOCKET_PATH - 1);
	return check_gdb_socket_dir(c, err, errlen);
}

static bool is_elf(const char *path)
{
	unsigned char magic[4] = {0};
	/* O_NONBLOCK: a FIFO (or a terminal) named there must not hold up the start. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	bool elf = read(fd, magic, 4) == 4 && !memcmp(magic, "\177ELF", 4);
	close(fd);
	return elf;
}

/* `--trace out.txt app`: getopt takes out.txt as the image. When that word is no
 * ELF file and more words follow, the user meant a trace file: say how. */
static int check_trace(const struct config *c, char *err, size_t errlen)
{
	if (c->trace_bare && c->guest_argc > 1 && !is_elf(c->image))
		REFUSE(CONFIG_USAGE,
		       "a bare --trace traces to stderr, and '%s' (not an ELF image) would be "
		       "taken as the image: to trace to that file, write --trace=%s\n",
		       c->image, c->image);
	return CONFIG_OK;
}

/* The core file is written after the guest failed: its directory must be there
 * now, not after a long run. */
static int check_coredump(const struct config *c, char *err, size_t errlen)
{
	if (!c->coredump)
		return CONFIG_OK;
	char copy[4096];
	struct stat st;
	/* The name itself first: its problem is the one the user typed. */
	if (!stat(c->coredump, &st) && S_ISDIR(st.st_mode))
		REFUSE(CONFIG_ERROR, "%s%s: is a directory, expected the name of the core file",
		       c->coredump_source, c->coredump);
	snprintf(copy, sizeof(copy), "%s", c->coredump);
	const char *dir = dirname(copy);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		REFUSE(CONFIG_ERROR, "%s%s: the directory %s %s", c->coredump_source, c->coredump,
		       dir, errno == ENOENT ? "does not exist" : "is not a directory");
	if (access(dir, W_OK))
		REFUSE(CONFIG_ERROR, "%s%s: cannot write in %s: %s", c->coredump_source,
		       c->coredump, dir, strerror(errno));
	return CONFIG_OK;
}

/* A mapping names a host tree that must be there now: a typo would otherwise show
 * only as the guest's ENOENT, long after start. */
static int check_mounts(const struct config *c, char *err, size_t errlen)
{
	const char *what = c->mounts_from_flag ? "--mount" : "HERMIT_MOUNT";
	for (int i = 0; i < c->nmounts; i++) {
		const struct mount_spec *m = &c->mounts[i];
		struct stat st;
		if (stat(m->host, &st))
			REFUSE(CONFIG_ERROR, "%s: the host path %s (mapped to %s in the guest) %s",
			       what, m->host, m->guest,
			       errno == ENOENT ? "does not exist" : strerror(errno));
		for (int j = 0; j < i; j++)
			if (!strcmp(c->mounts[j].guest, m->guest))
				REFUSE(CONFIG_ERROR,
				       "%s: the guest path %s is mapped twice (to %s and to %s)",
				       what, m->guest, c->mounts[j].host, m->host);
	}
	return CONFIG_OK;
}

/* --user: the account must exist, and only root can become it. */
static int check_user(struct config *c, char *err, size_t errlen)
{
	if (!c->user)
		return CONFIG_OK;
	errno = 0;
	const struct passwd *pw = getpwnam(c->user);
	if (!pw)
		REFUSE(CONFIG_ERROR, "--user %s: %s", c->user,
		       errno ? strerror(errno) : "no such user");
	if (geteuid() != 0 && pw->pw_uid != geteuid())
		REFUSE(CONFIG_ERROR,
		       "--user %s: proxy runs as uid %u, not root, so it cannot become uid %u "
		       "(start proxy as root, or leave --user out)",
		       c->user, (unsigned)geteuid(), (unsigned)pw->pw_uid);
	c->user_uid = pw->pw_uid;
	c->user_gid = pw->pw_gid;
	return CONFIG_OK;
}

unsigned config_trusted_uids(const struct config *c, unsigned uids[CONFIG_MAX_TRUSTED_UIDS])
{
	unsigned n = 0;
	uids[n++] = getuid();
	uids[n++] = geteuid();
	uids[n++] = 0;
	if (c->user)
		uids[n++] = c->user_uid;
	if (c->sudo_uid >= 0 && geteuid() == 0)
		uids[n++] = (unsigned)c->sudo_uid;
	return n;
}

/* --migration-key: a regular file of proxy's user (the one it runs as, or --user's)
 * that nobody else may read or write, as ssh wants its keys. */
static int check_migration_key(const struct config *c, char *err, size_t errlen)
{
	struct stat st;
	const char *k = c->migration_key;
	if (!k)
		return CONFIG_OK;
	if (lstat(k, &st) < 0)
		REFUSE(CONFIG_ERROR, "HERMIT_MIGRATION_KEY/--migration-key %s: %s", k,
		       strerror(errno));
	if (!S_ISREG(st.st_mode))
		REFUSE(CONFIG_ERROR,
		       "HERMIT_MIGRATION_KEY/--migration-key %s is not a regular file", k);
	if (st.st_uid != geteuid() && !(c->user && st.st_uid == c->user_uid))
		REFUSE(CONFIG_ERROR,
		       "HERMIT_MIGRATION_KEY/--migration-key %s belongs to uid %u, not to "
		       "proxy's user (uid %u): refused, as ssh refuses such keys",
		       k, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		REFUSE(CONFIG_ERROR,
		       "HERMIT_MIGRATION_KEY/--migration-key %s is accessible by others (mode "
		       "%04o): the key must be private (chmod 600 %s)",
		       k, (unsigned)(st.st_mode & 07777), k);
	if (!c->incoming && !c->migrate_to && !c->monitor)
		REFUSE(CONFIG_USAGE, "--migration-key is for --incoming, --migrate-to or the "
				     "monitor's migrate: drop it\n");
	return CONFIG_OK;
}

/* "[HOST:]PORT" ends in a decimal port from min to 65535 (a larger number would
 * wrap to another port in getaddrinfo); need_host: the HOST part is required. */
static bool port_in_range(const char *v, bool need_host, unsigned long min)
{
	const char *colon = strrchr(v, ':');
	const char *port = colon ? colon + 1 : v;
	if ((need_host && (!colon || colon == v)) || !*port || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port))
		return false;
	unsigned long n = strtoul(port, NULL, 10);
	return n >= min && n <= 65535;
}

/* What checkpoints and migration cannot work with, said before anything starts. */
static int check_snapshots(struct config *c, char *err, size_t errlen)
{
	bool saves = c->checkpoint_interval || c->migrate_to;
	if (saves && c->debug)
		REFUSE(CONFIG_ERROR,
		       "%s does not run under HERMIT_DEBUG (GDB decides when the "
		       "vCPUs run): while debugging, save with `monitor savevm NAME`",
		       c->checkpoint_interval ? "HERMIT_CHECKPOINT" : "HERMIT_MIGRATION_SUPPORT");
	if ((saves || c->restore || c->incoming) && c->netif)
		REFUSE(CONFIG_ERROR,
		       "a guest with a network device (HERMIT_NETIF=%s) cannot be "
		       "checkpointed, restored or migrated: its tap device's state stays "
		       "in this host's kernel",
		       c->netif);
	if (c->restore && c->incoming)
		REFUSE(CONFIG_USAGE, "--restore and --incoming both name where the guest comes "
				     "from: give one\n");
	if (c->migrate_to && !port_in_range(c->migrate_to, true, 1))
		REFUSE(CONFIG_ERROR,
		       "HERMIT_MIGRATION_SUPPORT/--migrate-to %s is invalid: expected "
		       "HOST:PORT with a PORT from 1 to 65535",
		       c->migrate_to);
	if (c->incoming && !port_in_range(c->incoming, false, 0))
		REFUSE(CONFIG_ERROR,
		       "HERMIT_MIGRATION_SERVER/--incoming %s is invalid: expected [ADDR:]PORT "
		       "with a PORT from 0 to 65535 (0: any free one)",
		       c->incoming);
	c->snapshots = saves || c->restore || c->incoming || c->debug || c->monitor;
	return CONFIG_OK;
}

int config_check_resumed(struct config *c, int nargs, char **args, char *err, size_t errlen)
{
	if (nargs > 0)
		REFUSE(CONFIG_USAGE,
		       "%s takes the unikernel and its arguments from the checkpoint: drop '%s'\n",
		       c->restore ? "--restore" : "--incoming", args[0]);
	/* The guest's file policy and environment are this command line's, as for a fresh
	 * boot, never what a checkpoint or a stream claims (the checkpoint only names
	 * the files the guest had open, which must fall inside this policy). */
	int mrc = check_mounts(c, err, errlen);
	if (mrc)
		return mrc;
	int rc = check_env_count(c, err, errlen);
	rc = rc ?: check_gdb_addr(c, err, errlen);
	rc = rc ?: check_debug_record(c, err, errlen);
	rc = rc ?: check_coredump(c, err, errlen);
	rc = rc ?: check_user(c, err, errlen);
	rc = rc ?: check_migration_key(c, err, errlen);
	rc = rc ?: check_gdb_socket(c, err, errlen); /* after --user: it may own the place */
	rc = rc ?: check_snapshots(c, err, errlen);
	return rc;
}

int config_check(struct config *c, char *err, size_t errlen)
{
	int rc = check_abi_limits(c, err, errlen);
	rc = rc ?: check_snapshots(c, err, errlen);
	rc = rc ?: check_gdb_addr(c, err, errlen);
	rc = rc ?: check_debug_record(c, err, errlen);
	rc = rc ?: check_trace(c, err, errlen);
	rc = rc ?: check_coredump(c, err, errlen);
	rc = rc ?: check_mounts(c, err, errlen);
	rc = rc ?: check_user(c, err, errlen);
	rc = rc ?: check_migration_key(c, err, errlen);
	rc = rc ?: check_gdb_socket(c, err, errlen); /* after --user: it may own the place */
	return rc;
}

const char *config_features(void)
{
	return "gdb-stub monitor-console(readline) core-dumps trace stats tap-network "
	       "abi=rusty,c,hermit-entry,hermit-fdt1,hermit-fdt2,hermit-fdt3"
#if defined(__SANITIZE_ADDRESS__)
	       " sanitizers=address,undefined"
#endif
		;
}
