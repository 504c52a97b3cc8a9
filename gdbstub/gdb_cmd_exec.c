/* gdb_cmd_exec.c: stopping and resuming: stop replies, c/s/C/S, vCont, D, k and vKill.
 *
 * The VM is all-stop: a resume returns at once and the session loop waits for the
 * target's stop_fd; gdb_handle_stop then reports the stop. Thread ids on the wire are
 * vCPU + 1 (p1.<vCPU + 1> for a multiprocess client). Signals in C/S are ignored: a unikernel has
 * no signal to deliver. A resume the target refuses keeps the VM stopped and gets an E reply; one
 * for a thread that has not started gets a text GDB prints.
 */
#include "gdb_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stop reason field, or "" when the client did not offer it in qSupported:
 * `swbreak:`/`hwbreak:` confuse a GDB that did not ask for them ("Unexpected
 * swbreak stop reason"). The pc is the breakpoint's address either way, as LLDB
 * (which never offers swbreak) expects; GDB finds the breakpoint there. */
static const char *stop_reason_name(enum gdb_stop_kind kind, unsigned features)
{
	switch (kind) {
	case GDB_STOP_SWBREAK:
		return features & GDB_FEAT_SWBREAK ? "swbreak:;" : "";
	case GDB_STOP_HWBREAK:
		return features & GDB_FEAT_HWBREAK ? "hwbreak:;" : "";
	case GDB_STOP_WATCH:
		return "watch:";
	case GDB_STOP_RWATCH:
		return "rwatch:";
	case GDB_STOP_AWATCH:
		return "awatch:";
	default:
		return "";
	}
}

static bool is_watch(enum gdb_stop_kind kind)
{
	return kind == GDB_STOP_WATCH || kind == GDB_STOP_RWATCH || kind == GDB_STOP_AWATCH;
}

/* `thread:` names the vCPU as the client speaks: p1.N with multiprocess (without it,
 * GDB's record target takes the stop for another process and aborts). */
size_t gdb_format_stop(char *buf, size_t cap, const struct gdb_stop *st, unsigned features)
{
	int sig = st->kind == GDB_STOP_SIGNAL ? st->signal & 0xff : 5;
	bool mp = features & GDB_FEAT_MULTIPROCESS;
	char tid[32], watch[24] = "";
	int n;

	if (st->kind == GDB_STOP_EXITED) {
		n = mp ? snprintf(buf, cap, "W%02x;process:%x", st->exit_code & 0xff, GDB_PID)
		       : snprintf(buf, cap, "W%02x", st->exit_code & 0xff);
		return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
	}
	if (mp)
		snprintf(tid, sizeof(tid), "p%x.%02x", GDB_PID, st->cpu + 1);
	else
		snprintf(tid, sizeof(tid), "%02x", st->cpu + 1);
	if (is_watch(st->kind))
		snprintf(watch, sizeof(watch), "%llx;", (unsigned long long)st->addr);
	n = snprintf(buf, cap, "T%02xthread:%s;%s%s%s", sig, tid,
		     stop_reason_name(st->kind, features), watch,
		     st->kind == GDB_STOP_NO_HISTORY ? "replaylog:begin;" : "");
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void send_stop(struct gdb_session *s, const struct gdb_stop *st)
{
	char buf[64];
	size_t n = gdb_format_stop(buf, sizeof(buf), st, s->features);

	gdb_send_packet(s, buf, n);
}

void gdb_handle_stop(struct gdb_session *s, const struct gdb_stop *st)
{
	s->running = false;
	s->last_stop = *st;
	if (st->kind != GDB_STOP_EXITED && st->cpu >= 0 && st->cpu < s->ncpu) {
		s->g_cpu = st->cpu; /* `g` after a stop reads the thread that stopped */
		s->c_cpu = st->cpu;
	}
	send_stop(s, st);
	if (st->kind == GDB_STOP_EXITED && s->end == GDB_SESSION_ON && !s->extended)
		s->end = GDBSTUB_EXITED;
}

enum gdb_reply gdb_cmd_stop_reason(struct gdb_session *s, const struct rsp_args *a)
{
	char buf[64];

	(void)a;
	gdb_reply_bin(s, buf, gdb_format_stop(buf, sizeof(buf), &s->last_stop, s->features));
	return GDB_REPLY_SEND;
}

/* The thread a refused resume is about: the one to step, else the first resumed. */
static int refused_cpu(const struct gdb_session *s, const enum gdb_resume_action *actions)
{
	int first = -1;

	for (int i = 0; i < s->ncpu; i++) {
		if (actions[i] == GDB_RESUME_STEP)
			return i;
		if (actions[i] != GDB_RESUME_NONE && first < 0)
			first = i;
	}
	return first < 0 ? 0 : first;
}

/* resume() fails with -ESRCH when a thread GDB resumed has not started yet (a vCPU
 * the guest has not brought up): stepping it, or running nothing but such threads,
 * would leave GDB waiting for a stop that never comes. GDB prints an `E.text` reply
 * as "Remote failure reply: E.text", so the user learns which thread and why (the
 * target's thread_info says what state it is in). */
static void reply_not_started(struct gdb_session *s, const enum gdb_resume_action *actions)
{
	int cpu = refused_cpu(s, actions);
	bool step = actions[cpu] == GDB_RESUME_STEP;
	char info[64] = "";

	s->tgt.ops->thread_info(s->tgt.ctx, cpu, info, sizeof(info));
	gdb_reply_fmt(s, "E.cannot %s Thread %d (%s): it has not started running yet; %s",
		      step ? "step" : "continue", cpu + 1, info,
		      step ? "continue the other threads until it has"
			   : "resume it together with threads that run");
}

/* The target's notice as console output (`O`), which GDB prints while it waits. */
static void send_notice(struct gdb_session *s)
{
	const char *text = s->tgt.ops->take_notice ? s->tgt.ops->take_notice(s->tgt.ctx) : NULL;
	size_t len = text ? strlen(text) : 0;
	char *pkt = len ? malloc(1 + 2 * len) : NULL;

	if (!pkt)
		return;
	pkt[0] = 'O';
	rsp_hex_encode(pkt + 1, text, len);
	gdb_send_packet(s, pkt, 1 + 2 * len);
	free(pkt);
}

/* A step of a vCPU that cannot execute anything (halted with interrupts off) would
 * never end: refuse it with the target's reason, which GDB shows. True if refused. */
static bool refuse_stuck_step(struct gdb_session *s, const enum gdb_resume_action *actions)
{
	const struct gdb_target_ops *ops = s->tgt.ops;
	char why[128];

	for (int i = 0; ops->can_progress && i < s->ncpu; i++) {
		if (actions[i] != GDB_RESUME_STEP ||
		    ops->can_progress(s->tgt.ctx, i, why, sizeof(why)))
			continue;
		gdb_reply_error_text(s, EDEADLK, "cannot step Thread %d: %s", i + 1, why);
		return true;
	}
	return false;
}

static enum gdb_reply resume(struct gdb_session *s, const enum gdb_resume_action *actions)
{
	if (refuse_stuck_step(s, actions))
		return GDB_REPLY_SEND;
	int rc = s->tgt.ops->resume(s->tgt.ctx, actions);

	if (rc == -ESRCH) {
		reply_not_started(s, actions);
		return GDB_REPLY_SEND;
	}
	if (rc < 0) {
		gdb_reply_error(s, rc);
		return GDB_REPLY_SEND;
	}
	s->running = true;
	send_notice(s);
	return GDB_REPLY_NONE; /* the stop reply comes when the VM stops */
}

/* Legacy c/s (GDB uses vCont): continue runs every vCPU, as all-stop has it; step
 * steps the Hc thread (the one that last stopped, unless set) and leaves the others
 * stopped. An address argument moves that thread's rip first. */
static enum gdb_reply resume_legacy(struct gdb_session *s, enum gdb_resume_action what,
				    bool has_addr, uint64_t addr)
{
	enum gdb_resume_action *actions = calloc((size_t)s->ncpu, sizeof(*actions));
	int cpu = s->c_cpu >= 0 ? s->c_cpu : s->g_cpu;
	enum gdb_reply r;

	if (!actions) {
		gdb_reply_error(s, ENOMEM);
		return GDB_REPLY_SEND;
	}
	for (int i = 0; i < s->ncpu; i++)
		if (i == cpu || what == GDB_RESUME_CONTINUE)
			actions[i] = what;
	if (has_addr && s->tgt.ops->write_reg(s->tgt.ctx, cpu, GDB_REG_RIP, (uint8_t *)&addr)) {
		gdb_reply_str(s, "E01");
		r = GDB_REPLY_SEND;
	} else {
		r = resume(s, actions);
	}
	free(actions);
	return r;
}

enum gdb_reply gdb_cmd_continue(struct gdb_session *s, const struct rsp_args *a)
{
	return resume_legacy(s, GDB_RESUME_CONTINUE, a->count > 0, a->v[0].u);
}

enum gdb_reply gdb_cmd_step(struct gdb_session *s, const struct rsp_args *a)
{
	return resume_legacy(s, GDB_RESUME_STEP, a->count > 0, a->v[0].u);
}

enum gdb_reply gdb_cmd_continue_sig(struct gdb_session *s, const struct rsp_args *a)
{
	return resume_legacy(s, GDB_RESUME_CONTINUE, a->count > 1, a->v[1].u);
}

enum gdb_reply gdb_cmd_step_sig(struct gdb_session *s, const struct rsp_args *a)
{
	return resume_legacy(s, GDB_RESUME_STEP, a->count > 1, a->v[1].u);
}

enum gdb_reply gdb_cmd_vcont_query(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	gdb_reply_str(s, "vCont;c;C;s;S");
	return GDB_REPLY_SEND;
}

/* One action: `c`, `s`, `Cxx` or `Sxx`, with the signal skipped. */
static bool parse_action(struct rsp_args *args, const char *p, size_t len,
			 enum gdb_resume_action *act, const char **tid, size_t *tid_len)
{
	const char *colon = memchr(p, ':', len);
	size_t alen = colon ? (size_t)(colon - p) : len;

	*tid = colon ? colon + 1 : NULL;
	*tid_len = colon ? len - alen - 1 : 0;
	if (alen == 0)
		return false;
	if (p[0] == 'c' || p[0] == 'C')
		*act = GDB_RESUME_CONTINUE;
	else if (p[0] == 's' || p[0] == 'S')
		*act = GDB_RESUME_STEP;
	else
		return false;
	if (p[0] == 'c' || p[0] == 's')
		return alen == 1;
	return rsp_parse_args("L", p + 1, alen - 1, args);
}

/* Apply one action to the vCPUs it names that no earlier action claimed: the leftmost
 * matching action wins, and an action without a thread id is the default. */
static bool apply_action(enum gdb_resume_action act, const char *tid, size_t tid_len, int ncpu,
			 int cur_cpu, enum gdb_resume_action *actions, bool *claimed)
{
	struct rsp_args args;
	int64_t t = -1;

	if (tid) {
		if (!rsp_parse_args("t", tid, tid_len, &args))
			return false;
		if (!gdb_pid_ours(&args.v[0]))
			return false;
		t = args.v[0].tid;
	}
	if (t == 0) /* "any thread": the current one */
		t = cur_cpu + 1;
	if (t > ncpu)
		return false;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		if (claimed[cpu] || (t > 0 && cpu != t - 1))
			continue;
		claimed[cpu] = true;
		actions[cpu] = act;
	}
	return true;
}

static int parse_vcont_list(const char *p, const char *end, int ncpu, int cur_cpu,
			    enum gdb_resume_action *actions, bool *claimed)
{
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		enum gdb_resume_action act;
		struct rsp_args sig;
		const char *tid;
		size_t tid_len;

		if (!parse_action(&sig, p, (size_t)(stop - p), &act, &tid, &tid_len) ||
		    !apply_action(act, tid, tid_len, ncpu, cur_cpu, actions, claimed))
			return -EINVAL;
		p = semi ? semi + 1 : end;
	}
	return 0;
}

int gdb_parse_vcont(const char *p, size_t len, int ncpu, int cur_cpu,
		    enum gdb_resume_action *actions)
{
	bool *claimed = calloc((size_t)ncpu, sizeof(*claimed));
	int rc;

	if (!claimed)
		return -ENOMEM;
	for (int i = 0; i < ncpu; i++)
		actions[i] = GDB_RESUME_NONE;
	rc = len == 0 ? -EINVAL : parse_vcont_list(p, p + len, ncpu, cur_cpu, actions, claimed);
	free(claimed);
	return rc;
}

static bool any_resumed(const enum gdb_resume_action *actions, int ncpu)
{
	for (int i = 0; i < ncpu; i++)
		if (actions[i] != GDB_RESUME_NONE)
			return true;
	return false;
}

enum gdb_reply gdb_cmd_vcont(struct gdb_session *s, const struct rsp_args *a)
{
	enum gdb_resume_action *actions = calloc((size_t)s->ncpu, sizeof(*actions));
	enum gdb_reply r = GDB_REPLY_SEND;

	if (!actions) {
		gdb_reply_error(s, ENOMEM);
		return r;
	}
	/* Nothing to run would mean no stop ever comes: refuse rather than hang. */
	if (gdb_parse_vcont(a->v[0].s, a->v[0].len, s->ncpu, s->g_cpu, actions) < 0 ||
	    !any_resumed(actions, s->ncpu))
		gdb_reply_str(s, "E01");
	else
		r = resume(s, actions);
	free(actions);
	return r;
}

/* A process id from the client: ours, or any at all from one that does not speak
 * multiprocess (GDB then sends its made-up pid 42000), as gdbserver takes it. */
static bool pid_ours(const struct gdb_session *s, uint64_t pid)
{
	return !(s->features & GDB_FEAT_MULTIPROCESS) || pid == GDB_PID;
}

/* `D`, or `D;PID`: only our one process can be named. */
enum gdb_reply gdb_cmd_detach(struct gdb_session *s, const struct rsp_args *a)
{
	struct rsp_args pid;

	if (a->count > 0 &&
	    (!rsp_parse_args("L", a->v[0].s, a->v[0].len, &pid) || !pid_ours(s, pid.v[0].u))) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	s->tgt.ops->detach(s->tgt.ctx);
	s->end = GDBSTUB_DETACHED;
	gdb_session_event(s, GDBSTUB_EV_DETACHED, s->peer);
	gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

static void kill_vm(struct gdb_session *s)
{
	if (s->extended) {
		gdb_extended_kill(s);
		return;
	}
	s->tgt.ops->kill(s->tgt.ctx);
	s->end = GDBSTUB_KILLED;
	gdb_session_event(s, GDBSTUB_EV_KILLED, s->peer);
}

/* GDB sends `k` without waiting for an answer (and closes the connection); LLDB
 * waits for the exit reply lldb-server gives ("killed by signal 9") and otherwise
 * says "failed to send the k packet". */
enum gdb_reply gdb_cmd_kill(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	kill_vm(s);
	if (s->extended)
		return GDB_REPLY_NONE; /* as gdbserver: the session waits for `run` */
	if (s->features & GDB_FEAT_MULTIPROCESS)
		gdb_reply_fmt(s, "X09;process:%x", GDB_PID);
	else
		gdb_reply_str(s, "X09");
	return GDB_REPLY_SEND;
}

/* `vKill;PID`: what GDB uses to kill (before `k`, which it never sends to a
 * multiprocess stub). */
enum gdb_reply gdb_cmd_vkill(struct gdb_session *s, const struct rsp_args *a)
{
	if (!pid_ours(s, a->v[0].u)) {
		gdb_reply_str(s, "E03"); /* ESRCH: no such process */
		return GDB_REPLY_SEND;
	}
	kill_vm(s);
	gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

/* bs/bc: reverse execution; the stop reply comes as for a resume. Without a recorded
 * history the target says why (GDB prints it). */
static enum gdb_reply reverse(struct gdb_session *s, bool step)
{
	int cpu = s->c_cpu >= 0 ? s->c_cpu : s->g_cpu;
	char err[160] = "";
	int rc;

	if (!s->tgt.ops->reverse)
		return GDB_REPLY_SEND; /* empty: not supported */
	rc = s->tgt.ops->reverse(s->tgt.ctx, cpu, step, err, sizeof(err));
	if (rc < 0) {
		gdb_reply_error_text(s, -rc, "%s", err[0] ? err : "cannot execute in reverse");
		return GDB_REPLY_SEND;
	}
	s->running = true;
	return GDB_REPLY_NONE;
}

enum gdb_reply gdb_cmd_reverse_step(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	return reverse(s, true);
}

enum gdb_reply gdb_cmd_reverse_continue(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	return reverse(s, false);
}
