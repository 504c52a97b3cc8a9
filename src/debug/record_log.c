/* record_log.c: the reverse-execution log and the page diff (record_log.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record_log.h"

/* Equal bytes between two differing ones that are cheaper logged than a new run:
 * a run header costs 16 bytes, an equal byte 2 (old and new). */
#define REC_MERGE_GAP 8

static size_t run_size(uint32_t len)
{
	return (sizeof(struct rec_run) + 2 * (size_t)len + 7) & ~(size_t)7;
}

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
	size_t sz = run_size(len);
	if (!reserve(b, sz))
		return;
	uint8_t *p = b->mem + b->len;
	memset(p, 0, sz);
	*(struct rec_run *)p = (struct rec_run){.off = off, .len = len};
	memcpy(p + sizeof(struct rec_run), old, len);
	memcpy(p + sizeof(struct rec_run) + len, cur, len);
	b->len += sz;
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
	size_t rsz = b->nregs * sizeof(struct rec_regchg);
	size_t size = sizeof(struct rec_entry) + rsz + b->len;
	struct rec_entry *e = malloc(size);
	if (!e)
		return NULL;
	*e = (struct rec_entry){
		.cpu = b->cpu, .nregs = b->nregs, .nruns = b->nruns, .size = (uint32_t)size};
	memcpy(e->data, b->regs, rsz);
	if (b->len)
		memcpy(e->data + rsz, b->mem, b->len);
	return e;
}

static const struct rec_regchg *entry_regs(const struct rec_entry *e)
{
	return (const struct rec_regchg *)e->data;
}

static const uint8_t *first_run(const struct rec_entry *e)
{
	return e->data + e->nregs * sizeof(struct rec_regchg);
}

void rec_entry_apply(const struct rec_entry *e, bool forward, const struct rec_apply *a)
{
	const struct rec_regchg *r = entry_regs(e);
	for (uint32_t i = 0; i < e->nregs; i++)
		a->set_reg(a->arg, e->cpu, r[i].id, forward ? r[i].new : r[i].old);
	const uint8_t *p = first_run(e);
	for (uint32_t i = 0; i < e->nruns; i++) {
		const struct rec_run *run = (const struct rec_run *)p;
		const uint8_t *bytes = p + sizeof(*run) + (forward ? run->len : 0);
		a->write(a->arg, run->off, bytes, run->len);
		p += run_size(run->len);
	}
}

bool rec_entry_touches(const struct rec_entry *e, uint64_t off, uint64_t len)
{
	const uint8_t *p = first_run(e);
	for (uint32_t i = 0; i < e->nruns; i++) {
		const struct rec_run *run = (const struct rec_run *)p;
		const uint8_t *old = p + sizeof(*run), *new = old + run->len;
		for (uint32_t j = 0; j < run->len; j++)
			if (run->off + j >= off && run->off + j < off + len && old[j] != new[j])
				return true;
		p += run_size(run->len);
	}
	return false;
}

bool rec_entry_reg(const struct rec_entry *e, unsigned id, bool after, uint64_t *value)
{
	const struct rec_regchg *r = entry_regs(e);
	for (uint32_t i = 0; i < e->nregs; i++)
		if (r[i].id == id) {
			*value = after ? r[i].new : r[i].old;
			return true;
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
