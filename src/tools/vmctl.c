/* vmctl.c: all-stop for the monitor console (stop, cont, step) without a debugger.
 *
 * stop: set `requested`, kick every vCPU out of KVM_RUN, wait until each one has
 * parked (or has not started, or has ended). cont: clear the flag, wake them.
 * step: let one parked vCPU run with KVM's single-step on; the #DB exit it gets
 * back is ours (the exit hook), after which it parks again. A vCPU halted with
 * interrupts off never completes a step: after a timeout it is kicked back.
 */
#include "vmctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "debug_internal.h"
#include "log.h"

#define STOP_TIMEOUT_MS 2000
#define STEP_TIMEOUT_MS 1000

struct vmctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool requested; /* every vCPU parks before KVM_RUN */
	bool user_stopped;     /* by `stop`, until `cont` */
	bool *parked;	       /* per vCPU */
	/* Read by the vCPUs before they take the lock, hence atomic. */
	_Atomic int step_cpu; /* the vCPU allowed one instruction, or -1 */
	atomic_bool step_done;
};

static enum hook_result step_hook(struct vcpu *v, void *arg);
static bool vmctl_wants_park(struct vcpu *v, void *arg);
static void vmctl_park(struct vcpu *v, void *arg);
static void vmctl_notify_end(struct vm *vm, void *arg);

void vmctl_init(struct vm *vm)
{
	struct vmctl *c = calloc(1, sizeof(*c));
	if (!c || !(c->parked = calloc(vm->ncpus, sizeof(bool))))
		die("out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->step_cpu = -1;
	vm->ctl = c;
	const struct park_hook park = {
		.wants_park = vmctl_wants_park, .park = vmctl_park, .arg = c};
	vm_register_exit_hook(vm, step_hook, NULL);
	vm_register_park_hook(vm, &park);
	vm_register_end_notifier(vm, vmctl_notify_end, c);
}

static bool may_step(struct vmctl *c, const struct vcpu *v)
{
	return atomic_load(&c->step_cpu) == (int)v->id && !atomic_load(&c->step_done);
}

/* Park hook: the console asked for a stop and this vCPU is not the one stepping. */
static bool vmctl_wants_park(struct vcpu *v, void *arg)
{
	struct vmctl *c = arg;
	return atomic_load(&c->requested) && !may_step(c, v);
}

static void vmctl_park(struct vcpu *v, void *arg)
{
	struct vmctl *c = arg;
	pthread_mutex_lock(&c->lock);
	c->parked[v->id] = true;
	pthread_cond_broadcast(&c->cond);
	while (atomic_load(&c->requested) && !atomic_load(&v->vm->ending) && !may_step(c, v))
		pthread_cond_wait(&c->cond, &c->lock);
	c->parked[v->id] = false;
	pthread_mutex_unlock(&c->lock);
}

/* End notifier: wake parked vCPUs. */
static void vmctl_notify_end(struct vm *vm, void *arg)
{
	struct vmctl *c = arg;
	(void)vm;
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static int set_single_step(struct vcpu *v, bool on)
{
	struct kvm_guest_debug g = {0};
	if (on) {
		g.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
		if (v->vm->caps.blockirq)
			g.control |= KVM_GUESTDBG_BLOCKIRQ; /* step the guest, not its timer */
	}
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) < 0 ? -errno : 0;
}

/* The #DB of a console step; any other debug exit is not ours. */
static enum hook_result step_hook(struct vcpu *v, void *arg)
{
	(void)arg;
	struct vmctl *c = v->vm->ctl;
	if (v->run->exit_reason != KVM_EXIT_DEBUG || c->step_cpu != (int)v->id)
		return HOOK_NOT_MINE;
	set_single_step(v, false);
	pthread_mutex_lock(&c->lock);
	c->step_done = true;
	pthread_mutex_unlock(&c->lock);
	return HOOK_HANDLED;
}

static bool all_parked_locked(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int st = atomic_load(&vm->vcpus[i].state);
		if (st == VCPU_RUNNING && !vm->ctl->parked[i])
			return false;
	}
	return true;
}

static struct timespec deadline_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Wait (lock held) until cond_fn holds, the VM ends or the time is up. */
static int wait_locked(struct vm *vm, bool (*cond_fn)(const struct vm *), int ms)
{
	struct vmctl *c = vm->ctl;
	struct timespec until = deadline_in(ms);
	while (!cond_fn(vm)) {
		if (atomic_load(&vm->ending))
			return -ESHUTDOWN;
		if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT)
			return cond_fn(vm) ? 0 : -ETIMEDOUT;
	}
	return 0;
}

int vmctl_stop(struct vm *vm, bool hold, char *err, size_t errlen)
{
	struct vmctl *c = vm->ctl;
	if (!c) {
		snprintf(err, errlen, "the VM is under GDB's control: stop it in GDB (Ctrl-C)");
		return -EBUSY;
	}
	atomic_store(&c->requested, true);
	vm_kick_all(vm);
	pthread_mutex_lock(&c->lock);
	int rc = wait_locked(vm, all_parked_locked, STOP_TIMEOUT_MS);
	pthread_mutex_unlock(&c->lock);
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "the vCPUs did not stop within %d ms", STOP_TIMEOUT_MS);
	else if (rc)
		snprintf(err, errlen, "the VM has ended");
	if (rc) {
		vmctl_resume(vm);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->user_stopped = hold;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void vmctl_resume(struct vm *vm)
{
	struct vmctl *c = vm->ctl;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->requested, false);
	c->user_stopped = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

bool vmctl_stopped(const struct vm *vm)
{
	return vm->ctl && vm->ctl->user_stopped;
}

static bool step_finished(const struct vm *vm)
{
	return vm->ctl->step_done && all_parked_locked(vm);
}

int vmctl_step(struct vm *vm, unsigned cpu, char *err, size_t errlen)
{
	struct vmctl *c = vm->ctl;
	if (!c) {
		snprintf(err, errlen, "the VM is under GDB's control: use GDB's stepi");
		return -EBUSY;
	}
	struct vcpu *v = &vm->vcpus[cpu];
	if (atomic_load(&v->state) != VCPU_RUNNING) {
		snprintf(err, errlen, "vCPU %u is not running (not started or ended)", cpu);
		return -EINVAL;
	}
	if (!vmctl_stopped(vm)) {
		int rc = vmctl_stop(vm, true, err, errlen);
		if (rc)
			return rc;
	}
	int rc = set_single_step(v, true);
	if (rc) {
		snprintf(err, errlen, "KVM_SET_GUEST_DEBUG on vCPU %u failed", cpu);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->step_cpu = (int)cpu;
	c->step_done = false;
	pthread_cond_broadcast(&c->cond);
	rc = wait_locked(vm, step_finished, STEP_TIMEOUT_MS);
	c->step_done = true; /* a late #DB must park, not run on */
	pthread_mutex_unlock(&c->lock);
	if (rc == -ETIMEDOUT) {
		vcpu_kick(v); /* halted with interrupts off: no instruction to step */
		pthread_mutex_lock(&c->lock);
		wait_locked(vm, all_parked_locked, STOP_TIMEOUT_MS);
		pthread_mutex_unlock(&c->lock);
		set_single_step(v, false);
		snprintf(err, errlen, "vCPU %u did not complete a step (halted?)", cpu);
	}
	pthread_mutex_lock(&c->lock);
	c->step_cpu = -1;
	pthread_mutex_unlock(&c->lock);
	return rc == -ESHUTDOWN ? (snprintf(err, errlen, "the VM has ended"), rc) : rc;
}

/* A parked flag alone is not enough: a vCPU that was just resumed is still
 * marked parked for a moment. The stop must still be requested. */
bool vm_is_quiescent(const struct vm *vm)
{
	bool stopping = vm->ctl	  ? atomic_load(&vm->ctl->requested)
			: vm->dbg ? __atomic_load_n(&vm->dbg->stop_requested, __ATOMIC_ACQUIRE)
				  : false;
	if (!stopping)
		return false;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		if (atomic_load(&v->state) != VCPU_RUNNING)
			continue;
		if (vm->dbg && v->dbg && v->dbg->parked)
			continue;
		if (vm->ctl && vm->ctl->parked[i])
			continue;
		return false;
	}
	return true;
}

int vcpu_get_state(struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	/* Only peek at GDB's cache: loading it is the stub thread's business. */
	if (v->vm->dbg && v->dbg && v->dbg->parked && v->dbg->rc.valid) {
		*r = v->dbg->rc.regs;
		*s = v->dbg->rc.sregs;
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_REGS, r) < 0 || ioctl(v->fd, KVM_GET_SREGS, s) < 0)
		return -errno;
	return 0;
}
