/* unit.h: a minimal assertion kit for proxy's C unit tests.
 *
 * Each CHECK counts a pass or prints the failing expression with its location and
 * counts a failure; the test goes on, so one run shows every failure. A test's main()
 * ends with `return unit_report();`, which prints "N passed, N failed" and returns
 * non-zero if anything failed.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_counts {
	int passed;
	int failed;
};

/* One instance per test binary (each test is a single .c file). */
static struct unit_counts unit_counts __attribute__((unused));

static inline void unit_result(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		unit_counts.passed++;
		return;
	}
	unit_counts.failed++;
	fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
}

#define CHECK(cond) unit_result(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                      \
		unit_result(unit_a_ == unit_b_, __FILE__, __LINE__, #a " == " #b);                 \
		if (unit_a_ != unit_b_)                                                            \
			fprintf(stderr, "    got %lld, want %lld\n", unit_a_, unit_b_);            \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *unit_a_ = (a), *unit_b_ = (b);                                         \
		int unit_ok_ = unit_a_ && unit_b_ && strcmp(unit_a_, unit_b_) == 0;                \
		unit_result(unit_ok_, __FILE__, __LINE__, #a " == " #b);                           \
		if (!unit_ok_)                                                                     \
			fprintf(stderr, "    got \"%s\", want \"%s\"\n",                           \
				unit_a_ ? unit_a_ : "(null)", unit_b_ ? unit_b_ : "(null)");       \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                         \
	unit_result(memcmp((a), (b), (n)) == 0, __FILE__, __LINE__,                                \
		    "memcmp(" #a ", " #b ", " #n ") == 0")

static inline int unit_report(void)
{
	printf("%d passed, %d failed\n", unit_counts.passed, unit_counts.failed);
	return unit_counts.failed ? 1 : 0;
}

#endif
