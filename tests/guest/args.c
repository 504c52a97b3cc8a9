/* args.c: print the command line and environment the hypervisor passed in. */
#include "rt.h"

int main(int argc, char **argv, char **envp)
{
	rt_printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		rt_printf("argv[%d]=%s\n", i, argv[i]);
	for (int i = 0; envp[i]; i++)
		rt_printf("env=%s\n", envp[i]);
	if (argv[argc] != NULL) {
		rt_printf("args: argv is not NULL-terminated\n");
		return 1;
	}
	return 0;
}
