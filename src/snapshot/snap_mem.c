/* snap_mem.c: guest RAM in MEM sections, all of it or what changed.
 *
 * A MEM section covers a run of up to 512 pages (2 MiB): u64 gpa, u32 npages,
 * u32 flags; with flags bit 0 (MEM_PARTIAL, incremental saves) a bitmap of the
 * pages the section speaks for (one u64 per 64 pages), the others left as they
 * are; then a bitmap of the pages whose 4 KiB follow in order (a page spoken for
 * whose bit is clear is zero), then the data. A full save writes only runs with a
 * non-zero page in them and skips what the host never backed (/proc/self/pagemap): restore
 * starts from zeroed RAM. An incremental save writes the runs with a page that
 * changed: KVM's dirty log for the guest's writes plus host_dirty for proxy's own
 * (hypercall results, the debugger), a zeroed page as a clear bit.
 */
#include "snap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RUN_PAGES   512
#define RUN_BYTES   (RUN_PAGES * GUEST_PAGE)
#define MEM_PARTIAL 1u

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < GUEST_PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Guest-physical address of host offset `off` (RAM starts at base; the hole moves
 * RAM above 4 GiB). */
static uint64_t gpa_of(const struct guest_mem *m, uint64_t off)
{
	return off < m->low_size ? m->base + off : off - m->low_size + 0x100000000ULL;
}

/* Whether any page of [p, p+len) is mapped in this process (a background
 * checkpoint's child: pagemap_fd is its parent's, whose RAM may have been dropped
 * since the fork). */
static bool any_resident(const uint8_t *p, uint64_t len)
{
	unsigned char vec[RUN_PAGES];
	uint64_t n = len / GUEST_PAGE;
	if (n > RUN_PAGES || mincore((void *)p, len, vec) < 0)
		return true;
	for (uint64_t i = 0; i < n; i++)
		if (vec[i] & 1)
			return true;
	return false;
}

/* Whether any page of [p, p+len) is backed, in RAM or in swap (/proc/self/pagemap
 * bits 63 and 62; mincore would call a swapped page absent): one the host never
 * backed is zero. */
static bool any_backed(const struct snapshot *s, const uint8_t *p, uint64_t len)
{
	uint64_t entry[RUN_PAGES];
	uint64_t n = len / GUEST_PAGE;
	off_t at = (off_t)((uintptr_t)p / GUEST_PAGE * 8);
	if (s->pagemap_fd < 0 || n > RUN_PAGES ||
	    pread(s->pagemap_fd, entry, n * 8, at) != (ssize_t)(n * 8))
		return true; /* cannot tell: look at the bytes */
	for (uint64_t i = 0; i < n; i++)
		if (entry[i] & (3ULL << 62))
			return true;
	return s->cow_child && any_resident(p, len);
}

/* One run: the pages whose `want` bit is set (NULL: all) and non-zero are stored.
 * `bounce` (RUN_BYTES; NULL: none): each page is copied there first, so a guest
 * that runs meanwhile cannot change it between its checksum and its write. */
static int save_run(struct snap_writer *w, const struct guest_mem *m, uint64_t off, uint32_t npages,
		    const uint64_t *want, bool full, uint64_t *pages, uint8_t *bounce)
{
	const uint8_t *base = m->host + off;
	if (bounce)
		for (uint32_t i = 0; i < npages; i++) {
			uint64_t page = off / GUEST_PAGE + i;
			if (!want || want[page / 64] & (1ULL << (page % 64)))
				memcpy(bounce + i * GUEST_PAGE, base + i * GUEST_PAGE, GUEST_PAGE);
		}
	base = bounce ? bounce : base;
	uint64_t covered[RUN_PAGES / 64] = {0}, bitmap[RUN_PAGES / 64] = {0};
	struct iovec iov[3 + RUN_PAGES];
	int n = 3;
	bool any = false;
	for (uint32_t i = 0; i < npages; i++) {
		uint64_t page = off / GUEST_PAGE + i;
		if (want && !(want[page / 64] & (1ULL << (page % 64))))
			continue;
		any = true; /* an incremental save records a zeroed page too */
		covered[i / 64] |= 1ULL << (i % 64);
		if (page_is_zero(base + i * GUEST_PAGE))
			continue;
		bitmap[i / 64] |= 1ULL << (i % 64);
		iov[n++] = (struct iovec){(void *)(base + i * GUEST_PAGE), GUEST_PAGE};
	}
	if (!any || (full && n == 3))
		return 0;
	size_t words = (npages + 63) / 64 * 8;
	struct {
		uint64_t gpa;
		uint32_t npages, flags;
	} head = {gpa_of(m, off), npages, full ? 0 : MEM_PARTIAL};
	iov[0] = (struct iovec){&head, sizeof(head)};
	iov[1] = (struct iovec){covered, full ? 0 : words};
	iov[2] = (struct iovec){bitmap, words};
	*pages += (uint64_t)(n - 3);
	return snap_write_sectionv(w, SNAP_SEC_MEM, 0, iov, n);
}

static uint64_t *dirty_bits(struct vm *vm, int *rc)
{
	uint64_t words = (vm->mem.size / GUEST_PAGE + 63) / 64;
	uint64_t *bits = calloc(words, sizeof(uint64_t));
	*rc = bits ? ram_take_dirty_log(vm, bits) : -ENOMEM;
	/* A vCPU waiting in a hypercall has its pages' pointers but writes them only
	 * after this save: they stay recorded for the next one. */
	if (bits && !*rc)
		guest_mem_take_host_dirty(&vm->mem, bits, !snap_any_blocked(vm));
	return bits;
}

int snap_mem_reset_log(struct vm *vm, char *err, size_t errlen)
{
	int rc;
	free(dirty_bits(vm, &rc));
	if (rc)
		snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
	return rc ? -1 : 0;
}

int snap_mem_save(struct vm *vm, struct snap_writer *w, bool full, bool keep_log, uint64_t *pages,
		  char *err, size_t errlen)
{
	const struct guest_mem *m = &vm->mem;
	uint64_t *want = NULL;
	int rc = 0;
	if (!keep_log && vm->snap->incremental) {
		want = dirty_bits(vm, &rc); /* a full save clears the logs too */
		if (rc) {
			free(want);
			snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
			return -1;
		}
	}
	for (uint64_t off = 0; off < m->size && !w->err; off += RUN_BYTES) {
		uint64_t len = m->size - off < RUN_BYTES ? m->size - off : RUN_BYTES;
		if (full && !any_backed(vm->snap, m->host + off, len))
			continue;
		save_run(w, m, off, (uint32_t)(len / GUEST_PAGE), full ? NULL : want, full, pages,
			 NULL);
	}
	free(want);
	if (w->err) {
		snprintf(err, errlen, "writing the memory: %s", strerror(-w->err));
		return -1;
	}
	return 0;
}

int snap_mem_save_pages(struct vm *vm, struct snap_writer *w, const uint64_t *bits, uint64_t *pages,
			char *err, size_t errlen)
{
	const struct guest_mem *m = &vm->mem;
	uint8_t *bounce = malloc(RUN_BYTES);
	if (!bounce)
		return snprintf(err, errlen, "out of memory"), -1;
	for (uint64_t off = 0; off < m->size && !w->err; off += RUN_BYTES) {
		uint64_t len = m->size - off < RUN_BYTES ? m->size - off : RUN_BYTES;
		uint64_t first = off / GUEST_PAGE, n = len / GUEST_PAGE, any = 0;
		for (uint64_t word = first / 64; bits && word < (first + n + 63) / 64; word++)
			any |= bits[word]; /* runs are 512 pages: whole words */
		if (bits ? any != 0 : any_backed(vm->snap, m->host + off, len))
			save_run(w, m, off, (uint32_t)n, bits, !bits, pages, bounce);
	}
	free(bounce);
	if (w->err)
		return snprintf(err, errlen, "writing the memory: %s", strerror(-w->err)), -1;
	return 0;
}

/* A MEM payload taken apart and checked against this guest's RAM. */
struct mem_run {
	uint64_t gpa;
	uint32_t npages;
	const uint8_t *covered, *bitmap, *data; /* covered: NULL for a full run */
	uint8_t *dst;
};

static int parse_run(struct vm *vm, const void *payload, uint64_t len, struct mem_run *run,
		     char *err, size_t errlen)
{
	const uint8_t *p = payload;
	uint32_t flags;
	if (len < 16)
		goto malformed;
	memcpy(&run->gpa, p, 8);
	memcpy(&run->npages, p + 8, 4);
	memcpy(&flags, p + 12, 4);
	uint64_t words = (run->npages + 63) / 64, have = 0;
	uint64_t maps = (flags & MEM_PARTIAL ? 2 : 1) * words * 8;
	if (run->npages == 0 || run->npages > RUN_PAGES || run->gpa % GUEST_PAGE ||
	    (flags & ~MEM_PARTIAL) || len < 16 + maps)
		goto malformed;
	run->covered = flags & MEM_PARTIAL ? p + 16 : NULL;
	run->bitmap = p + 16 + (run->covered ? words * 8 : 0);
	run->data = p + 16 + maps;
	for (uint32_t i = 0; i < run->npages; i++) {
		bool data_bit = (run->bitmap[i / 8] >> (i % 8)) & 1;
		if (run->covered && data_bit && !((run->covered[i / 8] >> (i % 8)) & 1))
			goto malformed; /* data for a page it does not speak for */
		have += data_bit;
	}
	run->dst = gpa_host(&vm->mem, run->gpa, (uint64_t)run->npages * GUEST_PAGE);
	if (len != 16 + maps + have * GUEST_PAGE || !run->dst) {
		snprintf(err, errlen,
			 "a memory section for 0x%llx (+%u pages) does not fit this "
			 "guest's RAM",
			 (unsigned long long)run->gpa, run->npages);
		return -1;
	}
	return 0;
malformed:
	snprintf(err, errlen, "a memory section is malformed");
	return -1;
}

int snap_mem_check(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	struct mem_run run;
	return parse_run(vm, payload, len, &run, err, errlen);
}

/* A run that fills its 2 MiB whole goes into a huge page: one fault instead of 512
 * (what a restore waits for), and its next checkpoint's fork copies one entry. */
static void advise_whole_run(const struct vm *vm, const struct mem_run *run, const void *payload,
			     uint64_t len)
{
	uint64_t data_len = len - (uint64_t)(run->data - (const uint8_t *)payload);
	if (vm->cfg && vm->cfg->hugepage && !run->covered && run->npages == RUN_PAGES &&
	    data_len == RUN_BYTES && !((uintptr_t)run->dst % RUN_BYTES))
		madvise(run->dst, RUN_BYTES, MADV_HUGEPAGE);
}

int snap_mem_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen)
{
	struct mem_run run;
	if (parse_run(vm, payload, len, &run, err, errlen))
		return -1;
	advise_whole_run(vm, &run, payload, len);
	const uint8_t *data = run.data;
	for (uint32_t i = 0; i < run.npages; i++) {
		uint8_t *page = run.dst + (uint64_t)i * GUEST_PAGE;
		if (run.covered && !((run.covered[i / 8] >> (i % 8)) & 1))
			continue;
		if ((run.bitmap[i / 8] >> (i % 8)) & 1) {
			memcpy(page, data, GUEST_PAGE);
			data += GUEST_PAGE;
		} else if (!page_is_zero(page)) {
			memset(page, 0, GUEST_PAGE); /* zeroed since the previous checkpoint */
		}
	}
	return 0;
}
