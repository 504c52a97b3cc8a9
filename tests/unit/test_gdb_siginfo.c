/* test_gdb_siginfo.c: $_siginfo of a guest fault: the signal and fields the debugger
 * derives from what the core recorded (debug_fault_siginfo), and the 128-byte Linux
 * x86-64 siginfo_t GDB reads through qXfer:siginfo:read (gdb_siginfo_layout). */
#include "debug_internal.h"
#include "gdb_session.h"
#include "log.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static struct gdb_siginfo siginfo_of(int status, int vector, uint32_t error)
{
	struct vcpu_fault f = {.valid = true,
			       .status = status,
			       .rip = 0x200108,
			       .cr2 = 0xbadc0de0008,
			       .addr = 0x200108};
	if (vector >= 0)
		f.exception = (struct vcpu_exception){.valid = true,
						      .vector = (uint8_t)vector,
						      .has_error_code = error != 0,
						      .error_code = error};
	struct gdb_siginfo si;
	debug_fault_siginfo(&f, &si);
	return si;
}

static void test_signals_by_vector(void)
{
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 14, 2).signal, 11);	/* #PF: SIGSEGV */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 6, 0).signal, 4);	/* #UD: SIGILL */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 0, 0).signal, 8);	/* #DE: SIGFPE */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 13, 0x10).signal, 11); /* #GP: SIGSEGV */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, 17, 0).signal, 10);	/* #AC: GDB's SIGBUS */
	/* No exception known: by status. */
	CHECK_EQ(siginfo_of(STATUS_TRIPLE_FAULT, -1, 0).signal, 11);
	CHECK_EQ(siginfo_of(STATUS_UNHANDLED_IO, -1, 0).signal, 10);
	CHECK_EQ(siginfo_of(STATUS_INTERNAL_ERROR, -1, 0).signal, 4);
}

static void test_fields(void)
{
	struct gdb_siginfo pf = siginfo_of(STATUS_TRIPLE_FAULT, 14, 2);
	CHECK_EQ(pf.code, 14);
	CHECK_EQ(pf.error, 2);
	CHECK_EQ(pf.addr, 0xbadc0de0008ULL); /* CR2 */
	struct gdb_siginfo gp = siginfo_of(STATUS_INTERNAL_ERROR, 13, 0x18);
	CHECK_EQ(gp.code, 13);
	CHECK_EQ(gp.error, 0x18);
	CHECK_EQ(gp.addr, 0x200108ULL); /* RIP: CR2 says nothing about a #GP */
	struct gdb_siginfo tf = siginfo_of(STATUS_TRIPLE_FAULT, -1, 0);
	CHECK_EQ(tf.code, GDB_SI_KERNEL);
	CHECK_EQ(tf.error, 0);
	CHECK_EQ(tf.addr, 0xbadc0de0008ULL); /* the last page fault's address */
	struct gdb_siginfo io = siginfo_of(STATUS_UNHANDLED_IO, -1, 0);
	CHECK_EQ(io.code, GDB_SI_KERNEL);
	CHECK_EQ(io.addr, 0x200108ULL);
}

static void test_layout(void)
{
	uint8_t b[128];
	memset(b, 0xAA, sizeof(b));
	struct gdb_siginfo si = {.signal = 10, .code = 14, .error = 3, .addr = 0x1122334455667788};
	gdb_siginfo_layout(&si, b);
	CHECK_EQ(le(b, 4), 7u);				/* si_signo: Linux's SIGBUS, not GDB's 10 */
	CHECK_EQ(le(b + 4, 4), 3u);			/* si_errno: the error code */
	CHECK_EQ(le(b + 8, 4), 14u);			/* si_code: the vector */
	CHECK_EQ(le(b + 12, 4), 0u);			/* padding before the union */
	CHECK_EQ(le(b + 16, 8), 0x1122334455667788ULL); /* _sigfault.si_addr */
	int rest = 0;
	for (size_t i = 24; i < sizeof(b); i++)
		rest |= b[i];
	CHECK_EQ(rest, 0);
	si.signal = 11;
	gdb_siginfo_layout(&si, b);
	CHECK_EQ(le(b, 4), 11u);
}

int main(void)
{
	test_signals_by_vector();
	test_fields();
	test_layout();
	return unit_report();
}
