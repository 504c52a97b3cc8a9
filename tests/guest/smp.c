/* smp.c: every vCPU comes up once, with the id and stack the start-up protocol promises.
 *
 * Each secondary CPU records current_boot_id (as read by the runtime before it
 * went online) and checks that it runs on rt_ap_stacks[id-1] (RustyHermit: its
 * predecessor handed it over; C HermitCore: the entry code picked it by id). CPU 0 waits for all of
 * them and checks each id 1..N-1 appears once.
 */
#include "rt.h"

static volatile uint32_t seen[RT_MAX_CPUS];
static volatile uint32_t arrived;
static volatile uint32_t wrong_stack;

void ap_main(uint32_t id)
{
	uint64_t rsp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	if (id == 0 || id >= RT_MAX_CPUS) {
		__atomic_add_fetch(&wrong_stack, 1, __ATOMIC_SEQ_CST); /* reported as a bad id */
	} else {
		uint64_t lo = (uint64_t)(uintptr_t)rt_ap_stacks[id - 1];
		if (rsp < lo || rsp >= lo + HERMIT_BOOT_STACK_SIZE)
			__atomic_add_fetch(&wrong_stack, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&seen[id], 1, __ATOMIC_SEQ_CST);
	}
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t n = rt_cpu_count();
	while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < n - 1)
		rt_pause();
	int bad = 0;
	for (uint32_t id = 1; id < n; id++)
		if (seen[id] != 1) {
			rt_printf("smp: cpu %u seen %u times\n", id, seen[id]);
			bad = 1;
		}
	if (wrong_stack) {
		rt_printf("smp: %u cpus had a wrong id or stack\n", wrong_stack);
		bad = 1;
	}
	if (rt_cpu_online() != n) {
		rt_printf("smp: cpu_online %u, expected %u\n", rt_cpu_online(), n);
		bad = 1;
	}
	if (bad)
		return 1;
	rt_printf("smp: %u cpus online\n", n);
	return 0;
}
