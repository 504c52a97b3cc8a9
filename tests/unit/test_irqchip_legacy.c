/* test_irqchip_legacy.c: the PIC and IOAPIC a guest sees beside a split irqchip.
 *
 * With only the LAPIC in the kernel, proxy answers for the legacy controllers
 * (core/irqchip_legacy.c). A kernel that sets them up and masks them, as Hermit 0.6
 * does at boot, must read back what KVM's in-kernel ones would show it: the 8259
 * initialisation sequence and mask register, the ELCR, and an IOAPIC with 24
 * masked pins. Driven here through the port table and exit hook the module
 * registers, with a fake kvm_run: no KVM needed.
 */
#include "unit.h"
#include "vm.h"

#include <stdlib.h>
#include <string.h>

static struct vm vm;
static struct kvm_run run;
static struct vcpu cpu = {.vm = &vm, .run = &run};

static void outb(uint16_t port, uint8_t value)
{
	struct port_handler *h = vm_find_port(&vm, port);
	CHECK(h && h->fn);
	if (h && h->fn)
		h->fn(&cpu, port, value);
}

static int inb(uint16_t port)
{
	struct port_handler *h = vm_find_port(&vm, port);
	return h && h->read ? (int)h->read(&cpu, port, 1) : -1;
}

static enum hook_result mmio(uint64_t addr, bool write, uint32_t *value, uint32_t len)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = addr;
	run.mmio.len = len;
	run.mmio.is_write = write;
	if (write)
		memcpy(run.mmio.data, value, len);
	enum hook_result r = HOOK_NOT_MINE;
	for (unsigned i = 0; i < vm.nhooks && r == HOOK_NOT_MINE; i++)
		r = vm.hooks[i].fn(&cpu, vm.hooks[i].arg);
	if (!write && r == HOOK_HANDLED) {
		*value = 0;
		memcpy(value, run.mmio.data, len);
	}
	return r;
}

static uint32_t ioapic_read(uint32_t reg)
{
	uint32_t v = reg;
	mmio(0xFEC00000, true, &v, 4);
	mmio(0xFEC00010, false, &v, 4);
	return v;
}

static void ioapic_write(uint32_t reg, uint32_t value)
{
	mmio(0xFEC00000, true, &reg, 4);
	mmio(0xFEC00010, true, &value, 4);
}

/* Hermit 0.6's pic::init: ICW1-4 on both, then every line masked. */
static void test_pic_as_hermit_sets_it_up(void)
{
	CHECK_EQ(inb(0x21), 0x00); /* as KVM's: nothing masked before the guest says */
	static const uint16_t port[] = {0x20, 0xA0, 0x21, 0xA1, 0x21, 0xA1, 0x21, 0xA1, 0x21, 0xA1};
	static const uint8_t value[] = {0x11, 0x11, 0x20, 0x28, 0x04, 0x02, 0x01, 0x01, 0xFF, 0xFF};
	for (size_t i = 0; i < sizeof(port) / sizeof(port[0]); i++)
		outb(port[i], value[i]);
	CHECK_EQ(inb(0x21), 0xFF);
	CHECK_EQ(inb(0xA1), 0xFF);
	outb(0x21, (uint8_t)(inb(0x21) & 0xFE)); /* the timer line on, as it later does */
	CHECK_EQ(inb(0x21), 0xFE);
	CHECK_EQ(inb(0xA1), 0xFF);
	outb(0x20, 0x20); /* EOI: nothing in service, nothing changes */
	CHECK_EQ(inb(0x20), 0x00);
	CHECK_EQ(inb(0x21), 0xFE);
}

static void test_pic_sequences(void)
{
	outb(0x20, 0x13);	   /* ICW1: single, ICW4 needed */
	CHECK_EQ(inb(0x21), 0x00); /* ICW1 clears the mask */
	outb(0x21, 0x08);	   /* ICW2 */
	outb(0x21, 0x01);	   /* ICW4 (no ICW3 when single) */
	outb(0x21, 0x5A);	   /* OCW1 */
	CHECK_EQ(inb(0x21), 0x5A);
	outb(0xA0, 0x10); /* ICW1: cascade, no ICW4 */
	outb(0xA1, 0x70); /* ICW2 */
	outb(0xA1, 0x02); /* ICW3 */
	outb(0xA1, 0xC3); /* OCW1 */
	CHECK_EQ(inb(0xA1), 0xC3);
	outb(0xA0, 0x0B); /* OCW3: read ISR next */
	CHECK_EQ(inb(0xA0), 0x00);
	outb(0x4D0, 0xFF); /* ELCR: IRQ 0-2 cannot be level-triggered */
	CHECK_EQ(inb(0x4D0), 0xF8);
	outb(0x4D1, 0xFF);
	CHECK_EQ(inb(0x4D1), 0xDE);
}

static void test_ioapic_registers(void)
{
	CHECK_EQ(ioapic_read(0x01), 0x00170011); /* version 0x11, 24 pins */
	CHECK_EQ(ioapic_read(0x00), 0);
	int masked = 0;
	for (uint32_t pin = 0; pin < 24; pin++)
		masked +=
			ioapic_read(0x10 + 2 * pin) == 0x10000 && ioapic_read(0x11 + 2 * pin) == 0;
	CHECK_EQ(masked, 24);
	ioapic_write(0x10 + 2 * 3, 0x5030);	     /* vector 0x30, status bits 12 and 14 set */
	CHECK_EQ(ioapic_read(0x10 + 2 * 3), 0x0030); /* those are the IOAPIC's to set */
	ioapic_write(0x11 + 2 * 3, 0x01000000);
	CHECK_EQ(ioapic_read(0x11 + 2 * 3), 0x01000000);
	CHECK_EQ(ioapic_read(0x10 + 2 * 3), 0x0030);	  /* the low word kept */
	CHECK_EQ(ioapic_read(0x10 + 2 * 24), 0xFFFFFFFF); /* no pin 24 */
	ioapic_write(0x00, 0x05000000);
	CHECK_EQ(ioapic_read(0x00), 0x05000000);
	CHECK_EQ(ioapic_read(0x02), 0x05000000); /* arbitration ID */
	uint32_t v = 0x01;
	mmio(0xFEC00000, true, &v, 4);
	CHECK_EQ(mmio(0xFEC00000, false, &v, 1), HOOK_HANDLED);
	CHECK_EQ(v, 0x01); /* the register select reads back */
	v = 0;
	CHECK_EQ(mmio(0xFEC00040, true, &v, 4), HOOK_HANDLED); /* EOI register: ignored */
}

static void test_other_exits_are_not_its(void)
{
	uint32_t v = 0;
	CHECK_EQ(mmio(0xFEC00100, false, &v, 4), HOOK_NOT_MINE); /* past the IOAPIC */
	CHECK_EQ(mmio(0xFEBFFFFC, false, &v, 4), HOOK_NOT_MINE);
	CHECK_EQ(mmio(0xD0000000, true, &v, 4), HOOK_NOT_MINE);
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IOAPIC_EOI;
	CHECK_EQ(vm.hooks[0].fn(&cpu, vm.hooks[0].arg), HOOK_HANDLED);
	run.exit_reason = KVM_EXIT_HLT;
	CHECK_EQ(vm.hooks[0].fn(&cpu, vm.hooks[0].arg), HOOK_NOT_MINE);
}

int main(void)
{
	irqchip_legacy_register(&vm);
	CHECK_EQ(vm.nhooks, 1);
	test_pic_as_hermit_sets_it_up();
	test_pic_sequences();
	test_ioapic_registers();
	test_other_exits_are_not_its();
	return unit_report();
}
