/* gdb_cmd_monitor.c: `qRcmd` (GDB's `monitor` command), answered by the target.
 *
 * The command arrives hex-encoded; the target prints through a callback that streams
 * each piece to the client at once as `O<hex>` packets (GDB shows them as they come),
 * then the command ends with OK. A command that fails ends with OK too, after its
 * message: GDB turns an `E..` reply into "Protocol error with Rcmd", an error that
 * hides the message and aborts a `gdb -x` script, while QEMU's monitor prints the
 * error as console output and says OK, so a script goes on. Only a packet that is
 * not a command at all (bad hex) gets `E01`, and a command the target fails with a
 * positive errno (one whose failure must stop a script: loadvm that loaded nothing)
 * gets `E<errno>` after its output. If the target has no `help`, the stub
 * answers it, so `monitor help` always says something useful.
 */
#include "gdb_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of text per `O` packet: small, so output shows up as it is produced. */
#define MONITOR_CHUNK 512

static const char builtin_help[] = "proxy gdbstub monitor commands:\n"
				   "  help    this text\n"
				   "The hypervisor offers no further monitor commands.\n";

/* One running command: the session its output goes to, and whether it said anything
 * (a failure that printed nothing still gets a message). */
struct monitor_call {
	struct gdb_session *s;
	bool said;
};

static void monitor_output(void *arg, const char *text)
{
	struct monitor_call *call = arg;
	char pkt[1 + 2 * MONITOR_CHUNK];
	size_t len = strlen(text);

	call->said |= len > 0;
	while (len > 0 && call->s->end == GDB_SESSION_ON) {
		size_t n = len < MONITOR_CHUNK ? len : MONITOR_CHUNK;

		pkt[0] = 'O';
		rsp_hex_encode(pkt + 1, text, n);
		gdb_send_packet(call->s, pkt, 1 + 2 * n);
		text += n;
		len -= n;
	}
}

/* The command text, NUL-terminated; NULL if the hex is bad or hides a NUL. */
static char *decode_command(const struct rsp_arg *arg)
{
	char *cmd = malloc(arg->len / 2 + 1);
	ssize_t n;

	if (!cmd)
		return NULL;
	n = rsp_hex_decode((uint8_t *)cmd, arg->len / 2, arg->s, arg->len);
	if (n < 0 || memchr(cmd, 0, (size_t)n)) {
		free(cmd);
		return NULL;
	}
	cmd[n] = 0;
	return cmd;
}

static bool is_help(const char *cmd)
{
	return strcmp(cmd, "help") == 0 || strcmp(cmd, "") == 0;
}

/* A failed command that printed nothing: say why, so the user sees more than OK. */
static void say_failure(struct monitor_call *call, const char *cmd, int rc)
{
	char msg[256];

	if (rc == -ENOSYS)
		snprintf(msg, sizeof(msg), "unknown monitor command '%.80s'; try 'monitor help'\n",
			 cmd);
	else
		snprintf(msg, sizeof(msg), "monitor command '%.80s' failed: %s\n", cmd,
			 strerror(rc < 0 ? -rc : rc));
	monitor_output(call, msg);
}

enum gdb_reply gdb_cmd_monitor(struct gdb_session *s, const struct rsp_args *a)
{
	char *cmd = decode_command(&a->v[0]);
	struct monitor_call call = {.s = s};
	int rc = -ENOSYS;

	if (!cmd) {
		gdb_reply_str(s, "E01");
		return GDB_REPLY_SEND;
	}
	if (s->tgt.ops->monitor)
		rc = s->tgt.ops->monitor(s->tgt.ctx, cmd, monitor_output, &call);
	if (rc == -ENOSYS && is_help(cmd)) {
		monitor_output(&call, builtin_help);
		rc = 0;
	}
	if (rc && !call.said)
		say_failure(&call, cmd, rc > 0 ? -rc : rc);
	free(cmd);
	if (rc > 0) {
		char e[4];
		snprintf(e, sizeof(e), "E%02x", rc & 0xff);
		gdb_reply_str(s, e);
	} else {
		gdb_reply_str(s, "OK");
	}
	return GDB_REPLY_SEND;
}
