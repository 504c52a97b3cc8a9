/* gdb_cmd_extended.c: extended-remote (`target extended-remote`): `!`, `vRun` and the
 * session's manners after the guest exits.
 *
 * In extended mode the guest's exit is reported (W) and the session goes on: the VM
 * waits, stopped, for `vRun`, which starts the guest again from its first
 * instruction with a fresh image load (the target's restart), or for the debugger to
 * leave (then the VM ends with the guest's status). `k` stops the guest the same way
 * instead of ending the VM: GDB sends it before `vRun` when `run` restarts a live guest.
 * vRun's file name is ignored (the guest is always proxy's image); arguments are
 * refused: the guest runs again with the ones it was started with. A guest this
 * session started is not "attached" (qAttached 0): quitting GDB kills it, as with
 * gdbserver.
 */
#include "gdb_session.h"

#include <errno.h>
#include <string.h>

enum gdb_reply gdb_cmd_extended(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	if (!s->tgt.ops->set_extended || !s->tgt.ops->restart)
		return GDB_REPLY_SEND; /* empty: not offered */
	s->tgt.ops->set_extended(s->tgt.ctx, 1);
	s->extended = true;
	gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

/* `filename;arg;...`: true when no argument is given (or every one is empty). */
static bool no_arguments(const char *p, size_t len)
{
	const char *semi = memchr(p, ';', len);
	if (!semi)
		return true;
	for (const char *q = semi; q < p + len; q++)
		if (*q != ';')
			return false;
	return true;
}

enum gdb_reply gdb_cmd_vrun(struct gdb_session *s, const struct rsp_args *a)
{
	char err[200] = "";
	if (!s->extended || !s->tgt.ops->restart)
		return GDB_REPLY_SEND; /* empty: `run` needs extended-remote */
	if (a->count && !no_arguments(a->v[0].s, a->v[0].len)) {
		gdb_reply_str(s, "E.proxy runs the guest again with the arguments it was "
				 "started with: clear GDB's `set args`");
		return GDB_REPLY_SEND;
	}
	int rc = s->tgt.ops->restart(s->tgt.ctx, err, sizeof(err));
	if (rc) {
		gdb_reply_fmt(s, "E.cannot start the guest again: %.200s", err);
		return GDB_REPLY_SEND;
	}
	struct gdb_stop st = {.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = 5};
	s->ran = true;
	s->running = false;
	s->last_stop = st;
	s->g_cpu = 0;
	s->c_cpu = -1;
	char buf[64];
	gdb_reply_bin(s, buf, gdb_format_stop(buf, sizeof(buf), &st, s->features));
	return GDB_REPLY_SEND;
}

/* `k` in extended mode: the guest stops for good and the session goes on. */
enum gdb_reply gdb_extended_kill(struct gdb_session *s)
{
	s->tgt.ops->kill(s->tgt.ctx);
	s->last_stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 9};
	return GDB_REPLY_NONE; /* as gdbserver: GDB does not wait for an answer */
}

bool gdb_extended_no_process(struct gdb_session *s)
{
	if (!s->extended || s->last_stop.kind != GDB_STOP_EXITED)
		return false;
	gdb_reply_str(s, "l"); /* GDB's mourning must not find threads to adopt */
	return true;
}
