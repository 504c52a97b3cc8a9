/* mig_live.h: live (pre-copy) migration's stream (mig_live.c), for migrate.c. */
#ifndef PROXY_MIG_LIVE_H
#define PROXY_MIG_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "snap_internal.h"

struct mig_live_result {
	unsigned rounds;     /* while the guest ran (round 0 included) */
	bool converged;	     /* what was left fitted the budget (else: the bound) */
	bool paused;	     /* the guest is stopped (mig_live_abort resumes it) */
	bool log_was_on;     /* KVM's dirty log was on before (incremental checkpoints) */
	uint64_t bytes;	     /* the whole stream */
	uint64_t pages;	     /* pages sent, counting each time */
	uint64_t stop_bytes; /* sent while the guest was stopped */
	uint64_t stop_ns;    /* CLOCK_MONOTONIC: the stop began (the guest's last instruction) */
};

/* Write the whole stream of the guest to fd while it runs, stopping it when what
 * is left fits budget_ms (or after the bound of rounds). 0: sent, the guest stopped
 * and the snapshot lock held (the caller ends the VM and calls snapshot_resume, or
 * mig_live_abort to go on here). -1 with a message: the guest runs here as before. */
int mig_live_send(struct vm *vm, int fd, unsigned budget_ms, struct mig_live_result *res, char *err,
		  size_t errlen);
void mig_live_abort(struct vm *vm, const struct mig_live_result *res);

#endif
