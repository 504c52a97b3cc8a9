/* record_log.c: the reverse-execution log and the page diff (record_log.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record_log.h"

/* Equal bytes between two differing ones that are cheaper logged than a new run
 * (a run header costs 12 bytes, an equal byte 1). */
#define REC_MERGE_GAP 12

void rec_builder_begin(struct rec_builder *b, uint32_t cpu)
{
	b->len = 0;
	b->nruns = b->nregs = 0;
	b->cpu = cpu;
	b->oom = false;
	b->changed_bytes = 0;
}

void rec_builder_free(struct rec_builder *b)
{
	free(b->mem);
	b->mem = NULL;
	b->cap = b->len = 0;
}

void rec_diff_regs(struct rec_builder *b, const uint64_t old[REC_NREGS],
		   const uint64_t cur[REC_NREGS])
{
	for (unsigned i = 0; i < REC_NREGS; i++)
		if (old[i] != cur[i])
			b->regs[b->nregs++] =
				(struct rec_regchg){.id = i, .old = old[i], .new = cur[i]};
}

static bool reserve(struct rec_builder *b, size_t more)
{
	if (b->len + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap * 2 : 4096;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->mem, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->mem = p;
	b->cap = cap;
	return true;
}

static void add_run(struct rec_builder *b, uint64_t off, const uint8_t *old, const uint8_t *cur,
		    uint32_t len)
{
	if (!reserve(b, REC_RUN_HEAD + (size_t)len))
		return;
	uint8_t *p = b->mem + b->len;
	memcpy(p, &off, 8);
	memcpy(p + 8, &len, 4);
	for (uint32_t i = 0; i < len; i++)
		p[REC_RUN_HEAD + i] = old[i] ^ cur[i];
	b->len += REC_RUN_HEAD + (size_t)len;
	b->nruns++;
}

size_t rec_diff_page(struct rec_builder *b, uint64_t off, uint8_t *shadow, const uint8_t *cur,
		     size_t len)
{
	size_t changed = 0, i = 0;
	while (i < len) {
		if (shadow[i] == cur[i]) {
			i++;
			continue;
		}
		size_t start = i, end = i + 1; /* [start, end): the run, ending at a difference */
		changed++;
		for (i = end; i < len && i - end < REC_MERGE_GAP; i++)
			if (shadow[i] != cur[i]) {
				changed++;
				end = i + 1;
			}
		i = end;
		add_run(b, off + start, shadow + start, cur + start, (uint32_t)(end - start));
		memcpy(shadow + start, cur + start, end - start);
	}
	b->changed_bytes += changed;
	return changed;
}

struct rec_entry *rec_builder_finish(struct rec_builder *b)
{
	if (b->oom)
		return NULL;
	size_t rsz = (size_t)b->nregs * REC_REG_BYTES;
	size_t size = sizeof(struct rec_entry) + rsz + b->len;
	struct rec_entry *e = malloc(size);
	if (!e)
		return NULL;
	*e = (struct rec_entry){.cpu = (uint16_t)b->cpu,
				.nregs = (uint16_t)b->nregs,
				.nruns = b->nruns,
				.size = (uint32_t)size};
	for (uint32_t i = 0; i < b->nregs; i++) {
		uint8_t *p = e->data + i * REC_REG_BYTES;
		uint64_t diff = b->regs[i].old ^ b->regs[i].new;
		p[0] = (uint8_t)b->regs[i].id;
		memcpy(p + 1, &diff, 8);
	}
	if (b->len)
		memcpy(e->data + rsz, b->mem, b->len);
	return e;
}

/* Walks the runs: off, len and the XOR bytes of each. */
struct run_iter {
	const uint8_t *p;
	uint32_t left;
	uint64_t off;
	uint32_t len;
	const uint8_t *diff;
};

static void runs_begin(const struct rec_entry *e, struct run_iter *it)
{
	it->p = e->data + (size_t)e->nregs * REC_REG_BYTES;
	it->left = e->nruns;
}

static bool runs_next(struct run_iter *it)
{
	if (!it->left)
		return false;
	memcpy(&it->off, it->p, 8);
	memcpy(&it->len, it->p + 8, 4);
	it->diff = it->p + REC_RUN_HEAD;
	it->p += REC_RUN_HEAD + (size_t)it->len;
	it->left--;
	return true;
}

void rec_entry_apply(const struct rec_entry *e, const struct rec_apply *a)
{
	for (uint32_t i = 0; i < e->nregs; i++) {
		const uint8_t *p = e->data + i * REC_REG_BYTES;
		uint64_t diff;
		memcpy(&diff, p + 1, 8);
		a->xor_reg(a->arg, e->cpu, p[0], diff);
	}
	struct run_iter it;
	runs_begin(e, &it);
	while (runs_next(&it))
		a->xor_mem(a->arg, it.off, it.diff, it.len);
}

bool rec_entry_touches(const struct rec_entry *e, uint64_t off, uint64_t len)
{
	struct run_iter it;
	runs_begin(e, &it);
	while (runs_next(&it))
		for (uint32_t j = 0; j < it.len; j++)
			if (it.off + j >= off && it.off + j < off + len && it.diff[j])
				return true;
	return false;
}

bool rec_entry_reg(const struct rec_entry *e, unsigned id, uint64_t *diff)
{
	for (uint32_t i = 0; i < e->nregs; i++) {
		const uint8_t *p = e->data + i * REC_REG_BYTES;
		if (p[0] == id) {
			memcpy(diff, p + 1, 8);
			return true;
		}
	}
	return false;
}

void rec_log_init(struct rec_log *l, size_t limit)
{
	*l = (struct rec_log){.limit = limit};
}

void rec_log_free(struct rec_log *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(rec_log_at(l, i));
	free(l->ring);
	rec_log_init(l, l->limit);
}

struct rec_entry *rec_log_at(const struct rec_log *l, size_t i)
{
	return l->ring[(l->head + i) % l->cap];
}

static void drop_oldest(struct rec_log *l)
{
	struct rec_entry *e = l->ring[l->head];
	l->bytes -= e->size;
	free(e);
	l->head = (l->head + 1) % l->cap;
	l->count--;
	if (l->pos)
		l->pos--;
	l->dropped++;
}

static int grow(struct rec_log *l)
{
	size_t cap = l->cap ? l->cap * 2 : 1024;
	struct rec_entry **ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < l->count; i++)
		ring[i] = rec_log_at(l, i);
	free(l->ring);
	l->ring = ring;
	l->cap = cap;
	l->head = 0;
	return 0;
}

void rec_log_set_limit(struct rec_log *l, size_t limit)
{
	l->limit = limit;
	while (l->count && l->bytes > l->limit)
		drop_oldest(l);
}

int rec_log_append(struct rec_log *l, struct rec_entry *e)
{
	if (l->count == l->cap && grow(l)) {
		free(e);
		return -ENOMEM;
	}
	l->ring[(l->head + l->count) % l->cap] = e;
	l->count++;
	l->pos = l->count;
	l->bytes += e->size;
	while (l->count > 1 && l->bytes > l->limit)
		drop_oldest(l);
	return 0;
}
