/* trap.c: the IDT shared by every CPU, default exception reports, handler hooks.
 *
 * An unexpected exception must end the test with a readable reason rather than
 * a triple fault, so every vector prints where it happened and exits with
 * RT_EXCEPTION_STATUS. Programs hook vectors they expect (#BP, a timer).
 */
#include "rt.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

#define GATE_INTERRUPT_PRESENT 0x8E /* present, DPL 0, 64-bit interrupt gate */
#define STUB_SIZE	       16

extern char rt_trap_stubs[];
void rt_trap(struct rt_trap_frame *f);

static struct idt_gate idt[RT_NUM_VECTORS] __attribute__((aligned(16)));
static volatile rt_trap_handler handlers[RT_NUM_VECTORS];

static const char *const exception_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor segment overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved",
	"#MF x87 error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD error",
	"#VE virtualization",
	"#CP control protection",
};

void rt_trap_init(void)
{
	for (unsigned v = 0; v < RT_NUM_VECTORS; v++) {
		uint64_t addr = (uint64_t)(uintptr_t)(rt_trap_stubs + v * STUB_SIZE);
		idt[v] = (struct idt_gate){
			.offset_low = (uint16_t)addr,
			.selector = HERMIT_GDT_CODE_SEL,
			.type_attr = GATE_INTERRUPT_PRESENT,
			.offset_mid = (uint16_t)(addr >> 16),
			.offset_high = (uint32_t)(addr >> 32),
		};
	}
}

void rt_trap_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void rt_set_trap_handler(unsigned vector, rt_trap_handler h)
{
	if (vector < RT_NUM_VECTORS)
		handlers[vector] = h;
}

void rt_trap(struct rt_trap_frame *f)
{
	rt_trap_handler h = f->vector < RT_NUM_VECTORS ? handlers[f->vector] : NULL;
	if (h) {
		h(f);
		return;
	}
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector]
									: "interrupt";
	rt_printf("guest exception %lu (%s) at RIP 0x%lx error 0x%lx cr2 0x%lx rsp 0x%lx\n",
		  (unsigned long)f->vector, name, (unsigned long)f->rip, (unsigned long)f->error,
		  (unsigned long)cr2, (unsigned long)f->rsp);
	rt_exit(RT_EXCEPTION_STATUS);
}
