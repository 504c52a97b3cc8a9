/* abi_c.c: the C HermitCore (libhermit) boot contract.
 *
 * The kernel header lives at the start of the image's first PT_LOAD; the start
 * gate is base+0x20 (cpu_online) / base+0x30 (current_boot_id); the kernel finds
 * no MP table under uhyve, so the hypervisor programs the IOAPIC (every pin to
 * vector 0x20+pin on APIC 0, pin 2 masked). The guest counts the NULL slot in its
 * environment count (args.c handles that through env_count_includes_null).
 */
#include <string.h>
#include <sys/ioctl.h>

#include "abi.h"
#include "boot.h"
#include "c_hermit_abi.h"
#include "hypercall.h"
#include "log.h"
#include "net.h"

static struct c_hermit_header *header(const struct vm *vm)
{
	return gpa_ptr(&vm->mem, vm->image.first_paddr, sizeof(struct c_hermit_header));
}

/* Program the in-kernel IOAPIC as HermitCore's old uhyve did. */
static void program_ioapic(const struct vm *vm)
{
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_IOAPIC};
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		die_errno("KVM_GET_IRQCHIP (IOAPIC)");
	for (int pin = 0; pin < C_HERMIT_IOAPIC_PINS && pin < KVM_IOAPIC_NUM_PINS; pin++) {
		chip.chip.ioapic.redirtbl[pin].bits = 0;
		chip.chip.ioapic.redirtbl[pin].fields.vector =
			(uint8_t)(C_HERMIT_IRQ_VECTOR_BASE + pin);
		chip.chip.ioapic.redirtbl[pin].fields.mask = pin == 2;
		chip.chip.ioapic.redirtbl[pin].fields.dest_id = 0;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		die_errno("KVM_SET_IRQCHIP (IOAPIC)");
}

static void put64(void *dst, uint64_t v)
{
	memcpy(dst, &v, 8); /* several header fields are only 4-byte aligned */
}

static void c_write_boot_info(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	struct c_hermit_header *h = header(vm);
	put64(&h->base, vm->image.first_paddr);
	put64(&h->limit, vm->mem.limit);
	h->cpu_freq = vm->cpu_freq_mhz;
	h->possible_cpus = vm->ncpus;
	h->current_boot_id = 0;
	put64(&h->image_size, vm->image.end - vm->image.first_paddr);
	h->possible_isles = 1;
	h->uhyve = 1;
	put64(&h->uartport, cfg->verbose ? 0x800 : 0);
	put64(&h->host_logical_addr, 0); /* the guest has no business knowing our addresses */
	if (cfg->ip_set)
		memcpy(h->hcip, cfg->ip, 4);
	if (cfg->gateway_set)
		memcpy(h->hcgateway, cfg->gateway, 4);
	if (cfg->mask_set)
		memcpy(h->hcmask, cfg->mask, 4);
	program_ioapic(vm);
}

static uint64_t c_cpu_online_gpa(const struct vm *vm)
{
	return vm->image.first_paddr + offsetof(struct c_hermit_header, cpu_online);
}

static uint64_t c_boot_id_gpa(const struct vm *vm)
{
	return vm->image.first_paddr + offsetof(struct c_hermit_header, current_boot_id);
}

/* proxy programs the IOAPIC for this kernel (program_ioapic), and its network
 * interrupt comes through IOAPIC pin 11. */
static bool c_needs_ioapic(const struct vm *vm)
{
	(void)vm;
	return true;
}

static void c_register_ports(struct vm *vm)
{
	files_register(vm);
	args_register(vm);
	net_register_c_ports(vm);
}

const struct guest_abi c_abi = {
	.name = "c",
	.label = "C HermitCore",
	.write_boot_info = c_write_boot_info,
	.cpu_online_gpa = c_cpu_online_gpa,
	.boot_id_gpa = c_boot_id_gpa,
	.boot_rdi = 0,
	.register_ports = c_register_ports,
	.needs_ioapic = c_needs_ioapic,
	.env_count_includes_null = 1,
};
