/* snap_vm.c: the VM-wide KVM state: the KVM clock and, when the guest has them, the
 * in-kernel PIC and IOAPIC (with a split irqchip the LAPICs travel per vCPU).
 * Payload: records as in snap_vcpu.c (u32 tag, u32 length, KVM UAPI struct). */
#include "snap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

enum vm_tag { TAG_CLOCK = 1, TAG_IRQCHIP, TAG_TSC_KHZ /* u32: the guest's TSC rate */ };

int snap_vm_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen)
{
	struct kvm_clock_data clock = {0};
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) == 0)
		snap_put_record(b, TAG_CLOCK, &clock, sizeof(clock));
	int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0) {
		uint32_t k = (uint32_t)khz;
		snap_put_record(b, TAG_TSC_KHZ, &k, 4);
	}
	for (uint32_t chip = 0; !vm->split_irqchip && chip < 3; chip++) {
		struct kvm_irqchip c = {.chip_id = chip}; /* PIC master, PIC slave, IOAPIC */
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c) < 0) {
			snprintf(err, errlen, "KVM_GET_IRQCHIP (chip %u): %s", chip,
				 strerror(errno));
			return -1;
		}
		snap_put_record(b, TAG_IRQCHIP, &c, sizeof(c));
	}
	return 0;
}

/* The guest measured its TSC's rate at boot (the boot info's cpu_freq): on a host
 * whose TSC runs at another one, KVM must scale it, or the guest's clock is off. */
static int keep_tsc_rate(struct vm *vm, uint32_t saved, char *err, size_t errlen)
{
	int here = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (here <= 0 || (uint32_t)here == saved)
		return 0;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ, (unsigned long)saved) < 0)
			return snprintf(err, errlen,
					"the guest's TSC ran at %u kHz, this host's at %d kHz, and "
					"KVM cannot scale it (KVM_SET_TSC_KHZ: %s)",
					saved, here, strerror(errno)),
			       -1;
	return 0;
}

int snap_vm_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	uint64_t off = 0;
	uint32_t tag, l;
	const uint8_t *d;
	while (snap_next_record(p, len, &off, &tag, &d, &l)) {
		if (tag == TAG_TSC_KHZ && l == 4) {
			uint32_t k;
			memcpy(&k, d, 4);
			if (keep_tsc_rate(vm, k, err, errlen))
				return -1;
		} else if (tag == TAG_CLOCK && l == sizeof(struct kvm_clock_data)) {
			struct kvm_clock_data clock;
			memcpy(&clock, d, sizeof(clock));
			clock.flags = 0; /* only the value: the host's realtime base differs */
			if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0) {
				snprintf(err, errlen, "KVM_SET_CLOCK: %s", strerror(errno));
				return -1;
			}
		} else if (tag == TAG_IRQCHIP && l == sizeof(struct kvm_irqchip)) {
			struct kvm_irqchip c;
			memcpy(&c, d, sizeof(c));
			if (vm->split_irqchip) {
				snprintf(err, errlen,
					 "the checkpoint has an in-kernel IOAPIC and "
					 "PIC, this VM has none");
				return -1;
			}
			if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &c) < 0) {
				snprintf(err, errlen, "KVM_SET_IRQCHIP (chip %u): %s", c.chip_id,
					 strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}
