/* rsp_args.h: parse a packet's arguments from a small schema, so handlers never parse.
 *
 * Schema characters (in the spirit of QEMU's gdbstub command table):
 *   L  hex number (1..16 digits)             -> arg.u
 *   t  thread id: hex, or -1 for "all"; or the multiprocess form pPID.TID, pPID
 *      (all its threads), PID and TID hex or -1 -> arg.tid, arg.pid (has_pid)
 *   c  any one character                     -> arg.c
 *   s  bytes up to the schema's next literal character, or to the end -> arg.s/arg.len
 *   .  the rest of the schema is optional: stop here if the packet has ended
 *   anything else: a literal that must be present
 * The whole packet must be consumed.
 */
#ifndef RSP_ARGS_H
#define RSP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSP_MAX_ARGS 6

struct rsp_arg {
	uint64_t u;
	int64_t tid;
	int64_t pid;  /* with has_pid: the process of a pPID.TID thread id */
	bool has_pid; /* the thread id had the multiprocess form */
	char c;
	const char *s;
	size_t len;
};

struct rsp_args {
	int count;
	struct rsp_arg v[RSP_MAX_ARGS];
};

/* Parse `len` bytes at `p` against `schema`. True on success. */
bool rsp_parse_args(const char *schema, const char *p, size_t len, struct rsp_args *out);

#endif
