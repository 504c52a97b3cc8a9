/* irqchip.c: the interrupt controllers the guest's contract needs, and no more.
 *
 * Every guest gets KVM's in-kernel LAPIC (its timer, IPIs between vCPUs). The
 * in-kernel IOAPIC and PIC (KVM_CREATE_IRQCHIP) only for a guest that needs them
 * (struct guest_abi's needs_ioapic: C HermitCore, whose IOAPIC proxy programs, and
 * a network device, whose interrupt is IOAPIC pin 11): creating them queues a
 * kernel grace period that the next memory-slot change waits for (about 5 ms), or
 * KVM's teardown at exit (longer) if none comes (vm_setup_memory orders them).
 * Every other guest runs with a split irqchip (KVM_CAP_SPLIT_IRQCHIP: the LAPIC in
 * the kernel, nothing else).
 *
 * A kernel that looks at the missing devices anyway (Hermit 0.6 masks the PIC and
 * the IOAPIC pins at boot) finds what KVM's own would show it with no device
 * attached: a PIC whose mask register reads back, and an IOAPIC with 24 masked
 * pins (irqchip_legacy.c). Nothing can raise an interrupt through them, in either
 * arrangement, because proxy attaches no device to them then.
 */
#include "vm.h"

#include <sys/ioctl.h>

#include "guest_abi.h"
#include "log.h"

/* IOAPIC pins whose routes KVM keeps for userspace in split mode. */
#define SPLIT_IOAPIC_PINS 24

bool vm_wants_full_irqchip(const struct vm *vm)
{
	return vm->abi->needs_ioapic && vm->abi->needs_ioapic(vm);
}

static void create_full(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die_errno("KVM_CREATE_IRQCHIP (the in-kernel interrupt controller)");
	vm->split_irqchip = false;
}

/* False when this host's KVM has no split irqchip (before Linux 4.5). */
static bool create_split(struct vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {SPLIT_IOAPIC_PINS}};
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) <= 0)
		return false;
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		die_errno("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) (the in-kernel LAPIC)");
	vm->split_irqchip = true;
	irqchip_legacy_register(vm);
	return true;
}

void vm_create_irqchip(struct vm *vm)
{
	if (vm_wants_full_irqchip(vm) || !create_split(vm))
		create_full(vm);
	if (vm->cfg->verbose)
		warnx_("interrupt controllers: %s",
		       vm->split_irqchip ? "the LAPIC in the kernel (split irqchip: this guest "
					   "needs no IOAPIC or PIC)"
					 : "LAPIC, IOAPIC and PIC in the kernel");
}
