/* gdb_cmd_query.c: the query packets: features, threads, target.xml and `monitor`.
 *
 * Threads are vCPUs, with GDB thread id = vCPU + 1 (GDB reserves 0 for "any" and -1
 * for "all"); a client that offers multiprocess+ gets them as p1.<vCPU + 1> (one
 * process, GDB_PID) and may send either form.
 */
#include "gdb_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0-based vCPU of a thread id (TID or pPID.TID), or -1 if it names none. */
static int tid_to_cpu(const struct gdb_session *s, const struct rsp_arg *a)
{
	return gdb_pid_ours(a) && a->tid >= 1 && a->tid <= s->ncpu ? (int)(a->tid - 1) : -1;
}

/* `Hg`/`Hc`: 0 means "any" (keep the current one); -1 "all" (only for c). */
enum gdb_reply gdb_cmd_set_thread(struct gdb_session *s, const struct rsp_args *a)
{
	int64_t tid = a->v[1].tid;
	int cpu = tid_to_cpu(s, &a->v[1]);
	char op = a->v[0].c;

	if ((op != 'g' && op != 'c') || !gdb_pid_ours(&a->v[1]) || (tid > 0 && cpu < 0) ||
	    (op == 'g' && tid < 0)) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	if (op == 'g' && cpu >= 0)
		s->g_cpu = cpu;
	if (op == 'c')
		s->c_cpu = cpu;
	gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_thread_alive(struct gdb_session *s, const struct rsp_args *a)
{
	gdb_reply_str(s, tid_to_cpu(s, &a->v[0]) >= 0 ? "OK" : "E01");
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_thread_first(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	if (gdb_extended_no_process(s))
		return GDB_REPLY_SEND;
	gdb_reply_str(s, "m");
	for (int cpu = 0; cpu < s->ncpu; cpu++) {
		if (cpu)
			gdb_reply_str(s, ",");
		gdb_reply_tid(s, cpu);
	}
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_thread_next(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	gdb_reply_str(s, "l"); /* qfThreadInfo already listed them all */
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_current_thread(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	gdb_reply_str(s, "QC");
	gdb_reply_tid(s, s->g_cpu);
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_thread_extra(struct gdb_session *s, const struct rsp_args *a)
{
	int cpu = tid_to_cpu(s, &a->v[0]);
	char info[128];

	if (cpu < 0) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	snprintf(info, sizeof(info), "vCPU %d", cpu);
	if (s->tgt.ops->thread_info)
		s->tgt.ops->thread_info(s->tgt.ctx, cpu, info, sizeof(info));
	info[sizeof(info) - 1] = 0;
	gdb_reply_hex(s, info, strlen(info));
	return GDB_REPLY_SEND;
}

/* True if `feature` is one of the `;`-separated items of the client's list. */
static bool has_feature(const char *list, size_t len, const char *feature)
{
	size_t flen = strlen(feature);
	const char *p = list;
	const char *end = list + len;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t item = semi ? (size_t)(semi - p) : (size_t)(end - p);

		if (item == flen && memcmp(p, feature, flen) == 0)
			return true;
		p += item + 1;
	}
	return false;
}

/* The extensions used only with a client that offers them (enum gdb_feature). */
static unsigned offered_features(const char *list, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
		{"multiprocess+", GDB_FEAT_MULTIPROCESS},
		{"swbreak+", GDB_FEAT_SWBREAK},
		{"hwbreak+", GDB_FEAT_HWBREAK},
		{"error-message+", GDB_FEAT_ERROR_MESSAGE},
	};
	unsigned f = 0;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (has_feature(list, len, known[i].name))
			f |= known[i].bit;
	return f;
}

enum gdb_reply gdb_cmd_supported(struct gdb_session *s, const struct rsp_args *a)
{
	s->binary_upload = a->count > 0 && has_feature(a->v[0].s, a->v[0].len, "binary-upload+");
	s->features = a->count > 0 ? offered_features(a->v[0].s, a->v[0].len) : 0;
	gdb_reply_fmt(s,
		      "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;qXfer:auxv:read+;qXfer:"
		      "siginfo:read+;"
		      "swbreak+;hwbreak+;"
		      "vContSupported+",
		      RSP_PACKET_SIZE);
	if (s->binary_upload)
		gdb_reply_str(s, ";binary-upload+");
	if (s->tgt.ops->reverse)
		gdb_reply_str(s, ";ReverseStep+;ReverseContinue+");
	if (s->features & GDB_FEAT_MULTIPROCESS)
		gdb_reply_str(s, ";multiprocess+");
	if (s->features & GDB_FEAT_ERROR_MESSAGE)
		gdb_reply_str(s, ";error-message+");
	return GDB_REPLY_SEND;
}

/* qXfer:features:read:ANNEX:OFF,LEN: `m` + a chunk while more follows, `l` + the last
 * one. Only target.xml exists (it includes nothing). */
enum gdb_reply gdb_reply_xfer_chunk(struct gdb_session *s, const void *data, size_t size,
				    uint64_t off, uint64_t len)
{
	if (off >= size) {
		gdb_reply_str(s, "l");
		return GDB_REPLY_SEND;
	}
	size_t chunk = size - (size_t)off;
	if (len < chunk)
		chunk = (size_t)len;
	if (chunk > RSP_REPLY_MAX - 1)
		chunk = RSP_REPLY_MAX - 1;
	gdb_reply_str(s, off + chunk < size ? "m" : "l");
	gdb_reply_bin(s, (const uint8_t *)data + off, chunk);
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_xfer_features(struct gdb_session *s, const struct rsp_args *a)
{
	if (a->v[0].len != strlen("target.xml") || memcmp(a->v[0].s, "target.xml", a->v[0].len)) {
		gdb_reply_str(s, "E00"); /* no such annex */
		return GDB_REPLY_SEND;
	}
	s->features_read = true;
	return gdb_reply_xfer_chunk(s, s->xml, s->xml_len, a->v[1].u, a->v[2].u);
}

/* qXfer:auxv:read::OFF,LEN: AT_ENTRY (the running image's entry) and AT_NULL.
 * GDB keeps AT_ENTRY in the core files `gcore` writes, and a core of a relocated
 * image needs it to find the load bias again. */
enum gdb_reply gdb_cmd_xfer_auxv(struct gdb_session *s, const struct rsp_args *a)
{
	const struct gdb_target_ops *ops = s->tgt.ops;
	if (a->v[0].len) {
		gdb_reply_str(s, "E00"); /* auxv has no annexes */
		return GDB_REPLY_SEND;
	}
	uint64_t entry = ops->entry_point ? ops->entry_point(s->tgt.ctx) : 0;
	const uint64_t auxv[4] = {9 /* AT_ENTRY */, entry, 0 /* AT_NULL */, 0};
	return gdb_reply_xfer_chunk(s, auxv, sizeof(auxv), a->v[1].u, a->v[2].u);
}

enum gdb_reply gdb_cmd_attached(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	/* The VM existed before us: quitting GDB must not kill it; unless this GDB
	 * started the guest itself (vRun), as gdbserver answers for a process it ran. */
	gdb_reply_str(s, s->ran ? "0" : "1");
	return GDB_REPLY_SEND;
}

/* One bias for the whole image: GDB and LLDB slide every section by it. */
enum gdb_reply gdb_cmd_offsets(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	const struct gdb_target_ops *ops = s->tgt.ops;
	unsigned long long bias = ops->load_bias ? ops->load_bias(s->tgt.ctx) : 0;
	gdb_reply_fmt(s, "Text=%llx;Data=%llx;Bss=%llx", bias, bias, bias);
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_symbol(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	gdb_reply_str(s, "OK"); /* we never need symbol values */
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_no_ack(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	s->no_ack_pending = true; /* this OK still goes out in ack mode */
	gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}
