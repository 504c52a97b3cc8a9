/* pagewalk.h: the guest's 4-level page tables as ranges, and one address level by level.
 *
 * guest_mem.h translates one address; the monitor (`info mem`, `translate`) and the
 * core dump need the whole map: every mapped page, merged into ranges that are
 * contiguous both virtually and physically and have the same permissions.
 */
#ifndef PROXY_PAGEWALK_H
#define PROXY_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

enum { PW_WRITE = 1, PW_EXEC = 2, PW_USER = 4 };

struct pw_range {
	uint64_t va, pa, size;
	unsigned flags; /* PW_*: the effective permission through all levels */
};

/* Called per merged range in ascending virtual order; return non-zero to stop. */
typedef int (*pw_range_fn)(void *arg, const struct pw_range *r);

#define PW_TRUNCATED (-7) /* -E2BIG: more tables than the walk's budget */

/* Walk every mapping under cr3 (nx: EFER.NXE, so bit 63 means no-execute).
 * Returns what fn returned to stop, PW_TRUNCATED, else 0. */
int pw_for_each_range(const struct guest_mem *m, uint64_t cr3, bool nx, pw_range_fn fn, void *arg);

struct pw_step {
	int level; /* 4 = PML4 ... 1 = PT */
	unsigned index;
	uint64_t entry_gpa; /* where the entry lives */
	uint64_t entry;
	bool readable; /* entry_gpa is RAM */
};

/* Walk one address: fills up to 4 steps; returns the number of steps, and *gpa,
 * *page_size when the address is mapped (*gpa = ~0 otherwise). */
int pw_walk(const struct guest_mem *m, uint64_t cr3, uint64_t gva, struct pw_step steps[4],
	    uint64_t *gpa, uint64_t *page_size);

/* "rwxu"-style text for PW_* flags (buf of at least 5 bytes). */
const char *pw_flags_str(unsigned flags, char *buf);

#endif
