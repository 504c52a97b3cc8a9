/* live.c: a guest that runs until the host lets it finish, for the monitor while the
 * guest runs and for system_reset / GDB's `run`.
 *
 *   live GATE [FILE [ALT]]  opens FILE (when given) and prints the guest fd it got,
 *                     without closing it (a reset must close it: the fd numbers
 *                     start again), prints "live: waiting", then spins (PAUSE between
 *                     looks) until GATE can be opened, prints "live: done" and exits
 *                     5, or 6 when ALT exists then (a new exit status for GDB's `run`).
 * A GATE that exists from the start lets it finish at once. Both paths must be in
 * a --mount.
 */
#include "rt.h"

#define LIVE_STATUS 5
#define ALT_STATUS  6
#define SPIN_PAUSES 20000

static int exists(const char *path)
{
	int fd = rt_open(path, RT_O_RDONLY, 0);
	if (fd >= 0) {
		rt_close(fd);
		return 1;
	}
	if (fd != -RT_ENOENT) {
		rt_printf("live: FAIL open(%s) = %d (is its directory mounted?)\n", path, fd);
		rt_exit(3);
	}
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 2) {
		rt_printf("usage: live GATE [FILE]\n");
		return 2;
	}
	rt_printf("live: start\n");
	if (argc > 2)
		rt_printf("live: fd %d\n", rt_open(argv[2], RT_O_RDONLY, 0));
	rt_printf("live: waiting\n");
	while (!exists(argv[1]))
		for (uint32_t i = 0; i < SPIN_PAUSES; i++)
			rt_pause();
	rt_printf("live: done\n");
	return argc > 3 && exists(argv[3]) ? ALT_STATUS : LIVE_STATUS;
}
