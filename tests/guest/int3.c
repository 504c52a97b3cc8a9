/* int3.c: the guest's own #BP handler sees its INT3s (a trap: RIP is already
 * past the instruction, so returning resumes after it). On KVM-PVM hosts the
 * hypervisor must deliver ring-0 INT3 to the guest's IDT. */
#include "rt.h"

#define VECTOR_BP 3

static volatile int hits;
static volatile uint64_t last_rip;

static void on_breakpoint(struct rt_trap_frame *f)
{
	hits++;
	last_rip = f->rip;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	rt_set_trap_handler(VECTOR_BP, on_breakpoint);
	__asm__ volatile("int3" : : : "memory");
	__asm__ volatile("int3" : : : "memory");
	rt_printf("int3: handled %d (last RIP 0x%lx)\n", hits, (unsigned long)last_rip);
	return hits == 2 ? 0 : 1;
}
