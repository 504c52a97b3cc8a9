/* guest_mem.c: bounds-checked guest-physical access and the guest page-table walk.
 *
 * Every guest address a hypercall, the loader or the debugger uses passes through
 * gpa_ptr(), which checks the range and its overflow; the walk reads page-table
 * entries through it too, so a guest with wild tables cannot make us read outside
 * its RAM.
 */
#include "guest_mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_abi.h"
#include "log.h"
#include "pagewalk.h"

void guest_mem_layout(struct guest_mem *m, uint64_t size)
{
	guest_mem_layout_at(m, 0, size);
}

void guest_mem_layout_at(struct guest_mem *m, uint64_t base, uint64_t size)
{
	m->host_dirty = NULL; /* guest_mem_track_host_writes, once the layout is known */
	m->base = base;
	m->size = size;
	if (base == 0 && size >= HERMIT_PCI_HOLE_START) {
		m->low_size = HERMIT_PCI_HOLE_START;
		m->limit = size + (HERMIT_PCI_HOLE_END - HERMIT_PCI_HOLE_START);
	} else {
		m->low_size = size;
		m->limit = base + size;
	}
}

unsigned guest_mem_ranges(const struct guest_mem *m, struct ram_range out[2])
{
	out[0] = (struct ram_range){m->base, m->low_size};
	if (m->size == m->low_size)
		return 1;
	out[1] = (struct ram_range){HERMIT_PCI_HOLE_END, m->size - m->low_size};
	return 2;
}

/* Append [start, end) in pieces of at most chunk bytes. */
static unsigned plan_span(uint64_t start, uint64_t end, uint64_t chunk, struct ram_range *out,
			  unsigned n, unsigned max)
{
	for (uint64_t a = start; a < end; a += chunk, n++)
		if (n < max)
			out[n] = (struct ram_range){a, end - a < chunk ? end - a : chunk};
	return n;
}

unsigned ram_plan(const struct guest_mem *m, uint64_t boot, uint64_t chunk, struct ram_range *out,
		  unsigned max)
{
	if (boot > m->low_size)
		boot = m->low_size;
	unsigned n = plan_span(m->base, m->base + boot, boot ? boot : 1, out, 0, max);
	n = plan_span(m->base + boot, m->base + m->low_size, chunk, out, n, max);
	return plan_span(HERMIT_PCI_HOLE_END, HERMIT_PCI_HOLE_END + (m->size - m->low_size), chunk,
			 out, n, max);
}

bool gpa_valid(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;
	if (end < gpa)
		return false;
	if (gpa >= m->base && end <= m->base + m->low_size)
		return true;
	return m->size > m->low_size && gpa >= HERMIT_PCI_HOLE_END && end <= m->limit;
}

void *gpa_host(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (!gpa_valid(m, gpa, len))
		return NULL;
	if (gpa >= m->base && gpa + len <= m->base + m->low_size)
		return m->host + (gpa - m->base);
	return m->host + m->low_size + (gpa - HERMIT_PCI_HOLE_END);
}

static void mark_host_dirty(const struct guest_mem *m, const uint8_t *p, uint64_t len)
{
	uint64_t first = (uint64_t)(p - m->host) / GUEST_PAGE;
	uint64_t last = ((uint64_t)(p - m->host) + (len ? len - 1 : 0)) / GUEST_PAGE;
	for (uint64_t n = first; n <= last; n++)
		atomic_fetch_or_explicit(&m->host_dirty[n / 64], 1ULL << (n % 64),
					 memory_order_relaxed);
}

void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gpa_host(m, gpa, len);
	if (p && m->host_dirty)
		mark_host_dirty(m, p, len);
	return p;
}

void guest_mem_track_host_writes(struct guest_mem *m)
{
	uint64_t words = (m->size / GUEST_PAGE + 63) / 64;
	m->host_dirty = calloc(words, sizeof(uint64_t));
	if (!m->host_dirty)
		die("out of memory");
}

void guest_mem_take_host_dirty(struct guest_mem *m, uint64_t *bits, bool clear)
{
	uint64_t words = (m->size / GUEST_PAGE + 63) / 64;
	/* A plain load first: most words are clear, and the debugger's recording calls
	 * this after every instruction (an atomic exchange per word costs far more). */
	for (uint64_t i = 0; m->host_dirty && i < words; i++) {
		uint64_t w = atomic_load_explicit(&m->host_dirty[i], memory_order_relaxed);
		if (w && clear)
			w = atomic_exchange_explicit(&m->host_dirty[i], 0, memory_order_relaxed);
		bits[i] |= w;
	}
}

bool gpa_complete_access(const struct guest_mem *m, uint64_t gpa, void *data, uint32_t len,
			 bool is_write)
{
	uint8_t *p = gpa_ptr(m, gpa, len);
	if (!p)
		return false;
	if (is_write)
		memcpy(p, data, len);
	else
		memcpy(data, p, len);
	return true;
}

long gpa_strncpy(const struct guest_mem *m, uint64_t gpa, char *dst, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		const char *c = gpa_ptr(m, gpa + i, 1);
		if (!c)
			return -EFAULT;
		dst[i] = *c;
		if (!*c)
			return (long)i;
	}
	return -ENAMETOOLONG;
}

int gva_to_gpa(const struct guest_mem *m, uint64_t cr3, uint64_t gva, uint64_t *gpa,
	       uint64_t *page_left)
{
	struct pw_step steps[4];
	uint64_t page_size;
	pw_walk(m, cr3, gva, steps, gpa, &page_size);
	if (*gpa == ~0ULL)
		return -EFAULT;
	*page_left = page_size - (gva & (page_size - 1));
	return 0;
}

int gva_to_iovec(const struct guest_mem *m, uint64_t cr3, uint64_t gva, uint64_t len,
		 struct iovec *iov, int max_iov, uint64_t *covered)
{
	int n = 0;
	uint64_t done = 0;
	if (len && gva + (len - 1) < gva) /* a range may end exactly at 2^64 */
		return -EFAULT;
	while (done < len) {
		uint64_t gpa, left;
		if (gva_to_gpa(m, cr3, gva + done, &gpa, &left))
			return -EFAULT;
		uint64_t chunk = left < len - done ? left : len - done;
		uint8_t *p = gpa_ptr(m, gpa, chunk);
		if (!p)
			return -EFAULT;
		if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p) {
			iov[n - 1].iov_len += chunk;
		} else {
			if (n == max_iov)
				break;
			iov[n].iov_base = p;
			iov[n].iov_len = chunk;
			n++;
		}
		done += chunk;
	}
	*covered = done;
	return n;
}

static size_t gva_copy(const struct guest_mem *m, uint64_t cr3, uint64_t gva, void *host,
		       size_t len, bool to_guest)
{
	size_t done = 0;
	if (len && gva + (len - 1) < gva)
		len = -gva; /* stop at the top of the address space, do not wrap to 0 */
	while (done < len) {
		uint64_t gpa, left;
		if (gva_to_gpa(m, cr3, gva + done, &gpa, &left))
			break;
		size_t chunk = left < len - done ? left : len - done;
		uint8_t *p = gpa_ptr(m, gpa, chunk);
		if (!p)
			break;
		if (to_guest)
			memcpy(p, (uint8_t *)host + done, chunk);
		else
			memcpy((uint8_t *)host + done, p, chunk);
		done += chunk;
	}
	return done;
}

size_t gva_read(const struct guest_mem *m, uint64_t cr3, uint64_t gva, void *dst, size_t len)
{
	return gva_copy(m, cr3, gva, dst, len, false);
}

size_t gva_write(const struct guest_mem *m, uint64_t cr3, uint64_t gva, const void *src, size_t len)
{
	return gva_copy(m, cr3, gva, (void *)src, len, true);
}
