/* fuzz_snap.h: what the checkpoint harnesses (fuzz_snap_*.c) share.
 *
 * snap_fix_crcs: a checkpoint stream's header and section checksums made to match,
 * so a mutation reaches the checks behind them instead of "checksum mismatch".
 * fuzz_snap_vm_init: a struct vm with 64 MiB of RAM (as the seeds' checkpoints,
 * written with HERMIT_MEM=64M), NCPUS vCPUs and no KVM behind it: the KVM ioctls the
 * loaders make go to fake_kvm_ioctl (a harness defines ioctl() to call it), which
 * takes everything, so the parsers run to their end.
 */
#ifndef FUZZ_SNAP_H
#define FUZZ_SNAP_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hypercall.h"
#include "snap_internal.h"

#define FUZZ_SNAP_NCPUS	  2
#define FUZZ_SNAP_MEM	  (64ULL << 20)
#define FUZZ_SNAP_SECHDR  24   /* u32 type, u32 index, u64 length, u32 crc, u32 0 */
#define FUZZ_SNAP_KVM_FD  1000 /* the fake vCPU and VM descriptors: never opened */
#define FUZZ_SNAP_TSC_KHZ 2000000

static inline uint32_t fuzz_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Rewrite the CRCs of buf in place: the header's, then every complete section's. */
static inline void snap_fix_crcs(uint8_t *buf, size_t len)
{
	if (len < SNAP_HEADER_SIZE)
		return;
	uint32_t crc = snap_crc32(0, buf, SNAP_HEADER_SIZE - 4);
	memcpy(buf + SNAP_HEADER_SIZE - 4, &crc, 4);
	for (size_t off = SNAP_HEADER_SIZE; len - off >= FUZZ_SNAP_SECHDR;) {
		uint64_t slen;
		memcpy(&slen, buf + off + 8, 8);
		if (slen > len - off - FUZZ_SNAP_SECHDR)
			return;
		crc = snap_crc32(0, buf + off + FUZZ_SNAP_SECHDR, slen);
		memcpy(buf + off + 16, &crc, 4);
		off += FUZZ_SNAP_SECHDR + slen;
	}
}

/* A memfd holding data, at offset 0 (the reader reads a descriptor). */
static inline int fuzz_snap_memfd(const void *data, size_t len)
{
	int fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET))
		abort();
	return fd;
}

/* What KVM would do, minus the work: every ioctl succeeds (KVM_SET_MSRS sets the one
 * MSR asked, KVM_GET_TSC_KHZ says FUZZ_SNAP_TSC_KHZ). */
static inline int fake_kvm_ioctl(unsigned long req)
{
	if (req == KVM_SET_MSRS)
		return 1;
	if (req == KVM_GET_TSC_KHZ)
		return FUZZ_SNAP_TSC_KHZ;
	return 0;
}

static inline void fuzz_snap_vm_init(struct vm *vm, const struct config *cfg)
{
	static struct snapshot s;
	static struct vcpu vcpus[FUZZ_SNAP_NCPUS];
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->snap = &s;
	vm->vm_fd = vm->kvm_fd = FUZZ_SNAP_KVM_FD;
	guest_mem_layout(&vm->mem, FUZZ_SNAP_MEM);
	vm->mem.host = mmap(NULL, vm->mem.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem.host == MAP_FAILED)
		abort();
	vm->ncpus = FUZZ_SNAP_NCPUS;
	vm->vcpus = vcpus;
	for (unsigned i = 0; i < FUZZ_SNAP_NCPUS; i++)
		vcpus[i] = (struct vcpu){.vm = vm, .id = i, .fd = FUZZ_SNAP_KVM_FD};
	fd_table_init(vm);
}

#endif
