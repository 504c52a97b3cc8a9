/* gdb_cmd_siginfo.c: qXfer:siginfo:read, what GDB shows as $_siginfo after a guest fault.
 *
 * GDB reads the stopped thread's siginfo in the layout of its GNU/Linux x86-64
 * architecture (the one proxy's guests are debugged with): a 128-byte siginfo_t with
 * si_signo, si_errno and si_code at 0, 4 and 8 and the union from 16, where
 * _sigfault.si_addr is. The guest's fault travels in it as the README's "crash
 * forensics" says: the exception vector in si_code, its error code in si_errno, CR2
 * (or the MMIO address, or RIP) in si_addr. A stop that was no fault has none (E01).
 */
#include "gdb_session.h"

#include <string.h>

#define SIGINFO_ADDR_AT 16 /* _sifields._sigfault.si_addr */

/* si_signo is the target's own number: Linux's, which differs from GDB's for SIGBUS. */
static int linux_signal(int gdb_signal)
{
	switch (gdb_signal) {
	case 10: /* GDB_SIGNAL_BUS */
		return 7;
	case 7: /* GDB_SIGNAL_EMT: Linux has none */
		return 0;
	default:
		return gdb_signal; /* 1-15 otherwise agree (ILL 4, TRAP 5, FPE 8, SEGV 11) */
	}
}

/* Little-endian like the guest: GDB decodes the bytes with the target's byte order. */
static void put_le(uint8_t *at, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		at[i] = (uint8_t)(v >> (8 * i));
}

void gdb_siginfo_layout(const struct gdb_siginfo *si, uint8_t out[GDB_SIGINFO_SIZE])
{
	memset(out, 0, GDB_SIGINFO_SIZE);
	put_le(out, (uint32_t)linux_signal(si->signal), 4);
	put_le(out + 4, (uint32_t)si->error, 4);
	put_le(out + 8, (uint32_t)si->code, 4);
	put_le(out + SIGINFO_ADDR_AT, si->addr, 8);
}

/* qXfer:siginfo:read::OFF,LEN for the thread Hg selected (the one that stopped). */
enum gdb_reply gdb_cmd_xfer_siginfo(struct gdb_session *s, const struct rsp_args *a)
{
	const struct gdb_target_ops *ops = s->tgt.ops;
	struct gdb_siginfo si;
	if (a->v[0].len || !ops->siginfo || ops->siginfo(s->tgt.ctx, s->g_cpu, &si)) {
		gdb_reply_str(s, "E01"); /* an annex, or no fault: GDB says it has no siginfo */
		return GDB_REPLY_SEND;
	}
	uint8_t buf[GDB_SIGINFO_SIZE];
	gdb_siginfo_layout(&si, buf);
	return gdb_reply_xfer_chunk(s, buf, sizeof(buf), a->v[1].u, a->v[2].u);
}
