/* coregate.c: the Hermit 0.6 SMP start race, imitated (hermit-entry-abi.md section 16).
 *
 * In those kernels CPU i counts itself online (which lets CPU i+1 through _start)
 * before it registers its scheduler queue, and CPU i+1 inserts its own queue at
 * index i+1 of a list that must already hold i+1 queues: if it comes first, it
 * panics ("insertion index (is 1) should be <= len (is 0)") and the kernel exits 1.
 * Here the runtime counts a CPU online (rt_abi_hand_over) before boot_cpu_online /
 * ap_main, which register and then increment CORE_COUNTER, under the kernel's
 * symbol name: the hypervisor's start gate holds vCPU i until it is >= i. CPU 0
 * gives the others every chance to cut in before it registers (it spins until one
 * did, up to a bound), so without that gate the race is lost nearly always; with
 * it, never, whatever the timing.
 *
 * Arguments: "die": CPU 0 panics before it registers (CORE_COUNTER never moves:
 * the gated vCPUs must not keep the VM alive); "logpanic": a panic-like log line,
 * then the program goes on to exit 0 (no panic to report). Output: "coregate: N cpus
 * registered in order" and exit 0, or a kernel-style panic in the log and exit 1.
 */
#include "rt.h"

#include "hermit_entry_abi.h"

/* CPU 0's head start for the others, in reads of cut_in (no PAUSE: on KVM-PVM each
 * one leaves the guest; there ring 0 is emulated, about 60000 reads a second). */
#define CUT_IN_SPINS 30000u

/* hermit::synch_all_cores::CORE_COUNTER (a u32 in .bss; the hash is made up). */
uint32_t core_counter __asm__(HERMIT_ENTRY_CORE_COUNTER_PREFIX "0123456789abcdefE")
	__attribute__((used));
static volatile uint32_t queues; /* SCHEDULER_INPUTS.len() */
static volatile uint32_t cut_in; /* a CPU other than 0 reached its registration */
static volatile uint32_t order[RT_MAX_CPUS];

/* The kernel's panic handler: "[core][PANIC] {PanicInfo}" on its log, shutdown(1). */
__attribute__((noreturn)) static void panic(uint32_t core, const char *where, const char *msg)
{
	char line[256];
	rt_snprintf(line, sizeof(line), "[%u][PANIC] panicked at %s:\n%s\n", core, where, msg);
	rt_uart_puts(line);
	rt_exit(1);
}

/* add_current_core: Vec::insert(core, queue) after taking the list's lock. */
static void add_current_core(uint32_t core)
{
	static uint32_t lock;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		rt_pause();
	uint32_t len = queues;
	if (core > len) {
		char msg[96];
		rt_snprintf(msg, sizeof(msg), "insertion index (is %u) should be <= len (is %u)",
			    core, len);
		panic(core, "src/scheduler/mod.rs:934:4", msg);
	}
	order[len] = core;
	queues = len + 1;
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&core_counter, 1, __ATOMIC_SEQ_CST);
}

void boot_cpu_online(void)
{
	if (rt_has_arg("die"))
		panic(0, "src/arch/x86_64/kernel/mod.rs:193:5", "CPU 0 died before it registered");
	for (uint32_t i = 0; i < CUT_IN_SPINS && !cut_in; i++)
		;
	add_current_core(0);
}

void ap_main(uint32_t id)
{
	cut_in = 1;
	add_current_core(id);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t n = rt_cpu_count();
	if (rt_has_arg("logpanic"))
		rt_uart_puts("[0][PANIC] panicked at nowhere:\nbut the kernel went on\n");
	while (__atomic_load_n(&core_counter, __ATOMIC_SEQ_CST) < n) /* synch_all_cores */
		rt_pause();
	for (uint32_t i = 0; i < n; i++)
		if (order[i] != i) {
			rt_printf("coregate: slot %u holds cpu %u\n", i, order[i]);
			return 2;
		}
	rt_printf("coregate: %u cpus registered in order\n", n);
	return 0;
}
