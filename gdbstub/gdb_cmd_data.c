/* gdb_cmd_data.c: registers, memory and break/watchpoints of the current vCPU.
 *
 * Registers travel in target byte order, sized by the target's reg_size(); the `g`
 * packet is all of them in regnum order (the order of target.xml). Memory goes through
 * the guest-virtual view of the current vCPU: a read that stops at a hole returns the
 * part before it, one that cannot read anything answers E14 (EFAULT).
 */
#include "gdb_session.h"

#include <errno.h>
#include <string.h>

#define GDB_REG_MAX_SIZE 16

/* A client that never read target.xml (`set remote target-features-packet off`, or
 * one that never asks) uses GDB's built-in amd64 GNU/Linux description, what a GDB
 * on a Linux host picks for a unikernel image: its `g` is rax..mxcsr in our order,
 * then orig_rax, fs_base and gs_base as its registers 57-59. GDB accepts a `g`
 * shorter than it expects and fetches the rest with `p`, while a longer one ends
 * the connection: so `g` stops at mxcsr (a GDB built without Linux support expects
 * no orig_rax and sees 57-58 as fs_base and gs_base). */
#define DEFAULT_G_REGS	 (GDB_REG_MXCSR + 1)
#define DEFAULT_ORIG_RAX (GDB_REG_MXCSR + 1)
#define DEFAULT_FS_BASE	 (GDB_REG_MXCSR + 2)
#define DEFAULT_GS_BASE	 (GDB_REG_MXCSR + 3)

/* The client's register number as ours. Past GDB's 57-59 ours stand (a raw client
 * may name the system registers by target.xml's numbers without reading it). */
static uint64_t our_regno(const struct gdb_session *s, uint64_t regno)
{
	if (s->features_read)
		return regno;
	switch (regno) {
	case DEFAULT_ORIG_RAX:
		return GDB_REG_ORIG_RAX;
	case DEFAULT_FS_BASE:
		return GDB_REG_FS_BASE;
	case DEFAULT_GS_BASE:
		return GDB_REG_GS_BASE;
	default:
		return regno;
	}
}

/* How many registers, from 0, the `g` and `G` packets carry. */
static int g_regs(const struct gdb_session *s)
{
	return s->features_read ? GDB_REG_COUNT : DEFAULT_G_REGS;
}

/* Size of a register the client may name, 0 for one that does not exist. */
static int reg_size(struct gdb_session *s, uint64_t regno)
{
	int n;

	if (regno >= GDB_REG_COUNT)
		return 0;
	n = s->tgt.ops->reg_size(s->tgt.ctx, (int)regno);
	return n > 0 && n <= GDB_REG_MAX_SIZE ? n : 0;
}

/* Append one register; one GDB can't have is sent as `xx..` ("unavailable"). */
static void reply_reg(struct gdb_session *s, int regno, int size)
{
	uint8_t buf[GDB_REG_MAX_SIZE];

	if (s->tgt.ops->read_reg(s->tgt.ctx, s->g_cpu, regno, buf) == 0) {
		gdb_reply_hex(s, buf, (size_t)size);
		return;
	}
	for (int i = 0; i < size; i++)
		gdb_reply_str(s, "xx");
}

enum gdb_reply gdb_cmd_read_regs(struct gdb_session *s, const struct rsp_args *a)
{
	(void)a;
	for (int regno = 0; regno < g_regs(s); regno++)
		reply_reg(s, regno, reg_size(s, (uint64_t)regno));
	return GDB_REPLY_SEND;
}

static size_t regs_total_size(struct gdb_session *s)
{
	size_t total = 0;

	for (int regno = 0; regno < g_regs(s); regno++)
		total += (size_t)reg_size(s, (uint64_t)regno);
	return total;
}

/* A write while the target refuses them (the guest stands in the recorded past):
 * an error, with the target's reason for a client that takes `E.text` (an `O` packet
 * is no answer GDB accepts outside a resume). True if refused. */
static bool refuse_write(struct gdb_session *s)
{
	const char *why = s->tgt.ops->write_refused ? s->tgt.ops->write_refused(s->tgt.ctx) : NULL;

	if (why && (s->features & GDB_FEAT_ERROR_MESSAGE))
		gdb_reply_fmt(s, "E.%s", why);
	else if (why)
		gdb_reply_error(s, EROFS);
	return why != NULL;
}

enum gdb_reply gdb_cmd_write_regs(struct gdb_session *s, const struct rsp_args *a)
{
	size_t total = regs_total_size(s);
	const uint8_t *p = s->scratch;
	int rc = 0;

	if (total > GDB_MEM_MAX || a->v[0].len != 2 * total ||
	    rsp_hex_decode(s->scratch, GDB_MEM_MAX, a->v[0].s, a->v[0].len) < 0) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	if (refuse_write(s))
		return GDB_REPLY_SEND;
	for (int regno = 0; regno < g_regs(s) && rc == 0; regno++) {
		int size = reg_size(s, (uint64_t)regno);

		if (size)
			rc = s->tgt.ops->write_reg(s->tgt.ctx, s->g_cpu, regno, p);
		p += size;
	}
	if (rc)
		gdb_reply_error(s, rc);
	else
		gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_read_reg(struct gdb_session *s, const struct rsp_args *a)
{
	uint64_t regno = our_regno(s, a->v[0].u);
	int size = reg_size(s, regno);

	if (!size)
		gdb_reply_str(s, "E01");
	else
		reply_reg(s, (int)regno, size);
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_write_reg(struct gdb_session *s, const struct rsp_args *a)
{
	uint64_t regno = our_regno(s, a->v[0].u);
	int size = reg_size(s, regno);
	uint8_t buf[GDB_REG_MAX_SIZE];
	int rc;

	if (!size || a->v[1].len != 2 * (size_t)size ||
	    rsp_hex_decode(buf, sizeof(buf), a->v[1].s, a->v[1].len) < 0) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	if (refuse_write(s))
		return GDB_REPLY_SEND;
	rc = s->tgt.ops->write_reg(s->tgt.ctx, s->g_cpu, (int)regno, buf);
	if (rc)
		gdb_reply_error(s, rc);
	else
		gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

/* Read up to GDB_MEM_MAX bytes into s->scratch: bytes read, or -1 if none could be. */
static ssize_t read_mem(struct gdb_session *s, uint64_t addr, uint64_t len)
{
	ssize_t n;

	if (len > GDB_MEM_MAX) /* GDB copes with a short read and asks for the rest */
		len = GDB_MEM_MAX;
	n = s->tgt.ops->read_mem(s->tgt.ctx, s->g_cpu, addr, s->scratch, (size_t)len);
	return n > 0 && (uint64_t)n <= len ? n : -1;
}

enum gdb_reply gdb_cmd_read_mem(struct gdb_session *s, const struct rsp_args *a)
{
	ssize_t n;

	if (a->v[1].u == 0) { /* nothing asked, nothing to fail; an empty reply would mean
				 "m not supported" */
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	n = read_mem(s, a->v[0].u, a->v[1].u);
	if (n < 0)
		gdb_reply_str(s, "E14");
	else
		gdb_reply_hex(s, s->scratch, (size_t)n);
	return GDB_REPLY_SEND;
}

/* `x`, the binary read, in its two dialects: GDB 16's, for a client that announced
 * binary-upload+, answers `b` + the bytes; LLDB's (debugserver's, which no GDB sends)
 * answers the bytes alone, and `x0,0` asks whether it is there ("OK"). Half the
 * bytes of `m` on the wire and nothing to decode but the rare escape. */
enum gdb_reply gdb_cmd_read_mem_bin(struct gdb_session *s, const struct rsp_args *a)
{
	ssize_t n = 0;

	if (a->v[1].u == 0 && !s->binary_upload) {
		gdb_reply_str(s, "OK");
		return GDB_REPLY_SEND;
	}
	if (a->v[1].u > 0 && (n = read_mem(s, a->v[0].u, a->v[1].u)) < 0) {
		gdb_reply_str(s, "E14");
		return GDB_REPLY_SEND;
	}
	if (s->binary_upload)
		gdb_reply_str(s, "b");
	gdb_reply_bin(s, s->scratch, (size_t)n);
	return GDB_REPLY_SEND;
}

static void write_mem(struct gdb_session *s, uint64_t addr, const uint8_t *data, size_t len)
{
	if (len && refuse_write(s))
		return;
	ssize_t n = len ? s->tgt.ops->write_mem(s->tgt.ctx, s->g_cpu, addr, data, len) : 0;

	if (n < 0 || (size_t)n != len)
		gdb_reply_str(s, "E14");
	else
		gdb_reply_str(s, "OK");
}

enum gdb_reply gdb_cmd_write_mem_hex(struct gdb_session *s, const struct rsp_args *a)
{
	uint64_t len = a->v[1].u;

	if (len > GDB_MEM_MAX || a->v[2].len != 2 * len ||
	    rsp_hex_decode(s->scratch, GDB_MEM_MAX, a->v[2].s, a->v[2].len) < 0)
		gdb_reply_str(s, "E01");
	else
		write_mem(s, a->v[0].u, s->scratch, (size_t)len);
	return GDB_REPLY_SEND;
}

/* The decoder has already undone the `}` escapes, so the data is raw bytes. */
enum gdb_reply gdb_cmd_write_mem_bin(struct gdb_session *s, const struct rsp_args *a)
{
	if (a->v[2].len != a->v[1].u)
		gdb_reply_str(s, "E01");
	else
		write_mem(s, a->v[0].u, (const uint8_t *)a->v[2].s, a->v[2].len);
	return GDB_REPLY_SEND;
}

static enum gdb_reply breakpoint(struct gdb_session *s, const struct rsp_args *a, bool insert)
{
	uint64_t type = a->v[0].u;
	int rc;

	if (type > GDB_WP_ACCESS)
		return GDB_REPLY_SEND; /* empty: a kind we do not know */
	if (insert)
		rc = s->tgt.ops->insert_bp(s->tgt.ctx, (enum gdb_bp_kind)type, a->v[1].u,
					   (size_t)a->v[2].u);
	else
		rc = s->tgt.ops->remove_bp(s->tgt.ctx, (enum gdb_bp_kind)type, a->v[1].u,
					   (size_t)a->v[2].u);
	if (rc == -EOPNOTSUPP)
		return GDB_REPLY_SEND; /* empty: GDB falls back (e.g. Z3 -> Z4) */
	if (rc)
		gdb_reply_error(s, rc);
	else
		gdb_reply_str(s, "OK");
	return GDB_REPLY_SEND;
}

enum gdb_reply gdb_cmd_insert_bp(struct gdb_session *s, const struct rsp_args *a)
{
	return breakpoint(s, a, true);
}

enum gdb_reply gdb_cmd_remove_bp(struct gdb_session *s, const struct rsp_args *a)
{
	return breakpoint(s, a, false);
}
