/* crash.c: a guest that dies on purpose deep in a call chain, for core-dump tests.
 *
 * main -> crash_outer -> crash_middle -> crash_inner, which writes to a port no
 * hypercall uses (status 125). crash_marker holds a known value and each frame
 * a known local, so a test can load the core in GDB and check `bt`, `p`.
 *   crash        the port write on vCPU 0
 *   crash smp    the same after every vCPU is up (HERMIT_CPUS > 1)
 */
#include "rt.h"

#define UNUSED_PORT 0x1234

volatile uint64_t crash_marker = 0x1234abcd;
volatile int crash_depth;

__attribute__((noinline)) static void crash_inner(int depth)
{
	crash_depth = depth;
	rt_outl(UNUSED_PORT, 0xC0DEDEAD);
	rt_printf("crash: the VM survived\n");
}

__attribute__((noinline)) static void crash_middle(int depth)
{
	crash_inner(depth + 1);
	crash_depth++; /* keeps the call from becoming a jump */
}

__attribute__((noinline)) static void crash_outer(int depth)
{
	crash_middle(depth + 1);
	crash_depth++;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	crash_marker = 0xfeedf00d;
	rt_printf("crash: calling the chain\n");
	crash_outer(1);
	return 3;
}
