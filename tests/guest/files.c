/* files.c: the file hypercalls against a host directory (argv[1]).
 *
 * The integration test prepares <dir>/input.txt and <dir>/remove-me and
 * afterwards checks guest.txt, big.bin and that remove-me is gone (the C
 * HermitCore ABI has no UNLINK: there it stays). Errors
 * must come back as -errno, and the guest's fds must be its own table: fds it
 * never opened (e.g. the hypervisor's KVM fds) are -EBADF, 0..2 never close.
 */
#include "rt.h"

#define GUEST_TEXT "written by the files guest\n"
#define APPENDED   "appended\n"
#define PAGE	   4096
#define BIG_LEN	   (3 * PAGE + 123)

static int failed;
static char path[512];
static char buf[PAGE];
/* Page-aligned so buffers can start just before a page boundary. */
static uint8_t big_out[5 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t big_in[5 * PAGE] __attribute__((aligned(PAGE)));

static void check(int64_t got, int64_t want, const char *what)
{
	if (got == want)
		return;
	rt_printf("files: FAIL %s: got %ld, expected %ld\n", what, (long)got, (long)want);
	failed = 1;
}

static const char *in_dir(const char *name)
{
	return rt_strcat3(path, sizeof(path), rt_argv[1], "/", name);
}

/* fds the guest never opened: the hypervisor's own descriptors live there. */
static void check_foreign_fds(void)
{
	static const int fds[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 63, 1000000, -1};
	char what[64];
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		rt_snprintf(what, sizeof(what), "read(unopened fd %d)", fds[i]);
		check(rt_read(fds[i], buf, 1), -RT_EBADF, what);
		rt_snprintf(what, sizeof(what), "write(unopened fd %d)", fds[i]);
		check(rt_write(fds[i], "x", 1), -RT_EBADF, what);
		rt_snprintf(what, sizeof(what), "lseek(unopened fd %d)", fds[i]);
		check(rt_lseek(fds[i], 0, RT_SEEK_SET), -RT_EBADF, what);
		rt_snprintf(what, sizeof(what), "close(unopened fd %d)", fds[i]);
		check(rt_close(fds[i]), -RT_EBADF, what);
	}
	for (int fd = 0; fd <= 2; fd++)
		check(rt_close(fd), 0, "close of fd 0..2");
	rt_printf("files: stdout still works after close(1)\n");
}

static void write_and_read_back(void)
{
	const int64_t len = (int64_t)strlen(GUEST_TEXT);
	int fd = rt_open(in_dir("guest.txt"), RT_O_CREAT | RT_O_WRONLY | RT_O_TRUNC, 0644);
	check(fd >= 0, 1, "open guest.txt for writing");
	check(rt_write(fd, GUEST_TEXT, (uint64_t)len), len, "write guest.txt");
	check(rt_close(fd), 0, "close guest.txt");
	check(rt_close(fd), -RT_EBADF, "second close of guest.txt");

	fd = rt_open(in_dir("guest.txt"), RT_O_RDONLY, 0);
	check(fd >= 0, 1, "open guest.txt for reading");
	memset(buf, 0, sizeof(buf));
	check(rt_read(fd, buf, sizeof(buf)), len, "read guest.txt");
	check(memcmp(buf, GUEST_TEXT, (size_t)len), 0, "guest.txt contents");
	check(rt_read(fd, buf, sizeof(buf)), 0, "read at end of file");
	check(rt_write(fd, "x", 1), -RT_EBADF, "write to a read-only fd");
	check(rt_lseek(fd, 5, RT_SEEK_SET), 5, "lseek SEEK_SET 5");
	check(rt_lseek(fd, 3, RT_SEEK_CUR), 8, "lseek SEEK_CUR +3");
	check(rt_read(fd, buf, 4), 4, "read 4 after lseek");
	check(memcmp(buf, GUEST_TEXT + 8, 4), 0, "bytes at offset 8");
	check(rt_lseek(fd, 0, RT_SEEK_END), len, "lseek SEEK_END 0");
	check(rt_lseek(fd, -2, RT_SEEK_END), len - 2, "lseek SEEK_END -2");
	check(rt_lseek(fd, -100, RT_SEEK_SET), -RT_EINVAL, "lseek to a negative offset");
	check(rt_close(fd), 0, "close guest.txt (read)");

	fd = rt_open(in_dir("guest.txt"), RT_O_WRONLY | RT_O_APPEND, 0);
	check(fd >= 0, 1, "open guest.txt O_APPEND");
	check(rt_write(fd, APPENDED, strlen(APPENDED)), (int64_t)strlen(APPENDED), "append");
	check(rt_close(fd), 0, "close after append");
}

/* Buffers that cross page boundaries: the hypervisor translates page by page. */
static void big_buffers(void)
{
	uint8_t *out = big_out + PAGE - 100; /* 100 bytes before a boundary */
	uint8_t *in = big_in + PAGE - 7;
	for (int i = 0; i < BIG_LEN; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	int fd = rt_open(in_dir("big.bin"), RT_O_CREAT | RT_O_RDWR | RT_O_TRUNC, 0644);
	check(fd >= 0, 1, "open big.bin");
	check(rt_write(fd, out, 200), 200, "write across one page boundary");
	check(rt_write(fd, out + 200, BIG_LEN - 200), BIG_LEN - 200, "write of more than 3 pages");
	check(rt_lseek(fd, 0, RT_SEEK_SET), 0, "rewind big.bin");
	check(rt_read(fd, in, 2 * PAGE + 1000), 2 * PAGE + 1000, "read across pages");
	check(rt_read(fd, in + 2 * PAGE + 1000, PAGE), BIG_LEN - 2 * PAGE - 1000, "read the rest");
	check(memcmp(in, out, BIG_LEN), 0, "big.bin contents");
	check(rt_close(fd), 0, "close big.bin");
}

static void host_files(void)
{
	int fd = rt_open(in_dir("input.txt"), RT_O_RDONLY, 0);
	check(fd >= 0, 1, "open input.txt");
	int64_t n = rt_read(fd, buf, sizeof(buf) - 1);
	check(n > 0, 1, "read input.txt");
	buf[n > 0 ? n : 0] = '\0';
	rt_printf("input: %s", buf);
	check(rt_close(fd), 0, "close input.txt");

	check(rt_open(in_dir("does-not-exist"), RT_O_RDONLY, 0), -RT_ENOENT,
	      "open of a missing file");
	if (!rt_abi_has_unlink()) {
		rt_printf("files: no UNLINK in the %s ABI\n", rt_abi_name);
		return;
	}
	check(rt_unlink(in_dir("remove-me")), 0, "unlink remove-me");
	check(rt_unlink(in_dir("remove-me")), -RT_ENOENT, "unlink of a missing file");
}

int main(int argc, char **argv, char **envp)
{
	(void)argv, (void)envp;
	if (argc < 2) {
		rt_printf("usage: files <host directory>\n");
		return 2;
	}
	check_foreign_fds();
	write_and_read_back();
	big_buffers();
	host_files();
	if (failed)
		return 1;
	rt_printf("files: ok\n");
	return 0;
}
