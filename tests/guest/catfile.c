/* catfile.c: copy one host file (argv[1]) to standard output, then exit 0.
 *
 * The debugger tests point it at a FIFO, so that its OPEN or READ hypercall blocks
 * while GDB stops the VM: every call must come back with the file's bytes, never
 * with an error (-EINTR) caused by the stop. Any error is printed and exits 1.
 */
#include "rt.h"

static char buf[4096];

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc != 2) {
		rt_printf("usage: catfile PATH\n");
		return 2;
	}
	rt_printf("catfile: opening\n");
	int fd = rt_open(argv[1], RT_O_RDONLY, 0);
	if (fd < 0) {
		rt_printf("catfile: open returned %d\n", fd);
		return 1;
	}
	rt_printf("catfile: reading\n");
	int64_t n;
	while ((n = rt_read(fd, buf, sizeof(buf))) > 0)
		rt_write(1, buf, (uint64_t)n);
	if (n < 0) {
		rt_printf("catfile: read returned %ld\n", (long)n);
		return 1;
	}
	rt_close(fd);
	return 0;
}
