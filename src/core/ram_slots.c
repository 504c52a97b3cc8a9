/* ram_slots.c: guest RAM as KVM memory slots, registered as the guest needs them.
 *
 * Registering a slot costs time in proportion to its size on hosts where KVM keeps
 * per-page metadata (software KVM such as PVM shadows the guest's page tables:
 * about 0.8 ms per GiB to register, 0.25 ms per GiB to tear down, so 64 GiB would
 * hold the guest's first instruction back by 50 ms). So only the RAM boot needs
 * (the fixed area, the image and 64 MiB of room after it) is registered before the
 * guest runs. The rest waits until the guest shows it uses RAM beyond that: its
 * first access to a piece leaves KVM_RUN as an MMIO exit there, that piece is
 * registered at once and the access completed in RAM before the vCPU re-enters
 * (ram_complete_mmio), and a background thread then registers the other pieces in
 * address order, ahead of the guest, 256 MiB at a time (with the in-kernel IOAPIC,
 * the thread starts at once with one piece: vm_setup_memory). A guest that stays within
 * boot's RAM (most short-lived ones do) so pays neither the registration, nor a
 * thread, nor at exit the tear-down of slots it never used. Nothing about the
 * guest's view changes: page tables and code in such a piece are no exception,
 * since the guest stores them there first, and that store registers the piece.
 * When the VM ends, the thread stops after its current piece.
 */
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

#define MiB	     (1ULL << 20)
#define BOOT_ROOM    (64 * MiB) /* registered at once after the image */
#define PIECE	     (256 * MiB)
#define HUGE_PAGE    (2 * MiB)
#define SPARE_SLOTS  8	 /* of KVM's slots, left unused */
#define FALLBACK_MAX 509 /* KVM_USER_MEM_SLOTS of old kernels, when KVM does not say */

enum slot_state { SLOT_PENDING, SLOT_BUSY, SLOT_DONE };

struct ram_slot {
	struct ram_range r;
	enum slot_state state; /* under guest_ram.lock */
};

struct guest_ram {
	pthread_mutex_t lock;
	pthread_cond_t done;   /* a slot became SLOT_DONE */
	pthread_cond_t wanted; /* `demanded` or `stop` became true */
	bool demanded;	       /* the guest has reached RAM beyond boot's */
	bool stop;	       /* the VM has ended: register nothing more */
	struct ram_slot *slot;
	unsigned nslots;
	pthread_t thread;
	bool thread_started; /* under lock */
};

static uint64_t boot_bytes(const struct vm *vm)
{
	return ((vm->image.end - vm->mem.base + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) + BOOT_ROOM;
}

static unsigned max_slots(const struct vm *vm)
{
	int n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	return (n > SPARE_SLOTS * 2 ? (unsigned)n : FALLBACK_MAX) - SPARE_SLOTS;
}

/* The pieces, doubled in size until KVM has slots enough for them. */
static void plan(struct vm *vm, struct guest_ram *g)
{
	uint64_t boot = boot_bytes(vm), piece = PIECE;
	unsigned limit = max_slots(vm);
	while (ram_plan(&vm->mem, boot, piece, NULL, 0) > limit)
		piece *= 2;
	g->nslots = ram_plan(&vm->mem, boot, piece, NULL, 0);
	g->slot = calloc(g->nslots, sizeof(*g->slot));
	struct ram_range *r = calloc(g->nslots, sizeof(*r));
	if (!g->slot || !r)
		die("out of memory");
	ram_plan(&vm->mem, boot, piece, r, g->nslots);
	for (unsigned i = 0; i < g->nslots; i++)
		g->slot[i].r = r[i];
	free(r);
}

static int set_slot(struct vm *vm, unsigned i)
{
	const struct ram_range *r = &vm->ram->slot[i].r;
	struct kvm_userspace_memory_region region = {
		.slot = i,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)gpa_host(&vm->mem, r->gpa, r->size),
		.flags = vm->ram_dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

/* Slot i is registered when this returns, by this thread or another. */
static void ensure_slot(struct vm *vm, unsigned i)
{
	struct guest_ram *g = vm->ram;
	struct ram_slot *s = &g->slot[i];
	pthread_mutex_lock(&g->lock);
	if (s->state == SLOT_PENDING) {
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&g->lock);
		if (set_slot(vm, i) < 0) {
			warnx_("KVM_SET_USER_MEMORY_REGION (slot %u, 0x%llx bytes at 0x%llx): %s",
			       i, (unsigned long long)s->r.size, (unsigned long long)s->r.gpa,
			       strerror(errno));
			vm_end(vm, STATUS_SETUP_ERROR);
		}
		pthread_mutex_lock(&g->lock);
		s->state = SLOT_DONE; /* or the VM ends: nobody may wait for it forever */
		pthread_cond_broadcast(&g->done);
	}
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&g->done, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

unsigned ram_plan_slots(struct vm *vm)
{
	struct guest_ram *g = calloc(1, sizeof(*g));
	if (!g)
		die("out of memory");
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->done, NULL);
	pthread_cond_init(&g->wanted, NULL);
	vm->ram = g;
	plan(vm, g);
	return g->nslots;
}

void ram_register_boot(struct vm *vm)
{
	struct guest_ram *g = vm->ram;
	if (set_slot(vm, 0) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION (slot 0, 0x%llx bytes at 0x%llx)",
			  (unsigned long long)g->slot[0].r.size,
			  (unsigned long long)g->slot[0].r.gpa);
	g->slot[0].state = SLOT_DONE;
}

/* Before piece i (i > 1): wait until the guest wants RAM beyond boot's. False when
 * the VM ended instead. */
static bool wait_for_demand(struct vm *vm)
{
	struct guest_ram *g = vm->ram;
	pthread_mutex_lock(&g->lock);
	while (!g->demanded && !g->stop)
		pthread_cond_wait(&g->wanted, &g->lock);
	bool go = !g->stop && !atomic_load(&vm->ending);
	pthread_mutex_unlock(&g->lock);
	return go;
}

/* Piece 1 at once (started early, it takes the in-kernel IOAPIC's grace period off
 * the guest's path: ram_register_rest), the others once the guest wants them. */
static void *register_in_background(void *arg)
{
	struct vm *vm = arg;
	for (unsigned i = 1; i < vm->ram->nslots; i++) {
		if (i > 1 && !wait_for_demand(vm))
			break;
		ensure_slot(vm, i);
	}
	return NULL;
}

/* Once; `demand`: the guest has reached RAM beyond boot's. */
static void start_background(struct vm *vm, bool demand)
{
	struct guest_ram *g = vm->ram;
	pthread_mutex_lock(&g->lock);
	if (demand && !g->demanded) {
		g->demanded = true;
		pthread_cond_broadcast(&g->wanted);
	}
	if (!g->thread_started && !g->stop) {
		/* A signal for the VM is for the threads that handle it, not this one. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		/* Without the thread, pieces are still registered as the guest reaches them. */
		g->thread_started =
			pthread_create(&g->thread, NULL, register_in_background, vm) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&g->lock);
}

void ram_register_rest(struct vm *vm)
{
	if (vm->ram->nslots > 1)
		start_background(vm, false);
}

/* The slot holding gpa, or -1 (the hole, beyond RAM). */
static int slot_of(const struct guest_ram *g, uint64_t gpa)
{
	unsigned lo = 0, hi = g->nslots;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct ram_range *r = &g->slot[mid].r;
		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return (int)mid;
	}
	return -1;
}

bool ram_complete_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;
	uint32_t len = run->mmio.len;
	int i = vm->ram ? slot_of(vm->ram, run->mmio.phys_addr) : -1;
	if (i < 0 || len > sizeof(run->mmio.data) || !gpa_valid(&vm->mem, run->mmio.phys_addr, len))
		return false;
	ensure_slot(vm, (unsigned)i);
	start_background(vm, true);
	return gpa_complete_access(&vm->mem, run->mmio.phys_addr, run->mmio.data, len,
				   run->mmio.is_write);
}

bool ram_register_all(struct vm *vm)
{
	struct guest_ram *g = vm->ram;
	bool any = false;
	for (unsigned i = 1; g && i < g->nslots; i++) {
		pthread_mutex_lock(&g->lock);
		bool done = g->slot[i].state == SLOT_DONE;
		pthread_mutex_unlock(&g->lock);
		if (!done) {
			ensure_slot(vm, i);
			any = true;
		}
	}
	return any;
}

int ram_take_dirty_log(struct vm *vm, uint64_t *bits)
{
	struct guest_ram *g = vm->ram;
	for (unsigned i = 0; g && i < g->nslots; i++) {
		pthread_mutex_lock(&g->lock);
		bool done = g->slot[i].state == SLOT_DONE;
		pthread_mutex_unlock(&g->lock);
		if (!done) /* the guest has not reached it: what the host wrote is in host_dirty */
			continue;
		const struct ram_range *r = &g->slot[i].r;
		/* Slots start on 2 MiB boundaries: their bits are whole words of `bits`. */
		uint64_t first =
			(uint64_t)((uint8_t *)gpa_host(&vm->mem, r->gpa, r->size) - vm->mem.host) /
			GUEST_PAGE;
		uint64_t words = (r->size / GUEST_PAGE + 63) / 64;
		uint64_t *slot_bits = calloc(words, sizeof(uint64_t));
		if (!slot_bits)
			return -ENOMEM;
		struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = slot_bits};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int e = errno;
			free(slot_bits);
			return -e;
		}
		for (uint64_t w = 0; w < words; w++)
			bits[first / 64 + w] |= slot_bits[w];
		free(slot_bits);
	}
	return 0;
}

int ram_set_dirty_log(struct vm *vm, bool on)
{
	struct guest_ram *g = vm->ram;
	int rc = 0;
	if (!g)
		return -ENODEV;
	pthread_mutex_lock(&g->lock);
	/* A slot being registered read the old flag: wait until none is. */
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i < g->nslots; i++)
			busy |= g->slot[i].state == SLOT_BUSY;
		if (!busy)
			break;
		pthread_cond_wait(&g->done, &g->lock);
	}
	vm->ram_dirty_log = on;
	for (unsigned i = 0; i < g->nslots && !rc; i++)
		if (g->slot[i].state == SLOT_DONE && set_slot(vm, i) < 0)
			rc = -errno;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void ram_join(struct vm *vm)
{
	struct guest_ram *g = vm->ram;
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->wanted);
	bool started = g->thread_started;
	pthread_mutex_unlock(&g->lock);
	if (started)
		pthread_join(g->thread, NULL);
}
