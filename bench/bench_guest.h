/* bench_guest.h: helpers shared by the benchmark guests (tests/guest/bench_*.c).
 *
 * A benchmark guest takes its parameters as key=value arguments, times its own
 * loop with the TSC (boot excluded), checks every result, and reports one line
 * "<name>: key=value ..." that scripts/bench parses. Exit status 0 only if every
 * operation returned what it should.
 */
#ifndef BENCH_GUEST_H
#define BENCH_GUEST_H

#include "rt.h"

static inline uint64_t bench_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* TSC MHz as proxy measured it (boot_info->cpu_freq). */
static inline uint32_t bench_mhz(void)
{
	return rt_boot_info->cpu_freq;
}

/* Integer argument key=N, or def when absent; exits 2 on a malformed value. */
static inline int64_t bench_arg_int(const char *key, int64_t def)
{
	const char *s = rt_arg_value(key);
	int64_t v;
	if (!s)
		return def;
	if (rt_parse_int(s, &v)) {
		rt_printf("bench: bad value for %s: %s\n", key, s);
		rt_exit(2);
	}
	return v;
}

static inline const char *bench_arg_str(const char *key, const char *def)
{
	const char *s = rt_arg_value(key);
	return s ? s : def;
}

#endif
