/* hello.c: the smallest useful guest: one line on stdout, exit 0 (also for benchmarks). */
#include "rt.h"

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	rt_printf("Hello from a HermitCore test guest\n");
	return 0;
}
