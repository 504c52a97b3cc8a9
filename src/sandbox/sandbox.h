/* sandbox.h: after set-up, proxy confines itself.
 *
 * A guest is untrusted and proxy serves it with host privileges (often root's), so
 * a bug in a hypercall handler must not become the host's problem. Once everything
 * is opened (KVM, the tap, the debug socket, log files), proxy restricts which host
 * paths it may still open (Landlock, where the kernel has it) and which system
 * calls it may still make (seccomp, through libseccomp). A forbidden call ends
 * proxy with a message naming it (STATUS_SANDBOX) instead of happening.
 *
 * This layer uses nothing but the C library, libseccomp and the kernel: main.c
 * says what to allow, from the configuration.
 */
#ifndef PROXY_SANDBOX_H
#define PROXY_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#define SANDBOX_MAX_PATHS 64
#define STATUS_SANDBOX	  159 /* 128 + SIGSYS: a system call the filter forbids */

enum sandbox_access {
	SANDBOX_READ,	    /* read files, list directories */
	SANDBOX_READ_EXEC,  /* and map them executable (shared libraries) */
	SANDBOX_READ_WRITE, /* and write, create, remove, rename beneath */
};

struct sandbox_path {
	const char *path;
	enum sandbox_access access;
};

#define SANDBOX_MAX_STORE 4

/* The host paths proxy may still open after set-up. */
struct sandbox_paths {
	struct sandbox_path p[SANDBOX_MAX_PATHS];
	unsigned n;
	bool overflow; /* more were asked for than fit: sandbox_landlock refuses */
	char store[SANDBOX_MAX_STORE][4096]; /* directories derived from file names */
	unsigned nstore;
};

/* What proxy's own work after set-up needs (the configuration, in plain terms). */
struct sandbox_needs {
	const char *coredump; /* core file written when the guest fails, or NULL */
	const char *history;  /* the monitor console's history file, or NULL */
	bool debugger;	      /* a GDB stub or the monitor: dumps go to . and tmpdir */
	const char *tmpdir;   /* $TMPDIR, or NULL: /tmp */
};

/* The paths proxy itself needs (sandbox_plan.c); the caller adds the guest's. */
void sandbox_plan(const struct sandbox_needs *n, struct sandbox_paths *s);

/* Add a path (when the list is full, `overflow` is set: no rule is dropped silently). */
void sandbox_allow(struct sandbox_paths *s, const char *path, enum sandbox_access access);

/* What is in force, for --host-info and HERMIT_VERBOSE. */
struct sandbox_status {
	int landlock_abi; /* applied with this ABI version; 0: not applied */
	bool seccomp;	  /* the system-call filter is installed */
	char landlock_why[160], seccomp_why[160]; /* why not, when not */
};

/* Landlock: only `paths` stay reachable (others: EACCES). Returns the ABI version
 * applied, 0 when the kernel has no Landlock (why says so), -1 on an error (why). */
int sandbox_landlock(const struct sandbox_paths *paths, char *why, size_t whylen);

/* seccomp: the allow-list of sandbox_seccomp.c for every thread of the process
 * (also those already running). 0, or -1 with why. */
int sandbox_seccomp(char *why, size_t whylen);

/* Landlock's ABI version on this kernel (0: none), for --host-info. */
int sandbox_landlock_abi(void);

/* --user: become uid/gid (with name's groups) for good. 0, or -1 with why. */
int sandbox_drop_privileges(const char *name, unsigned uid, unsigned gid, char *why, size_t whylen);

/* --host-info's lines about the sandbox; `on`: not turned off by the configuration. */
void sandbox_print_info(bool on);

#endif
