/* hostile.c: a guest that tries to reach what it was not given, through every file
 * hypercall, and prints what each attempt got (test_file_policy.py judges it).
 *
 * Each argument is one attempt, OP:PATH:
 *   read:PATH    OPEN read-only, then READ: `read PATH = "bytes"` or `= -errno`
 *   write:PATH   OPEN O_WRONLY|O_CREAT|O_TRUNC, then WRITE a marker: `= ok` or `= -errno`
 *   create:MODE:PATH  the same with octal MODE (e.g. 4755): `create PATH = ok` or `= -errno`
 *   flags:FLAGS:PATH  OPEN with octal FLAGS (e.g. O_PATH), then READ: `flags PATH =
 *                "bytes"`, `= read error -errno` or `= -errno` (the OPEN's)
 *   unlink:PATH  UNLINK: `= 0` or `= -errno` (`= no UNLINK` in an ABI without it)
 *   fds:PREFIX   OPEN PREFIX0 .. PREFIX63 (/proc/self/fd/, /dev/fd/): how many opened
 * then the environment, one `env=NAME=VALUE` line each. It exits 0.
 */
#include "rt.h"

#define MARKER "written by the hostile guest\n"

static char buf[256];

static void try_read(const char *path)
{
	int fd = rt_open(path, RT_O_RDONLY, 0);
	if (fd < 0) {
		rt_printf("read %s = %d\n", path, fd);
		return;
	}
	int64_t n = rt_read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	for (int64_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	rt_printf(n < 0 ? "read %s = read error %s\n" : "read %s = \"%s\"\n", path,
		  n < 0 ? "" : buf);
	rt_close(fd);
}

static void try_write(const char *path)
{
	int fd = rt_open(path, RT_O_WRONLY | RT_O_CREAT | RT_O_TRUNC, 0644);
	if (fd < 0) {
		rt_printf("write %s = %d\n", path, fd);
		return;
	}
	int64_t n = rt_write(fd, MARKER, strlen(MARKER));
	rt_printf("write %s = %s\n", path, n == (int64_t)strlen(MARKER) ? "ok" : "short write");
	rt_close(fd);
}

/* `MODE:PATH` with an octal MODE: what a guest that wants a setuid file asks for. */
static void try_create(const char *arg)
{
	int mode = 0;
	while (*arg >= '0' && *arg <= '7')
		mode = mode * 8 + (*arg++ - '0');
	if (*arg++ != ':') {
		rt_printf("hostile: bad create attempt\n");
		return;
	}
	int fd = rt_open(arg, RT_O_WRONLY | RT_O_CREAT | RT_O_TRUNC, mode);
	if (fd < 0) {
		rt_printf("create %s = %d\n", arg, fd);
		return;
	}
	int64_t n = rt_write(fd, MARKER, strlen(MARKER));
	rt_printf("create %s = %s\n", arg, n == (int64_t)strlen(MARKER) ? "ok" : "short write");
	rt_close(fd);
}

/* `FLAGS:PATH` with octal FLAGS: open flags Hermit's open never has. */
static void try_flags(const char *arg)
{
	int flags = 0;
	while (*arg >= '0' && *arg <= '7')
		flags = flags * 8 + (*arg++ - '0');
	if (*arg++ != ':') {
		rt_printf("hostile: bad flags attempt\n");
		return;
	}
	int fd = rt_open(arg, flags, 0600);
	if (fd < 0) {
		rt_printf("flags %s = %d\n", arg, fd);
		return;
	}
	int64_t n = rt_read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	for (int64_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	if (n < 0)
		rt_printf("flags %s = read error %d\n", arg, (int)n);
	else
		rt_printf("flags %s = \"%s\"\n", arg, buf);
	rt_close(fd);
}

static void try_unlink(const char *path)
{
	if (!rt_abi_has_unlink())
		rt_printf("unlink %s = no UNLINK\n", path);
	else
		rt_printf("unlink %s = %d\n", path, rt_unlink(path));
}

/* Every descriptor number a hypervisor is likely to hold (KVM, vCPUs, eventfds,
 * the mappings' roots) through its magic links. */
static void try_fds(const char *prefix)
{
	int opened = 0, last_err = 0;
	for (int n = 0; n < 64; n++) {
		rt_snprintf(buf, sizeof(buf), "%s%d", prefix, n);
		int fd = rt_open(buf, RT_O_RDONLY, 0);
		if (fd >= 0) {
			opened++;
			rt_close(fd);
		} else
			last_err = fd;
	}
	rt_printf("fds %s = %d opened, last error %d\n", prefix, opened, last_err);
}

int main(int argc, char **argv, char **envp)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "read:", 5))
			try_read(a + 5);
		else if (!strncmp(a, "write:", 6))
			try_write(a + 6);
		else if (!strncmp(a, "create:", 7))
			try_create(a + 7);
		else if (!strncmp(a, "flags:", 6))
			try_flags(a + 6);
		else if (!strncmp(a, "unlink:", 7))
			try_unlink(a + 7);
		else if (!strncmp(a, "fds:", 4))
			try_fds(a + 4);
		else
			rt_printf("hostile: unknown attempt %s\n", a);
	}
	for (int i = 0; envp[i]; i++)
		rt_printf("env=%s\n", envp[i]);
	rt_printf("hostile: done\n");
	return 0;
}
