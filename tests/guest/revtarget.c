/* revtarget.c: the guest of the reverse-execution tests (tests/gdb/test_reverse.py),
 * built -O0 -g. General registers only.
 *
 * In order: a known sequence in a loop (seq[i] = 3 * seq[i-1] + 1), the global
 * `shared` written from two places (write_first, write_second), a page fault its
 * handler skips, privileged instructions (mov cr3, wrmsr FS_BASE, lidt), the file
 * argv[1] read into `filebuf` by hypercalls, then all_done(). With HERMIT_CPUS > 1
 * every other CPU counts in ap_counter until main is done. Prints what it saw, exits 0.
 * With the argument bench=N (scripts/bench, group record) it first runs bench_tight
 * (N iterations of register arithmetic), bench_mem (N stores spread over 64 KiB)
 * and bench_end.
 */
#include "rt.h"

#define SEQ_LEN	    16
#define VECTOR_PF   14
#define MSR_FS_BASE 0xC0000100
#define UNMAPPED    0x700000000000ULL

volatile uint64_t seq[SEQ_LEN];
volatile int shared;
volatile int pf_count;
volatile uint64_t ap_counter;
volatile int finished;
char filebuf[64];
volatile uint64_t bench_sink;
uint32_t bench_area[16384];

void write_first(int v);
void write_second(int v);
uint64_t next_value(uint64_t x);
void privileged(void);
void all_done(void);
void bench_tight(int64_t n);
void bench_mem(int64_t n);
void bench_end(void);

uint64_t next_value(uint64_t x)
{
	return 3 * x + 1;
}

void write_first(int v)
{
	shared = v;
}

void write_second(int v)
{
	shared = v * 10;
}

/* The faulting load below is `mov (%rbx), %eax`: two bytes to skip. */
static void on_page_fault(struct rt_trap_frame *f)
{
	pf_count++;
	f->rip += 2;
}

static void take_page_fault(void)
{
	uint64_t addr = UNMAPPED;
	uint32_t value;
	__asm__ volatile(".byte 0x8b, 0x03" : "=a"(value) : "b"(addr) : "memory");
	(void)value;
}

void privileged(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	__asm__ volatile("wrmsr" : : "c"(MSR_FS_BASE), "a"(0x12345678u), "d"(0u));
	rt_trap_load(); /* lidt */
}

void all_done(void)
{
}

void bench_tight(int64_t n)
{
	uint64_t a = 1, b = 2;
	for (int64_t i = 0; i < n; i++) {
		a = a * 5 + b;
		b ^= a >> 3;
	}
	bench_sink = a + b;
}

void bench_mem(int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		bench_area[(i * 67) % 16384] += (uint32_t)i;
}

void bench_end(void)
{
}

void ap_main(uint32_t id)
{
	(void)id;
	while (!finished)
		ap_counter++;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	uint64_t x = 1;
	int64_t n;
	const char *bench = rt_arg_value("bench");
	if (bench && rt_parse_int(bench, &n) == 0) {
		bench_tight(n);
		bench_mem(n);
		bench_end();
	}
	for (int i = 0; i < SEQ_LEN; i++) {
		x = next_value(x);
		seq[i] = x;
	}
	write_first(7);
	write_second(5);
	rt_set_trap_handler(VECTOR_PF, on_page_fault);
	take_page_fault();
	privileged();
	if (argc > 1 && !bench) {
		int fd = rt_open(argv[1], RT_O_RDONLY, 0);
		if (fd >= 0) {
			rt_read(fd, filebuf, sizeof(filebuf) - 1);
			rt_close(fd);
		}
	}
	all_done();
	finished = 1;
	rt_printf("revtarget: seq15=%lu shared=%d pf=%d file=%s\n", (unsigned long)seq[SEQ_LEN - 1],
		  shared, pf_count, filebuf);
	return 0;
}
