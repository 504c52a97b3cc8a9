/* bench_debug.c: the guest scripts/bench drives through GDB.
 *
 * main spins (a loop of plain instructions the debugger single-steps), then calls
 * bench_far() after `spins` more iterations and bench_near() right after it, so a
 * breakpoint on bench_near is hit a few instructions after a stop at bench_far.
 * Argument: spins=N (default 2000). Exit status 0; bench_hits must end at 2.
 */
#include "../../bench/bench_guest.h"

volatile uint64_t bench_counter;
volatile int bench_hits;

__attribute__((noinline)) void bench_far(void);
__attribute__((noinline)) void bench_near(void);
__attribute__((noinline)) void bench_spin(int64_t n);

void bench_far(void)
{
	bench_hits++;
}

void bench_near(void)
{
	bench_hits++;
}

void bench_spin(int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		bench_counter++;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	bench_spin(bench_arg_int("spins", 2000));
	bench_far();
	bench_near();
	if (bench_hits != 2) {
		rt_printf("debug: FAIL bench_hits=%d\n", bench_hits);
		return 1;
	}
	rt_printf("debug: counter=%lu\n", (unsigned long)bench_counter);
	return 0;
}
