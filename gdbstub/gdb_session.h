/* gdb_session.h: one debugging session with one client, shared by the stub's files.
 *
 * gdb_session.c owns the socket I/O and the event loop; gdb_dispatch.c maps packets to
 * handlers; gdb_cmd_*.c are the handlers. Nothing here knows about KVM.
 */
#ifndef GDB_SESSION_H
#define GDB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_target.h"
#include "gdbstub.h"
#include "rsp_args.h"
#include "rsp_packet.h"
#include "rsp_refuse.h"

/* Largest memory transfer per packet: its hex reply must fit in RSP_REPLY_MAX. */
#define GDB_MEM_MAX    (RSP_REPLY_MAX / 2 - 16)
#define GDB_SESSION_ON (-1) /* end: session still going */

#define GDB_PEER_MAX 64 /* "[v6 address]:port" */

/* The process id of the VM in multiprocess thread ids (pPID.TID) and exit replies:
 * a unikernel is one process, and a fixed id keeps transcripts reproducible. */
#define GDB_PID 1

/* What the client offered in qSupported (gdb_session.features): the stub uses a
 * protocol extension only when the client said it understands it. */
enum gdb_feature {
	GDB_FEAT_MULTIPROCESS = 1 << 0,	 /* pPID.TID thread ids, `;process:PID` */
	GDB_FEAT_SWBREAK = 1 << 1,	 /* `swbreak:` stop reason */
	GDB_FEAT_HWBREAK = 1 << 2,	 /* `hwbreak:` stop reason */
	GDB_FEAT_ERROR_MESSAGE = 1 << 3, /* `E.text` error replies (GDB 14+) */
};

/* What a session gets from the stub besides the client and the target. */
struct gdb_session_env {
	int listen_fd; /* to turn away a second client; -1 if none */
	const char *xml;
	size_t xml_len;
	const struct gdb_stop *initial; /* the stop to report to `?`; NULL: SIGTRAP, vCPU 0 */
	gdbstub_event_fn on_event;	/* NULL: no reports */
	void *event_arg;
	const char *peer;	     /* the client, for on_event; NULL: "the client" */
	struct rsp_refusal *refusal; /* where a turned-away client waits to be told why;
				      * NULL: it is just closed */
};

struct gdb_session {
	int fd;	       /* the client */
	int listen_fd; /* to turn away a second client; -1 if none */
	struct rsp_refusal *refusal;
	struct gdb_target tgt;
	gdbstub_event_fn on_event;
	void *event_arg;
	char peer[GDB_PEER_MAX];
	int ncpu;
	int g_cpu;	     /* 0-based vCPU for g/p/m/...; the last one that stopped */
	int c_cpu;	     /* vCPU for legacy c/s; -1: all */
	bool no_ack;	     /* after QStartNoAckMode */
	bool no_ack_pending; /* switch after the OK reply has gone out */
	bool binary_upload;  /* client announced binary-upload+: `x` allowed */
	bool features_read;  /* target.xml was read: our register numbers, else GDB's default */
	unsigned features;   /* enum gdb_feature bits the client offered */
	bool running;	     /* resumed; waiting for stop_fd */
	bool deferred;	     /* a packet arrived while running: in deferred_pkt */
	bool extended;	     /* after `!`: the guest's exit and `k` keep the session */
	bool ran;	     /* this session started the guest (vRun): qAttached says 0 */
	int end;	     /* GDB_SESSION_ON or an enum gdbstub_end */
	struct gdb_stop last_stop;
	const char *xml;
	size_t xml_len;
	uint8_t in[4096];
	size_t in_len, in_pos;
	char *reply; /* payload being built, RSP_REPLY_MAX bytes */
	size_t reply_len;
	bool reply_overflow;
	uint8_t *frame; /* the last frame sent, for a `-` retransmit */
	size_t frame_len;
	uint8_t *scratch;      /* GDB_MEM_MAX bytes for memory and register transfers */
	uint8_t *deferred_pkt; /* RSP_PACKET_SIZE + 1 bytes */
	size_t deferred_len;
	struct rsp_decoder dec;
};

enum gdb_reply { GDB_REPLY_SEND, GDB_REPLY_NONE };

typedef enum gdb_reply (*gdb_handler)(struct gdb_session *s, const struct rsp_args *a);

/* Run a session on connected socket `fd` until it ends; returns an enum gdbstub_end.
 * The VM must be stopped (the stub stops a running one before). */
int gdb_session_serve(int fd, struct gdb_target tgt, const struct gdb_session_env *env);
/* The same without event reports. `initial` is the stop to report to `?` (NULL:
 * SIGTRAP on vCPU 0). */
int gdb_session_run(int fd, int listen_fd, struct gdb_target tgt, const char *xml, size_t xml_len,
		    const struct gdb_stop *initial);
/* "127.0.0.1:41234", "[::1]:41234" or "a Unix socket" for the client on `fd`. */
void gdb_peer_name(int fd, char *buf, size_t len);
/* Tell the embedder what happened to a client (no-op without on_event). */
void gdb_session_event(const struct gdb_session *s, enum gdbstub_event ev, const char *peer);

/* Reply builders: append to s->reply. */
void gdb_reply_str(struct gdb_session *s, const char *str);
void gdb_reply_fmt(struct gdb_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gdb_reply_hex(struct gdb_session *s, const void *data, size_t n);
void gdb_reply_bin(struct gdb_session *s, const void *data, size_t n);
void gdb_reply_error(struct gdb_session *s, int err); /* "Exx" from -errno or errno */
/* qXfer:...:read's reply for bytes [off, off + len) of `data`: `m` + a chunk while
 * more follows, `l` + the last one (gdb_cmd_query.c). */
enum gdb_reply gdb_reply_xfer_chunk(struct gdb_session *s, const void *data, size_t size,
				    uint64_t off, uint64_t len);
/* Send one packet now (O output, stop replies). False if the client is gone. */
bool gdb_send_packet(struct gdb_session *s, const void *payload, size_t len);

/* Thread ids: does a parsed `t` argument name our process (or any/all)? Append the
 * id of vCPU `cpu` in the form the client speaks ("p1.2" or "2"). */
static inline bool gdb_pid_ours(const struct rsp_arg *a)
{
	return !a->has_pid || a->pid == GDB_PID || a->pid == 0 || a->pid == -1;
}
void gdb_reply_tid(struct gdb_session *s, int cpu);
/* An error GDB shows: `E.text` to a client that takes it, else an `O` packet with the
 * text (printed on GDB's console) and then `E<errno>`. `err` positive. */
void gdb_reply_error_text(struct gdb_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Dispatch one decoded packet and send its reply. */
void gdb_dispatch(struct gdb_session *s, const char *pkt, size_t len);

/* Stop replies and resumption (gdb_cmd_exec.c). */
size_t gdb_format_stop(char *buf, size_t cap, const struct gdb_stop *st, unsigned features);
void gdb_handle_stop(struct gdb_session *s, const struct gdb_stop *st);
/* Parse the action list of `vCont;...` (the text after `vCont;`) into one action per
 * vCPU; vCPUs no action names stay GDB_RESUME_NONE. 0 or -EINVAL. */
int gdb_parse_vcont(const char *p, size_t len, int ncpu, int cur_cpu,
		    enum gdb_resume_action *actions);

/* Handlers, by file. */
enum gdb_reply gdb_cmd_stop_reason(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_reverse_step(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_reverse_continue(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_continue(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_step(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_continue_sig(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_step_sig(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_vcont_query(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_vcont(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_detach(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_kill(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_vkill(struct gdb_session *s, const struct rsp_args *a);

enum gdb_reply gdb_cmd_read_regs(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_write_regs(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_read_reg(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_write_reg(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_read_mem(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_read_mem_bin(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_write_mem_hex(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_write_mem_bin(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_insert_bp(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_remove_bp(struct gdb_session *s, const struct rsp_args *a);

enum gdb_reply gdb_cmd_set_thread(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_thread_alive(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_thread_first(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_thread_next(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_current_thread(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_thread_extra(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_supported(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_xfer_features(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_xfer_auxv(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_xfer_siginfo(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_attached(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_offsets(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_symbol(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_no_ack(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_monitor(struct gdb_session *s, const struct rsp_args *a);

/* Extended-remote (gdb_cmd_extended.c). */
enum gdb_reply gdb_cmd_extended(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_cmd_vrun(struct gdb_session *s, const struct rsp_args *a);
enum gdb_reply gdb_extended_kill(struct gdb_session *s);
/* In extended mode after the guest exited: no process, hence no threads (the reply
 * "l" is set); false otherwise. */
bool gdb_extended_no_process(struct gdb_session *s);

#endif
