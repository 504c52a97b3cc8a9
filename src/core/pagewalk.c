/* pagewalk.c: enumerate the guest's page tables; walk one address step by step.
 *
 * Every table entry is read through gpa_host(), so wild tables (an entry pointing
 * outside RAM) never make a host fault; a budget of tables bounds the work when a
 * guest points many entries at the same tables (recursive slots). Permissions combine across levels
 * as the CPU combines them: writable and user only if every level says so, executable unless some
 * level sets NX.
 */
#include "pagewalk.h"

#include "hermit_abi.h"

#define PW_MAX_TABLES 65536 /* 256 MiB of tables; a real guest has far fewer */

struct merger {
	struct pw_range cur;
	bool have;
	unsigned tables;
	pw_range_fn fn;
	void *arg;
};

static int emit(struct merger *mg, uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	struct pw_range *c = &mg->cur;
	if (mg->have && c->va + c->size == va && c->pa + c->size == pa && c->flags == flags) {
		c->size += size;
		return 0;
	}
	int rc = mg->have ? mg->fn(mg->arg, c) : 0;
	*c = (struct pw_range){va, pa, size, flags};
	mg->have = true;
	return rc;
}

static uint64_t sign_extend(uint64_t va)
{
	return (va & (1ULL << 47)) ? va | 0xFFFF000000000000ULL : va;
}

static unsigned entry_flags(uint64_t e, unsigned inherited, bool nx)
{
	unsigned f = inherited;
	if (!(e & PTE_WRITABLE))
		f &= ~(unsigned)PW_WRITE;
	if (!(e & PTE_USER))
		f &= ~(unsigned)PW_USER;
	if (nx && (e & PTE_NX))
		f &= ~(unsigned)PW_EXEC;
	return f;
}

/* level 4 = PML4 ... 1 = PT; a page at level 1, 2 (PS) or 3 (PS) ends the walk. */
static int walk_table(const struct guest_mem *m, uint64_t table, int level, uint64_t va_base,
		      unsigned flags, bool nx, struct merger *mg)
{
	const uint64_t *t = gpa_host(m, table & PTE_ADDR_MASK, 4096);
	if (!t)
		return 0;
	if (++mg->tables > PW_MAX_TABLES)
		return PW_TRUNCATED;
	unsigned shift = 12 + 9 * (unsigned)(level - 1);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i];
		if (!(e & PTE_PRESENT))
			continue;
		uint64_t va = va_base + ((uint64_t)i << shift);
		unsigned f = entry_flags(e, flags, nx);
		int rc;
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PAGE_SIZE))) {
			uint64_t size = 1ULL << shift;
			rc = emit(mg, sign_extend(va), e & PTE_ADDR_MASK & ~(size - 1), size, f);
		} else {
			rc = walk_table(m, e, level - 1, va, f, nx, mg);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int pw_for_each_range(const struct guest_mem *m, uint64_t cr3, bool nx, pw_range_fn fn, void *arg)
{
	struct merger mg = {.fn = fn, .arg = arg};
	int rc = walk_table(m, cr3, 4, 0, PW_WRITE | PW_EXEC | PW_USER, nx, &mg);
	if (!rc && mg.have)
		rc = fn(arg, &mg.cur);
	return rc;
}

int pw_walk(const struct guest_mem *m, uint64_t cr3, uint64_t gva, struct pw_step steps[4],
	    uint64_t *gpa, uint64_t *page_size)
{
	uint64_t table = cr3 & PTE_ADDR_MASK;
	*gpa = ~0ULL;
	*page_size = 0;
	uint64_t top = gva >> 47;
	if (top != 0 && top != 0x1FFFF)
		return 0; /* not canonical: the CPU would raise #GP, no table is read */
	for (int level = 4, n = 0; level >= 1; level--, n++) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		struct pw_step *s = &steps[n];
		s->level = level;
		s->index = (unsigned)((gva >> shift) & 511);
		s->entry_gpa = table + s->index * 8;
		const uint64_t *e = gpa_host(m, s->entry_gpa, 8);
		s->readable = e != NULL;
		/* One read: another vCPU may rewrite the entry while we look at it. */
		s->entry = e ? __atomic_load_n(e, __ATOMIC_RELAXED) : 0;
		if (!e || !(s->entry & PTE_PRESENT))
			return n + 1;
		if (level == 1 || ((level == 2 || level == 3) && (s->entry & PTE_PAGE_SIZE))) {
			uint64_t size = 1ULL << shift;
			*gpa = (s->entry & PTE_ADDR_MASK & ~(size - 1)) + (gva & (size - 1));
			*page_size = size;
			return n + 1;
		}
		table = s->entry & PTE_ADDR_MASK;
	}
	return 4;
}

const char *pw_flags_str(unsigned flags, char *buf)
{
	buf[0] = 'r';
	buf[1] = flags & PW_WRITE ? 'w' : '-';
	buf[2] = flags & PW_EXEC ? 'x' : '-';
	buf[3] = flags & PW_USER ? 'u' : '-';
	buf[4] = 0;
	return buf;
}
