/* ckpt_background.c: full checkpoints whose memory is written while the guest runs.
 *
 * The guest pauses for its vCPU, VM and file state (written to the file then) and
 * for one fork: the child process holds guest RAM as it was at that instant,
 * copy-on-write, and writes the MEM sections and the END while the guest goes on.
 * Sound with KVM because KVM reaches guest RAM only through proxy's page tables:
 * fork write-protects them and tells KVM through its MMU notifier (the guest's
 * mappings are dropped), so the next write to a shared page, by the guest, by KVM
 * itself (kvmclock, APIC), by a hypercall or the debugger, faults and copies the
 * page for proxy first; the child keeps the old one. No write-fault handler is
 * needed, unlike userfaultfd write-protection, whose handling of KVM's own writes
 * depends on the kernel (and on KVM-PVM's shadow MMU).
 *
 * The pause is the fork's copy of the page tables: flat for RAM in transparent
 * huge pages (one entry per 2 MiB), about 70 us per MiB in 4 KiB pages on the
 * reference host. The child only writes and exits: it allocates nothing (another
 * thread may hold malloc's lock at the fork) and dies with proxy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snap_internal.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 */
#endif
#define HUGE_RUN (2u << 20)

/* What the child reports through its pipe. */
struct bg_result {
	int32_t rc, err; /* err: the writer's -errno */
	uint64_t pages, bytes;
};

/* Only what the writer needs stays open (besides 0-2): a socket proxy closes must
 * not stay open here, or its peer would see the end only after the write. */
static void close_others(int a, int b, int c)
{
	int keep[3] = {a, b, c};
	for (int i = 0; i < 3; i++) /* sort the three */
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j], keep[j] = t;
			}
	unsigned from = 3;
	for (int i = 0; i < 3; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

static void child_write(struct vm *vm, struct snap_writer *w, int out)
{
	struct bg_result r = {0};
	char err[256];
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* a proxy killed leaves no writer behind */
	if (getppid() == 1)
		_exit(1);
	close_others(w->fd, out, vm->snap->pagemap_fd);
	vm->snap->cow_child = true; /* this copy's RAM, not the parent's pagemap, decides */
	r.rc = snap_mem_save(vm, w, true, true, &r.pages, err, sizeof(err));
	if (!r.rc && snap_write_end(w))
		r.rc = -1;
	r.err = w->err;
	r.bytes = w->bytes;
	ssize_t n = write(out, &r, sizeof(r));
	_exit(!r.rc && n == sizeof(r) ? 0 : 1);
}

/* The child's report, then its end: 0 when it wrote everything. A VM that ends
 * meanwhile does not wait for it (it dies with proxy; the .tmp is removed). */
static int collect(struct vm *vm, pid_t pid, int in, uint64_t *pages, uint64_t *bytes, char *err,
		   size_t errlen)
{
	struct bg_result r = {.rc = -1};
	struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = vm->end_fd, .events = POLLIN}};
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (!p[0].revents && p[1].revents)
		return snprintf(err, errlen, "the VM is ending"), -1;
	ssize_t n;
	do
		n = read(in, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == sizeof(r) && !r.rc && WIFEXITED(status) && !WEXITSTATUS(status)) {
		*pages = r.pages;
		*bytes = r.bytes;
		return 0;
	}
	if (n == sizeof(r) && r.err)
		return snprintf(err, errlen, "writing the memory: %s", strerror(-r.err)), -1;
	return snprintf(err, errlen, "the memory writer (process %d) ended with status 0x%x",
			(int)pid, (unsigned)status),
	       -1;
}

/* Whether all 512 pages of the 2 MiB at p are backed (pagemap bit 63: in RAM). */
static bool run_is_full(int pagemap_fd, const uint8_t *p)
{
	uint64_t entry[HUGE_RUN / GUEST_PAGE];
	off_t at = (off_t)((uintptr_t)p / GUEST_PAGE * 8);
	if (pread(pagemap_fd, entry, sizeof(entry), at) != (ssize_t)sizeof(entry))
		return false;
	for (size_t i = 0; i < sizeof(entry) / 8; i++)
		if (!(entry[i] >> 63))
			return false;
	return true;
}

/* Before the pause, while the guest runs: 2 MiB of guest RAM that is backed page
 * by page becomes one huge page (the kernel copies it, KVM follows), so the fork
 * copies one entry for it instead of 512: the pause then hardly grows with the
 * memory touched. Ranges with a page never touched stay as they are (a huge page
 * would back memory the guest never used). Best effort. */
static void collapse_full_runs(struct vm *vm)
{
	const struct guest_mem *m = &vm->mem;
	if (!vm->cfg->hugepage || vm->snap->pagemap_fd < 0 || (uintptr_t)m->host % HUGE_RUN)
		return;
	for (uint64_t off = 0; off + HUGE_RUN <= m->size; off += HUGE_RUN)
		if (run_is_full(vm->snap->pagemap_fd, m->host + off) &&
		    !madvise(m->host + off, HUGE_RUN, MADV_HUGEPAGE))
			madvise(m->host + off, HUGE_RUN, MADV_COLLAPSE);
}

int ckpt_background_save(struct vm *vm, int fd, uint64_t seq, uint64_t *pages, uint64_t *bytes,
			 uint64_t *paused_ns, char *err, size_t errlen)
{
	collapse_full_runs(vm);
	uint64_t t0 = now_ns();
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
	struct snap_writer w;
	snap_writer_init(&w, fd);
	*pages = 0;
	int rc = snapshot_pause(vm, err, errlen);
	if (rc) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	rc = snapshot_save_state(vm, &w, true, seq, 0, err, errlen);
	/* As a full save: the next incremental one starts from this instant. */
	if (!rc && vm->snap->incremental)
		rc = snap_mem_reset_log(vm, err, errlen);
	pid_t pid = -1;
	if (!rc) {
		/* clone as fork, without glibc's fork handlers: the sandbox allows it
		 * with exactly these flags. */
		pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid < 0)
			rc = (snprintf(err, errlen, "fork: %s", strerror(errno)), -1);
	}
	if (pid == 0) {
		close(pfd[0]);
		child_write(vm, &w, pfd[1]);
	}
	snapshot_resume(vm);
	*paused_ns = now_ns() - t0;
	close(pfd[1]);
	if (!rc)
		rc = collect(vm, pid, pfd[0], pages, bytes, err, errlen);
	close(pfd[0]);
	if (!rc) /* the dirty log holds what changed since the fork */
		vm->snap->have_base = true;
	return rc;
}
