/* ocirun.c: what a guest run by proxy-oci got, for tests/integration/test_oci.py.
 *
 * Prints its arguments, its variables and its vCPU count and RAM end, then acts on
 * each argument of the form cat=PATH (print that host file, or the error), exit=N
 * (exit with N at the end) and halt (sleep in hlt until the VM is ended: a
 * container that runs until it is stopped).
 */
#include "rt.h"

static char buf[4096];

static void cat(const char *path)
{
	int fd = rt_open(path, RT_O_RDONLY, 0);
	if (fd < 0) {
		rt_printf("cat %s: error %d\n", path, fd);
		return;
	}
	int64_t n;
	while ((n = rt_read(fd, buf, sizeof(buf))) > 0)
		rt_write(1, buf, (uint64_t)n);
	rt_close(fd);
}

static int number(const char *s)
{
	int n = 0;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

int main(int argc, char **argv, char **envp)
{
	int code = 0, halt = 0;
	rt_printf("ocirun: argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		rt_printf("argv[%d]=%s\n", i, argv[i]);
	for (int i = 0; envp[i]; i++)
		rt_printf("env=%s\n", envp[i]);
	rt_printf("cpus=%u mem=%lu\n", rt_possible_cpus(), (unsigned long)rt_limit());
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "cat=", 4))
			cat(argv[i] + 4);
		else if (!strncmp(argv[i], "exit=", 5))
			code = number(argv[i] + 5);
		else if (!strcmp(argv[i], "halt"))
			halt = 1;
	}
	if (halt) {
		rt_printf("ocirun: halting\n");
		rt_halt_forever();
	}
	return code;
}
