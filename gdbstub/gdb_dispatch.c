/* gdb_dispatch.c: the packet table: which handler serves a packet, with which arguments.
 *
 * Each entry names a packet prefix and the schema of its arguments (see rsp_args.h);
 * the handler receives them parsed. Entries are tried in order. A one-letter command
 * whose arguments do not parse gets `E01`; a named packet that does not parse is not
 * that packet (`qC` is not `qCRC:...`) and falls through. Anything unmatched gets the
 * empty reply, which tells the client "not supported".
 */
#include "gdb_session.h"

#include <string.h>

struct gdb_cmd {
	const char *name;
	const char *schema;
	gdb_handler fn;
};

static const struct gdb_cmd gdb_cmds[] = {
	{"?", "", gdb_cmd_stop_reason},
	{"g", "", gdb_cmd_read_regs},
	{"G", "s", gdb_cmd_write_regs},
	{"p", "L", gdb_cmd_read_reg},
	{"P", "L=s", gdb_cmd_write_reg},
	{"m", "L,L", gdb_cmd_read_mem},
	{"M", "L,L:s", gdb_cmd_write_mem_hex},
	{"X", "L,L:s", gdb_cmd_write_mem_bin},
	{"x", "L,L", gdb_cmd_read_mem_bin},
	{"Z", "L,L,L", gdb_cmd_insert_bp},
	{"z", "L,L,L", gdb_cmd_remove_bp},
	{"c", ".L", gdb_cmd_continue},
	{"s", ".L", gdb_cmd_step},
	{"bs", "", gdb_cmd_reverse_step},
	{"bc", "", gdb_cmd_reverse_continue},
	{"C", "L.;L", gdb_cmd_continue_sig},
	{"S", "L.;L", gdb_cmd_step_sig},
	{"H", "ct", gdb_cmd_set_thread},
	{"T", "t", gdb_cmd_thread_alive},
	{"D", ".;s", gdb_cmd_detach},
	{"k", "", gdb_cmd_kill},
	{"vCont?", "", gdb_cmd_vcont_query},
	{"vCont;", "s", gdb_cmd_vcont},
	{"vKill;", "L", gdb_cmd_vkill},
	{"qSupported", ".:s", gdb_cmd_supported},
	{"qXfer:features:read:", "s:L,L", gdb_cmd_xfer_features},
	{"qXfer:auxv:read:", "s:L,L", gdb_cmd_xfer_auxv},
	{"qXfer:siginfo:read:", "s:L,L", gdb_cmd_xfer_siginfo},
	{"qfThreadInfo", "", gdb_cmd_thread_first},
	{"qsThreadInfo", "", gdb_cmd_thread_next},
	{"qC", "", gdb_cmd_current_thread},
	{"qThreadExtraInfo,", "t", gdb_cmd_thread_extra},
	{"qAttached", ".:s", gdb_cmd_attached},
	{"qOffsets", "", gdb_cmd_offsets},
	{"qSymbol", "s", gdb_cmd_symbol},
	{"qRcmd,", "s", gdb_cmd_monitor},
	{"QStartNoAckMode", "", gdb_cmd_no_ack},
	{"!", "", gdb_cmd_extended},
	{"vRun;", ".s", gdb_cmd_vrun},
};

/* Find the handler for `pkt` and parse its arguments; NULL with *bad_args set when a
 * one-letter command was malformed, NULL alone when nothing matches. */
static const struct gdb_cmd *lookup(const char *pkt, size_t len, struct rsp_args *args,
				    bool *bad_args)
{
	*bad_args = false;
	for (size_t i = 0; i < sizeof(gdb_cmds) / sizeof(gdb_cmds[0]); i++) {
		const struct gdb_cmd *c = &gdb_cmds[i];
		size_t n = strlen(c->name);

		if (len < n || memcmp(pkt, c->name, n) != 0)
			continue;
		if (rsp_parse_args(c->schema, pkt + n, len - n, args))
			return c;
		if (n == 1) {
			*bad_args = true;
			return NULL;
		}
	}
	return NULL;
}

void gdb_dispatch(struct gdb_session *s, const char *pkt, size_t len)
{
	struct rsp_args args;
	bool bad_args;
	const struct gdb_cmd *c = lookup(pkt, len, &args, &bad_args);
	enum gdb_reply r = GDB_REPLY_SEND;

	s->reply_len = 0;
	s->reply_overflow = false;
	if (c)
		r = c->fn(s, &args);
	else if (bad_args)
		gdb_reply_str(s, "E01");
	if (r == GDB_REPLY_NONE)
		return;
	if (s->reply_overflow) /* a handler bug, not the client's: still answer */
		gdb_send_packet(s, "E01", 3);
	else
		gdb_send_packet(s, s->reply, s->reply_len);
}
