/* rsp_refuse.h: turning a debugger away with a reason it displays.
 *
 * A client the stub will not serve (another one is attached, or it is not proxy's
 * user) used to be closed at once, which GDB reports as "Connection reset by peer".
 * Instead its first packet is answered with `E.<reason>` (GDB prints "Remote failure
 * reply: E.<reason>") and then the connection is shut down, closed once the client
 * closes its side. The wait for that packet
 * must not hold anything up, so the refused socket is polled beside the others; one
 * slot is enough: a newer refusal closes an older one still waiting.
 */
#ifndef RSP_REFUSE_H
#define RSP_REFUSE_H

#define RSP_REFUSAL_MAX 200

struct rsp_refusal {
	int fd;	   /* the refused client; -1: none waiting */
	int state; /* where in the client's first packet: 0 before `$` ... 4 answered */
	char reason[RSP_REFUSAL_MAX];
};

void rsp_refusal_init(struct rsp_refusal *r);
/* Refuse client `fd` (taken over) with `reason`, once its first packet has come. */
void rsp_refusal_start(struct rsp_refusal *r, int fd, const char *reason);
/* The refused client's fd polled readable: read; answer after its first packet, close
 * when it goes away. */
void rsp_refusal_input(struct rsp_refusal *r);
/* Close a refused client still waiting (no-op without one). */
void rsp_refusal_end(struct rsp_refusal *r);

#endif
