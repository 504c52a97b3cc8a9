/* bench_file.c: file I/O throughput with large READ and WRITE hypercalls.
 *
 * Arguments: in=FILE out=FILE [chunk=BYTES, default and maximum 1 MiB]. Pass 1
 * reads all of in; pass 2 reads it again and writes each chunk to out (created,
 * truncated). Every call must return a full chunk until the end of the file and
 * both passes must see the same size. Reports
 * "file: bytes=... read_cycles=... copy_cycles=... write_cycles=... mhz=...".
 * The buffer is .bss: guest RAM starts zero, so it costs nothing until used.
 */
#include "../../bench/bench_guest.h"

#define MAX_CHUNK (1 << 20)
static uint8_t buf[MAX_CHUNK] __attribute__((aligned(4096)));

static int64_t read_all(int fd, int64_t chunk)
{
	int64_t total = 0, n;
	while ((n = rt_read(fd, buf, (uint64_t)chunk)) > 0)
		total += n;
	return n < 0 ? n : total;
}

static int64_t copy_all(int in, int out, int64_t chunk, uint64_t *write_cycles)
{
	int64_t total = 0, n;
	while ((n = rt_read(in, buf, (uint64_t)chunk)) > 0) {
		uint64_t t = bench_tsc();
		int64_t w = rt_write(out, buf, (uint64_t)n);
		*write_cycles += bench_tsc() - t;
		if (w != n) {
			rt_printf("file: FAIL write of %ld returned %ld\n", (long)n, (long)w);
			return -1;
		}
		total += n;
	}
	return n < 0 ? n : total;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	const char *in_path = rt_arg_value("in"), *out_path = rt_arg_value("out");
	int64_t chunk = bench_arg_int("chunk", MAX_CHUNK);
	if (!in_path || !out_path || chunk <= 0 || chunk > MAX_CHUNK) {
		rt_printf("usage: bench_file in=FILE out=FILE [chunk=N <= %d]\n", MAX_CHUNK);
		return 2;
	}
	int in = rt_open(in_path, RT_O_RDONLY, 0);
	int out = rt_open(out_path, RT_O_CREAT | RT_O_WRONLY | RT_O_TRUNC, 0644);
	if (in < 0 || out < 0) {
		rt_printf("file: FAIL open: in %d out %d\n", in, out);
		return 1;
	}
	uint64_t t0 = bench_tsc();
	int64_t first = read_all(in, chunk);
	uint64_t t1 = bench_tsc();
	if (rt_lseek(in, 0, RT_SEEK_SET) != 0) {
		rt_printf("file: FAIL rewind\n");
		return 1;
	}
	uint64_t write_cycles = 0;
	uint64_t t2 = bench_tsc();
	int64_t second = copy_all(in, out, chunk, &write_cycles);
	uint64_t t3 = bench_tsc();
	if (first <= 0 || second != first) {
		rt_printf("file: FAIL read %ld then copied %ld bytes\n", (long)first, (long)second);
		return 1;
	}
	rt_close(in);
	rt_close(out);
	rt_printf("file: bytes=%ld read_cycles=%lu copy_cycles=%lu write_cycles=%lu mhz=%u\n",
		  (long)first, (unsigned long)(t1 - t0), (unsigned long)(t3 - t2),
		  (unsigned long)write_cycles, bench_mhz());
	return 0;
}
