/* bench_hcall.c: hypercall round trip: n small WRITE hypercalls to a null sink.
 *
 * Arguments: path=FILE (default /dev/null, opened on the host through OPEN),
 * n=COUNT (default 100000), size=BYTES per write (default 1), loop=rt|tight.
 *   rt     rt_write() per call: what a guest's libc pays, ~25 guest instructions
 *   tight  `out; dec; jnz` on one prepared struct: the hypervisor's own cost, next
 *          to the floor program's `out; jmp` (guest instructions are not free on
 *          PVM, where ring 0 is emulated)
 * Reports "hcall: loop=... n=... cycles=... mhz=..." on stdout; every write
 * must return size (tight: the struct's len, which each WRITE rewrites).
 */
#include "../../bench/bench_guest.h"

static char payload[64];

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	const char *path = bench_arg_str("path", "/dev/null");
	int64_t n = bench_arg_int("n", 100000);
	int64_t size = bench_arg_int("size", 1);
	if (n < 0 || size < 0 || size > (int64_t)sizeof(payload)) {
		rt_printf("hcall: need n >= 0 and 0 <= size <= %d\n", (int)sizeof(payload));
		return 2;
	}
	int fd = rt_open(path, RT_O_WRONLY, 0);
	if (fd < 0) {
		rt_printf("hcall: open %s: %d\n", path, fd);
		return 1;
	}
	const char *loop = bench_arg_str("loop", "rt");
	int64_t bad = 0;
	uint64_t t0 = bench_tsc(), t1;
	if (!strcmp(loop, "tight")) {
		volatile struct hermit_write a = {
			.fd = fd, .buf = (uint64_t)(uintptr_t)payload, .len = (uint64_t)size};
		if (n > 0) {
			uint64_t count = (uint64_t)n;
			__asm__ volatile("1: outl %%eax, %%dx\n\tdec %%rcx\n\tjnz 1b"
					 : "+c"(count)
					 : "a"((uint32_t)(uintptr_t)&a), "d"(HERMIT_PORT_WRITE)
					 : "memory");
		}
		t1 = bench_tsc();
		bad = n > 0 && a.len != (uint64_t)size;
	} else {
		for (int64_t i = 0; i < n; i++)
			bad += rt_write(fd, payload, (uint64_t)size) != size;
		t1 = bench_tsc();
	}
	rt_close(fd);
	if (bad) {
		rt_printf("hcall: FAIL %ld of %ld writes returned a short count\n", (long)bad,
			  (long)n);
		return 1;
	}
	rt_printf("hcall: loop=%s n=%ld cycles=%lu mhz=%u\n", loop, (long)n,
		  (unsigned long)(t1 - t0), bench_mhz());
	return 0;
}
