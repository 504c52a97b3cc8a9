/* irqchip_legacy.c: the PIC and IOAPIC a guest sees beside a split irqchip.
 *
 * With KVM_CAP_SPLIT_IRQCHIP only the LAPIC is in the kernel; the legacy
 * controllers' ports and MMIO page come to us. No device is attached to them, so
 * these models only keep what a kernel reads back while it sets them up and masks
 * them, as KVM's in-kernel ones (arch/x86/kvm/i8259.c, ioapic.c) answer it: the
 * 8259 initialisation sequence and mask register, the ELCR, and the IOAPIC's ID,
 * version (24 pins) and redirection table (all masked at reset). Interrupt status
 * (IRR, ISR, remote IRR, delivery status) reads 0: nothing is ever pending.
 */
#include "vm.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PIC_MASTER_CMD	0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD	0xA0
#define PIC_SLAVE_DATA	0xA1
#define PIC_ELCR_MASTER 0x4D0
#define PIC_ELCR_SLAVE	0x4D1

#define IOAPIC_BASE	     0xFEC00000ULL
#define IOAPIC_MMIO_LEN	     0x100 /* KVM's IOAPIC_MEM_LENGTH */
#define IOAPIC_REGSEL	     0x00
#define IOAPIC_WINDOW	     0x10
#define IOAPIC_PINS	     24
#define IOAPIC_VERSION	     (0x11 | ((IOAPIC_PINS - 1) << 16))
#define IOAPIC_MASKED	     (1ULL << 16)
#define IOAPIC_READ_ONLY_LOW ((1ULL << 12) | (1ULL << 14)) /* delivery status, remote IRR */

struct pic8259 {
	uint8_t imr;
	uint8_t init_step; /* 0: initialised; 1-3: expecting ICW2, ICW3, ICW4 */
	bool single, icw4;
	uint8_t elcr, elcr_mask;
};

struct legacy_irq {
	pthread_mutex_t lock; /* vCPUs may program them concurrently */
	struct pic8259 pic[2];
	uint32_t ioregsel;
	uint8_t ioapic_id;
	uint64_t redir[IOAPIC_PINS];
};

static struct pic8259 *pic_of(struct vm *vm, uint16_t port)
{
	bool slave = port == PIC_SLAVE_CMD || port == PIC_SLAVE_DATA || port == PIC_ELCR_SLAVE;
	return &vm->legacy_irq->pic[slave];
}

/* ICW1 restarts the initialisation sequence; OCW2 (EOI) and OCW3 (which status
 * register reads back) have nothing to act on. */
static void pic_command(struct pic8259 *p, uint8_t value)
{
	if (!(value & 0x10))
		return;
	p->init_step = 1;
	p->single = value & 0x02;
	p->icw4 = value & 0x01;
	p->imr = 0;
}

static void pic_data(struct pic8259 *p, uint8_t value)
{
	switch (p->init_step) {
	case 0: /* OCW1 */
		p->imr = value;
		break;
	case 1: /* ICW2: the vector base, which nothing here uses */
		p->init_step = p->single ? (p->icw4 ? 3 : 0) : 2;
		break;
	case 2: /* ICW3: the cascade wiring */
		p->init_step = p->icw4 ? 3 : 0;
		break;
	default: /* ICW4 */
		p->init_step = 0;
	}
}

static void pic_write(struct vcpu *v, uint16_t port, uint32_t value)
{
	struct legacy_irq *l = v->vm->legacy_irq;
	struct pic8259 *p = pic_of(v->vm, port);
	pthread_mutex_lock(&l->lock);
	if (port == PIC_MASTER_CMD || port == PIC_SLAVE_CMD)
		pic_command(p, (uint8_t)value);
	else if (port == PIC_MASTER_DATA || port == PIC_SLAVE_DATA)
		pic_data(p, (uint8_t)value);
	else
		p->elcr = (uint8_t)value & p->elcr_mask;
	pthread_mutex_unlock(&l->lock);
}

static uint32_t pic_read(struct vcpu *v, uint16_t port, unsigned size)
{
	(void)size;
	struct legacy_irq *l = v->vm->legacy_irq;
	struct pic8259 *p = pic_of(v->vm, port);
	uint32_t value = 0; /* IRR or ISR on the command port: never anything */
	pthread_mutex_lock(&l->lock);
	if (port == PIC_MASTER_DATA || port == PIC_SLAVE_DATA)
		value = p->imr;
	else if (port == PIC_ELCR_MASTER || port == PIC_ELCR_SLAVE)
		value = p->elcr;
	pthread_mutex_unlock(&l->lock);
	return value;
}

static uint32_t ioapic_read_reg(const struct legacy_irq *l)
{
	uint32_t reg = l->ioregsel;
	if (reg == 0x00 || reg == 0x02) /* ID, arbitration ID */
		return (uint32_t)(l->ioapic_id & 0xF) << 24;
	if (reg == 0x01)
		return IOAPIC_VERSION;
	if (reg >= 0x10) {
		uint32_t pin = (reg - 0x10) / 2;
		if (pin >= IOAPIC_PINS)
			return 0xFFFFFFFFu;
		return (uint32_t)(reg & 1 ? l->redir[pin] >> 32 : l->redir[pin]);
	}
	return 0;
}

static void ioapic_write_reg(struct legacy_irq *l, uint32_t value)
{
	uint32_t reg = l->ioregsel;
	if (reg == 0x00) {
		l->ioapic_id = (uint8_t)((value >> 24) & 0xF);
		return;
	}
	uint32_t pin = (reg - 0x10) / 2;
	if (reg < 0x10 || pin >= IOAPIC_PINS)
		return;
	uint64_t *e = &l->redir[pin];
	if (reg & 1)
		*e = (*e & 0xFFFFFFFFULL) | (uint64_t)value << 32;
	else
		*e = (*e & ~0xFFFFFFFFULL) | (value & ~IOAPIC_READ_ONLY_LOW);
}

/* As KVM's ioapic_mmio_read/write: the register select and window at 0x00 and
 * 0x10 of the page, everything else reads 0 and ignores writes (EOI at 0x40). */
static void ioapic_mmio(struct legacy_irq *l, struct kvm_run *run)
{
	uint64_t off = run->mmio.phys_addr - IOAPIC_BASE;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;
	pthread_mutex_lock(&l->lock);
	if (run->mmio.is_write) {
		uint32_t value = 0;
		memcpy(&value, run->mmio.data, len < 4 ? len : 4);
		if (off == IOAPIC_REGSEL)
			l->ioregsel = value & 0xFF;
		else if (off == IOAPIC_WINDOW)
			ioapic_write_reg(l, value);
	} else {
		uint64_t value = 0;
		if (off == IOAPIC_REGSEL)
			value = l->ioregsel;
		else if (off == IOAPIC_WINDOW)
			value = ioapic_read_reg(l);
		memcpy(run->mmio.data, &value, len);
	}
	pthread_mutex_unlock(&l->lock);
}

static enum hook_result legacy_irq_hook(struct vcpu *v, void *arg)
{
	struct kvm_run *run = v->run;
	(void)arg;
	if (run->exit_reason == KVM_EXIT_IOAPIC_EOI)
		return HOOK_HANDLED; /* no level-triggered pin is ever asserted */
	if (run->exit_reason != KVM_EXIT_MMIO || run->mmio.phys_addr < IOAPIC_BASE ||
	    run->mmio.phys_addr >= IOAPIC_BASE + IOAPIC_MMIO_LEN)
		return HOOK_NOT_MINE;
	ioapic_mmio(v->vm->legacy_irq, run);
	return HOOK_HANDLED;
}

void irqchip_legacy_register(struct vm *vm)
{
	static const uint16_t ports[] = {PIC_MASTER_CMD, PIC_MASTER_DATA, PIC_SLAVE_CMD,
					 PIC_SLAVE_DATA, PIC_ELCR_MASTER, PIC_ELCR_SLAVE};
	struct legacy_irq *l = calloc(1, sizeof(*l));
	if (!l)
		die("out of memory");
	pthread_mutex_init(&l->lock, NULL);
	l->pic[0].elcr_mask = 0xF8; /* IRQ 0-2 are always edge-triggered */
	l->pic[1].elcr_mask = 0xDE; /* so are IRQ 8 and 13 */
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		l->redir[i] = IOAPIC_MASKED;
	vm->legacy_irq = l;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		vm_register_port(vm, ports[i], "pic", pic_write);
		vm_register_port_read(vm, ports[i], "pic", pic_read);
	}
	vm_register_exit_hook(vm, legacy_irq_hook, NULL);
}
