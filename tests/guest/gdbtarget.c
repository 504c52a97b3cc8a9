/* gdbtarget.c: the guest the GDB tests debug (built with -O0 -g so next/step/finish
 * follow the source).
 *
 * Known shapes for the debugger: a call chain main → compute → leaf, globals of
 * simple, struct and page-crossing array types, and optional modes chosen by
 * arguments (any order):
 *   N        run the counting loop N times (default 3)
 *   spin     wait in spin_until_flag() until the debugger sets release_flag (on
 *            every vCPU: the other CPUs after ap_work)
 *   int3     execute an INT3 in hit_int3() (the guest's #BP handler counts it)
 *   timer    LAPIC periodic timer on TIMER_VECTOR during the loop
 * With HERMIT_CPUS > 1 every other CPU runs ap_work(id). Exit status 0.
 */
#include "rt.h"

#define DEFAULT_LOOPS	    3
#define MAX_LOOPS	    5000
#define AP_ITERATIONS	    1000
#define VECTOR_BP	    3
#define TIMER_VECTOR	    0x30
#define SPURIOUS_VECTOR	    0x3F
#define LAPIC_SVR	    0xF0
#define LAPIC_EOI	    0xB0
#define LAPIC_LVT_TIMER	    0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE  0x3E0
#define LAPIC_SVR_ENABLE    0x100
#define LVT_PERIODIC	    (1u << 17)
#define LVT_MASKED	    (1u << 16)
#define TIMER_DIVIDE_BY_16  0x3
#define TIMER_COUNT	    62500 /* x16 at KVM's 1 GHz APIC clock: a 1 ms period */
#define MAX_TIMER_WAITS	    1000

struct point {
	int x, y;
};

volatile int counter;
struct point origin = {3, 4};
volatile int release_flag;
volatile int bp_hits;
volatile int timer_ticks;
volatile int ap_counter[RT_MAX_CPUS];
volatile int aps_done;
/* Two pages, page-aligned: page_span[4095] and [4096] lie on different pages. */
char page_span[8192] __attribute__((aligned(4096))) = {
	[0] = (char)0xA5, [4094] = 0x11, 0x22, 0x33, 0x44, [8191] = 0x5A};

int leaf(int x);
int compute(int x);
void spin_until_flag(void);
void hit_int3(void);
void ap_work(uint32_t id);

int leaf(int x)
{
	int doubled = x * 2;
	return doubled / 2 + 1;
}

int compute(int x)
{
	int y = leaf(x);
	return y;
}

void spin_until_flag(void)
{
	while (release_flag == 0)
		rt_pause();
}

static void on_breakpoint(struct rt_trap_frame *f)
{
	(void)f;
	bp_hits++;
}

void hit_int3(void)
{
	__asm__ volatile("int3" : : : "memory");
}

static volatile uint32_t *lapic(unsigned reg)
{
	return (volatile uint32_t *)(uintptr_t)(HERMIT_LAPIC_ADDR + reg);
}

static void on_timer(struct rt_trap_frame *f)
{
	(void)f;
	timer_ticks++;
	*lapic(LAPIC_EOI) = 0;
}

static void on_spurious(struct rt_trap_frame *f)
{
	(void)f; /* no EOI for spurious interrupts */
}

static void timer_start(void)
{
	rt_map_identity_flags(HERMIT_LAPIC_ADDR, 0x1000, RT_MAP_UNCACHED);
	rt_set_trap_handler(TIMER_VECTOR, on_timer);
	rt_set_trap_handler(SPURIOUS_VECTOR, on_spurious);
	*lapic(LAPIC_SVR) = LAPIC_SVR_ENABLE | SPURIOUS_VECTOR;
	*lapic(LAPIC_TIMER_DIVIDE) = TIMER_DIVIDE_BY_16;
	*lapic(LAPIC_LVT_TIMER) = TIMER_VECTOR | LVT_PERIODIC;
	*lapic(LAPIC_TIMER_INITIAL) = TIMER_COUNT;
	__asm__ volatile("sti" : : : "memory");
	/* Wait for the first tick so the loop below surely runs with a live timer. */
	for (int i = 0; i < MAX_TIMER_WAITS && timer_ticks == 0; i++)
		__asm__ volatile("hlt" : : : "memory");
}

static void timer_stop(void)
{
	__asm__ volatile("cli" : : : "memory");
	*lapic(LAPIC_LVT_TIMER) = LVT_MASKED;
	*lapic(LAPIC_TIMER_INITIAL) = 0;
}

void ap_work(uint32_t id)
{
	for (int i = 0; i < AP_ITERATIONS; i++)
		ap_counter[id]++;
	__atomic_add_fetch(&aps_done, 1, __ATOMIC_SEQ_CST);
}

void ap_main(uint32_t id)
{
	ap_work(id);
	if (rt_has_arg("spin")) /* a debugger attaching finds every vCPU busy */
		spin_until_flag();
	/* then the runtime halts this CPU */
}

static int loop_count(void)
{
	for (int i = 1; i < rt_argc; i++) {
		int64_t n;
		if (!rt_parse_int(rt_argv[i], &n) && n >= 0 && n <= MAX_LOOPS)
			return (int)n;
	}
	return DEFAULT_LOOPS;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	int loops = loop_count();
	int timer = rt_has_arg("timer");
	rt_printf("gdbtarget: start loops=%d cpus=%u\n", loops, rt_cpu_count());
	if (rt_has_arg("spin"))
		spin_until_flag();
	if (rt_has_arg("int3")) {
		rt_set_trap_handler(VECTOR_BP, on_breakpoint);
		hit_int3();
	}
	if (timer)
		timer_start();
	for (int i = 0; i < loops; i++)
		counter = compute(counter);
	if (timer)
		timer_stop();
	for (int i = 0; i < 100000 && aps_done < (int)rt_cpu_count() - 1; i++)
		rt_pause();
	for (uint32_t id = 1; id < rt_cpu_count(); id++)
		rt_printf("gdbtarget: ap_counter[%u]=%d\n", id, ap_counter[id]);
	if (timer)
		rt_printf("gdbtarget: timer_ticks=%d\n", timer_ticks);
	if (bp_hits)
		rt_printf("gdbtarget: bp_hits=%d\n", bp_hits);
	rt_printf("gdbtarget: counter=%d origin=(%d,%d)\n", counter, origin.x, origin.y);
	return 0;
}
