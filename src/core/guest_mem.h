/* guest_mem.h: guest RAM and the one checked way to reach it.
 *
 * Guest RAM is one host mapping. It starts at guest-physical `base` (0 unless an
 * ABI places it elsewhere: guest_mem_layout_at); from there guest-physical minus
 * base equals the offset in the mapping. When RAM starting at 0 reaches 0xD0000000
 * the rest continues at 4 GiB (the PCI hole stays unmapped); RAM placed at another
 * base never crosses the hole. No code outside this file computes `host + gpa`
 * itself.
 */
#ifndef PROXY_GUEST_MEM_H
#define PROXY_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem {
	uint8_t *host;	   /* the mapping */
	uint64_t base;	   /* guest-physical address of its first byte */
	uint64_t size;	   /* bytes of RAM */
	uint64_t low_size; /* RAM in one piece from base: min(size, 0xD0000000) at 0 */
	uint64_t limit;	   /* top of RAM in guest-physical space (counts the hole) */
	/* Pages proxy itself wrote (KVM's dirty log sees only the guest's writes), one bit
	 * per 4 KiB of the mapping; NULL unless guest_mem_track_host_writes. */
	_Atomic uint64_t *host_dirty;
};

#define GUEST_PAGE 4096ULL

/* Lay out (not map) `size` bytes of RAM at 0. */
void guest_mem_layout(struct guest_mem *m, uint64_t size);
/* ... at `base` (an ABI may place RAM there): base + size must stay below the PCI
 * hole, or base lie at or above its end. */
void guest_mem_layout_at(struct guest_mem *m, uint64_t base, uint64_t size);

/* A piece of guest-physical RAM (one KVM memory slot). */
struct ram_range {
	uint64_t gpa, size;
};

/* The pieces of guest-physical RAM, in address order (at most 2: below the hole and
 * above it); returns how many. */
unsigned guest_mem_ranges(const struct guest_mem *m, struct ram_range out[2]);

/* Cut RAM into slots: [base, base + boot) first (what boot needs), then pieces of at most
 * `chunk` bytes of the rest, in address order below the hole and above it. Fills
 * up to `max` ranges; returns how many there are. */
unsigned ram_plan(const struct guest_mem *m, uint64_t boot, uint64_t chunk, struct ram_range *out,
		  unsigned max);

/* Whether [gpa, gpa+len) is RAM in one piece (needs only the layout, no mapping). */
bool gpa_valid(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM in one piece, else NULL.
 * The pages count as written by the host (host_dirty), since the caller may write. */
void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* The same without counting a write: for who only reads, or hands the pages to KVM. */
void *gpa_host(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* From now on gpa_ptr records the pages it hands out in host_dirty. */
void guest_mem_track_host_writes(struct guest_mem *m);
/* OR the pages recorded since the last clearing call into `bits` (one bit per 4 KiB
 * of the mapping: bit n is host offset n * 4 KiB), clearing them if `clear`. A page
 * is recorded when its pointer is handed out, before the write: a caller still
 * holding one (a hypercall waiting to complete) needs the record kept. */
void guest_mem_take_host_dirty(struct guest_mem *m, uint64_t *bits, bool clear);

/* Carry out a guest load or store of len bytes at gpa in RAM, the one KVM handed
 * over as MMIO because its memory slot was not registered yet: a store copies
 * data into RAM, a load fills data from it. False (nothing done) when [gpa,
 * gpa+len) is not RAM in one piece. */
bool gpa_complete_access(const struct guest_mem *m, uint64_t gpa, void *data, uint32_t len,
			 bool is_write);

/* Copy a NUL-terminated guest-physical string of at most max bytes (incl. NUL).
 * Returns its length, -EFAULT for a bad address, -ENAMETOOLONG without a NUL. */
long gpa_strncpy(const struct guest_mem *m, uint64_t gpa, char *dst, size_t max);

/* Walk the 4-level page tables rooted at cr3 for the guest-virtual address gva
 * (pagewalk.c's walker, without the steps).
 * On success stores the physical address and how many bytes remain in that page
 * (so callers can go page by page) and returns 0; -EFAULT when not mapped. */
int gva_to_gpa(const struct guest_mem *m, uint64_t cr3, uint64_t gva, uint64_t *gpa,
	       uint64_t *page_left);

/* Split the guest-virtual buffer [gva, gva+len) into host iovecs, page by page,
 * merging contiguous pieces. Returns the number of iovecs used (<= max_iov),
 * or -EFAULT if any byte is unmapped or the range wraps. *covered gets the bytes
 * described, which is < len when max_iov was not enough (call again). */
int gva_to_iovec(const struct guest_mem *m, uint64_t cr3, uint64_t gva, uint64_t len,
		 struct iovec *iov, int max_iov, uint64_t *covered);

/* Copy between host memory and guest-virtual memory; return bytes copied from the
 * start (short at the first unmapped page). */
size_t gva_read(const struct guest_mem *m, uint64_t cr3, uint64_t gva, void *dst, size_t len);
size_t gva_write(const struct guest_mem *m, uint64_t cr3, uint64_t gva, const void *src,
		 size_t len);

#endif
