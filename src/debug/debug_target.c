/* debug_target.c: proxy's VM as a struct gdb_target for the RSP stub.
 *
 * Registers come from the per-vCPU cache (debug_regs.c); memory is guest-virtual,
 * walked through the chosen vCPU's page tables page by page. Software breakpoints
 * are 0xCC bytes at the guest-physical byte their virtual address had when planted,
 * hidden from memory reads through any mapping of that byte; an 0xCC the debugger
 * writes itself (M/X) is a breakpoint too, shown as written. The four debug-register
 * slots hold hardware breakpoints and watchpoints, a watchpoint one slot per aligned
 * piece of its range; on hosts whose KVM ignores data breakpoints the watchpoints
 * are checked after every single step instead.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "debug_internal.h"
#include "watch_split.h"

#define ENOTSUP_READ_WATCH EPERM /* any error but EOPNOTSUPP: the stub answers E.. */
#define RFLAGS_IF	   (1ULL << 9)
#include "log.h"

static struct vcpu *cpu_of(struct vm *vm, int cpu)
{
	if (cpu < 0 || (unsigned)cpu >= vm->ncpus)
		cpu = 0;
	return &vm->vcpus[cpu];
}

static uint64_t cpu_cr3(struct vcpu *v)
{
	return regcache_load(v) ? 0 : v->dbg->rc.sregs.cr3;
}

static int t_cpu_count(void *ctx)
{
	return (int)((struct vm *)ctx)->ncpus;
}

static int t_reg_size(void *ctx, int regno)
{
	return debug_reg_size(((struct vm *)ctx)->dbg, regno);
}

static int t_read_reg(void *ctx, int cpu, int regno, uint8_t *buf)
{
	return debug_read_reg(cpu_of(ctx, cpu), regno, buf);
}

static int t_write_reg(void *ctx, int cpu, int regno, const uint8_t *buf)
{
	return debug_write_reg(cpu_of(ctx, cpu), regno, buf);
}

struct sw_breakpoint *debug_find_sw(struct debugger *d, uint64_t addr)
{
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
		if (d->sw[i].used && d->sw[i].addr == addr)
			return &d->sw[i];
	return NULL;
}

struct hw_slot *debug_find_hw_exec(struct debugger *d, uint64_t addr)
{
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		if (d->hw[i].used && d->hw[i].kind == GDB_BP_HW && d->hw[i].addr == addr)
			return &d->hw[i];
	return NULL;
}

/* The planted breakpoint at guest-physical gpa, other than `except`, or NULL. */
static struct sw_breakpoint *sw_at_gpa(struct debugger *d, uint64_t gpa,
				       const struct sw_breakpoint *except)
{
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
		if (d->sw[i].used && &d->sw[i] != except && d->sw[i].gpa == gpa)
			return &d->sw[i];
	return NULL;
}

/* Calls fn for every planted breakpoint inside the n bytes at addr (mapped, as a
 * gva_read/gva_write of them just found) with its offset in the range. By the
 * physical byte, not the address GDB gave: the same byte may be mapped at another
 * address too (an alias), and a read there must not show our int3 either. */
static void for_each_bp_in(struct vm *vm, uint64_t cr3, uint64_t addr, size_t n,
			   void (*fn)(struct vm *, struct sw_breakpoint *, size_t, void *),
			   void *arg)
{
	uint64_t gpa, left;
	for (size_t off = 0; off < n; off += left) {
		if (gva_to_gpa(&vm->mem, cr3, addr + off, &gpa, &left))
			return;
		left = left < n - off ? left : n - off;
		for (int i = 0; i < DEBUG_MAX_SW_BP; i++) {
			struct sw_breakpoint *b = &vm->dbg->sw[i];
			if (b->used && b->gpa >= gpa && b->gpa < gpa + left)
				fn(vm, b, off + (b->gpa - gpa), arg);
		}
	}
}

static void show_orig(struct vm *vm, struct sw_breakpoint *b, size_t off, void *buf)
{
	(void)vm;
	((uint8_t *)buf)[off] = b->orig;
}

/* Guest memory as the guest wrote it: the original bytes under our planted int3s
 * (GDB's reads, and the single-step watchpoints' before/after comparison, which a
 * breakpoint planted or removed inside a watched range must not look like a write). */
static size_t read_hiding_bps(struct vm *vm, uint64_t cr3, uint64_t addr, void *buf, size_t len)
{
	size_t n = gva_read(&vm->mem, cr3, addr, buf, len);
	for_each_bp_in(vm, cr3, addr, n, show_orig, buf);
	return n;
}

static ssize_t t_read_mem(void *ctx, int cpu, uint64_t addr, void *buf, size_t len)
{
	struct vm *vm = ctx;
	size_t n = read_hiding_bps(vm, cpu_cr3(cpu_of(vm, cpu)), addr, buf, len);
	if (n == 0 && len > 0)
		return -EFAULT;
	return (ssize_t)n;
}

/* A write over a planted breakpoint changes what lies under it; the 0xCC stays. */
static void keep_planted(struct vm *vm, struct sw_breakpoint *b, size_t off, void *buf)
{
	uint8_t *p = gpa_ptr(&vm->mem, b->gpa, 1);
	b->orig = ((const uint8_t *)buf)[off];
	if (p)
		*p = 0xCC;
}

static struct written_bp *find_written(struct debugger *d, uint64_t gpa)
{
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
		if (d->written[i].used && d->written[i].gpa == gpa)
			return &d->written[i];
	return NULL;
}

bool debug_is_written_bp(struct vcpu *v, uint64_t rip)
{
	uint64_t gpa, left;
	return !gva_to_gpa(&v->vm->mem, vcpu_exit_cr3(v), rip, &gpa, &left) &&
	       find_written(v->vm->dbg, gpa);
}

/* After a debugger write of n bytes at addr: a one-byte write of 0xCC is how GDB
 * plants a breakpoint by memory (its x86 breakpoint is one byte), and any write
 * over such a byte (GDB putting the original back) ends it. A longer write holding
 * 0xCC (a `restore` of code) plants nothing: those are the guest's own int3s. */
static void track_written_bps(struct vm *vm, uint64_t cr3, uint64_t addr, const uint8_t *buf,
			      size_t n)
{
	struct debugger *d = vm->dbg;
	uint64_t gpa, left;
	for (size_t off = 0; off < n; off += left) {
		if (gva_to_gpa(&vm->mem, cr3, addr + off, &gpa, &left))
			return;
		left = left < n - off ? left : n - off;
		for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
			if (d->written[i].used && d->written[i].gpa - gpa < left)
				d->written[i].used = false;
		if (n != 1 || buf[0] != 0xCC)
			continue;
		for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
			if (!d->written[i].used) {
				d->written[i] = (struct written_bp){.gpa = gpa, .used = true};
				break;
			}
	}
}

static ssize_t t_write_mem(void *ctx, int cpu, uint64_t addr, const void *buf, size_t len)
{
	struct vm *vm = ctx;
	struct vcpu *v = cpu_of(vm, cpu);
	uint64_t cr3 = cpu_cr3(v);
	size_t n = gva_write(&vm->mem, cr3, addr, buf, len);
	if (n == 0 && len > 0)
		return -EFAULT;
	for_each_bp_in(vm, cr3, addr, n, keep_planted, (void *)buf);
	track_written_bps(vm, cr3, addr, buf, n);
	return (ssize_t)n;
}

/* Planted where addr points now. A byte already planted through another address
 * (an alias of the page) holds our 0xCC: the original comes from that breakpoint,
 * or removing one of the two would leave an int3 the guest then runs into. */
static int insert_sw(struct vm *vm, uint64_t addr)
{
	struct debugger *d = vm->dbg;
	if (debug_find_sw(d, addr))
		return 0;
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++) {
		struct sw_breakpoint *b = &d->sw[i];
		if (b->used)
			continue;
		uint64_t cr3 = cpu_cr3(cpu_of(vm, d->current_cpu)), gpa, left;
		uint8_t *p = gva_to_gpa(&vm->mem, cr3, addr, &gpa, &left)
				     ? NULL
				     : gpa_ptr(&vm->mem, gpa, 1);
		if (!p)
			return -EFAULT;
		struct sw_breakpoint *twin = sw_at_gpa(d, gpa, NULL);
		*b = (struct sw_breakpoint){
			.addr = addr, .gpa = gpa, .orig = twin ? twin->orig : *p, .used = true};
		*p = 0xCC;
		return 0;
	}
	return -ENOSPC;
}

/* The original byte goes back where the int3 was planted, not where addr points
 * now: the guest may have loaded other page tables since (a kernel rebuilding its
 * map), and through them addr may be unmapped or another page. The byte stays
 * planted while another breakpoint shares it. */
static int remove_sw(struct vm *vm, uint64_t addr)
{
	struct sw_breakpoint *b = debug_find_sw(vm->dbg, addr);
	if (!b)
		return 0;
	uint8_t *p = gpa_ptr(&vm->mem, b->gpa, 1);
	if (p && !sw_at_gpa(vm->dbg, b->gpa, b))
		*p = b->orig;
	b->used = false;
	return 0;
}

uint64_t debug_dr7(const struct debugger *d)
{
	uint64_t dr7 = 0;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++) {
		const struct hw_slot *s = &d->hw[i];
		if (!s->used || (d->soft_watch && s->kind != GDB_BP_HW))
			continue;
		uint64_t rw = s->kind == GDB_BP_HW ? 0 : s->kind == GDB_WP_WRITE ? 1 : 3;
		uint64_t len = s->kind == GDB_BP_HW ? 0
			       : s->len == 1	    ? 0
			       : s->len == 2	    ? 1
			       : s->len == 8	    ? 2
						    : 3;
		dr7 |= (1ULL << (2 * i + 1)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
	}
	return dr7;
}

static bool is_slot_of(const struct hw_slot *s, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	return s->used && s->kind == kind && s->watch_addr == addr &&
	       (kind == GDB_BP_HW || s->watch_len == len);
}

static int free_slots(const struct debugger *d)
{
	int n = 0;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		n += !d->hw[i].used;
	return n;
}

/* A hardware breakpoint takes one slot; a watchpoint one per aligned piece of its
 * range (an unaligned or long range several), all or none. */
static int insert_hw(struct vm *vm, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	struct debugger *d = vm->dbg;
	struct watch_piece piece[DEBUG_HW_SLOTS] = {{.addr = addr, .len = len}};
	int n = kind == GDB_BP_HW ? 1 : watch_split(addr, len, piece, DEBUG_HW_SLOTS);
	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		if (is_slot_of(&d->hw[i], kind, addr, len))
			return 0;
	if (n > free_slots(d)) {
		warnx_("debugger: a watchpoint on %zu byte(s) at 0x%llx needs %s%d debug "
		       "register(s) (aligned 1, 2, 4 or 8 bytes each), %d of %d are free",
		       len, (unsigned long long)addr, n == INT_MAX ? "more than " : "", n,
		       free_slots(d), DEBUG_HW_SLOTS);
		return -ENOSPC; /* GDB: "You may have requested too many hardware ...watchpoints" */
	}
	uint64_t cr3 = cpu_cr3(cpu_of(vm, d->current_cpu));
	for (int i = 0, p = 0; i < DEBUG_HW_SLOTS && p < n; i++) {
		struct hw_slot *s = &d->hw[i];
		if (s->used)
			continue;
		*s = (struct hw_slot){.used = true,
				      .kind = kind,
				      .addr = piece[p].addr,
				      .len = piece[p].len,
				      .watch_addr = addr,
				      .watch_len = len};
		if (d->soft_watch && kind != GDB_BP_HW)
			read_hiding_bps(vm, cr3, s->addr, s->old, s->len);
		p++;
	}
	if (d->soft_watch && kind != GDB_BP_HW && d->soft_watch_notice == SOFT_WATCH_UNTOLD)
		d->soft_watch_notice = SOFT_WATCH_TO_TELL; /* at the next resume (t_take_notice) */
	return 0;
}

static int remove_hw(struct vm *vm, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	struct debugger *d = vm->dbg;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		if (is_slot_of(&d->hw[i], kind, addr, len))
			d->hw[i].used = false;
	return 0;
}

struct hw_slot *debug_soft_watch_check(struct vcpu *v)
{
	struct debugger *d = v->vm->dbg;
	if (!debug_soft_watch_active(d))
		return NULL;
	uint64_t cr3 = vcpu_exit_cr3(v); /* on the vCPU thread, after a step */
	for (int i = 0; i < DEBUG_HW_SLOTS; i++) {
		struct hw_slot *s = &d->hw[i];
		uint8_t now[8];
		if (!s->used || s->kind == GDB_BP_HW)
			continue;
		if (read_hiding_bps(v->vm, cr3, s->addr, now, s->len) != s->len)
			continue;
		if (memcmp(now, s->old, s->len)) {
			memcpy(s->old, now, s->len);
			return s;
		}
	}
	return NULL;
}

static int t_insert_bp(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	/* Z3 (read) has no x86 encoding. With debug registers, "unsupported" makes GDB
	 * fall back to an access watchpoint. Single-step watchpoints see only changes,
	 * which GDB ignores for a read watchpoint: refuse outright rather than never fire. */
	if (kind == GDB_WP_READ)
		return ((struct vm *)ctx)->dbg->soft_watch ? -ENOTSUP_READ_WATCH : -EOPNOTSUPP;
	return kind == GDB_BP_SW ? insert_sw(ctx, addr) : insert_hw(ctx, kind, addr, len);
}

static int t_remove_bp(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len)
{
	if (kind == GDB_WP_READ)
		return -EOPNOTSUPP;
	return kind == GDB_BP_SW ? remove_sw(ctx, addr) : remove_hw(ctx, kind, addr, len);
}

static bool not_started(const struct vcpu *v)
{
	return atomic_load(&v->state) == VCPU_GATED;
}

/* A vCPU the guest has not started waits at the start gate and executes nothing:
 * a step of it, or a resume of nothing but such vCPUs, would never stop.
 * -ESRCH (the stub tells GDB which thread and why); the VM stays stopped, and
 * the gate cannot open meanwhile, since the vCPUs that could open it are parked. */
static int check_startable(const struct vm *vm, const enum gdb_resume_action *actions)
{
	bool runs = false;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (actions[i] == GDB_RESUME_NONE)
			continue;
		if (not_started(&vm->vcpus[i]) && actions[i] == GDB_RESUME_STEP)
			return -ESRCH;
		runs = runs || !not_started(&vm->vcpus[i]);
	}
	return runs ? 0 : -ESRCH;
}

/* --stats counts boot time without the time GDB held the VM before its first
 * instruction (the user reading the first stop is no boot cost). */
static void account_hold_locked(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	if (d->stop_requested && !atomic_load(&vm->t_first_insn_ns))
		d->boot_hold_ns += now_ns() - d->held_since_ns;
}

/* After loadvm: GDB's caches hold the state before it, and only a stop makes GDB
 * read registers and memory again: report one where the loaded vCPU stands. */
/* A stop reached without running a vCPU (the VM stays stopped): the stub hears at once. */
static int post_stop(struct vm *vm, const struct gdb_stop *stop)
{
	struct debugger *d = vm->dbg;
	pthread_mutex_lock(&d->lock);
	d->stop_at_resume = false;
	d->stop = *stop;
	d->have_stop = true;
	d->stop_signalled = false;
	debug_request_stop_locked(d);
	debug_stop_complete_locked(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int report_loaded_state(struct vm *vm)
{
	const struct gdb_stop s = {
		.kind = GDB_STOP_SIGNAL, .cpu = vm->dbg->current_cpu, .signal = GDB_SIGTRAP};
	return post_stop(vm, &s);
}

void debug_before_save(struct vm *vm)
{
	for (unsigned i = 0; vm->dbg && i < vm->ncpus; i++)
		regcache_flush(&vm->vcpus[i]);
}

/* Single-step watchpoints compare with the bytes last seen: after memory was
 * replaced (reset, loadvm) those are the new bytes, else the first step would report
 * a change no guest write made. Through the current vCPU's tables, as at insertion. */
static void refresh_soft_watch(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	if (!debug_soft_watch_active(d))
		return;
	uint64_t cr3 = cpu_cr3(cpu_of(vm, d->current_cpu));
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		if (d->hw[i].used && d->hw[i].kind != GDB_BP_HW)
			read_hiding_bps(vm, cr3, d->hw[i].addr, d->hw[i].old, d->hw[i].len);
}

void debug_state_replaced(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	if (!d)
		return;
	record_drop(vm); /* the log led to the state loadvm replaced */
	for (unsigned i = 0; i < vm->ncpus; i++)
		regcache_drop(&vm->vcpus[i]);
	refresh_soft_watch(vm);
	pthread_mutex_lock(&d->lock);
	d->stop_at_resume = !d->detached;
	pthread_mutex_unlock(&d->lock);
}

/* Reset hook: the guest starts again in reloaded RAM. The int3s planted in the old
 * RAM are gone: plant them again over the new bytes (read all first: two
 * breakpoints may share a byte); GDB's cached registers are the old ones; watched
 * bytes are the new ones; a failure reported as a stop, or an exit, is over. */
void debug_on_reset(struct vm *vm, void *arg)
{
	struct debugger *d = arg;
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++) {
		uint8_t *p = d->sw[i].used ? gpa_ptr(&vm->mem, d->sw[i].gpa, 1) : NULL;
		if (p)
			d->sw[i].orig = *p;
	}
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++) {
		uint8_t *p = d->sw[i].used ? gpa_ptr(&vm->mem, d->sw[i].gpa, 1) : NULL;
		if (p)
			*p = 0xCC;
	}
	record_drop(vm); /* a fresh boot has no past */
	for (unsigned i = 0; i < vm->ncpus; i++)
		regcache_drop(&vm->vcpus[i]);
	refresh_soft_watch(vm);
	pthread_mutex_lock(&d->lock);
	d->fatal_status = 0;
	d->guest_exited = false;
	pthread_mutex_unlock(&d->lock);
}

/* extended-remote: resuming past a guest failure reports its end (W with the status
 * proxy would have ended with) and keeps the VM, stopped, for the next vRun. */
static int report_fatal_exit(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	pthread_mutex_lock(&d->lock);
	d->guest_exited = true;
	d->exit_status = d->fatal_status;
	d->stop = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = d->fatal_status};
	d->have_stop = true;
	d->stop_signalled = false;
	debug_request_stop_locked(d);
	debug_stop_complete_locked(d); /* every vCPU is parked: the stub hears at once */
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int t_resume(void *ctx, const enum gdb_resume_action *actions)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	int rc = 0;
	if (d->guest_exited)
		return -ECHILD; /* nothing runs until vRun starts the guest again */
	/* Inside the recorded past nothing runs, not even after a guest failure: going
	 * back from a crash and forward again replays the log up to the crash. */
	struct gdb_stop replayed;
	record_autostart(vm);
	if (record_replay(vm, actions, &replayed))
		return post_stop(vm, &replayed);
	if (d->fatal_status && d->extended)
		return report_fatal_exit(vm);
	if (d->fatal_status) {
		/* The guest cannot go on past its failure: the VM ends as it would have. */
		vm_end(vm, d->fatal_status);
		return 0;
	}
	rc = check_startable(vm, actions);
	if (rc)
		return rc;
	if (d->stop_at_resume)
		return report_loaded_state(vm);
	/* Everything that can fail happens before any vCPU is released: on an error the
	 * VM stays stopped, as the E.. reply tells GDB. */
	for (unsigned i = 0; i < vm->ncpus; i++)
		rc = regcache_flush(&vm->vcpus[i]) ?: rc;
	for (unsigned i = 0; i < vm->ncpus && !rc; i++)
		if (actions[i] != GDB_RESUME_NONE)
			rc = debug_apply_guest_debug(&vm->vcpus[i], actions[i] == GDB_RESUME_STEP,
						     false);
	if (rc)
		return rc;
	record_resync(vm); /* what the debugger wrote while stopped is no guest change */
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].dbg->action = actions[i];
	d->have_stop = false;
	d->stop_signalled = false;
	account_hold_locked(vm);
	__atomic_store_n(&d->stop_requested, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* A debugger's first watchpoint on a host without data breakpoints: why the guest
 * suddenly runs slowly, once per debugger (GDB prints it when it continues). */
static const char *t_take_notice(void *ctx)
{
	struct debugger *d = ((struct vm *)ctx)->dbg;
	if (d->soft_watch_notice != SOFT_WATCH_TO_TELL)
		return NULL;
	d->soft_watch_notice = SOFT_WATCH_TOLD;
	return "proxy: this host's KVM ignores data breakpoints, so watchpoints are emulated "
	       "by single-stepping the guest: it runs much slower while one is set\n";
}

static int t_stop_fd(void *ctx)
{
	return ((struct vm *)ctx)->dbg->stop_fd;
}

static int t_take_stop(void *ctx, struct gdb_stop *out)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	uint64_t count;
	if (read(d->stop_fd, &count, sizeof(count)) < 0 && !atomic_load(&vm->ending))
		return -EAGAIN;
	if (atomic_load(&vm->ending)) {
		*out = (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = vm->exit_status};
		return 0;
	}
	pthread_mutex_lock(&d->lock);
	int rc = -EAGAIN;
	if (d->stop_signalled) {
		*out = d->stop;
		d->current_cpu = d->stop.cpu;
		rc = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Could vCPU i be the thread of an interrupt stop: one GDB resumed, and running? */
static bool interruptible(const struct vm *vm, unsigned i, bool need_started)
{
	const struct vcpu *v = &vm->vcpus[i];
	if (v->dbg->action == GDB_RESUME_NONE || atomic_load(&v->state) == VCPU_DONE)
		return false;
	return !need_started || !not_started(v);
}

/* The thread a Ctrl-C (or an attach) stop names. In all-stop GDB requires one it
 * resumed: with scheduler locking only some run, and a stop named on another makes
 * GDB 13 abort (inline-frame.c). The last thread reported if it qualifies, else the
 * first resumed one that runs, else the first resumed one at all. */
static int interrupt_cpu_locked(const struct vm *vm)
{
	const struct debugger *d = vm->dbg;
	for (int pass = 0; pass < 2; pass++) {
		bool need_started = pass == 0;
		if (interruptible(vm, (unsigned)d->current_cpu, need_started))
			return d->current_cpu;
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (interruptible(vm, i, need_started))
				return (int)i;
	}
	return d->current_cpu;
}

/* Ctrl-C, or a debugger attaching to a running VM (the stub interrupts it for the
 * new client): then the debugger is armed again first, so the vCPUs park and
 * breakpoints work from this stop on. */
static void t_interrupt(void *ctx)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	pthread_mutex_lock(&d->lock);
	d->detached = false;
	if (!d->have_stop) {
		d->stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL,
					    .cpu = interrupt_cpu_locked(vm),
					    .signal = GDB_SIGINT};
		d->have_stop = true;
	}
	debug_request_stop_locked(d);
	debug_stop_complete_locked(d);
	pthread_mutex_unlock(&d->lock);
	vm_kick_all(vm);
}

static void t_thread_info(void *ctx, int cpu, char *buf, size_t len)
{
	struct vcpu *v = cpu_of(ctx, cpu);
	snprintf(buf, len, "vCPU %u, %s", v->id, vcpu_state_name(v, false));
}

/* A vCPU in hlt with IF clear waits for an NMI or INIT, which nothing here sends:
 * KVM would keep it halted, and a step of it would never end. (Interrupts on: a
 * timer or an IPI may still wake it, so it may progress.) */
static bool t_can_progress(void *ctx, int cpu, char *why, size_t len)
{
	struct vcpu *v = cpu_of(ctx, cpu);
	struct kvm_mp_state mp;
	if (not_started(v) || atomic_load(&v->state) == VCPU_DONE ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_HALTED ||
	    regcache_load(v) || (v->dbg->rc.regs.rflags & RFLAGS_IF))
		return true;
	snprintf(why, len,
		 "it is halted (hlt) with interrupts disabled, so it executes nothing more; "
		 "step another thread");
	return false;
}

static int t_monitor(void *ctx, const char *cmd, gdb_output_fn out, void *arg)
{
	struct vm *vm = ctx;
	int rc = record_monitor(vm, cmd, out, arg);
	return rc <= 0 ? rc : vm->dbg->monitor(vm, cmd, out, arg);
}

static int t_reverse(void *ctx, int cpu, bool step, char *err, size_t errlen)
{
	struct vm *vm = ctx;
	struct gdb_stop stop;
	if (!record_on(vm->dbg)) {
		snprintf(err, errlen,
			 "no execution history: `monitor record start` records it (from here on)");
		return -ENOENT;
	}
	if (cpu < 0 || (unsigned)cpu >= vm->ncpus)
		cpu = vm->dbg->current_cpu;
	record_reverse(vm, cpu, step, &stop);
	return post_stop(vm, &stop);
}

/* GDB 13 shows a refused write as "Cannot access memory": the reason goes to
 * proxy's stderr too. */
static const char *t_write_refused(void *ctx)
{
	struct vm *vm = ctx;
	static const char why[] =
		"cannot change registers or memory in the recorded past (continue forward to "
		"the end of the log first, or `monitor record stop`)";
	if (!record_in_past(vm->dbg))
		return NULL;
	warnx_("debugger: %s", why);
	return why;
}

/* Stop every vCPU (if running) and wait until all are parked: breakpoints may only
 * change under a stopped VM, or a vCPU could trap on one that is being removed. */
static void stop_all_and_wait(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	pthread_mutex_lock(&d->lock);
	bool running = !d->stop_requested;
	if (running) {
		debug_request_stop_locked(d);
		debug_stop_complete_locked(d);
	}
	pthread_mutex_unlock(&d->lock);
	if (running)
		vm_kick_all(vm);
	struct pollfd p = {.fd = d->stop_fd, .events = POLLIN};
	for (;;) {
		pthread_mutex_lock(&d->lock);
		bool stopped = d->stop_signalled;
		pthread_mutex_unlock(&d->lock);
		if (stopped || atomic_load(&vm->ending))
			return;
		poll(&p, 1, 100);
	}
}

static void t_detach(void *ctx)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	stop_all_and_wait(vm); /* GDB may vanish while the VM runs */
	pthread_mutex_lock(&d->lock);
	bool exited = d->guest_exited;
	d->extended = false;
	pthread_mutex_unlock(&d->lock);
	if (exited) { /* nobody is left to `run` it again */
		vm_end(vm, d->exit_status);
		return;
	}
	for (int i = 0; i < DEBUG_MAX_SW_BP; i++)
		if (d->sw[i].used)
			remove_sw(vm, d->sw[i].addr);
	memset(d->hw, 0, sizeof(d->hw));
	memset(d->written, 0, sizeof(d->written)); /* what GDB left behind is the guest's */
	d->soft_watch_notice = SOFT_WATCH_UNTOLD;  /* the next debugger is told again */
	pthread_mutex_lock(&d->lock);
	d->detached = true;
	pthread_mutex_unlock(&d->lock);
	enum gdb_resume_action all[vm->ncpus];
	for (unsigned i = 0; i < vm->ncpus; i++)
		all[i] = GDB_RESUME_CONTINUE;
	t_resume(vm, all); /* guest debug is switched off for a detached VM */
	record_drop(vm);   /* after replaying to the log's end: the guest runs free */
}

/* `k`; in extended mode the VM stays, stopped, for the next `vRun`, and ends (as
 * killed) only if the debugger leaves instead. */
static void t_kill(void *ctx)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	if (!d->extended) {
		/* After a guest failure the VM ends with the failure's status. */
		vm_end(vm, d->fatal_status ? d->fatal_status : STATUS_KILLED);
		return;
	}
	stop_all_and_wait(vm);
	pthread_mutex_lock(&d->lock);
	if (!d->guest_exited)
		d->exit_status = d->fatal_status ? d->fatal_status : STATUS_KILLED;
	d->guest_exited = true;
	pthread_mutex_unlock(&d->lock);
}

static void t_set_extended(void *ctx, int on)
{
	struct debugger *d = ((struct vm *)ctx)->dbg;
	pthread_mutex_lock(&d->lock);
	d->extended = on;
	pthread_mutex_unlock(&d->lock);
}

/* vRun: system_reset under the debugger, which holds every vCPU stopped. The guest
 * stands at its first instruction; the stub reports that stop itself. */
static int t_restart(void *ctx, char *err, size_t errlen)
{
	struct vm *vm = ctx;
	struct debugger *d = vm->dbg;
	const struct timespec nap = {0, 5000000};
	stop_all_and_wait(vm);
	int rc = vm_reset(vm, err, errlen);
	/* A vCPU finishing a hypercall parks by itself: give it 2 s. */
	for (int i = 0; rc == -EBUSY && i < 400; i++) {
		nanosleep(&nap, NULL);
		rc = vm_reset(vm, err, errlen);
	}
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	d->current_cpu = 0;
	d->stop_at_resume = false;
	d->stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = GDB_SIGTRAP};
	d->have_stop = true;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static uint64_t t_load_bias(void *ctx)
{
	const struct vm *vm = ctx;
	return vm->image.load_bias;
}

static uint64_t t_entry_point(void *ctx)
{
	const struct vm *vm = ctx;
	return vm->image.entry;
}

/* Only the vCPU whose failure stopped the VM has a siginfo. */
static int t_siginfo(void *ctx, int cpu, struct gdb_siginfo *out)
{
	struct vm *vm = ctx;
	if (cpu < 0 || (unsigned)cpu >= vm->ncpus || !vm->dbg->fatal_status ||
	    !vm->vcpus[cpu].fault.valid)
		return -ENOENT;
	debug_fault_siginfo(&vm->vcpus[cpu].fault, out);
	return 0;
}

static const struct gdb_target_ops target_ops = {
	.cpu_count = t_cpu_count,
	.reg_size = t_reg_size,
	.read_reg = t_read_reg,
	.write_reg = t_write_reg,
	.read_mem = t_read_mem,
	.write_mem = t_write_mem,
	.insert_bp = t_insert_bp,
	.remove_bp = t_remove_bp,
	.resume = t_resume,
	.stop_fd = t_stop_fd,
	.take_stop = t_take_stop,
	.interrupt = t_interrupt,
	.thread_info = t_thread_info,
	.monitor = t_monitor,
	.detach = t_detach,
	.kill = t_kill,
	.set_extended = t_set_extended,
	.restart = t_restart,
	.load_bias = t_load_bias,
	.entry_point = t_entry_point,
	.siginfo = t_siginfo,
	.take_notice = t_take_notice,
	.can_progress = t_can_progress,
	.reverse = t_reverse,
	.write_refused = t_write_refused,
};

struct gdb_target debug_target(struct vm *vm)
{
	return (struct gdb_target){&target_ops, vm};
}
