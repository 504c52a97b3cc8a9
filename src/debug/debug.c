/* debug.c: the vCPU side of the debugger: all-stop, debug exits, guest debug flags.
 *
 * All-stop: when one vCPU stops (breakpoint, step, watchpoint, Ctrl-C) the others
 * are kicked out of KVM_RUN and park here; when every vCPU is parked the stub is
 * told through an eventfd. Resuming gives each vCPU an action (run, step, stay),
 * so `set scheduler-locking on` steps one vCPU while the others stay parked.
 *
 * Breakpoints arrive by two paths, one per kind of host: hardware KVM reports an
 * int3 as KVM_EXIT_DEBUG (#BP); software KVM (PVM) cannot intercept int3 and ends
 * KVM_RUN with an emulation failure at the planted 0xCC. Both are recognised here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "debug_internal.h"
#include "emulate.h"
#include "gdbstub.h"
#include "log.h"

#define DR6_BS (1u << 14)

static void signal_stub(struct debugger *d)
{
	uint64_t one = 1;
	if (write(d->stop_fd, &one, sizeof(one)) < 0)
		warnx_("debugger: cannot wake the stub: %s", strerror(errno));
}

/* Every vCPU parked or gone: the stop is complete, tell the stub (once). */
void debug_stop_complete_locked(struct debugger *d)
{
	struct vm *vm = d->vm;
	if (!d->stop_requested || d->stop_signalled)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->dbg->parked && !v->dbg->blocked && atomic_load(&v->state) != VCPU_DONE)
			return;
	}
	d->stop_signalled = true;
	signal_stub(d);
}

void debug_request_stop_locked(struct debugger *d)
{
	if (!d->stop_requested)
		d->held_since_ns = now_ns();
	__atomic_store_n(&d->stop_requested, true, __ATOMIC_RELEASE);
}

/* Recording several vCPUs runs them in a fixed order, one instruction each in turn
 * (d->rec_turn, under d->lock), so that the log does not depend on the host's
 * scheduling. A vCPU takes its turns while it can execute: started, not waiting in
 * a hypercall or in hlt, given an action by GDB. */
static bool turn_based(const struct debugger *d)
{
	return d->vm->ncpus > 1 && record_on(d);
}

static bool in_rotation(struct vcpu *v)
{
	return atomic_load(&v->state) == VCPU_RUNNING && !v->dbg->blocked && !v->dbg->halted &&
	       v->dbg->action != GDB_RESUME_NONE;
}

/* With d->lock held: the turn goes to the first vCPU in the rotation after `from`
 * (by id, `from` itself last), or to none (-1) until one joins. */
static void pass_turn_locked(struct debugger *d, int from)
{
	unsigned n = d->vm->ncpus;
	int turn = -1;
	for (unsigned k = 1; k <= n && turn < 0; k++) {
		unsigned i = (unsigned)(from + (int)k) % n;
		if (in_rotation(&d->vm->vcpus[i]))
			turn = (int)i;
	}
	if (turn != d->rec_turn) {
		__atomic_store_n(&d->rec_turn, turn, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&d->cond);
	}
}

/* With d->lock held: a vCPU that left the rotation (hypercall, hlt, end) hands its
 * turn on; a vCPU joining when nobody has it takes it. */
static void settle_turn_locked(struct debugger *d)
{
	int t = d->rec_turn;
	if (turn_based(d) && (t < 0 || !in_rotation(&d->vm->vcpus[t])))
		pass_turn_locked(d, t);
}

static bool is_halted(struct vcpu *v)
{
	struct kvm_mp_state mp;
	return ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_HALTED;
}

/* With the VM stopped (no vCPU in KVM_RUN, so asking KVM does not wait): a vCPU
 * already in hlt must not take a turn it might sleep through. */
void debug_turn_reset(struct debugger *d)
{
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->vm->ncpus; i++)
		d->vm->vcpus[i].dbg->halted = d->vm->ncpus > 1 && is_halted(&d->vm->vcpus[i]);
	d->rec_turn = -1; /* the first vCPU to wait takes the turn from vCPU 0 on */
	pthread_mutex_unlock(&d->lock);
}

/* A halted vCPU (in hlt) is out of the order: it may enter KVM_RUN, where it
 * sleeps until an interrupt, without stopping the others. */
static bool waits_for_turn(struct debugger *d, struct vcpu *v)
{
	return turn_based(d) && atomic_load(&v->state) == VCPU_RUNNING && !v->dbg->halted &&
	       __atomic_load_n(&d->rec_turn, __ATOMIC_ACQUIRE) != (int)v->id;
}

/* After a recorded step of v: the next vCPU's turn. */
static void turn_done(struct vcpu *v)
{
	struct debugger *d = v->vm->dbg;
	if (!turn_based(d))
		return;
	bool halted = is_halted(v);
	pthread_mutex_lock(&d->lock);
	v->dbg->halted = halted;
	if (d->rec_turn == (int)v->id)
		pass_turn_locked(d, (int)v->id);
	else
		settle_turn_locked(d);
	pthread_mutex_unlock(&d->lock);
}

/* Park hook: run only when no stop is requested, GDB gave this vCPU an action and,
 * while recording, it is this vCPU's turn. */
static bool debug_wants_park(struct vcpu *v, void *arg)
{
	struct debugger *d = arg;
	return __atomic_load_n(&d->stop_requested, __ATOMIC_ACQUIRE) ||
	       v->dbg->action == GDB_RESUME_NONE || waits_for_turn(d, v);
}

static void debug_park(struct vcpu *v, void *arg)
{
	struct debugger *d = arg;
	pthread_mutex_lock(&d->lock);
	v->dbg->parked = true;
	debug_stop_complete_locked(d);
	while (!atomic_load(&v->vm->ending) &&
	       (d->stop_requested || v->dbg->action == GDB_RESUME_NONE ||
		(settle_turn_locked(d), waits_for_turn(d, v))))
		pthread_cond_wait(&d->cond, &d->lock);
	v->dbg->parked = false;
	pthread_mutex_unlock(&d->lock);
}

/* A vCPU waiting in a blocking hypercall (not in KVM_RUN) counts as stopped. */
static void debug_vcpu_blocked(struct vcpu *v, bool blocked, void *arg)
{
	struct debugger *d = arg;
	pthread_mutex_lock(&d->lock);
	v->dbg->blocked = blocked;
	if (blocked)
		debug_stop_complete_locked(d);
	settle_turn_locked(d);
	pthread_mutex_unlock(&d->lock);
}

/* The vCPU thread is leaving (VM ending): one fewer to wait for. */
static void debug_vcpu_done(struct vcpu *v, void *arg)
{
	struct debugger *d = arg;
	(void)v;
	pthread_mutex_lock(&d->lock);
	debug_stop_complete_locked(d);
	settle_turn_locked(d);
	pthread_mutex_unlock(&d->lock);
}

/* Record why the VM stops (the first reason wins) and stop every vCPU. */
void debug_record_stop(struct vcpu *v, const struct gdb_stop *stop)
{
	struct debugger *d = v->vm->dbg;
	pthread_mutex_lock(&d->lock);
	if (d->detached) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (!d->have_stop) {
		d->stop = *stop;
		d->have_stop = true;
	}
	debug_request_stop_locked(d);
	debug_stop_complete_locked(d); /* the other vCPUs may all be stopped already */
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < v->vm->ncpus; i++)
		if (&v->vm->vcpus[i] != v)
			vcpu_kick(&v->vm->vcpus[i]);
}

bool debug_soft_watch_active(const struct debugger *d)
{
	if (!d->soft_watch)
		return false;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		if (d->hw[i].used && d->hw[i].kind != GDB_BP_HW)
			return true;
	return false;
}

/* GDB's signal numbers (not the host's) for an exception, as Linux signals a
 * process: #DE/#MF/#XM SIGFPE, #UD SIGILL, #AC/#MC SIGBUS, the rest (#PF, #GP, #DF,
 * #SS, #NP, #TS) SIGSEGV; also #DB/#BP, since a failure must not look like a trap
 * GDB set (a #BP the guest could not take is a crash, not a breakpoint). */
static int exception_signal(unsigned vector)
{
	switch (vector) {
	case 0:
	case 16:
	case 19:
		return 8; /* SIGFPE */
	case 6:
		return 4; /* SIGILL */
	case 17:
	case 18:
		return 10; /* SIGBUS */
	default:
		return 11; /* SIGSEGV */
	}
}

/* The signal of a failure: from the exception KVM held, else from its status. */
static int fatal_signal(const struct vcpu_fault *f)
{
	if (f->exception.valid)
		return exception_signal(f->exception.vector);
	switch (f->status) {
	case STATUS_TRIPLE_FAULT:
		return 11; /* SIGSEGV */
	case STATUS_UNHANDLED_IO:
		return 10; /* SIGBUS */
	default:
		return 4; /* SIGILL: entry failure, internal error, unrunnable instruction */
	}
}

void debug_fault_siginfo(const struct vcpu_fault *f, struct gdb_siginfo *out)
{
	const struct vcpu_exception *e = &f->exception;
	*out = (struct gdb_siginfo){
		.signal = fatal_signal(f),
		.code = e->valid ? e->vector : GDB_SI_KERNEL,
		.error = e->valid && e->has_error_code ? (int)e->error_code : 0,
		.addr = f->addr,
	};
	/* A page fault's address; a triple fault of unknown cause most often ends a page
	 * fault the guest could not handle, so CR2 is its best clue there too. */
	if (e->valid ? e->vector == 14 : f->status == STATUS_TRIPLE_FAULT)
		out->addr = f->cr2;
}

/* Fatal hook: the guest misbehaved (status as in log.h): report it to GDB as a
 * signal at the crash site and end the VM with `status` when GDB resumes. false
 * when no debugger is attached (detached). */
static bool debug_stop_on_fatal(struct vcpu *v, int status, void *arg)
{
	struct debugger *d = arg;
	pthread_mutex_lock(&d->lock);
	bool attached = !d->detached;
	if (attached && !d->fatal_status)
		d->fatal_status = status;
	pthread_mutex_unlock(&d->lock);
	if (!attached)
		return false;
	struct gdb_stop s = {
		.kind = GDB_STOP_SIGNAL, .cpu = (int)v->id, .signal = fatal_signal(&v->fault)};
	debug_record_stop(v, &s);
	return true;
}

/* Guest-exit hook: under an extended-remote debugger the VM stays for GDB's `run`:
 * the exit is reported (W) and every vCPU stops. */
static bool debug_keep_on_exit(struct vcpu *v, int code, void *arg)
{
	struct debugger *d = arg;
	pthread_mutex_lock(&d->lock);
	bool keep = d->extended && !d->detached;
	if (keep) {
		d->guest_exited = true;
		d->exit_status = code;
		d->have_stop = false; /* the exit is what GDB must hear, whatever came first */
	}
	pthread_mutex_unlock(&d->lock);
	if (!keep)
		return false;
	struct gdb_stop s = {.kind = GDB_STOP_EXITED, .cpu = (int)v->id, .exit_code = code};
	debug_record_stop(v, &s);
	return true;
}

/* Program KVM's guest debug for this vCPU: breakpoints always armed; single-step
 * for `step` and, on hosts without data breakpoints, to check watchpoints. */
int debug_apply_guest_debug(struct vcpu *v, bool step, bool inject_bp)
{
	struct debugger *d = v->vm->dbg;
	struct kvm_guest_debug g = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP,
	};
	if (d->detached)
		g.control = 0; /* after `detach` the guest runs as if no debugger had been */
	else if (step || debug_soft_watch_active(d)) {
		g.control |= KVM_GUESTDBG_SINGLESTEP;
		if (v->vm->caps.blockirq)
			g.control |= KVM_GUESTDBG_BLOCKIRQ; /* no detour into a timer handler */
	} else if (record_on(d))
		g.control |= KVM_GUESTDBG_SINGLESTEP; /* interrupts come as they come: logged */
	if (inject_bp)
		g.control |= KVM_GUESTDBG_INJECT_BP;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++)
		g.arch.debugreg[i] = d->hw[i].used ? d->hw[i].addr : 0;
	g.arch.debugreg[7] = debug_dr7(d);
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) < 0 ? -errno : 0;
}

static void stop_here(struct vcpu *v, enum gdb_stop_kind kind, uint64_t addr)
{
	struct gdb_stop s = {.kind = kind, .cpu = (int)v->id, .signal = GDB_SIGTRAP, .addr = addr};
	debug_record_stop(v, &s);
}

static enum gdb_stop_kind watch_kind(enum gdb_bp_kind k)
{
	return k == GDB_WP_ACCESS ? GDB_STOP_AWATCH
	       : k == GDB_WP_READ ? GDB_STOP_RWATCH
				  : GDB_STOP_WATCH;
}

/* The guest's own int3 on hardware KVM: give it back to the guest. */
static void reinject_guest_bp(struct vcpu *v)
{
	bool step = v->dbg->action == GDB_RESUME_STEP;
	if (debug_apply_guest_debug(v, step, true) || debug_apply_guest_debug(v, step, false))
		vm_fail(v, STATUS_INTERNAL_ERROR, "vCPU %u: cannot re-inject the guest's int3",
			v->id);
}

static void handle_single_step(struct vcpu *v)
{
	if (record_on(v->vm->dbg)) {
		record_step(v);
		turn_done(v);
	}
	struct hw_slot *hit = debug_soft_watch_check(v);
	if (hit)
		stop_here(v, watch_kind(hit->kind), hit->addr);
	else if (v->dbg->action == GDB_RESUME_STEP)
		stop_here(v, GDB_STOP_SIGNAL, 0);
	/* else: stepping only to watch memory; run on */
}

static void handle_debug_exit(struct vcpu *v)
{
	struct debugger *d = v->vm->dbg;
	struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	if (a->exception == 3) {
		if (debug_find_sw(d, a->pc) || debug_is_written_bp(v, a->pc))
			stop_here(v, GDB_STOP_SWBREAK, 0);
		else
			reinject_guest_bp(v);
		return;
	}
	/* #DB: DR6 says which slot fired or that a step finished; trust no single bit. */
	for (int i = 0; i < DEBUG_HW_SLOTS; i++) {
		struct hw_slot *s = &d->hw[i];
		/* With single-step watchpoints only exec slots are armed in DR7. */
		if (!(a->dr6 & (1u << i)) || !s->used || (d->soft_watch && s->kind != GDB_BP_HW))
			continue;
		if (s->kind == GDB_BP_HW)
			stop_here(v, GDB_STOP_HWBREAK, 0);
		else
			stop_here(v, watch_kind(s->kind), s->addr);
		return;
	}
	if (a->dr6 & DR6_BS || v->dbg->action == GDB_RESUME_STEP || debug_soft_watch_active(d) ||
	    record_on(d)) {
		handle_single_step(v);
		return;
	}
	if (debug_find_hw_exec(d, a->pc))
		stop_here(v, GDB_STOP_HWBREAK, 0);
	else
		stop_here(v, GDB_STOP_SIGNAL, 0);
}

/* Software KVM: a planted 0xCC (Z0, or one the debugger wrote) ends KVM_RUN as an
 * emulation failure at its address. */
static bool is_planted_breakpoint(struct vcpu *v)
{
	struct kvm_regs r;
	if (v->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    !(debug_find_sw(v->vm->dbg, r.rip) || debug_is_written_bp(v, r.rip)))
		return false;
	uint8_t byte = 0;
	return vcpu_read_virt(v, r.rip, &byte, 1) == 1 && byte == 0xCC;
}

static enum hook_result debug_hook(struct vcpu *v, void *arg)
{
	(void)arg;
	if (v->run->exit_reason == KVM_EXIT_DEBUG) {
		handle_debug_exit(v);
		return HOOK_HANDLED;
	}
	if (v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR && is_planted_breakpoint(v)) {
		atomic_fetch_add(&v->vm->dbg->planted_bp_exits, 1); /* not an error: --stats */
		stop_here(v, GDB_STOP_SWBREAK, 0);
		return HOOK_HANDLED;
	}
	return HOOK_NOT_MINE;
}

/* Software KVM (PVM) reports a port write after the `out` retired: RIP is past it
 * already, and entering the guest again with single-step on would run one more
 * instruction before the trap. There KVM_RUN with immediate_exit completes the I/O
 * without entering the guest, and the step ends here. Hardware KVM exits before
 * the `out` retires (RIP on it) and traps after it on the next KVM_RUN: nothing to
 * do. */
static void debug_after_port(struct vcpu *v, const struct port_handler *h, void *arg)
{
	struct debugger *d = arg;
	struct kvm_regs r;
	(void)h;
	if (d->detached || atomic_load(&v->vm->ending) || v->run->io.count != 1 ||
	    (v->dbg->action != GDB_RESUME_STEP && !debug_soft_watch_active(d) && !record_on(d)) ||
	    ioctl(v->fd, KVM_GET_REGS, &r) < 0 || vcpu_io_insn_start(v, &r) == r.rip)
		return;
	v->run->immediate_exit = 1;
	int rc = ioctl(v->fd, KVM_RUN, 0);
	int e = errno;
	v->run->immediate_exit = 0;
	if (rc == 0)
		atomic_store(&v->exit_pending, true); /* an exit of its own: the loop takes it */
	else if (e == EINTR)
		handle_single_step(v);
	else
		vm_fail(v, STATUS_INTERNAL_ERROR, "vCPU %u: cannot complete a port write: %s",
			v->id, strerror(e));
}

static void debug_notify_end(struct vm *vm, void *arg);

/* The debugger's places in the core: its exit hook must see planted int3s before
 * the emulation's hook (main.c registers that one after this). */
static void debug_register_hooks(struct debugger *d)
{
	const struct park_hook park = {
		.wants_park = debug_wants_park,
		.park = debug_park,
		.vcpu_blocked = debug_vcpu_blocked,
		.vcpu_done = debug_vcpu_done,
		.arg = d,
	};
	const struct exit_observer io = {.after_port = debug_after_port, .arg = d};
	vm_register_exit_hook(d->vm, debug_hook, NULL);
	vm_register_exit_observer(d->vm, &io);
	vm_register_park_hook(d->vm, &park);
	vm_register_end_notifier(d->vm, debug_notify_end, d);
	vm_register_fatal_hook(d->vm, debug_stop_on_fatal, d);
	vm_register_guest_exit_hook(d->vm, debug_keep_on_exit, d);
	vm_register_reset_hook(d->vm, debug_on_reset, d);
}

void debug_init(struct vm *vm, debug_monitor_fn monitor)
{
	struct debugger *d = calloc(1, sizeof(*d));
	if (!d)
		die("out of memory");
	d->vm = vm;
	d->monitor = monitor;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0)
		die_errno("eventfd");
	d->soft_watch = !vm->caps.hw_watchpoints;
	d->avx = debug_probe_avx(vm);
	if (vm->cfg->debug == DEBUG_LISTEN) {
		/* The guest runs as if no debugger were there until one attaches. */
		d->detached = true;
	} else {
		/* The VM starts stopped before its first instruction. */
		debug_request_stop_locked(d);
		d->have_stop = true;
		d->stop =
			(struct gdb_stop){.kind = GDB_STOP_SIGNAL, .cpu = 0, .signal = GDB_SIGTRAP};
	}
	vm->dbg = d;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->dbg = calloc(1, sizeof(*v->dbg));
		if (!v->dbg)
			die("out of memory");
		v->dbg->action = GDB_RESUME_CONTINUE;
		if (debug_apply_guest_debug(v, false, false))
			die_errno("KVM_SET_GUEST_DEBUG on vCPU %u", i);
	}
	debug_register_hooks(d);
}

/* End notifier: the VM ended: wake parked vCPUs and the stub. */
static void debug_notify_end(struct vm *vm, void *arg)
{
	struct debugger *d = arg;
	(void)vm;
	pthread_mutex_lock(&d->lock);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	signal_stub(d);
}

uint64_t debug_boot_hold_ns(const struct vm *vm)
{
	return vm->dbg ? vm->dbg->boot_hold_ns : 0;
}

uint64_t debug_planted_bp_exits(const struct vm *vm)
{
	return vm->dbg ? atomic_load(&vm->dbg->planted_bp_exits) : 0;
}
