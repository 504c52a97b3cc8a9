/* oldport.c: a Hermit 0.10+ guest that writes to a port of an older contract
 * (argv[1], e.g. 0x740 CMDSIZE or 0x540 the classic EXIT) with the address of a
 * struct asking for exit code 7 in EAX. Only the guest's own interface's ports are
 * registered, so proxy must end it as an unhandled port (121), not serve it.
 */
#include "rt.h"

#include "hermit_abi.h"

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	int64_t port = 0;
	if (argc < 2 || rt_parse_int(argv[1], &port)) {
		rt_printf("oldport: usage: oldport PORT\n");
		return 1;
	}
	static volatile struct hermit_exit e = {.code = 7};
	rt_printf("oldport: out 0x%x\n", (unsigned)port);
	rt_outl((uint16_t)port, (uint32_t)(uintptr_t)&e);
	rt_printf("oldport: the port was served\n");
	return 0;
}
