/* oci_cli.h: proxy-oci's commands (oci_cmd.c), the container process (oci_run.c)
 * and the error log the engine reads (oci_main.c). */
#ifndef OCI_CLI_H
#define OCI_CLI_H

#include "oci.h"

/* The global options, parsed once. */
struct oci_ctx {
	const char *root; /* --root: one directory per container */
	const char *log;  /* --log: where errors go as well as stderr */
	bool log_json;	  /* --log-format json */
};

/* Report an error to stderr and the --log file; returns 1 (the exit status). */
__attribute__((format(printf, 2, 3))) int oci_error(const struct oci_ctx *ctx, const char *fmt,
						    ...);

int oci_cmd_create(const struct oci_ctx *ctx, int argc, char **argv);
int oci_cmd_start(const struct oci_ctx *ctx, int argc, char **argv);
int oci_cmd_state(const struct oci_ctx *ctx, int argc, char **argv);
int oci_cmd_kill(const struct oci_ctx *ctx, int argc, char **argv);
int oci_cmd_delete(const struct oci_ctx *ctx, int argc, char **argv);

/* Signal names and numbers as `kill` takes them: TERM, SIGTERM, 15. -1 if none. */
int oci_parse_signal(const char *s);

/* The container process, in the child of `create`: set up its stdio (a pty sent to
 * console_socket when the plan asks for a terminal), report to `ready` (a '\0' byte,
 * or a message), wait on the FIFO for `start`, exec proxy. Never returns. */
__attribute__((noreturn)) void oci_run_container(const struct oci_plan *plan,
						 const char *console_socket, const char *fifo,
						 int ready);

/* `start`: release the process waiting on fifo (pid must stay alive meanwhile). */
int oci_release(const char *fifo, pid_t pid, char *err, size_t errlen);

#endif
