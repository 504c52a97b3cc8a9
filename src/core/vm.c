/* vm.c: the KVM virtual machine: creation, guest RAM and lifecycle.
 *
 * Set-up failures here are host problems (no /dev/kvm, no memory) and end the
 * process with a message that says what failed and why. The registries the
 * lifecycle runs (end notifiers, fatal hooks) are in hooks.c.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <cpuid.h>
#include <unistd.h>

#include "hermit_abi.h"
#include "log.h"

#define HUGE_PAGE (2ULL << 20)

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void open_kvm(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die_errno("cannot open /dev/kvm (is KVM enabled and are you in the kvm group?)");
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		die("/dev/kvm speaks KVM API version %d, proxy needs %d", version, KVM_API_VERSION);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
}

void vm_create(struct vm *vm, const struct config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->failed_cpu = -1;
	vm->t_start_ns = now_ns();
	pthread_mutex_init(&vm->lock, NULL);
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0)
		die_errno("eventfd");
	open_kvm(vm);
	host_caps_probe(vm);
	if ((int)cfg->ncpus > vm->caps.max_vcpus)
		die("HERMIT_CPUS/--cpus: %u vCPUs is more than this host's KVM allows (%d vCPUs)",
		    cfg->ncpus, vm->caps.max_vcpus);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die_errno("KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)HERMIT_TSS_ADDR) < 0)
		die_errno("KVM_SET_TSS_ADDR");
	uint64_t identity = HERMIT_IDENTITY_PAGE_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		die_errno("KVM_SET_IDENTITY_MAP_ADDR");
	vm->ncpus = cfg->ncpus; /* the irqchip comes with the memory (vm_setup_memory) */
}

/* Transparent huge pages for the RAM the guest will use as heap. Not for the low
 * region (fixed area, boot tables, image): boot writes a few small pieces there,
 * and a huge page would make each first touch zero 2 MiB. */
static void advise_huge_pages(struct vm *vm)
{
	struct guest_mem *m = &vm->mem;
	uint64_t low = (vm->image.end + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (low > m->size)
		low = m->size;
	madvise(m->host, low, MADV_NOHUGEPAGE);
	if (m->size > low)
		madvise(m->host + low, m->size - low,
			vm->cfg->hugepage ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

/* Guest-physical address width of this host (CPUID 0x80000008), 0 if unknown. */
static unsigned host_phys_bits(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000008)
		return 0;
	__get_cpuid(0x80000008, &a, &b, &c, &d);
	return a & 0xff;
}

/* Refuse a size KVM cannot map with a message instead of KVM's EINVAL; warn about
 * one above the host's RAM (overcommit is the user's choice: nothing is touched). */
static void check_memory_size(const struct vm *vm)
{
	const struct guest_mem *m = &vm->mem;
	uint64_t max = CONFIG_MAX_MEM; /* the same limit config.c states */
	unsigned bits = host_phys_bits();
	if (bits >= 33 && bits < 64) {
		/* RAM an ABI placed above the hole ends at limit, not at size + the hole. */
		uint64_t above =
			m->base ? m->limit - m->size : HERMIT_PCI_HOLE_END - HERMIT_PCI_HOLE_START;
		uint64_t addressable = above < (1ULL << bits) ? (1ULL << bits) - above : 0;
		if (addressable < max)
			max = addressable;
	}
	if (m->size > max)
		die("HERMIT_MEM/--memory: %llu GiB is too large: KVM can map at most %llu GiB on "
		    "this host (one memory slot holds at most 8 TiB; guest-physical addresses "
		    "have %u bits here)",
		    (unsigned long long)(m->size >> 30), (unsigned long long)(max >> 30), bits);
	struct sysinfo si;
	if (!sysinfo(&si) && m->size > (uint64_t)si.totalram * si.mem_unit)
		warnx_("HERMIT_MEM/--memory: %llu MiB is more than this host's RAM (%llu MiB); the "
		       "guest may be killed if it uses it all",
		       (unsigned long long)(m->size >> 20),
		       (unsigned long long)((uint64_t)si.totalram * si.mem_unit >> 20));
}

/* One anonymous mapping; nothing here touches the pages, so guest RAM size costs no
 * page zeroing. KVM sees it as memory slots (ram_slots.c). */
static void map_guest_ram(struct vm *vm)
{
	struct guest_mem *m = &vm->mem;
	check_memory_size(vm);
	m->host = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->host == MAP_FAILED)
		die_errno("cannot map %llu MiB of guest memory (HERMIT_MEM)",
			  (unsigned long long)(m->size >> 20));
	advise_huge_pages(vm);
	if (vm->cfg->mergeable && madvise(m->host, m->size, MADV_MERGEABLE))
		warnx_("HERMIT_MERGEABLE=1 but KSM is unavailable: %s", strerror(errno));
}

/* The in-kernel IOAPIC queues a kernel grace period that the next memory-slot change
 * waits for (about 5 ms), or KVM's teardown at exit (longer). So the split irqchip
 * comes after the boot slot (it queues none); the full one too when there is more
 * RAM to register, and a background thread then registers one more piece at once,
 * waiting while the guest boots; without more RAM, before the boot slot, which
 * pays it then. */
void vm_setup_memory(struct vm *vm)
{
	map_guest_ram(vm);
	bool more_ram = ram_plan_slots(vm) > 1, full = vm_wants_full_irqchip(vm);
	if (full && !more_ram)
		vm_create_irqchip(vm);
	ram_register_boot(vm);
	if (!full || more_ram)
		vm_create_irqchip(vm);
	if (full && more_ram)
		ram_register_rest(vm);
}

void vcpu_kick(struct vcpu *v)
{
	/* immediate_exit covers the window before the thread enters KVM_RUN; the
	 * signal covers a thread already inside it, which the calling one is not. */
	v->run->immediate_exit = 1;
	if (v->thread_started && !pthread_equal(v->thread, pthread_self()))
		pthread_kill(v->thread, SIGUSR1);
}

void vm_kick_all(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++)
		if (vm->vcpus[i].run)
			vcpu_kick(&vm->vcpus[i]);
}

void vm_end(struct vm *vm, int status)
{
	bool expected = false;
	if (!atomic_compare_exchange_strong(&vm->end_claimed, &expected, true))
		return;
	/* The status is in place before anyone can see `ending`. */
	vm->exit_status = status;
	atomic_store(&vm->ending, true);
	uint64_t one = 1;
	if (write(vm->end_fd, &one, sizeof(one)) < 0) {
		/* cannot fail for an eventfd below its maximum; nothing to do */
	}
	vm_kick_all(vm);
	for (unsigned i = 0; i < vm->nend_notifiers; i++)
		vm->end_notifiers[i].fn(vm, vm->end_notifiers[i].arg);
}

static struct vm *signalled_vm; /* the VM the end signals end (one per process) */

/* The signals that end the VM as a clean stop, status 128 + N: a terminal hang-up
 * and ^\ too, so no signal a user sends leaves a half-torn-down VM or a core. */
static const struct {
	int sig;
	const char *message; /* written from a handler: a constant, one write(2) */
} end_signals[] = {
	{SIGHUP, "proxy: SIGHUP received, stopping the VM\n"},
	{SIGINT, "proxy: SIGINT received, stopping the VM\n"},
	{SIGQUIT, "proxy: SIGQUIT received, stopping the VM\n"},
	{SIGTERM, "proxy: SIGTERM received, stopping the VM\n"},
};
#define NEND_SIGNALS (sizeof(end_signals) / sizeof(end_signals[0]))

void vm_end_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < NEND_SIGNALS; i++)
		sigaddset(set, end_signals[i].sig);
}

bool vm_status_is_end_signal(int status)
{
	for (size_t i = 0; i < NEND_SIGNALS; i++)
		if (status == 128 + end_signals[i].sig)
			return true;
	return false;
}

/* Async-signal-safe: write(2) and vm_end (atomics, an eventfd write, pthread_kill;
 * the end notifiers only when called from the signal thread). */
void vm_end_by_signal(struct vm *vm, int sig)
{
	int saved = errno;
	for (size_t i = 0; i < NEND_SIGNALS; i++)
		if (end_signals[i].sig == sig &&
		    write(STDERR_FILENO, end_signals[i].message, strlen(end_signals[i].message))) {
			/* nothing to do about a closed stderr */
		}
	vm_end(vm, 128 + sig);
	errno = saved;
}

static void end_on_signal(int sig)
{
	vm_end_by_signal(signalled_vm, sig);
}

void vm_end_on_signals(struct vm *vm)
{
	signalled_vm = vm;
	struct sigaction sa = {.sa_handler = end_on_signal, .sa_flags = SA_RESTART};
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < NEND_SIGNALS; i++)
		sigaction(end_signals[i].sig, &sa, NULL);
	sigset_t set;
	vm_end_signal_set(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void vm_fail(struct vcpu *v, int status, const char *fmt, ...)
{
	struct vm *vm = v->vm;
	if (atomic_load(&vm->ending))
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&vm->lock);
	if (vm->failed_cpu < 0)
		vm->failed_cpu = (int)v->id;
	vcpu_record_fault(v, status);
	vlog_prefixed(fmt, ap);
	fputc('\n', stderr);
	if (vm->cfg->verbose)
		vcpu_dump_registers(v);
	pthread_mutex_unlock(&vm->lock);
	va_end(ap);
	/* With a debugger attached, stop there first so the crash can be inspected. */
	for (unsigned i = 0; i < vm->nfatal_hooks; i++)
		if (vm->fatal_hooks[i].fn(v, status, vm->fatal_hooks[i].arg))
			return;
	vm_end(vm, status);
}

/* KVM's supported CPUID; the buffer grows until it fits (hosts with many leaves). */
void vm_load_cpuid(struct vm *vm)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			die("out of memory");
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			return;
		}
		free(c);
		if (errno != E2BIG)
			die_errno("KVM_GET_SUPPORTED_CPUID");
	}
	die("KVM_GET_SUPPORTED_CPUID: more than 4096 CPUID entries");
}
