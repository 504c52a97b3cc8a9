/* ckpt.c: the guest of the checkpoint, restore, migration and snapshot tests
 * (tests/integration/test_checkpoint.py, tests/gdb/test_gdb_snapshot.py).
 *
 *   ckpt ITERATIONS [GATE_PATH [OUT_PATH]]
 *
 * A deterministic computation whose result depends on all of guest memory that it
 * touched, so a restore that loses a page, a register or an open file shows:
 *   - a 4 MiB array: SAMPLES words of every page are filled, then each of ITERATIONS
 *     rounds reads and rewrites ROUND_OPS words picked by the running state, and the
 *     result hashes every sampled word (tests/integration/test_checkpoint.py has the
 *     same computation in Python and predicts every line);
 *   - "progress K 0x<state>" after round K, on stdout and into OUT_PATH;
 *   - after round ITERATIONS/2 it prints "gate" and, given GATE_PATH, polls
 *     open(GATE_PATH) until the file exists. Between two looks it writes one page of a
 *     scratch area (a different page each time, SCRATCH_PAGES in turn) with values
 *     derived from the number of looks so far, and busy-waits. So checkpoints taken
 *     while it waits differ (incremental ones carry pages), and at the end the guest
 *     checks that scratch matches its own count of looks ("scratch ok"): memory and
 *     registers restored from different moments do not;
 *   - with HERMIT_CPUS > 1 every other vCPU works on its own 64 KiB: half of its
 *     updates before the gate, then it waits halted (sti; hlt) until vCPU 0 has passed
 *     the gate and wakes it with an IPI, then the other half; vCPU 0 waits for every
 *     half before it prints "gate", so at a checkpoint taken at the gate the other
 *     vCPUs sleep in hlt with their work half done, and mixes their digests into the
 *     result ("ap N 0x<digest>");
 *   - OUT_PATH is opened (O_WRONLY|O_CREAT|O_TRUNC) before the first round, written
 *     after each round and at the end, closed at the end;
 *   - finally "result 0x<result>" and exit status 16 + (result & 31): odd and even,
 *     never 0, 1 (a refusal) or proxy's own statuses (119-123, 129+).
 * Failures print "ckpt: FAIL ..." and exit with an even status below 16.
 *
 * For the debugger: ckpt_round_done(r, state) runs after round r (ckpt_round = r then),
 * ckpt_at_gate() prints "gate" (ckpt_round = ITERATIONS/2), ckpt_wait_gate() polls.
 * Integer code only (-mgeneral-regs-only) and few instructions: on KVM-PVM ring-0
 * guest code is emulated, about 1 us per instruction.
 */
#include "rt.h"

#define PAGE_WORDS	512  /* 64-bit words in a 4 KiB page */
#define ARRAY_PAGES	1024 /* 4 MiB */
#define SAMPLES		4    /* words of each array page the computation uses */
#define SAMPLE_SPAN	(PAGE_WORDS / SAMPLES)
#define ROUND_OPS	512
#define SCRATCH_PAGES	64
#define SCRATCH_SAMPLES 8
#define SCRATCH_SPAN	(PAGE_WORDS / SCRATCH_SAMPLES)
#define AP_WORDS	(16 * PAGE_WORDS) /* each other vCPU's 64 KiB */
#define AP_OPS		1024		  /* updates per half */
#define BUSY_PAUSES	20000		  /* between two looks for the gate file */
#define MAX_ITERATIONS	100000
#define SEED		0x0123456789ABCDEFULL
#define AP_SEED		0xA5A5A5A55A5A5A5AULL
#define FNV_PRIME	0x100000001B3ULL
#define AP_WAIT_SPINS	(1ULL << 30)
#define AP_REWAKE_SPINS 65536

#define STATUS_USAGE   2
#define STATUS_SCRATCH 4
#define STATUS_AP      6
#define STATUS_OUT     8
#define STATUS_GATE    10
#define STATUS_BASE    16

/* The local APIC, for the wake-up IPI (xAPIC MMIO, as gdbtarget.c uses it). */
#define WAKE_VECTOR	 0x31
#define SPURIOUS_VECTOR	 0x3F
#define LAPIC_EOI	 0xB0
#define LAPIC_SVR	 0xF0
#define LAPIC_ICR_LOW	 0x300
#define LAPIC_ICR_HIGH	 0x310
#define LAPIC_SVR_ENABLE 0x100
#define ICR_PENDING	 (1u << 12)
#define ICR_ASSERT	 (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)

/* The debugger's view. */
volatile uint32_t ckpt_round; /* rounds finished */
volatile uint64_t ckpt_state; /* vCPU 0's running state after them */
volatile uint64_t ckpt_looks; /* looks for the gate file, once it was found */
void ckpt_round_done(uint32_t round, uint64_t state);
void ckpt_at_gate(void);
void ckpt_wait_gate(const char *path);

static uint64_t array[ARRAY_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));
static uint64_t scratch[SCRATCH_PAGES * PAGE_WORDS] __attribute__((aligned(4096)));
static uint64_t ap_area[RT_MAX_CPUS][AP_WORDS] __attribute__((aligned(4096)));
static volatile uint64_t ap_digest[RT_MAX_CPUS];
static volatile uint32_t ap_half_done[RT_MAX_CPUS];
static volatile uint32_t ap_done[RT_MAX_CPUS];
static volatile uint32_t lapic_ready;
static volatile uint32_t gate_open;
static int out_fd = -1;
static char line[160];

/* splitmix64's finalizer */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

/* ---- output: stdout, and the out file for the lines it keeps ---- */

static void say(int to_file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int to_file, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	rt_write(1, line, (uint64_t)n);
	if (to_file && out_fd >= 0) {
		int64_t w = rt_write(out_fd, line, (uint64_t)n);
		if (w != n) {
			rt_printf("ckpt: FAIL write of %d bytes to the out file returned %ld\n", n,
				  (long)w);
			rt_exit(STATUS_OUT);
		}
	}
}

/* ---- vCPU 0's computation on the 4 MiB array ---- */

static uint32_t sample_word(uint32_t page, uint32_t k)
{
	return page * PAGE_WORDS + k * SAMPLE_SPAN + ((page * 7 + k * 3) & (SAMPLE_SPAN - 1));
}

static void fill(void)
{
	for (uint32_t p = 0; p < ARRAY_PAGES; p++)
		for (uint32_t k = 0; k < SAMPLES; k++)
			array[sample_word(p, k)] = mix(p * SAMPLES + k);
}

static uint64_t run_round(uint64_t state, uint32_t round)
{
	for (uint32_t j = 0; j < ROUND_OPS; j++) {
		uint32_t p = (uint32_t)(state >> 11) & (ARRAY_PAGES - 1);
		uint32_t k = (uint32_t)(state >> 3) & (SAMPLES - 1);
		uint32_t w = sample_word(p, k);
		uint64_t v = array[w];
		state = mix(state ^ v ^ (((uint64_t)round << 32) | j));
		array[w] = v ^ state;
	}
	return state;
}

static uint64_t array_digest(uint64_t h)
{
	for (uint32_t p = 0; p < ARRAY_PAGES; p++)
		for (uint32_t k = 0; k < SAMPLES; k++)
			h = (h ^ array[sample_word(p, k)]) * FNV_PRIME;
	return h;
}

__attribute__((noinline)) void ckpt_round_done(uint32_t round, uint64_t state)
{
	say(1, "progress %u 0x%016lx\n", round, (unsigned long)state);
}

__attribute__((noinline)) void ckpt_at_gate(void)
{
	say(0, "gate\n");
}

/* ---- the gate: scratch pages and the wait ---- */

static uint64_t scratch_value(uint64_t look, uint32_t k)
{
	return mix(look * SCRATCH_SAMPLES + k);
}

static void scratch_write(uint64_t look)
{
	uint64_t *page = &scratch[(look % SCRATCH_PAGES) * PAGE_WORDS];
	for (uint32_t k = 0; k < SCRATCH_SAMPLES; k++)
		page[k * SCRATCH_SPAN] = scratch_value(look, k);
	page[PAGE_WORDS - 1] = look + 1; /* which look wrote the page last */
}

/* After `looks` looks, page p holds what the last look l < looks with l % PAGES == p
 * wrote, or zeros. */
static int scratch_check(uint64_t looks)
{
	for (uint32_t p = 0; p < SCRATCH_PAGES; p++) {
		const uint64_t *page = &scratch[p * PAGE_WORDS];
		int written = looks > p;
		uint64_t last = written ? p + (looks - 1 - p) / SCRATCH_PAGES * SCRATCH_PAGES : 0;
		uint64_t want = written ? last + 1 : 0;
		if (page[PAGE_WORDS - 1] != want) {
			rt_printf(
				"ckpt: FAIL scratch page %u was written by look %ld, expected %ld "
				"(of %lu)\n",
				p, (long)page[PAGE_WORDS - 1] - 1, (long)want - 1,
				(unsigned long)looks);
			return -1;
		}
		for (uint32_t k = 0; k < SCRATCH_SAMPLES; k++) {
			uint64_t v = written ? scratch_value(last, k) : 0;
			if (page[k * SCRATCH_SPAN] != v) {
				rt_printf("ckpt: FAIL scratch page %u word %u: 0x%lx, expected "
					  "0x%lx\n",
					  p, k * SCRATCH_SPAN,
					  (unsigned long)page[k * SCRATCH_SPAN], (unsigned long)v);
				return -1;
			}
		}
	}
	return 0;
}

static void busy_wait(void)
{
	for (uint32_t i = 0; i < BUSY_PAUSES; i++)
		rt_pause();
}

__attribute__((noinline)) void ckpt_wait_gate(const char *path)
{
	uint64_t looks = 0; /* in a register: restored with the vCPU, scratch with memory */
	for (;;) {
		int fd = rt_open(path, RT_O_RDONLY, 0);
		if (fd >= 0) {
			rt_close(fd);
			break;
		}
		if (fd != -RT_ENOENT) {
			rt_printf("ckpt: FAIL open(%s) = %d (is its directory mounted?)\n", path,
				  fd);
			rt_exit(STATUS_GATE);
		}
		scratch_write(looks);
		looks++;
		busy_wait();
	}
	ckpt_looks = looks;
}

/* ---- the other vCPUs ---- */

static volatile uint32_t *lapic(unsigned reg)
{
	return (volatile uint32_t *)(uintptr_t)(HERMIT_LAPIC_ADDR + reg);
}

static void on_wake(struct rt_trap_frame *f)
{
	(void)f;
	*lapic(LAPIC_EOI) = 0;
}

static void on_spurious(struct rt_trap_frame *f)
{
	(void)f; /* no EOI for a spurious interrupt */
}

/* vCPU 0, before any other vCPU needs it: map the LAPIC, the handlers, enable it. */
static void lapic_setup(void)
{
	if (rt_map_identity_flags(HERMIT_LAPIC_ADDR, 0x1000, RT_MAP_UNCACHED)) {
		rt_printf("ckpt: FAIL cannot map the local APIC\n");
		rt_exit(STATUS_AP);
	}
	rt_set_trap_handler(WAKE_VECTOR, on_wake);
	rt_set_trap_handler(SPURIOUS_VECTOR, on_spurious);
	*lapic(LAPIC_SVR) = LAPIC_SVR_ENABLE | SPURIOUS_VECTOR;
	__atomic_store_n(&lapic_ready, 1, __ATOMIC_RELEASE);
}

static void wake_aps(void)
{
	*lapic(LAPIC_ICR_HIGH) = 0;
	*lapic(LAPIC_ICR_LOW) = WAKE_VECTOR | ICR_ASSERT | ICR_ALL_BUT_SELF;
	for (int i = 0; i < 1000 && (*lapic(LAPIC_ICR_LOW) & ICR_PENDING); i++)
		rt_pause();
}

/* Sleep until vCPU 0 opened the gate: checking with interrupts off, then sti; hlt
 * (the interrupt shadow of sti makes the wake-up IPI land in the hlt, never between
 * the check and it). Returns with interrupts off. */
static void ap_sleep_until_gate_open(void)
{
	for (;;) {
		__asm__ volatile("cli" : : : "memory");
		if (__atomic_load_n(&gate_open, __ATOMIC_ACQUIRE))
			return;
		__asm__ volatile("sti; hlt" : : : "memory");
	}
}

static uint64_t ap_ops(uint64_t *area, uint64_t s, uint32_t from, uint32_t to)
{
	for (uint32_t j = from; j < to; j++) {
		uint32_t w = (uint32_t)(s >> 7) & (AP_WORDS - 1);
		uint64_t v = area[w];
		s = mix(s ^ v ^ j);
		area[w] = v + s;
	}
	return s;
}

void ap_main(uint32_t id)
{
	if (id == 0 || id >= RT_MAX_CPUS)
		return;
	uint64_t *area = ap_area[id];
	uint64_t s = ap_ops(area, mix(AP_SEED ^ id), 0, AP_OPS);
	while (!__atomic_load_n(&lapic_ready, __ATOMIC_ACQUIRE))
		rt_pause();
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory"); /* new map */
	*lapic(LAPIC_SVR) = LAPIC_SVR_ENABLE | SPURIOUS_VECTOR;
	__atomic_store_n(&ap_half_done[id], 1, __ATOMIC_RELEASE);
	ap_sleep_until_gate_open();
	s = ap_ops(area, s, AP_OPS, 2 * AP_OPS);
	uint64_t h = s;
	for (uint32_t w = 0; w < AP_WORDS; w++)
		h = (h ^ area[w]) * FNV_PRIME;
	ap_digest[id] = h;
	__atomic_store_n(&ap_done[id], 1, __ATOMIC_RELEASE);
	/* the runtime halts this vCPU */
}

static void wait_for_ap_halves(uint32_t cpus)
{
	for (uint32_t id = 1; id < cpus; id++)
		while (!__atomic_load_n(&ap_half_done[id], __ATOMIC_ACQUIRE))
			rt_pause();
}

static uint64_t collect_aps(uint32_t cpus, uint64_t result)
{
	for (uint32_t id = 1; id < cpus; id++) {
		for (uint64_t spins = 1; !__atomic_load_n(&ap_done[id], __ATOMIC_ACQUIRE);
		     spins++) {
			if (spins % AP_REWAKE_SPINS == 0)
				wake_aps();
			if (spins == AP_WAIT_SPINS) {
				rt_printf("ckpt: FAIL vCPU %u never finished its second half\n",
					  id);
				rt_exit(STATUS_AP);
			}
			rt_pause();
		}
		result = mix(result ^ ap_digest[id]);
		say(0, "ap %u 0x%016lx\n", id, (unsigned long)ap_digest[id]);
	}
	return result;
}

/* ---- main ---- */

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	int64_t n;
	if (argc < 2 || rt_parse_int(argv[1], &n) || n < 2 || n > MAX_ITERATIONS) {
		rt_printf("usage: ckpt ITERATIONS [GATE_PATH [OUT_PATH]] (ITERATIONS: 2..%d)\n",
			  MAX_ITERATIONS);
		return STATUS_USAGE;
	}
	const uint32_t iterations = (uint32_t)n, half = iterations / 2, cpus = rt_cpu_count();
	const char *gate = argc > 2 ? argv[2] : NULL;
	const char *out = argc > 3 ? argv[3] : NULL;
	if (out) {
		out_fd = rt_open(out, RT_O_WRONLY | RT_O_CREAT | RT_O_TRUNC, 0644);
		if (out_fd < 0) {
			rt_printf("ckpt: FAIL open(%s) for writing = %d\n", out, out_fd);
			return STATUS_OUT;
		}
	}
	if (cpus > 1)
		lapic_setup();
	say(0, "ckpt: start iterations=%u cpus=%u\n", iterations, cpus);
	fill();
	uint64_t state = SEED ^ iterations;
	for (uint32_t r = 1; r <= iterations; r++) {
		state = run_round(state, r);
		ckpt_state = state;
		ckpt_round = r;
		ckpt_round_done(r, state);
		if (r != half)
			continue;
		wait_for_ap_halves(cpus);
		ckpt_at_gate();
		if (gate)
			ckpt_wait_gate(gate);
		__atomic_store_n(&gate_open, 1, __ATOMIC_RELEASE);
		if (cpus > 1)
			wake_aps();
	}
	uint64_t result = collect_aps(cpus, mix(array_digest(state)));
	if (scratch_check(ckpt_looks))
		return STATUS_SCRATCH;
	say(0, "scratch ok\n");
	say(1, "result 0x%016lx\n", (unsigned long)result);
	if (out_fd >= 0) {
		int rc = rt_close(out_fd);
		if (rc) {
			rt_printf("ckpt: FAIL close of the out file = %d\n", rc);
			return STATUS_OUT;
		}
	}
	return STATUS_BASE + (int)(result & 31);
}
