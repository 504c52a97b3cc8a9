/* test_record_log.c: the reverse-execution log (record_log.c): page diff, entry
 * format, undo/redo, the bounded ring. */
#include <stdlib.h>

#include "record_log.h"
#include "unit.h"

#define MEM 8192

struct fake {
	uint8_t mem[MEM];
	uint64_t regs[2][REC_NREGS];
};

static void fake_xor_reg(void *arg, uint32_t cpu, unsigned id, uint64_t diff)
{
	struct fake *f = arg;
	f->regs[cpu][id] ^= diff;
}

static void fake_xor_mem(void *arg, uint64_t off, const uint8_t *diff, uint32_t len)
{
	struct fake *f = arg;
	for (uint32_t i = 0; i < len; i++)
		f->mem[off + i] ^= diff[i];
}

/* Only the differing bytes are kept; the shadow follows the page. */
static void test_diff(void)
{
	static uint8_t shadow[4096], page[4096];
	struct rec_builder b = {0};
	memset(shadow, 0x11, sizeof(shadow));
	memcpy(page, shadow, sizeof(page));
	rec_builder_begin(&b, 0);
	CHECK_EQ(rec_diff_page(&b, 4096, shadow, page, 4096), 0);
	CHECK_EQ(b.nruns, 0);
	page[10] = 0x22;
	page[13] = 0x23;   /* close to the first: one run 10..13 */
	page[4000] = 0x24; /* far: a second run */
	CHECK_EQ(rec_diff_page(&b, 4096, shadow, page, 4096), 3);
	CHECK_EQ(b.nruns, 2);
	CHECK_EQ(b.changed_bytes, 3);
	CHECK(memcmp(shadow, page, 4096) == 0);
	struct rec_entry *e = rec_builder_finish(&b);
	CHECK(e != NULL);
	CHECK(rec_entry_touches(e, 4096 + 10, 1));
	CHECK(rec_entry_touches(e, 4096 + 4000, 1));
	CHECK(!rec_entry_touches(e, 4096 + 11, 2)); /* inside the run, unchanged bytes */
	CHECK(!rec_entry_touches(e, 10, 1));
	/* Header 12, two runs of 12 + 4 and 12 + 1 bytes: 41. */
	CHECK_EQ(e->size, 41);
	free(e);
	rec_builder_free(&b);
}

/* An entry undone and redone gives back the registers and bytes of both sides. */
static void test_apply(void)
{
	static struct fake f;
	static uint8_t shadow[MEM];
	uint64_t old[REC_NREGS] = {0}, cur[REC_NREGS] = {0};
	struct rec_builder b = {0};
	memset(&f, 0, sizeof(f));
	f.regs[1][REC_RIP] = 0x1003; /* the state after the instruction */
	f.regs[1][REC_CR3] = 0x5000;
	cur[REC_RIP] = 0x1003;
	old[REC_RIP] = 0x1000;
	cur[REC_CR3] = 0x5000;
	rec_builder_begin(&b, 1);
	rec_diff_regs(&b, old, cur);
	CHECK_EQ(b.nregs, 2);
	f.mem[100] = 0xAA; /* the "instruction" wrote 0xAA over 0 */
	rec_diff_page(&b, 0, shadow, f.mem, MEM);
	struct rec_entry *e = rec_builder_finish(&b);
	CHECK_EQ(e->cpu, 1);
	CHECK_EQ(e->size, 12 + 2 * 9 + 12 + 1);
	uint64_t v = 0;
	CHECK(rec_entry_reg(e, REC_RIP, &v) && v == (0x1000 ^ 0x1003));
	CHECK(!rec_entry_reg(e, REC_RAX, &v));
	const struct rec_apply a = {.xor_reg = fake_xor_reg, .xor_mem = fake_xor_mem, .arg = &f};
	rec_entry_apply(e, &a); /* undo */
	CHECK_EQ(f.mem[100], 0);
	CHECK_EQ(f.regs[1][REC_RIP], 0x1000);
	CHECK_EQ(f.regs[1][REC_CR3], 0);
	rec_entry_apply(e, &a); /* redo */
	CHECK_EQ(f.mem[100], 0xAA);
	CHECK_EQ(f.regs[1][REC_RIP], 0x1003);
	CHECK_EQ(f.regs[1][REC_CR3], 0x5000);
	free(e);
	rec_builder_free(&b);
}

static struct rec_entry *entry_for(uint32_t cpu, uint64_t rip)
{
	struct rec_builder b = {0};
	uint64_t old[REC_NREGS] = {0}, cur[REC_NREGS] = {0};
	cur[REC_RIP] = rip;
	rec_builder_begin(&b, cpu);
	rec_diff_regs(&b, old, cur);
	struct rec_entry *e = rec_builder_finish(&b);
	rec_builder_free(&b);
	return e;
}

/* The ring keeps the newest entries within its limit, in order, across growth. */
static void test_ring(void)
{
	struct rec_log l;
	struct rec_entry *probe = entry_for(0, 1);
	size_t one = probe->size;
	free(probe);
	rec_log_init(&l, one * 1500);
	for (uint64_t i = 1; i <= 3000; i++)
		CHECK_EQ(rec_log_append(&l, entry_for((uint32_t)(i % 2), i)), 0);
	CHECK_EQ(l.count, 1500);
	CHECK_EQ(l.pos, 1500);
	CHECK_EQ(l.dropped, 1500);
	CHECK(l.bytes <= l.limit);
	uint64_t v = 0;
	CHECK(rec_entry_reg(rec_log_at(&l, 0), REC_RIP, &v) && v == 1501);
	CHECK(rec_entry_reg(rec_log_at(&l, 1499), REC_RIP, &v) && v == 3000);
	CHECK_EQ(rec_log_at(&l, 0)->cpu, 1);
	rec_log_set_limit(&l, one * 10);
	CHECK_EQ(l.count, 10);
	CHECK(rec_entry_reg(rec_log_at(&l, 0), REC_RIP, &v) && v == 2991);
	rec_log_free(&l);
	CHECK_EQ(l.count, 0);
}

int main(void)
{
	test_diff();
	test_apply();
	test_ring();
	return unit_report();
}
