/* mig_live.c: live (pre-copy) migration: the checkpoint stream of snap_format.h,
 * written while the guest runs, in rounds driven by KVM's dirty log.
 *
 * The stream is an ordinary full checkpoint whose MEM sections come in rounds:
 * header and CONFIG (the target builds its VM meanwhile), round 0 with every page
 * the host backs, then the pages written since the previous round as partial MEM
 * sections (the format of incremental checkpoints: a zeroed page is a clear bit),
 * and, with the guest stopped, the last pages, the VM, VCPU and FILES sections and
 * END. The target loads it as it loads any checkpoint: later sections overwrite
 * earlier pages, and every length and offset is checked as for a file. Each round
 * ends with a SYNC section the target answers with 'S' once it read that far: the
 * rate is the target's, and nothing is still on its way when the guest stops.
 *
 * The guest stops when what is left, at the rate the link moved the rounds so far,
 * fits the downtime budget (--migrate-downtime). One that dirties memory faster
 * than the link moves it is stopped anyway after LIVE_MAX_ROUNDS rounds, or after
 * LIVE_FLAT_ROUNDS rounds in a row that did not shrink what is left: the source's
 * line says it did not converge (no throttling: the stop then lasts as long as its
 * pages take).
 *
 * Pages proxy itself writes (hypercall results, the network) are not in KVM's
 * log: gpa_ptr records them in host_dirty when it hands out the pointer, which may
 * be written later (a vCPU blocked in a hypercall writes when its wait ends). So
 * every page host_dirty names after the start goes again with each round and with
 * the stop: a page written after its copy is never lost. Those it named before
 * (boot, earlier I/O: writes done) go again once, in round 1, taken at the start
 * with the vCPUs stopped for a moment; should a vCPU wait in a hypercall then, its
 * pointers are older: they go with every round and the stop too.
 */
#include "mig_live.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mig_transport.h"

#define LIVE_MAX_ROUNDS	 30
#define LIVE_FLAT_ROUNDS 5
#define PAGE_COST	 (GUEST_PAGE + 64) /* a page and its share of section headers */

struct live {
	struct vm *vm;
	struct snap_writer w;
	uint64_t words;
	uint64_t *bits; /* the pages of the next round */
	uint64_t *host; /* every page proxy handed out since the start */
	uint64_t *once; /* what host_dirty named before the start: round 1 sends it */
	uint64_t sent_ns, pages;
};

static uint64_t popcount_bits(const uint64_t *b, uint64_t words)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(b[i]);
	return n;
}

/* The pages written since the last call into l->bits (cleared first). */
static int take_dirty(struct live *l, char *err, size_t errlen)
{
	memset(l->bits, 0, l->words * 8);
	int rc = ram_take_dirty_log(l->vm, l->bits);
	if (rc)
		return snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s", strerror(-rc)), -1;
	guest_mem_take_host_dirty(&l->vm->mem, l->host, true);
	for (uint64_t i = 0; i < l->words; i++)
		l->bits[i] |= l->host[i];
	return 0;
}

int snap_answer_sync(int fd, char *err, size_t errlen)
{
	if (send(fd, "S", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		return 0;
	if (errno == ENOTSOCK)
		return snprintf(err, errlen, "a migration's SYNC section in a checkpoint"), -1;
	return snprintf(err, errlen, "cannot answer the source's SYNC: %s", strerror(errno)), -1;
}

/* A SYNC section, then the target's 'S': everything before it has been read
 * there, so the stop starts with nothing on its way. */
static int sync_target(struct live *l, char *err, size_t errlen)
{
	if (snap_write_section(&l->w, SNAP_SEC_SYNC, 0, NULL, 0))
		return snprintf(err, errlen, "writing: %s", strerror(-l->w.err)), -1;
	struct pollfd p = {.fd = l->w.fd, .events = POLLIN};
	char c = 0;
	int rc;
	do
		rc = poll(&p, 1, MIG_STALL_S * 1000);
	while (rc < 0 && errno == EINTR);
	ssize_t n = rc > 0 ? read(l->w.fd, &c, 1) : 0;
	if (n == 1 && c == 'S')
		return 0;
	if (n == 1)
		return snprintf(err, errlen, "the target answered 0x%02x to a SYNC", (uint8_t)c),
		       -1;
	return snprintf(err, errlen,
			rc == 0 ? "the target did not acknowledge the stream within %d s"
				: "the target closed the stream (see its message)",
			MIG_STALL_S),
	       -1;
}

/* One round of pages while the guest runs (`bits` NULL: round 0, all it backs),
 * until the target has read it. */
static int send_round(struct live *l, const uint64_t *bits, char *err, size_t errlen)
{
	uint64_t t0 = mig_mono_ns();
	int rc = snap_mem_save_pages(l->vm, &l->w, bits, &l->pages, err, errlen);
	rc = rc ?: sync_target(l, err, errlen);
	l->sent_ns += mig_mono_ns() - t0;
	return rc;
}

/* Rounds until what is left fits budget_ns (true) or the bound is reached (false);
 * l->bits holds what is left. -1 with a message when the stream failed. */
static int rounds(struct live *l, uint64_t budget_ns, struct mig_live_result *res, char *err,
		  size_t errlen)
{
	uint64_t best = UINT64_MAX;
	unsigned flat = 0;
	if (send_round(l, NULL, err, errlen))
		return -1;
	for (res->rounds = 1;; res->rounds++) {
		if (take_dirty(l, err, errlen))
			return -1;
		for (uint64_t i = 0; res->rounds == 1 && i < l->words; i++)
			l->bits[i] |= l->once[i];
		uint64_t left = popcount_bits(l->bits, l->words) * PAGE_COST;
		/* The rate the rounds so far moved (bytes per ns, as a double). */
		double rate = l->sent_ns ? (double)l->w.bytes / (double)l->sent_ns : 1.0;
		if ((double)left / rate <= (double)budget_ns)
			return 1;
		flat = left < best ? 0 : flat + 1;
		best = left < best ? left : best;
		if (res->rounds >= LIVE_MAX_ROUNDS || flat >= LIVE_FLAT_ROUNDS)
			return 0;
		if (send_round(l, l->bits, err, errlen))
			return -1;
	}
}

/* The stop: the last pages, the state, END. */
static int stop_and_copy(struct live *l, struct mig_live_result *res, char *err, size_t errlen)
{
	uint64_t *left = malloc(l->words * 8);
	if (!left)
		return snprintf(err, errlen, "out of memory"), -1;
	memcpy(left, l->bits, l->words * 8);
	res->stop_ns = mig_mono_ns();
	if (snap_pause_held(l->vm, err, errlen)) {
		free(left);
		return -1;
	}
	res->paused = true;
	int rc = take_dirty(l, err, errlen);
	for (uint64_t i = 0; !rc && i < l->words; i++)
		l->bits[i] |= left[i];
	free(left);
	uint64_t before = l->w.bytes;
	rc = rc ?: snap_save_state(l->vm, &l->w, err, errlen);
	rc = rc ?: snap_mem_save_pages(l->vm, &l->w, l->bits, &l->pages, err, errlen);
	if (!rc && snap_write_end(&l->w)) {
		snprintf(err, errlen, "writing: %s", strerror(-l->w.err));
		rc = -1;
	}
	res->stop_bytes = l->w.bytes - before;
	return rc;
}

/* KVM's dirty log on, and empty (round 0 sends everything); host_dirty's marks
 * until now into l->once, or l->host while a vCPU waits in a hypercall. The
 * vCPUs are stopped meanwhile: none is between gpa_ptr and its write. */
static int start_log(struct live *l, bool was_on, char *err, size_t errlen)
{
	if (!l->bits || !l->host || !l->once)
		return snprintf(err, errlen, "out of memory"), -1;
	if (snap_pause_held(l->vm, err, errlen))
		return -1;
	int rc = was_on ? ram_take_dirty_log(l->vm, l->bits) : ram_set_dirty_log(l->vm, true);
	guest_mem_take_host_dirty(&l->vm->mem, snap_any_blocked(l->vm) ? l->host : l->once, true);
	snap_resume_held(l->vm);
	if (rc)
		return snprintf(err, errlen, "cannot turn on KVM's dirty log: %s", strerror(-rc)),
		       -1;
	return 0;
}

int mig_live_send(struct vm *vm, int fd, unsigned budget_ms, struct mig_live_result *res, char *err,
		  size_t errlen)
{
	struct snapshot *s = vm->snap;
	struct live l = {.vm = vm, .words = (vm->mem.size / GUEST_PAGE + 63) / 64};
	memset(res, 0, sizeof(*res));
	snap_writer_init(&l.w, fd);
	l.bits = calloc(l.words, 8);
	l.host = calloc(l.words, 8);
	l.once = calloc(l.words, 8);
	pthread_mutex_lock(&s->op_lock); /* no checkpoint takes the log meanwhile */
	bool log_was_on = vm->ram_dirty_log;
	int rc = start_log(&l, log_was_on, err, errlen);
	rc = rc ?: snap_save_begin(vm, &l.w, err, errlen);
	int conv = rc ? -1 : rounds(&l, (uint64_t)budget_ms * 1000000, res, err, errlen);
	rc = conv < 0 ? -1 : stop_and_copy(&l, res, err, errlen);
	res->converged = conv > 0;
	res->bytes = l.w.bytes;
	res->pages = l.pages;
	res->log_was_on = log_was_on;
	free(l.bits);
	free(l.host);
	free(l.once);
	if (rc)
		mig_live_abort(vm, res);
	return rc;
}

void mig_live_abort(struct vm *vm, const struct mig_live_result *res)
{
	struct snapshot *s = vm->snap;
	/* The guest goes on here: its log as it was, and a periodic checkpoint chain
	 * starts again with a full one (this took the pages it would have saved). */
	if (!res->log_was_on)
		ram_set_dirty_log(vm, false);
	s->have_base = false;
	if (res->paused)
		snap_resume_held(vm);
	pthread_mutex_unlock(&s->op_lock);
}
