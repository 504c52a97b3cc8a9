/* monitor_cmds_mem.c: the memory commands: info mem, info tlb/translate, x, xp.
 *
 * Virtual addresses go through a vCPU's page tables (its CR3; for x, the current
 * vCPU's), physical ones
 * through guest_mem's checked gpa_ptr(): a bad address is a message, never a
 * host fault.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_abi.h"
#include "monitor_internal.h"
#include "pagewalk.h"
#include "vmctl.h"

#define X_MAX_UNITS  4096
#define X_MAX_STRING 256

static int cpu_paging(const struct mon *m, unsigned cpu, uint64_t *cr3, bool *nx)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (vcpu_get_state(&m->vm->vcpus[cpu], &r, &s))
		return mon_fail(m, -EIO, "vCPU %u: cannot read its registers", cpu);
	if (!(s.cr0 & (1ULL << 31)))
		return mon_fail(m, -EINVAL, "vCPU %u has paging off", cpu);
	*cr3 = s.cr3;
	*nx = s.efer & (1ULL << 11);
	return 0;
}

static const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	while (u < 4 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)n, units[u]);
	return buf;
}

struct mem_listing {
	const struct mon *m;
	unsigned ranges;
	uint64_t total;
};

/* Page tables that map themselves everywhere make millions of ranges (the audit:
 * 33 M lines, 2.6 GB, from one command); a listing stops here. */
#define INFO_MEM_MAX_RANGES 4096
#define LISTING_FULL	    1 /* print_range's "stop": the cap is reached */

static int print_range(void *arg, const struct pw_range *r)
{
	struct mem_listing *l = arg;
	char size[32], flags[8];
	if (l->ranges == INFO_MEM_MAX_RANGES)
		return LISTING_FULL;
	mon_say(l->m, "0x%016llx-0x%016llx -> 0x%016llx  %10s  %s\n", (unsigned long long)r->va,
		(unsigned long long)(r->va + r->size - 1), (unsigned long long)r->pa,
		human_size(r->size, size, sizeof(size)), pw_flags_str(r->flags, flags));
	l->ranges++;
	l->total += r->size;
	return 0;
}

int cmd_info_mem(struct mon *m, int argc, char **argv)
{
	unsigned cpu;
	uint64_t cr3;
	bool nx;
	if (mon_parse_cpu(m, argc ? argv[0] : NULL, &cpu) || cpu_paging(m, cpu, &cr3, &nx))
		return -EINVAL;
	struct mem_listing l = {.m = m};
	mon_say(m, "vCPU %u, CR3 0x%llx (flags: r, w writable, x executable, u user)\n", cpu,
		(unsigned long long)cr3);
	mon_say(m, "%-37s    %-18s  %10s  flags\n", "virtual", "physical", "size");
	int rc = pw_for_each_range(&m->vm->mem, cr3, nx, print_range, &l);
	char total[32];
	if (rc == LISTING_FULL)
		mon_say(m,
			"listing cut after %u ranges (%s in them); for one address: info tlb "
			"ADDR or translate ADDR\n",
			l.ranges, human_size(l.total, total, sizeof(total)));
	else
		mon_say(m, "%u ranges, %s mapped%s\n", l.ranges,
			human_size(l.total, total, sizeof(total)),
			rc == PW_TRUNCATED ? " (listing cut: too many page tables)" : "");
	return 0;
}

static const char *level_name(int level)
{
	return level == 4 ? "PML4" : level == 3 ? "PDPT" : level == 2 ? "PD" : "PT";
}

static void say_step(const struct mon *m, const struct pw_step *s)
{
	char where[32];
	snprintf(where, sizeof(where), "%s[%u]", level_name(s->level), s->index);
	if (!s->readable) {
		mon_say(m, "  %-10s at 0x%llx: outside guest RAM\n", where,
			(unsigned long long)s->entry_gpa);
		return;
	}
	uint64_t e = s->entry;
	mon_say(m, "  %-10s at 0x%08llx: 0x%016llx %s%s%s%s%s%s%s\n", where,
		(unsigned long long)s->entry_gpa, (unsigned long long)e,
		e & PTE_PRESENT ? "P" : "not present", e & PTE_WRITABLE ? " W" : "",
		e & PTE_USER ? " U" : "", e & 0x20 ? " A" : "", e & 0x40 ? " D" : "",
		(e & PTE_PAGE_SIZE) && s->level > 1 ? " PS" : "", e & PTE_NX ? " NX" : "");
}

int cmd_translate(struct mon *m, int argc, char **argv)
{
	uint64_t va, cr3, gpa, page;
	unsigned cpu;
	bool nx;
	if (mon_parse_value(m, argv[0], &va) || mon_parse_cpu(m, argc > 1 ? argv[1] : NULL, &cpu) ||
	    cpu_paging(m, cpu, &cr3, &nx))
		return -EINVAL;
	struct pw_step steps[4];
	int n = pw_walk(&m->vm->mem, cr3, va, steps, &gpa, &page);
	mon_say(m, "0x%llx through vCPU %u's page tables (CR3 0x%llx):\n", (unsigned long long)va,
		cpu, (unsigned long long)cr3);
	for (int i = 0; i < n; i++)
		say_step(m, &steps[i]);
	if (gpa == ~0ULL) {
		mon_say(m, "0x%llx is not mapped\n", (unsigned long long)va);
		return 0;
	}
	char size[32];
	mon_say(m, "0x%llx -> physical 0x%llx (%s page)%s\n", (unsigned long long)va,
		(unsigned long long)gpa, human_size(page, size, sizeof(size)),
		gpa_ptr(&m->vm->mem, gpa, 1) ? "" : ", not guest RAM");
	return 0;
}

/* ---- x / xp ---------------------------------------------------------------- */

struct xfmt {
	unsigned count, size;
	char fmt; /* x d u o c s i */
};

static int parse_xfmt(const struct mon *m, const char *s, struct xfmt *f)
{
	*f = (struct xfmt){.count = 1, .size = 0, .fmt = 'x'};
	if (isdigit((unsigned char)*s)) {
		unsigned long c = strtoul(s, (char **)&s, 10);
		if (c == 0 || c > X_MAX_UNITS)
			return mon_fail(m, -EINVAL, "count must be 1..%d", X_MAX_UNITS);
		f->count = (unsigned)c;
	}
	for (; *s; s++) {
		const char *sz = strchr("bhwg", *s);
		if (sz)
			f->size = 1u << (sz - "bhwg");
		else if (strchr("xduocsi", *s))
			f->fmt = *s;
		else
			return mon_fail(m, -EINVAL,
					"unknown format letter '%c' (sizes b h w g, "
					"formats x d u o c s i)",
					*s);
	}
	if (f->fmt == 'c' || f->fmt == 's' || f->fmt == 'i')
		f->size = 1;
	else if (!f->size)
		f->size = 4;
	return 0;
}

size_t mon_read_mem(const struct mon_memsrc *src, uint64_t addr, void *buf, size_t len)
{
	if (!src->phys)
		return gva_read(src->mem, src->cr3, addr, buf, len);
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = 4096 - (a & 4095);
		chunk = chunk < len - done ? chunk : len - done;
		const void *p = gpa_ptr(src->mem, a, chunk);
		if (!p)
			break;
		memcpy((char *)buf + done, p, chunk);
		done += chunk;
	}
	return done;
}

static void format_unit(char *buf, size_t len, const struct xfmt *f, uint64_t v)
{
	unsigned bits = f->size * 8;
	int64_t sv = bits < 64 && (v >> (bits - 1)) ? (int64_t)(v | ~0ULL << bits) : (int64_t)v;
	switch (f->fmt) {
	case 'd':
		snprintf(buf, len, "%lld", (long long)sv);
		break;
	case 'u':
		snprintf(buf, len, "%llu", (unsigned long long)v);
		break;
	case 'o':
		snprintf(buf, len, "0%llo", (unsigned long long)v);
		break;
	case 'c':
		snprintf(buf, len, isprint((int)v) ? "%d '%c'" : "%d '\\x%02x'", (int)sv, (int)v);
		break;
	default:
		snprintf(buf, len, "0x%0*llx", (int)f->size * 2, (unsigned long long)v);
	}
}

static int dump_units(const struct mon *m, const struct mon_memsrc *src, uint64_t addr,
		      const struct xfmt *f)
{
	unsigned per_line = f->size == 8 ? 2 : f->size == 4 ? 4 : 8;
	char line[512];
	size_t o = 0;
	for (unsigned i = 0; i < f->count; i++) {
		uint64_t a = addr + (uint64_t)i * f->size, v = 0;
		if (mon_read_mem(src, a, &v, f->size) != f->size) {
			if (o)
				mon_say(m, "%s\n", line);
			return mon_fail(m, -EFAULT, "Cannot access memory at address 0x%llx",
					(unsigned long long)a);
		}
		if (i % per_line == 0)
			o = (size_t)snprintf(line, sizeof(line), "0x%llx:", (unsigned long long)a);
		char unit[48];
		format_unit(unit, sizeof(unit), f, v);
		o += (size_t)snprintf(line + o, sizeof(line) - o, "\t%s", unit);
		if (i % per_line == per_line - 1 || i + 1 == f->count) {
			mon_say(m, "%s\n", line);
			o = 0;
		}
	}
	return 0;
}

static int dump_strings(const struct mon *m, const struct mon_memsrc *src, uint64_t addr,
			unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		char out[X_MAX_STRING * 4 + 8];
		size_t o = 0, n = 0;
		unsigned char c = 1;
		for (; n < X_MAX_STRING; n++) {
			if (mon_read_mem(src, addr + n, &c, 1) != 1)
				return mon_fail(m, -EFAULT,
						"Cannot access memory at address 0x%llx",
						(unsigned long long)(addr + n));
			if (!c)
				break;
			o += (size_t)snprintf(
				out + o, sizeof(out) - o,
				isprint(c) && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
		}
		mon_say(m, "0x%llx:\t\"%s\"%s\n", (unsigned long long)addr, out, c ? "..." : "");
		addr += n + 1;
	}
	return 0;
}

static int examine(struct mon *m, const char *addr_text, bool phys)
{
	struct xfmt f;
	uint64_t addr;
	struct mon_memsrc src = {.mem = &m->vm->mem, .phys = phys};
	bool nx;
	if (parse_xfmt(m, m->fmt, &f) || mon_parse_value(m, addr_text, &addr))
		return -EINVAL;
	if (!phys && cpu_paging(m, m->cpu, &src.cr3, &nx))
		return -EINVAL;
	if (f.fmt == 'i')
		return mon_disassemble(m, &src, addr, f.count);
	if (f.fmt == 's')
		return dump_strings(m, &src, addr, f.count);
	return dump_units(m, &src, addr, &f);
}

int cmd_x(struct mon *m, int argc, char **argv)
{
	(void)argc;
	return examine(m, argv[0], false);
}

int cmd_xp(struct mon *m, int argc, char **argv)
{
	(void)argc;
	return examine(m, argv[0], true);
}
