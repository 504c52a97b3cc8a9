/* floor.c: this host's KVM floor, the reference every proxy benchmark is a ratio to.
 *
 * A minimal KVM program with raw ioctls and nothing else: one VM, one vCPU put
 * straight into 64-bit mode with KVM_SET_SREGS over a one-page identity map, and
 * a guest whose first instruction is an `out`. Modes (key=value lines on stdout,
 * times in ns, for scripts/bench):
 *
 *   floor boot [MiB]        create, run to the first exit, tear down (the whole
 *                           process is what the runner times; vm_ns is in-process);
 *                           MiB: size of the one memory slot (default 2)
 *   floor noop              exit at once: the cost of starting a process
 *   floor exits N [K]       N round trips of KVM_RUN with `out; jmp back`: ns/exit;
 *                           K register adds in the loop price a guest instruction
 *   floor loop N            the same with `out; dec %rcx; jnz back`, instruction for
 *                           instruction the loop of bench_hcall's tight mode, so a
 *                           hypercall's ratio to it is the hypervisor's cost alone
 *                           (guest instructions cost ~0.5 us each on software KVM)
 *   floor coalesced N       N bytes of `outb` to a coalesced PIO port (KVM's ring,
 *                           drained at each real exit): ns/byte and bytes/exit
 *   floor memory MiB [huge] the floors of checkpoints and restores of MiB touched
 *                           (in 4 KiB pages; huge: transparent huge pages, as guest
 *                           heap): memcpy into fresh memory (restore) and into touched
 *                           memory, a fork of this process holding them (the pause
 *                           of a background checkpoint), zlib's CRC-32 of them
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define MEM_SIZE  0x200000ULL /* default: one 2 MiB page: page tables, code, nothing else */
#define PML4_ADDR 0x1000ULL
#define PDPT_ADDR 0x2000ULL
#define PD_ADDR	  0x3000ULL
#define CODE_ADDR 0x8000ULL
#define EXIT_PORT 0x500 /* any port: the floor has no handlers */
#define COAL_PORT 0x800 /* the UART port proxy coalesces */

struct floor {
	int kvm, vm, vcpu;
	size_t run_size;
	struct kvm_run *run;
	uint8_t *mem;
	uint64_t mem_size;
};

static uint64_t mem_size = MEM_SIZE; /* `floor boot MiB` sets a larger slot */

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int extra_insns; /* `floor exits N K`: K register adds between the exits */
static int dec_loop;	/* `floor loop N`: `dec %rcx; jnz` instead of `jmp` */

/* mov $port,%dx ; 1: out %al|%eax,%dx ; (add $1,%rcx) x extra_insns ; jmp 1b */
static void write_code(uint8_t *mem, uint16_t port, int byte_out)
{
	uint8_t *p = mem + CODE_ADDR;
	uint8_t head[] = {0x66, 0xBA, (uint8_t)port, (uint8_t)(port >> 8),
			  (uint8_t)(byte_out ? 0xEE : 0xEF)};
	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	for (int i = 0; i < extra_insns; i++, p += 4)
		memcpy(p, (uint8_t[]){0x48, 0x83, 0xC1, 0x01}, 4);
	if (dec_loop) { /* dec %rcx; jnz rel32 to the out (rcx starts at 0: 2^64 rounds) */
		memcpy(p, (uint8_t[]){0x48, 0xFF, 0xC9, 0x0F, 0x85}, 5);
		p += 5;
		int32_t back = (int32_t)((mem + CODE_ADDR + 4) - (p + 4));
		memcpy(p, &back, 4);
		return;
	}
	int32_t back = (int32_t)((mem + CODE_ADDR + 4) - (p + 5)); /* to the out */
	*p++ = 0xE9;
	memcpy(p, &back, 4);
}

static void setup_long_mode(struct floor *f)
{
	uint64_t *pml4 = (uint64_t *)(f->mem + PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(f->mem + PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(f->mem + PD_ADDR);
	pml4[0] = PDPT_ADDR | 3;
	pdpt[0] = PD_ADDR | 3;
	pd[0] = 0x83; /* 2 MiB page at 0, present | writable | PS */

	struct kvm_sregs s;
	if (ioctl(f->vcpu, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS");
	struct kvm_segment code = {.base = 0,
				   .limit = 0xFFFFFFFF,
				   .selector = 8,
				   .type = 11,
				   .present = 1,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	struct kvm_segment data = {.base = 0,
				   .limit = 0xFFFFFFFF,
				   .selector = 16,
				   .type = 3,
				   .present = 1,
				   .s = 1,
				   .db = 1,
				   .g = 1};
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = 0x80000031; /* PE | ET | NE | PG */
	s.cr3 = PML4_ADDR;
	s.cr4 = 0x20;	/* PAE */
	s.efer = 0xD00; /* LME | LMA | NXE */
	if (ioctl(f->vcpu, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS");
	struct kvm_regs r = {.rip = CODE_ADDR, .rflags = 2};
	if (ioctl(f->vcpu, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS");
}

static void floor_create(struct floor *f, uint16_t port, int byte_out)
{
	f->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f->kvm < 0)
		die("open /dev/kvm");
	f->vm = ioctl(f->kvm, KVM_CREATE_VM, 0);
	if (f->vm < 0)
		die("KVM_CREATE_VM");
	f->mem_size = mem_size;
	f->mem = mmap(NULL, f->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->mem == MAP_FAILED)
		die("mmap guest memory");
	struct kvm_userspace_memory_region region = {.slot = 0,
						     .guest_phys_addr = 0,
						     .memory_size = f->mem_size,
						     .userspace_addr = (uint64_t)(uintptr_t)f->mem};
	if (ioctl(f->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	f->vcpu = ioctl(f->vm, KVM_CREATE_VCPU, 0);
	if (f->vcpu < 0)
		die("KVM_CREATE_VCPU");
	int size = ioctl(f->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	f->run_size = (size_t)size;
	f->run = mmap(NULL, f->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu, 0);
	if (f->run == MAP_FAILED)
		die("mmap kvm_run");
	write_code(f->mem, port, byte_out);
	setup_long_mode(f);
}

static void floor_destroy(struct floor *f)
{
	munmap(f->run, f->run_size);
	close(f->vcpu);
	munmap(f->mem, f->mem_size);
	close(f->vm);
	close(f->kvm);
}

/* One KVM_RUN that must end in an `out` to port. */
static void run_to_out(struct floor *f, uint16_t port)
{
	while (ioctl(f->vcpu, KVM_RUN, 0) < 0)
		if (errno != EINTR && errno != EAGAIN)
			die("KVM_RUN");
	if (f->run->exit_reason != KVM_EXIT_IO || f->run->io.port != port) {
		fprintf(stderr, "floor: unexpected exit reason %u (port 0x%x)\n",
			f->run->exit_reason, f->run->io.port);
		exit(1);
	}
}

static int mode_boot(void)
{
	struct floor f;
	uint64_t t0 = now_ns();
	floor_create(&f, EXIT_PORT, 0);
	uint64_t t1 = now_ns();
	run_to_out(&f, EXIT_PORT);
	uint64_t t2 = now_ns();
	floor_destroy(&f);
	uint64_t t3 = now_ns();
	printf("vm_ns=%llu\ncreate_ns=%llu\nfirst_exit_ns=%llu\nteardown_ns=%llu\n",
	       (unsigned long long)(t3 - t0), (unsigned long long)(t1 - t0),
	       (unsigned long long)(t2 - t1), (unsigned long long)(t3 - t2));
	return 0;
}

static int mode_exits(long n)
{
	struct floor f;
	floor_create(&f, EXIT_PORT, 0);
	run_to_out(&f, EXIT_PORT); /* warm: first entry faults pages in */
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		run_to_out(&f, EXIT_PORT);
	uint64_t t1 = now_ns();
	floor_destroy(&f);
	printf("exits=%ld\nextra_insns=%d\nns_per_exit=%.1f\n", n, extra_insns,
	       (double)(t1 - t0) / (double)n);
	return 0;
}

/* Bytes in the ring since the last look; the ring is emptied. */
static long drain(struct kvm_coalesced_mmio_ring *ring, uint32_t max)
{
	long bytes = 0;
	while (ring->first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		bytes += ring->coalesced_mmio[ring->first].len;
		__atomic_store_n(&ring->first, (ring->first + 1) % max, __ATOMIC_RELEASE);
	}
	return bytes;
}

static int mode_coalesced(long n)
{
	struct floor f;
	long page = sysconf(_SC_PAGESIZE);
	floor_create(&f, COAL_PORT, 1);
	if (ioctl(f.kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0 ||
	    (long)f.run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page) {
		printf("coalesced=unsupported\n");
		floor_destroy(&f);
		return 0;
	}
	struct kvm_coalesced_mmio_zone zone = {.addr = COAL_PORT, .size = 1, .pio = 1};
	if (ioctl(f.vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		die("KVM_REGISTER_COALESCED_MMIO (pio)");
	struct kvm_coalesced_mmio_ring *ring =
		(void *)((uint8_t *)f.run + KVM_COALESCED_MMIO_PAGE_OFFSET * page);
	uint32_t max = (uint32_t)((page - sizeof(*ring)) / sizeof(struct kvm_coalesced_mmio));
	long bytes = 0, exits = 0;
	run_to_out(&f, COAL_PORT); /* warm */
	drain(ring, max);
	uint64_t t0 = now_ns();
	while (bytes < n) {
		run_to_out(&f, COAL_PORT); /* the ring is full: this byte comes as an exit */
		bytes += 1 + drain(ring, max);
		exits++;
	}
	uint64_t t1 = now_ns();
	floor_destroy(&f);
	printf("coalesced=yes\nbytes=%ld\nexits=%ld\nns_per_byte=%.1f\nbytes_per_exit=%.1f\n",
	       bytes, exits, (double)(t1 - t0) / (double)bytes, (double)bytes / (double)exits);
	return 0;
}

/* MiB of anonymous memory, 2 MiB-aligned, in huge pages or not. */
static uint8_t *memory_area(long mib, int huge)
{
	size_t len = (size_t)mib << 20, align = 2u << 20;
	uint8_t *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	p = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p;
}

static int mode_memory(long mib, int huge)
{
	size_t len = (size_t)mib << 20;
	uint8_t *src = memory_area(mib, huge), *dst = memory_area(mib, huge);
	for (size_t i = 0; i < len; i += 4096)
		src[i] = (uint8_t)(i >> 12 | 1);
	uint64_t t0 = now_ns();
	memcpy(dst, src, len); /* fresh: every page faulted in, as a restore's RAM */
	uint64_t t1 = now_ns();
	memcpy(dst, src, len);
	uint64_t t2 = now_ns();
	pid_t pid = fork(); /* what a background checkpoint pauses the guest for */
	if (pid == 0)
		_exit(0);
	uint64_t t3 = now_ns();
	if (pid < 0)
		die("fork");
	waitpid(pid, NULL, 0);
	uint64_t t4 = now_ns();
	uint32_t crc = (uint32_t)crc32_z(0, src, len);
	uint64_t t5 = now_ns();
	printf("mib=%ld\nhuge=%d\nmemcpy_fresh_ns=%llu\nmemcpy_ns=%llu\nfork_ns=%llu\n"
	       "crc_ns=%llu\ncrc=%08x\n",
	       mib, huge, (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
	       (unsigned long long)(t3 - t2), (unsigned long long)(t5 - t4), crc);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "boot";
	long n = argc > 2 ? atol(argv[2]) : 100000;
	if (n <= 0)
		n = 1;
	if (!strcmp(mode, "noop"))
		return 0;
	if (!strcmp(mode, "boot")) {
		if (argc > 2)
			mem_size = (uint64_t)n << 20; /* MiB of guest RAM in one slot */
		return mode_boot();
	}
	if (!strcmp(mode, "exits")) {
		extra_insns = argc > 3 ? atoi(argv[3]) : 0;
		if (extra_insns < 0 || extra_insns > 10000)
			extra_insns = 0;
		return mode_exits(n);
	}
	if (!strcmp(mode, "loop")) {
		dec_loop = 1;
		return mode_exits(n);
	}
	if (!strcmp(mode, "coalesced"))
		return mode_coalesced(n);
	if (!strcmp(mode, "memory"))
		return mode_memory(n, argc > 3 && !strcmp(argv[3], "huge"));
	fprintf(stderr, "usage: floor boot|noop|exits N|loop N|coalesced N|memory MiB [huge]\n");
	return 2;
}
