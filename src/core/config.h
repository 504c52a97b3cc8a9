/* config.h: proxy's settings, parsed once from the environment and the command line.
 *
 * The environment (HERMIT_*) is the interface of record; flags override it.
 * Nothing else in proxy reads the environment: modules get a `struct config`.
 */
#ifndef PROXY_CONFIG_H
#define PROXY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hermit_abi.h"

#define CONFIG_MAX_CPUS	   512
#define CONFIG_DEFAULT_MEM (512ULL << 20)
/* KVM's largest memory slot (2^31 - 1 pages); guest RAM is at most the part below
 * the PCI hole plus one such slot above it, less where the host's guest-physical
 * addresses have fewer bits (vm.c checks that). */
#define CONFIG_KVM_SLOT_BYTES		((((uint64_t)1 << 31) - 1) << 12)
#define CONFIG_MAX_MEM			(HERMIT_PCI_HOLE_START + CONFIG_KVM_SLOT_BYTES)
#define CONFIG_MIN_MEM			(4ULL << 20) /* fixed area, boot stack, a small image */
#define CONFIG_DEFAULT_GDB_PORT		1234
#define CONFIG_MAX_SOCKET_PATH		108	 /* sizeof(sockaddr_un.sun_path), with the NUL */
#define CONFIG_MAX_CHECKPOINT_INTERVAL	2000000u /* seconds (23 days): poll's int of ms */
#define CONFIG_DEFAULT_MIGRATE_DOWNTIME 20u	 /* ms: --migrate-downtime */
#define CONFIG_MAX_MIGRATE_DOWNTIME	60000u	 /* ms */

enum abi_choice {
	ABI_AUTO,
	ABI_RUSTY,
	ABI_C,
	ABI_HERMIT_ENTRY,
	ABI_HERMIT_FDT1, /* FDT boot with uhyve-interface 1, 2, 3 (Hermit 0.10 - main) */
	ABI_HERMIT_FDT2,
	ABI_HERMIT_FDT3,
};

/* When the GDB stub runs. Zero is off, so `if (cfg->debug)` asks "is there a stub". */
enum debug_mode {
	DEBUG_OFF = 0,
	DEBUG_WAIT,   /* HERMIT_DEBUG=1, -d: stopped before the first instruction */
	DEBUG_LISTEN, /* HERMIT_DEBUG=listen, -s without -d: the guest runs, GDB may attach */
};

#define CONFIG_MAX_MOUNTS 32

/* One --mount HOST_PATH[:GUEST_PATH][:ro] (or HERMIT_MOUNT entry). */
struct mount_spec {
	const char *host;  /* as given */
	const char *guest; /* absolute and normalised (no "//", ".", trailing '/') */
	bool ro;	   /* refuse writes, creation and unlink */
};

struct config {
	const char *image; /* path of the unikernel */
	int guest_argc;	   /* guest argv: image path, then the arguments */
	char **guest_argv;
	char **environ; /* what the guest gets (--env, --env-host), NULL-terminated */

	/* File policy (config_policy.c): the host trees the guest may open. */
	struct mount_spec *mounts;
	int nmounts;
	bool mounts_from_flag; /* a --mount was given: HERMIT_MOUNT is ignored */
	/* --tempdir / HERMIT_TEMPDIR: where a Hermit FDT guest's files outside its mounts
	 * go, kept at exit; NULL: a private directory in tmpdir, removed at exit. */
	const char *guest_tempdir;
	/* Environment policy: --env entries (NAME or NAME=VALUE), --env-host. */
	const char **env_entries;
	int nenv_entries;
	bool env_from_flag; /* an --env was given: HERMIT_ENV is ignored */
	bool env_host;	    /* forward the whole host environment (the seed's way) */

	unsigned ncpus;
	uint64_t mem_size;
	bool ncpus_given, mem_given; /* set by -c/-m or HERMIT_CPUS/HERMIT_MEM (--restore
				      * refuses one the checkpoint contradicts) */
	bool verbose;
	bool hugepage;
	bool mergeable;
	enum abi_choice abi;
	bool aslr;	     /* --aslr: an FDT guest's RAM at a random base in its window */
	bool guest_base_set; /* a checkpoint names the base its RAM had (restore, migration) */
	uint64_t guest_base;
	const char *dumpdtb; /* --dumpdtb FILE: write the guest's FDT there and exit 0 */

	enum debug_mode debug;
	bool debug_record; /* HERMIT_DEBUG_RECORD: reverse execution from the first instruction */
	int gdb_port;
	const char *gdb_bind;	     /* address to listen on; loopback unless asked */
	const char *gdb_bind_source; /* "--gdb-addr " or "HERMIT_DEBUG_ADDR="; NULL: default */
	/* --gdb-socket / HERMIT_DEBUG_SOCKET: a Unix socket instead of the TCP port. */
	const char *gdb_socket;
	const char *gdb_socket_source; /* "--gdb-socket " or "HERMIT_DEBUG_SOCKET=" */

	uint8_t ip[4], gateway[4], mask[4];
	bool ip_set, gateway_set, mask_set;
	const char *netif;
	uint8_t mac[6];
	bool mac_set;

	bool host_info; /* --host-info: print what this host's KVM can do */

	/* developer tools (docs/tools.md) */
	bool monitor;		     /* the monitor console on stdin */
	const char *monitor_history; /* its history file, NULL: none */
	char *monitor_history_alloc; /* the default ~/.proxy_history, config_release frees */
	const char *trace;	     /* hypercall trace: NULL off, "-" stderr, else a file */
	bool trace_bare;	     /* --trace without '=FILE' (config_check looks behind it) */
	const char *coredump;	     /* core file written when the guest fails, or NULL */
	const char *coredump_source; /* "--coredump " or "HERMIT_COREDUMP=" (messages) */
	bool stats;		     /* statistics on stderr at exit */

	/* --user NAME: after /dev/kvm, the tap and the debug port are open, proxy runs
	 * as NAME (config_check resolves it). */
	const char *user;
	unsigned user_uid, user_gid;
	long sudo_uid; /* $SUDO_UID: who ran `sudo proxy` (may use the stub); -1: none */

	bool sandbox; /* confine proxy after set-up (src/sandbox); --no-sandbox: off */
	/* Checkpoints and migration (src/snapshot, README "Checkpoint, restore, migration"). */
	unsigned checkpoint_interval; /* HERMIT_CHECKPOINT seconds; 0: none */
	bool full_checkpoint;	      /* HERMIT_FULLCHECKPOINT: every checkpoint full */
	bool checkpoint_paused;	      /* HERMIT_CHECKPOINT_PAUSED: full ones written paused too */
	const char *checkpoint_dir;   /* HERMIT_CHECKPOINT_DIR, default ./checkpoint */
	const char *restore;	      /* --restore / HERMIT_RESTORE: continue DIR's latest */
	const char *incoming;	      /* --incoming / HERMIT_MIGRATION_SERVER: [ADDR:]PORT */
	const char *migrate_to;	      /* --migrate-to / HERMIT_MIGRATION_SUPPORT: HOST:PORT */
	const char *migration_key;    /* --migration-key / HERMIT_MIGRATION_KEY: TLS-PSK file */
	unsigned migrate_downtime_ms; /* --migrate-downtime / HERMIT_MIGRATION_DOWNTIME: live
				       * migration's stop budget; 0: cold (stop first) */
	bool snapshots;		      /* the snapshot module is on (any of the above, or
				       * savevm through the monitor or GDB) */
	const char *tmpdir;	      /* $TMPDIR (where the sandbox lets debugger dumps go) */
};

/* What a boolean variable accepts (parse_bool), as messages and --help say it. */
#define CONFIG_BOOL_VALUES "1, true, yes or on; 0, false, no, off or empty"

enum config_result { CONFIG_OK = 0, CONFIG_ERROR = -1, CONFIG_EXIT_OK = 1, CONFIG_USAGE = -2 };

/* Parse envp then argv into *c. On CONFIG_ERROR/CONFIG_USAGE, err holds the message
 * (naming the variable or flag and the accepted form). CONFIG_EXIT_OK: --help or
 * --version was printed, exit 0. */
int config_parse(struct config *c, int argc, char **argv, char **envp, char *err, size_t errlen);

/* Value parsers, exposed for the unit tests. Each returns 0 or -1. */
int parse_mem_size(const char *s, uint64_t *out);
int parse_uint(const char *s, unsigned long max, unsigned long *out);
int parse_ipv4(const char *s, uint8_t out[4]);
int parse_mac(const char *s, uint8_t out[6]);
int parse_bool(const char *s, bool *out);

/* config_policy.c: the file and environment policies. `what` names the source in
 * messages ("--mount" or "HERMIT_MOUNT"). Each returns CONFIG_OK or CONFIG_ERROR
 * with the message in err. */
int parse_mount(const char *entry, struct mount_spec *out, const char *what, char *err,
		size_t errlen);
int config_add_mounts(struct config *c, const char *list, char sep, const char *what, char *err,
		      size_t errlen);
int config_add_envs(struct config *c, const char *list, const char *what, char *err, size_t errlen);
/* The guest's environment from the entries, --env-host and the host's. */
int config_build_environ(struct config *c, char **host_env, char *err, size_t errlen);
/* Free the entries (a flag replacing its variable's), or all the policies
 * allocated (the unit tests parse many times). */
void config_drop_mounts(struct config *c);
void config_drop_envs(struct config *c);
void config_release(struct config *c);

const char *config_usage_text(void);

/* config_check.c: what can only be checked once everything is parsed (limits of
 * the guest ABI, files named, option combinations). CONFIG_OK or CONFIG_ERROR /
 * CONFIG_USAGE with the message in err. */
int config_check(struct config *c, char *err, size_t errlen);
/* The same for --restore/--incoming, whose image and arguments come from the
 * checkpoint (the mounts and the environment from this command line, as for a fresh
 * boot): `args` are the words after the options (there must be none). */
int config_check_resumed(struct config *c, int nargs, char **args, char *err, size_t errlen);
/* Who may drive proxy's ports (the debug stub, --incoming): proxy's own user (also
 * the one --user makes it), the one who ran `sudo proxy`, and root, who could take
 * over proxy anyway. Fills uids, returns how many. */
#define CONFIG_MAX_TRUSTED_UIDS 5
unsigned config_trusted_uids(const struct config *c, unsigned uids[CONFIG_MAX_TRUSTED_UIDS]);
/* The build's features, one line (--version). */
const char *config_features(void);
#endif
