/* exitcode.c: exit with argv[1] (default 0); with argv[2] == "ap" the exit comes
 * from the last vCPU while CPU 0 halts, proving any vCPU's EXIT ends the VM. */
#include "rt.h"

static int requested_code(void)
{
	int64_t code = 0;
	if (rt_argc > 1 && rt_parse_int(rt_argv[1], &code)) {
		rt_printf("exitcode: bad number '%s'\n", rt_argv[1]);
		return 1;
	}
	return (int)code;
}

static int exit_from_ap(void)
{
	return rt_argc > 2 && !strcmp(rt_argv[2], "ap");
}

void ap_main(uint32_t id)
{
	if (exit_from_ap() && id == rt_cpu_count() - 1) {
		rt_printf("exitcode: exiting with %d from vCPU %u\n", requested_code(), id);
		rt_exit(requested_code());
	}
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	if (exit_from_ap()) {
		if (rt_cpu_count() < 2) {
			rt_printf("exitcode: 'ap' needs HERMIT_CPUS > 1\n");
			return 3;
		}
		rt_halt_forever(); /* the last AP ends the VM */
	}
	rt_printf("exitcode: exiting with %d from vCPU 0\n", requested_code());
	return requested_code();
}
