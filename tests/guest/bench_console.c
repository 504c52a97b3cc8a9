/* bench_console.c: console throughput, through WRITE to stdout or the UART port.
 *
 * Arguments: mode=write|uart|uart-plain, bytes=N (default 1 MiB), chunk=N for
 * mode=write (default 4096), report=FD where the result line goes (default 1;
 * the runner sends the measured stream to /dev/null and reads the other one).
 *   write       WRITE hypercalls of chunk bytes to fd 1
 *   uart        outb per byte to boot_info->uartport (HERMIT_VERBOSE=1; 0 = fail)
 *   uart-plain  outb per byte to port 0x800 while the log is off: proxy does not
 *               coalesce then, so this is the one-exit-per-byte path
 * The text is lines of 64 bytes. Reports "console: mode=... bytes=... cycles=... mhz=...".
 */
#include "../../bench/bench_guest.h"

#define LINE 64
static char text[4096];

static void fill_text(void)
{
	for (unsigned i = 0; i < sizeof(text); i++)
		text[i] = (i % LINE == LINE - 1) ? '\n' : (char)('a' + i % 26);
}

static int by_write(int64_t bytes, int64_t chunk)
{
	for (int64_t done = 0; done < bytes; done += chunk) {
		int64_t len = bytes - done < chunk ? bytes - done : chunk;
		int64_t got = rt_write(1, text, (uint64_t)len);
		if (got != len) {
			rt_dprintf(2, "console: FAIL write of %ld returned %ld\n", (long)len,
				   (long)got);
			return 1;
		}
	}
	return 0;
}

static void by_outb(uint16_t port, int64_t bytes)
{
	for (int64_t i = 0; i < bytes; i++)
		rt_outb(port, (uint8_t)text[i & (sizeof(text) - 1)]);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	const char *mode = bench_arg_str("mode", "write");
	int64_t bytes = bench_arg_int("bytes", 1 << 20);
	int64_t chunk = bench_arg_int("chunk", 4096);
	int report = (int)bench_arg_int("report", 1);
	if (bytes < 0 || chunk <= 0 || chunk > (int64_t)sizeof(text)) {
		rt_dprintf(report, "console: need bytes >= 0 and 0 < chunk <= %d\n",
			   (int)sizeof(text));
		return 2;
	}
	fill_text();
	uint64_t t0 = bench_tsc();
	if (!strcmp(mode, "write")) {
		if (by_write(bytes, chunk))
			return 1;
	} else if (!strcmp(mode, "uart")) {
		if (!rt_boot_info->uartport) {
			rt_dprintf(report,
				   "console: FAIL uartport is 0 (run with HERMIT_VERBOSE=1)\n");
			return 1;
		}
		by_outb(rt_boot_info->uartport, bytes);
	} else if (!strcmp(mode, "uart-plain")) {
		if (rt_boot_info->uartport) {
			rt_dprintf(report, "console: FAIL uart-plain wants the log off\n");
			return 1;
		}
		by_outb(HERMIT_PORT_UART, bytes);
	} else {
		rt_dprintf(report, "console: unknown mode %s\n", mode);
		return 2;
	}
	uint64_t t1 = bench_tsc();
	rt_dprintf(report, "console: mode=%s bytes=%ld cycles=%lu mhz=%u\n", mode, (long)bytes,
		   (unsigned long)(t1 - t0), bench_mhz());
	return 0;
}
