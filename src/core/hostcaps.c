/* hostcaps.c: what this host's KVM can do, probed once.
 *
 * Software KVM (PVM) and hardware KVM (VT-x/SVM) differ exactly where the debugger
 * lives: whether int3 gives KVM_EXIT_DEBUG and whether data watchpoints in the
 * debug registers fire. A tiny throw-away VM answers both (about a millisecond);
 * it runs only when the debugger, the monitor console or --host-info needs the answer.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#define PROBE_MEM  (2u << 20)
#define PROBE_PML4 0x1000
#define PROBE_PDPT 0x2000
#define PROBE_PD   0x3000
#define PROBE_CODE 0x10000
#define PROBE_DATA 0x20000

struct probe_vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t *mem;
	int run_size;
};

static int probe_vm_open(int kvm_fd, int run_size, struct probe_vm *p)
{
	memset(p, 0, sizeof(*p));
	p->vm_fd = p->vcpu_fd = -1;
	p->run_size = run_size;
	p->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0)
		return -1;
	p->mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -1;
	}
	struct kvm_userspace_memory_region r = {
		.slot = 0, .memory_size = PROBE_MEM, .userspace_addr = (uintptr_t)p->mem};
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -1;
	p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0);
	if (p->vcpu_fd < 0)
		return -1;
	p->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		return -1;
	}
	/* One identity-mapped 2 MiB page, long mode, code at PROBE_CODE. */
	uint64_t *pml4 = (uint64_t *)(p->mem + PROBE_PML4);
	uint64_t *pdpt = (uint64_t *)(p->mem + PROBE_PDPT);
	uint64_t *pd = (uint64_t *)(p->mem + PROBE_PD);
	pml4[0] = PROBE_PDPT | 3;
	pdpt[0] = PROBE_PD | 3;
	pd[0] = 0x83;
	struct kvm_sregs s;
	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	vcpu_long_mode_segments(&s);
	s.cr0 = 0x80000031;
	s.cr3 = PROBE_PML4;
	s.cr4 = 0x20;
	s.efer = 0x500;
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -1;
	struct kvm_regs regs = {.rip = PROBE_CODE, .rflags = 2, .rsp = PROBE_MEM - 16};
	return ioctl(p->vcpu_fd, KVM_SET_REGS, &regs);
}

static void probe_vm_close(struct probe_vm *p)
{
	if (p->run)
		munmap(p->run, (size_t)p->run_size);
	if (p->mem)
		munmap(p->mem, PROBE_MEM);
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
}

/* Run `code` with `dbg`; returns the exit reason, or -1. */
static int probe_run(int kvm_fd, int run_size, const uint8_t *code, size_t len,
		     const struct kvm_guest_debug *dbg)
{
	struct probe_vm p;
	int reason = -1;
	if (probe_vm_open(kvm_fd, run_size, &p) == 0) {
		memcpy(p.mem + PROBE_CODE, code, len);
		if (ioctl(p.vcpu_fd, KVM_SET_GUEST_DEBUG, dbg) == 0 &&
		    ioctl(p.vcpu_fd, KVM_RUN, 0) == 0)
			reason = (int)p.run->exit_reason;
	}
	probe_vm_close(&p);
	return reason;
}

static void probe_debug_behaviour(struct vm *vm)
{
	static const uint8_t int3_hlt[] = {0xCC, 0xF4};
	struct kvm_guest_debug sw = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP};
	int r = probe_run(vm->kvm_fd, vm->run_size, int3_hlt, sizeof(int3_hlt), &sw);
	vm->caps.pvm = r != KVM_EXIT_DEBUG;

	/* mov %eax, (PROBE_DATA); hlt — with a 4-byte write watchpoint on PROBE_DATA. */
	static const uint8_t store_hlt[] = {0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0xF4};
	struct kvm_guest_debug hw = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP};
	hw.arch.debugreg[0] = PROBE_DATA;
	hw.arch.debugreg[7] = 0x2 | (1u << 16) | (3u << 18); /* G0, RW=write, LEN=4 */
	r = probe_run(vm->kvm_fd, vm->run_size, store_hlt, sizeof(store_hlt), &hw);
	vm->caps.hw_watchpoints = r == KVM_EXIT_DEBUG;
	atomic_store(&vm->caps.probed, true);
}

const struct host_caps *host_caps_debug(struct vm *vm)
{
	/* Two failing vCPUs may both probe: same results, one VM each, no harm. */
	if (!atomic_load(&vm->caps.probed))
		probe_debug_behaviour(vm);
	return &vm->caps;
}

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

void host_caps_probe(struct vm *vm)
{
	struct host_caps *c = &vm->caps;
	c->max_vcpus = check_ext(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (!c->max_vcpus)
		c->max_vcpus = check_ext(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (!c->max_vcpus)
		c->max_vcpus = 4;
	c->blockirq = check_ext(vm->kvm_fd, KVM_CAP_SET_GUEST_DEBUG2) & KVM_GUESTDBG_BLOCKIRQ;
	c->coalesced_pio = check_ext(vm->kvm_fd, KVM_CAP_COALESCED_PIO) > 0;
	c->tsc_deadline = check_ext(vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	c->sync_sregs = check_ext(vm->kvm_fd, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_SREGS;
	/* The monitor's `info vm` names the host's KVM, so its console needs it too. */
	if (vm->cfg->debug || vm->cfg->host_info || vm->cfg->monitor)
		probe_debug_behaviour(vm);
}

int host_caps_print_if_no_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	/* Scripts and the test suite ask which of their parts can run on this host. */
	printf("kvm: none\n");
	printf("kvm_error: cannot open /dev/kvm: %s\n", strerror(errno));
	return 1;
}

void host_caps_print(const struct vm *vm)
{
	const struct host_caps *c = &vm->caps;
	printf("kvm: %s\n", c->pvm ? "pvm" : "hardware");
	printf("sw_breakpoints: %s\n", c->pvm ? "emulation-failure" : "exit-debug");
	printf("watchpoints: %s\n", c->hw_watchpoints ? "debug-registers" : "single-step");
	printf("blockirq: %s\n", c->blockirq ? "yes" : "no");
	printf("coalesced_pio: %s\n", c->coalesced_pio ? "yes" : "no");
	printf("max_vcpus: %d\n", c->max_vcpus);
}
