/* snap_pause.c: stop every vCPU at an instruction boundary for a save, without a
 * debugger: a park hook asked before every KVM_RUN, a kick to leave KVM_RUN, and a
 * condition variable. A vCPU parked by another hook (GDB's all-stop, the console's
 * `stop`) is stopped already: should that hook let it go meanwhile, ours holds it
 * before KVM_RUN. A vCPU waiting in a blocking hypercall counts as stopped: it is
 * saved before that call (RIP on its OUT: snap_vcpu.c puts it there on software
 * KVM, which reports it past) and repeats it when the checkpoint is restored.
 */
#include "snap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAUSE_TIMEOUT_S 30 /* a vCPU always leaves KVM_RUN on a kick; this is a safety net */

static bool wants_park(struct vcpu *v, void *arg)
{
	(void)v;
	struct snapshot *s = arg;
	return atomic_load(&s->requested);
}

static void park(struct vcpu *v, void *arg)
{
	struct snapshot *s = arg;
	pthread_mutex_lock(&s->lock);
	s->parked[v->id] = true;
	pthread_cond_broadcast(&s->cond);
	while (atomic_load(&s->requested) && !atomic_load(&v->vm->ending))
		pthread_cond_wait(&s->cond, &s->lock);
	s->parked[v->id] = false;
	pthread_mutex_unlock(&s->lock);
}

/* A vCPU whose wait ends during a save stays counted as blocked, and does nothing,
 * until the VM resumes: its result would land in memory being saved. */
static void set_blocked(struct vcpu *v, bool blocked, void *arg)
{
	struct snapshot *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!blocked && atomic_load(&s->requested) && !atomic_load(&v->vm->ending))
		pthread_cond_wait(&s->cond, &s->lock);
	s->blocked[v->id] = blocked;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void vcpu_gone(struct vcpu *v, void *arg)
{
	(void)v;
	struct snapshot *s = arg;
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void wake_on_end(struct vm *vm, void *arg)
{
	(void)vm;
	vcpu_gone(NULL, arg);
}

void snap_pause_register(struct vm *vm, struct snapshot *s)
{
	pthread_mutex_init(&s->op_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->parked = calloc(vm->ncpus, sizeof(bool));
	s->blocked = calloc(vm->ncpus, sizeof(bool));
	if (!s->parked || !s->blocked)
		die("out of memory");
	const struct park_hook h = {.wants_park = wants_park,
				    .park = park,
				    .vcpu_blocked = set_blocked,
				    .vcpu_done = vcpu_gone,
				    .arg = s};
	vm_register_park_hook(vm, &h);
	vm_register_end_notifier(vm, wake_on_end, s);
}

static bool all_stopped_locked(const struct vm *vm, const struct snapshot *s)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (atomic_load(&vm->vcpus[i].state) == VCPU_RUNNING && !s->parked[i] &&
		    !s->blocked[i] && !atomic_load(&vm->vcpus[i].in_park))
			return false;
	return true;
}

int snapshot_pause(struct vm *vm, char *err, size_t errlen)
{
	pthread_mutex_lock(&vm->snap->op_lock); /* until snapshot_resume */
	if (!snap_pause_held(vm, err, errlen))
		return 0;
	pthread_mutex_unlock(&vm->snap->op_lock);
	return -1;
}

int snap_pause_held(struct vm *vm, char *err, size_t errlen)
{
	struct snapshot *s = vm->snap;
	atomic_store(&s->requested, true);
	vm_kick_all(vm);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	/* in_park changes without our lock (another hook's park): look again often. */
	while (!all_stopped_locked(vm, s) && !atomic_load(&vm->ending) && rc != ETIMEDOUT) {
		struct timespec soon;
		clock_gettime(CLOCK_REALTIME, &soon);
		soon.tv_nsec += 2000000;
		if (soon.tv_nsec >= 1000000000L)
			soon.tv_sec++, soon.tv_nsec -= 1000000000L;
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &soon);
		if (rc == ETIMEDOUT && soon.tv_sec < until.tv_sec)
			rc = 0;
	}
	bool ok = all_stopped_locked(vm, s) && !atomic_load(&vm->ending);
	pthread_mutex_unlock(&s->lock);
	if (ok)
		return 0;
	snap_resume_held(vm);
	snprintf(err, errlen,
		 atomic_load(&vm->ending) ? "the VM is ending"
					  : "the vCPUs did not stop within %d s",
		 PAUSE_TIMEOUT_S);
	return -1;
}

void snap_resume_held(struct vm *vm)
{
	struct snapshot *s = vm->snap;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->requested, false);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void snapshot_resume(struct vm *vm)
{
	snap_resume_held(vm);
	pthread_mutex_unlock(&vm->snap->op_lock);
}

bool snap_any_blocked(struct vm *vm)
{
	struct snapshot *s = vm->snap;
	bool any = false;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		any |= s->blocked[i];
	pthread_mutex_unlock(&s->lock);
	return any;
}

bool snap_vcpu_blocked(struct vm *vm, unsigned id)
{
	struct snapshot *s = vm->snap;
	pthread_mutex_lock(&s->lock);
	bool b = s->blocked[id];
	pthread_mutex_unlock(&s->lock);
	return b;
}
