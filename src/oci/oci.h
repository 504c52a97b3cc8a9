/* oci.h: proxy-oci, the OCI runtime that runs a Hermit image under proxy.
 *
 * A program of its own beside proxy (src/README.md): it reads a bundle's
 * config.json (oci_config.c), keeps each container's state under --root
 * (oci_state.c) and, at `start`, execs proxy with the command line the mapping
 * built. It uses none of proxy's layers: what it knows of proxy is its command line.
 */
#ifndef OCI_H
#define OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define OCI_SPEC_VERSION    "1.0.2"
#define OCI_CPUS_ANNOTATION "org.hermit.cpus"
#define OCI_MIN_MEM	    (4ULL << 20) /* proxy's floor for HERMIT_MEM */
/* proxy's ceiling for HERMIT_MEM (CONFIG_MAX_MEM: below the PCI hole, and one KVM slot above it) */
#define OCI_MAX_MEM  (HERMIT_PCI_HOLE_START + ((((unsigned long long)1 << 31) - 1) << 12))
#define OCI_MAX_CPUS 512 /* proxy's ceiling for HERMIT_CPUS (CONFIG_MAX_CPUS) */

/* What `create` prepares and `start` runs: proxy's command line. */
struct oci_plan {
	char **argv; /* proxy's, NULL-terminated; argv[0] is proxy's path */
	int argc;
	int cap;
	bool terminal; /* process.terminal: stdio on a pty sent to --console-socket */
};

/* config.json (already parsed) of the bundle at the absolute path `bundle` into
 * the command line of `proxy`. 0, or -1 with a message for the engine's user. */
int oci_plan_build(const char *bundle, const json_t *config, const char *proxy,
		   struct oci_plan *plan, char *err, size_t errlen);
void oci_plan_free(struct oci_plan *plan);

/* Is the open file `fd` (named `path` in messages) a Hermit image? 0 or -1. */
int oci_check_hermit_elf(int fd, const char *path, char *err, size_t errlen);

enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_STOPPED };

/* One container's record, as state.json under --root/ID holds it. */
struct oci_state {
	char *id;
	char *bundle;
	pid_t pid;
	unsigned long long starttime; /* of pid (/proc/PID/stat), against pid reuse */
	json_t *annotations;	      /* an object of strings, owned */
};

const char *oci_status_name(enum oci_status st);
bool oci_valid_id(const char *id);
/* The spec's state object (runtime-spec runtime.md "State"). */
json_t *oci_state_json(const struct oci_state *s, enum oci_status st);
/* The record stored on disk, and back. */
json_t *oci_state_record(const struct oci_state *s);
int oci_state_from_record(const json_t *rec, struct oci_state *s, char *err, size_t errlen);
void oci_state_free(struct oci_state *s);
/* pid's start time (clock ticks after boot) and state letter from /proc: 0 or -1. */
int oci_proc_stat(pid_t pid, unsigned long long *starttime, char *state);
/* created/running/stopped: the process alive (same start time, no zombie), and
 * whether it still waits for `start` (its exec.fifo exists). */
enum oci_status oci_status_of(const struct oci_state *s, bool waiting);

#endif
