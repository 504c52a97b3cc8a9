/* conform.c: the conformance checklist of shared/spec/hermit-fdt-abi.md section 8,
 * checked from inside a guest of each FDT-booted generation (fdt10, fdt11, fdt13,
 * m2, m3). One line per item: "check N ok", "check N FAIL <why>" or "check N skip
 * <why>" (an item of another interface, or one this guest cannot see); extra
 * facts as "info ..." lines. Exit 0 when nothing failed, else 1.
 *
 * What the host knows comes as key=value arguments, all optional:
 *   cpus=N      vCPUs started (items 7, 28)      mem=BYTES  RAM size (4, 7, 10)
 *   now=SECS    host time just before the start (7)   khz=N  KVM_GET_TSC_KHZ (12)
 *   pci=0|1     expected has_pci (7)
 *   mounts=A,B  expected /uhyve,mounts entries, "none" = no node (13)
 *   tmp=PATH    an unmapped guest path to create (17, 18, 23, 24; left behind)
 *   dir=PATH    a mapped directory holding the files of names=A,B (26)
 *   file=PATH size=N  a mapped file and its size (27)
 *   stdin=eof|line    what fd 0 holds (24; m2/m3 only)
 *   mkdir=PATH  a directory to create (27, interface 3)
 *   lowmmio     read 0x9F000-0x9FFFF and 0xF0000-0xFFFFF (29), last
 * Items 1, 2, 19 and 25 are host-side (tests/integration/test_hermit_fdt.py).
 */
#include "rt.h"

#include "fdt.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"

#define PAGE		   4096ULL
#define PAGE_2M		   0x200000ULL
#define GIB		   (1ULL << 30)
#define IFV		   rt_uhyve_interface
#define O_DIRECTORY	   0200000
#define PTE_PW		   (PTE_PRESENT | PTE_WRITABLE)
#define PTE_ACCESSED_DIRTY 0x60ULL /* set by the CPU's own walks */

static int failures;
static uint64_t G;
static const struct hermit_entry_boot_info *bi;
static const uint8_t *fdt;

__attribute__((format(printf, 2, 3))) static void fail(int item, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	rt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rt_printf("check %d FAIL %s\n", item, msg);
	failures++;
}

static void ok(int item)
{
	rt_printf("check %d ok\n", item);
}

static void skip(int item, const char *why)
{
	rt_printf("check %d skip %s\n", item, why);
}

/* Reports item as ok unless fail() was called for it since `before`. */
static void done(int item, int before)
{
	if (failures == before)
		ok(item);
}

static uint64_t arg_u64(const char *key, uint64_t dflt)
{
	int64_t v;
	const char *s = rt_arg_value(key);
	return s && !rt_parse_int(s, &v) ? (uint64_t)v : dflt;
}

static uint64_t read_cr(int n)
{
	uint64_t v = 0;
	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else if (n == 3)
		__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	else if (n == 4)
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* ---- the page tables, reached as the generation does: Hermit 0.10 through the
 * recursive slot, the others at virtual = physical ---- */

#define REC_PML4 0xFFFFFFFFFFFFF000ULL
#define REC_PDPT 0xFFFFFFFFFFE00000ULL
#define REC_PD	 0xFFFFFFFFC0000000ULL

static volatile uint64_t *table(uint64_t entry)
{
	return (volatile uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

static volatile uint64_t *pml4(void)
{
	if (rt_fdt_gen == RT_GEN_FDT10)
		return (volatile uint64_t *)REC_PML4;
	return table(read_cr(3));
}

/* The entry mapping `va` at the 2 MiB level (or a 1 GiB leaf, or 0 if absent). */
static uint64_t pd_entry(uint64_t va, int *level)
{
	unsigned i = (va >> 39) & 511, j = (va >> 30) & 511, k = (va >> 21) & 511;
	uint64_t e = pml4()[i];
	*level = 4;
	if (!(e & PTE_PRESENT))
		return 0;
	uint64_t pdpte = rt_fdt_gen == RT_GEN_FDT10
				 ? ((volatile uint64_t *)(REC_PDPT | (uint64_t)i << 12))[j]
				 : table(e)[j];
	*level = 3;
	if (!(pdpte & PTE_PRESENT) || (pdpte & PTE_PAGE_SIZE))
		return pdpte;
	*level = 2;
	return rt_fdt_gen == RT_GEN_FDT10
		       ? ((volatile uint64_t *)(REC_PD | (uint64_t)i << 21 | (uint64_t)j << 12))[k]
		       : table(pdpte)[k];
}

/* ---- 3, 28: entry registers of every vCPU ---- */

static void check_entry(void)
{
	int before = failures;
	uint32_t n = rt_possible_cpus();
	for (uint32_t i = 0; i < n && i < RT_MAX_CPUS; i++) {
		const struct rt_hermit_entry_regs *r = &rt_hermit_entry[i];
		if (r->rdi != G + HFDT_BOOT_INFO_OFF || r->rsi != i ||
		    r->rsp != G + HFDT_STACK_OFF || r->rflags != 2 || r->arrivals != 1)
			fail(3, "vCPU %u: rdi 0x%lx rsi %lu rsp 0x%lx rflags 0x%lx arrivals %lu", i,
			     (unsigned long)r->rdi, (unsigned long)r->rsi, (unsigned long)r->rsp,
			     (unsigned long)r->rflags, (unsigned long)r->arrivals);
	}
	extern char _start[];
	uint64_t want_rip = G + HFDT_KERNEL_OFF + 0x1000; /* e_entry 0x1000 (fdt-pie.ld) */
	if ((uint64_t)(uintptr_t)_start != want_rip)
		fail(3, "_start at 0x%lx, expected 0x%lx", (unsigned long)(uintptr_t)_start,
		     (unsigned long)want_rip);
	if (read_cr(3) != G + HFDT_PML4_OFF)
		fail(3, "CR3 0x%lx", (unsigned long)read_cr(3));
#ifdef RT_SSE
	const uint64_t sse_cr0 = 0x2, sse_cr4 = 0x600; /* set by rt/entry_fdt.S */
#else
	const uint64_t sse_cr0 = 0, sse_cr4 = 0;
#endif
	if (read_cr(0) != (0x80000031 | sse_cr0))
		fail(3, "CR0 0x%lx", (unsigned long)read_cr(0));
	if (read_cr(4) != (0x20 | sse_cr4))
		fail(3, "CR4 0x%lx", (unsigned long)read_cr(4));
	if (rt_rdmsr(0xC0000080) != 0xD00)
		fail(3, "EFER 0x%lx", (unsigned long)rt_rdmsr(0xC0000080));
	done(3, before);
}

/* ---- 4: where G lies ---- */

static void check_placement(uint64_t ram)
{
	rt_printf("info G=0x%lx ram=0x%lx\n", (unsigned long)G, (unsigned long)ram);
	if (IFV == 1 && G + ram > 4 * GIB)
		fail(4, "interface 1 but G + RAM = 0x%lx > 4 GiB", (unsigned long)(G + ram));
	else if (IFV >= 2 && (G < 4 * GIB || G % PAGE_2M))
		fail(4, "interface %u but G = 0x%lx", IFV, (unsigned long)G);
	else
		ok(4);
}

/* ---- 5, 6: the page tables ---- */

static void check_recursive(void)
{
	const volatile uint64_t *phys = table(read_cr(3));
	const volatile uint64_t *rec = (const volatile uint64_t *)REC_PML4;
	uint64_t want = (G + HFDT_PML4_OFF) | PTE_PW;
	if ((phys[HFDT_RECURSIVE_SLOT] & ~PTE_ACCESSED_DIRTY) != want) {
		fail(5, "PML4[511] = 0x%lx, expected 0x%lx",
		     (unsigned long)phys[HFDT_RECURSIVE_SLOT], (unsigned long)want);
		return;
	}
	for (unsigned i = 0; i < 512; i++)
		if (rec[i] != phys[i]) {
			fail(5, "0xFFFFFFFFFFFFF000 + %u*8 reads 0x%lx, PML4 has 0x%lx", i,
			     (unsigned long)rec[i], (unsigned long)phys[i]);
			return;
		}
	ok(5);
}

static void check_identity_map(void)
{
	int before = failures, level;
	uint64_t end = (uint64_t)(uintptr_t)__image_end; /* the kernel's last byte + 1 */
	/* uhyve maps every 2 MiB page whose start is <= the end (spec 2.2) */
	uint64_t last = end & ~(PAGE_2M - 1);
	for (uint64_t a = G & ~(PAGE_2M - 1); a <= last; a += PAGE_2M) {
		uint64_t e = pd_entry(a, &level);
		uint64_t want = PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE;
		if (level != 2 || (e & want) != want || (e & PTE_ADDR_MASK) != a)
			fail(6, "page 0x%lx: level %d entry 0x%lx", (unsigned long)a, level,
			     (unsigned long)e);
	}
	uint64_t next = pd_entry(last + PAGE_2M, &level);
	if (next & PTE_PRESENT)
		fail(6, "the page after the kernel's last (0x%lx) is mapped: 0x%lx%s",
		     (unsigned long)(last + PAGE_2M), (unsigned long)next,
		     rt_fdt_gen == RT_GEN_FDT10 ? " (Hermit 0.10 breaks)" : "");
	rt_printf("info kernel end 0x%lx, last mapped page 0x%lx\n", (unsigned long)end,
		  (unsigned long)last);
	done(6, before);
}

/* ---- 7: the boot info ---- */

static void check_boot_info(uint64_t ram)
{
	int before = failures;
	const uint8_t *b = (const uint8_t *)bi;
	uint32_t cpus = (uint32_t)arg_u64("cpus", 1);
	if (bi->platform != HERMIT_ENTRY_PLATFORM_UHYVE)
		fail(7, "tag (80) = %u", bi->platform);
	if (b[88] > 1 || (rt_arg_value("pci") && b[88] != arg_u64("pci", 0)))
		fail(7, "has_pci (88) = %u", b[88]);
	rt_printf("info has_pci=%u\n", b[88]);
	if (bi->num_cpus != cpus)
		fail(7, "num_cpus (96) = %lu, expected %u", (unsigned long)bi->num_cpus, cpus);
	if (bi->device_tree != G + HFDT_FDT_OFF)
		fail(7, "device_tree (24) = 0x%lx", (unsigned long)bi->device_tree);
	uint16_t port = IFV == 1 ? HFDT_SERIAL_PORT_IFV1 : HFDT_SERIAL_PORT_IFV2;
	if (bi->serial_port_base != port)
		fail(7, "serial_port_base (16) = 0x%x, expected 0x%x", bi->serial_port_base, port);
	if (bi->phys_addr_start != G)
		fail(7, "phys_addr_start (0) = 0x%lx", (unsigned long)bi->phys_addr_start);
	if (bi->phys_addr_end != G + ram)
		fail(7, "phys_addr_end (8) = 0x%lx, expected 0x%lx",
		     (unsigned long)bi->phys_addr_end, (unsigned long)(G + ram));
	if (bi->kernel_image_addr_start != G + HFDT_KERNEL_OFF ||
	    bi->kernel_image_addr_end < (uint64_t)(uintptr_t)__image_end)
		fail(7, "kernel image 0x%lx-0x%lx", (unsigned long)bi->kernel_image_addr_start,
		     (unsigned long)bi->kernel_image_addr_end);
	uint64_t now = arg_u64("now", 0);
	uint64_t secs = bi->boot_time[0] / 1000000000ULL;
	if (bi->boot_time[1] != 0 || (now && (secs + 1 < now || secs > now + 60)))
		fail(7, "boot_time (112) = %lu s, host said %lu", (unsigned long)secs,
		     (unsigned long)now);
	done(7, before);
}

/* ---- 8-13: the FDT ---- */

static int has_string(const char *list, uint32_t len, const char *s)
{
	for (uint32_t i = 0; i < len; i += (uint32_t)strlen(list + i) + 1)
		if (!strcmp(list + i, s))
			return 1;
	return 0;
}

static void check_fdt(uint64_t ram)
{
	const char *why;
	uint32_t len = 0;
	uint64_t addr = (uint64_t)(uintptr_t)fdt;
	if (rt_be32(fdt) != RT_FDT_MAGIC || rt_be32(fdt + 20) != 17 || rt_be32(fdt + 4) > 0x3FFF ||
	    addr < G + HFDT_FDT_OFF || addr + rt_be32(fdt + 4) > G + HFDT_BOOT_INFO_OFF ||
	    rt_fdt_check(fdt, 0x3FFF, &why))
		fail(8, "magic 0x%x version %u totalsize 0x%x at 0x%lx", rt_be32(fdt),
		     rt_be32(fdt + 20), rt_be32(fdt + 4), (unsigned long)addr);
	else
		ok(8);

	const char *compat = rt_fdt_prop(fdt, "", "compatible", &len);
	const uint8_t *ac = rt_fdt_prop(fdt, "", "#address-cells", &len);
	uint32_t aclen = len;
	const uint8_t *sc = rt_fdt_prop(fdt, "", "#size-cells", &len);
	uint32_t clen = 0;
	rt_fdt_prop(fdt, "", "compatible", &clen);
	if (!compat || !has_string(compat, clen, HFDT_COMPATIBLE))
		fail(9, "/compatible lacks %s", HFDT_COMPATIBLE);
	else if (!ac || aclen != 4 || rt_be32(ac) != 2 || !sc || len != 4 || rt_be32(sc) != 2)
		fail(9, "cells: #address-cells %s, #size-cells %s", ac ? "present" : "absent",
		     sc ? "present" : "absent");
	else
		ok(9);

	const char *mem = rt_fdt_child(fdt, "memory@");
	const uint8_t *reg = rt_fdt_prop(fdt, "memory@", "reg", &len);
	char want_name[32];
	rt_snprintf(want_name, sizeof(want_name), "memory@%lx", (unsigned long)G);
	if (!mem || !reg || len != 16 || rt_be64(reg) != G || rt_be64(reg + 8) != ram)
		fail(10, "memory node %s reg %s", mem ? mem : "absent", reg ? "wrong" : "absent");
	else if (strcmp(mem, want_name))
		fail(10, "memory node named %s, expected %s", mem, want_name);
	else
		ok(10);

	const char *args = rt_fdt_prop(fdt, "chosen", "bootargs", &len);
	if (!args || len == 0 || args[len - 1])
		fail(11, "/chosen/bootargs %s", args ? "empty or unterminated" : "absent");
	else {
		int bad = 0; /* UTF-8: lead byte, then the right number of 10xxxxxx */
		for (uint32_t i = 0; i + 1 < len && !bad;) {
			uint8_t c = (uint8_t)args[i++];
			int more = c < 0x80		? 0
				   : (c & 0xE0) == 0xC0 ? 1
				   : (c & 0xF0) == 0xE0 ? 2
				   : (c & 0xF8) == 0xF0 ? 3
							: -1;
			bad = more < 0;
			for (; more > 0 && !bad; more--)
				bad = i + 1 >= len || ((uint8_t)args[i++] & 0xC0) != 0x80;
		}
		if (bad)
			fail(11, "bootargs are not UTF-8");
		else
			ok(11);
		rt_printf("info bootargs=%s\n", args);
	}

	const uint8_t *khz = rt_fdt_prop(fdt, HFDT_TSC_NODE, "khz", &len);
	uint64_t want_khz = arg_u64("khz", 0);
	if (!khz || len != 4 || !rt_be32(khz) || (want_khz && rt_be32(khz) != want_khz))
		fail(12, "/hermit,tsc/khz %s (len %u, value %u, host %lu)",
		     khz ? "wrong" : "absent", len, khz && len == 4 ? rt_be32(khz) : 0,
		     (unsigned long)want_khz);
	else
		ok(12), rt_printf("info khz=%u\n", rt_be32(khz));

	const char *want = rt_arg_value("mounts");
	const char *mounts = rt_fdt_prop(fdt, HFDT_MOUNTS_NODE, "mounts", &len);
	if (!want) {
		skip(13, "no mounts= expectation given");
	} else if (!strcmp(want, "none")) {
		if (mounts || rt_fdt_child(fdt, HFDT_MOUNTS_NODE))
			fail(13, "/uhyve,mounts exists without a mapping");
		else
			ok(13);
	} else if (!mounts) {
		fail(13, "/uhyve,mounts/mounts absent, expected %s", want);
	} else {
		/* the value: NUL-separated strings; want: comma-separated */
		char got[256];
		uint32_t n = len < sizeof(got) ? len : sizeof(got) - 1;
		memcpy(got, mounts, n);
		got[n] = 0;
		for (uint32_t i = 0; i + 1 < n; i++)
			if (!got[i])
				got[i] = ',';
		if (len == 0 || mounts[len - 1] || strcmp(got, want))
			fail(13, "/uhyve,mounts/mounts = %s (%u bytes), expected %s", got, len,
			     want);
		else
			ok(13);
	}
}

/* ---- 14: argv and environment ---- */

static void check_args(int argc, char **argv, char **envp)
{
	if (argc < 1 || strcmp(argv[0], "bin"))
		fail(14, "argv[0] = %s", argc ? argv[0] : "(none)");
	else
		ok(14);
	for (int i = 0; i < argc; i++)
		rt_printf("info argv[%d]=%s\n", i, argv[i]);
	if (!envp[0])
		rt_printf("info envp=NULL\n");
	for (int i = 0; envp[i]; i++)
		rt_printf("info env=%s\n", envp[i]);
}

/* ---- 15/21: the serial buffer ---- */

static void check_serial(void)
{
	/* only the first len bytes count: the rest must not appear */
	static const char v1[] = "check 15 serial buffer\nNOT-PRINTED-15\n";
	static const char v2[] = "check 21 serial buffer\nNOT-PRINTED-21\n";
	if (IFV == 1) {
		rt_fdt_log(v1, 23);
		skip(21, "interface 2/3 only");
	} else {
		skip(15, "interface 1 only");
		rt_fdt_log(v2, 23); /* EAX = 0x1234 junk, RDI = the struct */
	}
}

/* ---- 16: a v1 WRITE buffer across two non-contiguous physical pages ---- */

static uint64_t pdpt16[512] __attribute__((aligned(4096)));
static uint64_t pd16[512] __attribute__((aligned(4096)));
static uint64_t pt16[512] __attribute__((aligned(4096)));
static uint8_t pages16[3][PAGE] __attribute__((aligned(4096)));
static uint64_t split_va; /* the split mapping while it lasts */

static void check_virtual_buffer(void)
{
	if (IFV != 1) {
		skip(16, "interface 1 only (2/3 buffers are physical)");
		return;
	}
	const uint64_t va = 1ULL << 39; /* PML4[1]: nothing else there */
	volatile uint64_t *top = pml4();
	if (top[1] & PTE_PRESENT) {
		fail(16, "PML4[1] already used");
		return;
	}
	/* va -> pages16[2], va + 4 KiB -> pages16[0]: physically out of order */
	pt16[0] = (uint64_t)(uintptr_t)pages16[2] | PTE_PW;
	pt16[1] = (uint64_t)(uintptr_t)pages16[0] | PTE_PW;
	pd16[0] = (uint64_t)(uintptr_t)pt16 | PTE_PW;
	pdpt16[0] = (uint64_t)(uintptr_t)pd16 | PTE_PW;
	top[1] = (uint64_t)(uintptr_t)pdpt16 | PTE_PW;
	__asm__ volatile("mov %0, %%cr3" : : "r"(read_cr(3)) : "memory");
	static const char head[] = "check 16", tail[] = " ok\n";
	memcpy(pages16[2] + PAGE - (sizeof(head) - 1), head, sizeof(head) - 1);
	memcpy(pages16[0], tail, sizeof(tail) - 1);
	memset(pages16[1], '#', 8); /* what a contiguous copy would print */
	const char *buf = (const char *)(uintptr_t)(va + PAGE - (sizeof(head) - 1));
	if (memcmp(buf, "check 16 ok\n", 12)) {
		fail(16, "the guest's own mapping does not read back");
		return;
	}
	int64_t r = rt_write(1, buf, 12); /* prints "check 16 ok" if translated per page */
	if (r != 12)
		rt_printf("info check 16 write returned %ld\n", (long)r);
	split_va = va; /* kept for READ (check_files), then split_unmap() */
}

/* READ into the split mapping: 8 bytes land at the end of pages16[2], the rest at
 * the start of pages16[0]. Returns 0 when the bytes are where they belong. */
static int split_read(int fd, const char *want, int64_t n)
{
	memset(pages16[0], 0, PAGE);
	memset(pages16[2], 0, PAGE);
	int64_t r = rt_read(fd, (void *)(uintptr_t)(split_va + PAGE - 8), (uint64_t)n);
	if (r != n || memcmp(pages16[2] + PAGE - 8, want, 8) ||
	    memcmp(pages16[0], want + 8, (size_t)n - 8)) {
		fail(16, "READ into a split virtual buffer: ret %ld", (long)r);
		return -1;
	}
	rt_printf("check 16 ok (READ into the split buffer)\n");
	return 0;
}

/* The second page unmapped: WRITE and READ must stop there, not crash the VM. */
static void split_unmap(int fd)
{
	pt16[1] = 0;
	__asm__ volatile("mov %0, %%cr3" : : "r"(read_cr(3)) : "memory");
	const char *buf = (const char *)(uintptr_t)(split_va + PAGE - 8);
	int64_t r = rt_write(1, buf, 12);
	rt_printf("info check 16 unmapped: write returned %ld\n", (long)r);
	if (fd >= 0) {
		rt_lseek(fd, 0, RT_SEEK_SET);
		r = rt_read(fd, (void *)buf, 20);
		rt_printf("info check 16 unmapped: read returned %ld\n", (long)r);
	}
	pml4()[1] = 0;
	__asm__ volatile("mov %0, %%cr3" : : "r"(read_cr(3)) : "memory");
	split_va = 0;
}

/* ---- 17, 18, 22-24: files at an unmapped path ---- */

static void check_files(void)
{
	const char *tmp = rt_arg_value("tmp");
	static const char text[] = "scratch written by conform\n";
	const int64_t n = sizeof(text) - 1;
	char back[64];
	int item_open = IFV == 1 ? 17 : 23;
	if (!tmp) {
		skip(item_open, "no tmp= path given");
		return;
	}
	int before = failures;
	int fd = rt_open(tmp, RT_O_RDWR, 0);
	if (IFV == 1 ? fd >= 0 : fd != -HFDT_ENOENT)
		fail(item_open, "open(%s) without O_CREAT = %d", tmp, fd);
	if (IFV >= 2) {
		int d = rt_open(tmp, RT_O_CREAT | O_DIRECTORY | RT_O_RDWR, 0700);
		if (d != -HFDT_EINVAL)
			fail(23, "open(O_CREAT|O_DIRECTORY) = %d, expected -22", d);
	}
	fd = rt_open(tmp, RT_O_CREAT | RT_O_RDWR | RT_O_TRUNC, 0600);
	if (fd < 3) {
		fail(item_open, "open(%s, O_CREAT) = %d", tmp, fd);
		return;
	}
	int64_t w = rt_write(fd, text, (uint64_t)n);
	if (IFV >= 2 && w != n)
		fail(22, "write returned %ld for %ld bytes", (long)w, (long)n);
	int64_t end = rt_lseek(fd, 0, RT_SEEK_END);
	if (IFV >= 2 && end != n)
		fail(24, "lseek(SEEK_END) = %ld, file has %ld bytes", (long)end, (long)n);
	int64_t pos = rt_lseek(fd, 0, RT_SEEK_SET);
	int64_t r = rt_read(fd, back, sizeof(back));
	if (pos != 0 || r != n || memcmp(back, text, (size_t)n))
		fail(item_open, "lseek(0) = %ld, read back %ld bytes", (long)pos, (long)r);
	if (split_va && rt_lseek(fd, 0, RT_SEEK_SET) == 0)
		split_read(fd, text, n);
	if (split_va)
		split_unmap(fd);
	if (IFV == 1)
		done(17, before);
	else
		done(23, before);
	before = failures;
	int c = rt_close(fd), c99 = rt_close(99);
	if (c != 0 || c99 >= 0)
		fail(IFV == 1 ? 18 : 22, "close(fd) = %d, close(99) = %d", c, c99);
	else if (IFV == 1)
		ok(18);
	if (IFV >= 2) {
		volatile struct hfdt_v2_rw a = {
			.len = 5, .ret = -1000, .buf = (uint64_t)(uintptr_t) "xxxx\n", .fd = 77};
		rt_hypercall(HFDT_V2_PORT_FILE_WRITE, &a);
		if (a.ret != -HFDT_EBADF)
			fail(22, "write to fd 77: ret %ld", (long)a.ret);
		done(22, before);
	} else {
		skip(22, "interface 2/3 only");
	}
}

static void check_stdin(void)
{
	const char *mode = rt_arg_value("stdin");
	if (IFV == 1) {
		skip(24, "interface 2/3 only (no stdin before main)");
		return;
	}
	if (!mode)
		return;
	char line[128];
	int64_t r = rt_read(0, line, sizeof(line) - 1);
	if (!strcmp(mode, "eof")) {
		if (r != 0)
			fail(24, "read(0) at EOF = %ld", (long)r);
		else
			ok(24);
	} else {
		line[r > 0 ? r : 0] = 0;
		rt_printf("info stdin %ld bytes: %s", (long)r, line);
		if (r <= 0)
			fail(24, "read(0) = %ld", (long)r);
	}
}

/* ---- 20: PCI ---- */

static uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static void check_pci(void)
{
	for (uint32_t bus = 0; bus < 2; bus++)
		for (uint32_t dev = 0; dev < 32; dev++) {
			rt_outl(HFDT_PCI_CONFIG_ADDRESS, 0x80000000u | bus << 16 | dev << 11);
			uint32_t v = inl(HFDT_PCI_CONFIG_DATA);
			if (v != 0xFFFFFFFFu) {
				fail(20, "bus %u device %u reads 0x%x", bus, dev, v);
				return;
			}
		}
	ok(20);
}

/* ---- 26, 27: interface 3 file calls ---- */

static uint8_t dents[4096] __attribute__((aligned(8)));

static void check_getdents(void)
{
	const char *dir = rt_arg_value("dir"), *names = rt_arg_value("names");
	if (IFV != 3 || !dir || !names) {
		skip(26, IFV != 3 ? "interface 3 only" : "no dir=/names= given");
		return;
	}
	int before = failures;
	int fd = rt_open(dir, O_DIRECTORY, 0);
	if (fd < 0) {
		fail(26, "open(%s, O_DIRECTORY) = %d", dir, fd);
		return;
	}
	char seen[512] = "";
	for (int round = 0; round < 64; round++) {
		volatile struct hfdt_v3_getdents a = {
			.fd = fd, .buf = (uint64_t)(uintptr_t)dents, .len = sizeof(dents)};
		rt_hypercall(HFDT_V3_PORT_GETDENTS, &a);
		if (a.tag == HFDT_V3_GETDENTS_END)
			break;
		if (a.tag != HFDT_V3_GETDENTS_OK || a.payload > sizeof(dents)) {
			fail(26, "getdents tag %u payload %lu", a.tag, (unsigned long)a.payload);
			break;
		}
		for (uint64_t off = 0; off < a.payload;) {
			const struct hfdt_dirent64 *d = (const void *)(dents + off);
			size_t nl = strlen(d->d_name);
			if (d->d_reclen != ((19 + nl + 1 + 7) & ~7ULL) || !d->d_reclen) {
				fail(26, "%s: d_reclen %u", d->d_name, d->d_reclen);
				break;
			}
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				rt_strcat3(seen, sizeof(seen), seen, *seen ? "," : "", d->d_name);
			off += d->d_reclen;
		}
		if (round == 63)
			fail(26, "no end of directory after 64 calls");
	}
	rt_close(fd);
	rt_printf("info getdents %s: %s\n", dir, seen);
	/* every expected name (comma-separated in names=) must be there */
	char want[256];
	rt_snprintf(want, sizeof(want), "%s", names);
	for (char *p = want, *q; *p; p = q) {
		for (q = p; *q && *q != ','; q++)
			;
		char c = *q;
		*q = 0;
		int found = 0;
		for (const char *s = seen; *s;) {
			size_t l = 0;
			while (s[l] && s[l] != ',')
				l++;
			found |= l == strlen(p) && !strncmp(s, p, l);
			s += l + (s[l] == ',');
		}
		if (!found)
			fail(26, "%s missing from %s", p, dir);
		if (c)
			q++;
	}
	done(26, before);
}

static struct hfdt_file_attr attr;

static void check_stat(void)
{
	const char *file = rt_arg_value("file");
	if (IFV != 3 || !file) {
		skip(27, IFV != 3 ? "interface 3 only" : "no file= given");
		return;
	}
	int before = failures;
	memset(&attr, 0xA5, sizeof(attr));
	volatile struct hfdt_v3_stat s = {.name = (uint64_t)(uintptr_t)file,
					  .kind = HFDT_V3_STAT_FOLLOW,
					  .attr = (uint64_t)(uintptr_t)&attr};
	rt_hypercall(HFDT_V3_PORT_FILE_STAT, &s);
	if (s.tag != HFDT_V3_RESULT_OK || (uint64_t)attr.size != arg_u64("size", 0) ||
	    (attr.mode & 0170000) != 0100000)
		fail(27, "stat(%s): tag %u size %ld mode 0%o", file, s.tag, (long)attr.size,
		     attr.mode);
	volatile struct hfdt_v3_stat m = {.name = (uint64_t)(uintptr_t) "/no/such/file/27",
					  .kind = HFDT_V3_STAT_FOLLOW,
					  .attr = (uint64_t)(uintptr_t)&attr};
	rt_hypercall(HFDT_V3_PORT_FILE_STAT, &m);
	if (m.tag != HFDT_V3_RESULT_ERROR || m.err != HFDT_ENOENT)
		fail(27, "stat of a missing path: tag %u errno %d", m.tag, m.err);
	/* fstat of an open file, and of fd 1 (EBADF: fd < 3) */
	int fd = rt_open(file, RT_O_RDONLY, 0);
	volatile struct hfdt_v3_fstat f = {.fd = fd, .attr = (uint64_t)(uintptr_t)&attr};
	attr.size = -1;
	rt_hypercall(HFDT_V3_PORT_FILE_FSTAT, &f);
	if (fd < 3 || f.tag != HFDT_V3_RESULT_OK || (uint64_t)attr.size != arg_u64("size", 0))
		fail(27, "fstat(fd %d): tag %u size %ld", fd, f.tag, (long)attr.size);
	if (fd >= 3)
		rt_close(fd);
	volatile struct hfdt_v3_fstat f1 = {.fd = 1, .attr = (uint64_t)(uintptr_t)&attr};
	rt_hypercall(HFDT_V3_PORT_FILE_FSTAT, &f1);
	if (f1.tag != HFDT_V3_RESULT_ERROR || f1.err != HFDT_EBADF)
		fail(27, "fstat(1): tag %u errno %d", f1.tag, f1.err);
	const char *dir = rt_arg_value("mkdir");
	if (dir) {
		volatile struct hfdt_v3_mkdir k = {.path = (uint64_t)(uintptr_t)dir,
						   .len = strlen(dir)};
		rt_hypercall(HFDT_V3_PORT_MKDIR, &k);
		if (k.tag != HFDT_V3_RESULT_OK)
			fail(27, "mkdir(%s): tag %u errno %d", dir, k.tag, k.err);
		volatile struct hfdt_v3_mkdir k2 = {.path = (uint64_t)(uintptr_t)dir,
						    .len = strlen(dir)};
		rt_hypercall(HFDT_V3_PORT_MKDIR, &k2);
		if (k2.tag != HFDT_V3_RESULT_ERROR || k2.err != HFDT_EEXIST)
			fail(27, "mkdir(%s) again: tag %u errno %d", dir, k2.tag, k2.err);
	}
	done(27, before);
}

/* ---- 28-31: platform ---- */

static void check_cpus(void)
{
	uint32_t cpus = (uint32_t)arg_u64("cpus", 1);
	if (rt_possible_cpus() != cpus || rt_cpu_online() != cpus)
		fail(28, "num_cpus %u, online %u, expected %u", rt_possible_cpus(), rt_cpu_online(),
		     cpus);
	else
		ok(28);
}

static void check_low_mmio(void)
{
	if (G < 0x100000) {
		skip(29, "0x9F000-0xFFFFF is RAM here (G = 0)");
		return;
	}
	if (rt_map_identity(0, PAGE_2M)) {
		fail(29, "cannot map the first 2 MiB");
		return;
	}
	const volatile uint32_t *p;
	for (uint64_t a = 0x9F000; a < 0x100000; a += a < 0xA0000 ? 0x40 : 0x400) {
		if (a >= 0xA0000 && a < 0xF0000)
			continue;
		p = (const volatile uint32_t *)(uintptr_t)a;
		if (*p != 0) {
			fail(29, "0x%lx reads 0x%x", (unsigned long)a, *p);
			return;
		}
	}
	ok(29);
}

static void check_ioapic(void)
{
	const uint64_t base = 0xFEC00000ULL;
	if (rt_map_identity_flags(base, PAGE_2M, RT_MAP_UNCACHED)) {
		fail(30, "cannot map the IOAPIC");
		return;
	}
	volatile uint32_t *sel = (volatile uint32_t *)(uintptr_t)base;
	volatile uint32_t *win = (volatile uint32_t *)(uintptr_t)(base + 0x10);
	*sel = 1; /* IOAPICVER */
	uint32_t v = *win;
	if ((v & 0xFF) == 0 || ((v >> 16) & 0xFF) < 23)
		fail(30, "IOAPIC version register reads 0x%x", v);
	else
		ok(30), rt_printf("info ioapic version 0x%x\n", v);
}

static void check_fsgsbase(void)
{
	uint32_t r[4];
	rt_cpuid(7, 0, r);
	if (!(r[1] & 1))
		fail(31, "CPUID.7.EBX[0] (FSGSBASE) clear: real kernels exit 1");
	else
		ok(31);
}

int main(int argc, char **argv, char **envp)
{
	bi = rt_hermit_boot_info;
	G = rt_fdt_guest_base();
	fdt = (const uint8_t *)(uintptr_t)bi->device_tree;
	uint32_t len = 0;
	const uint8_t *reg = fdt ? rt_fdt_prop(fdt, "memory@", "reg", &len) : NULL;
	uint64_t ram = arg_u64("mem", reg && len == 16 ? rt_be64(reg + 8) : 0);
	rt_printf("conform: %s, uhyve-interface %u\n", rt_abi_name, IFV);
	check_entry();
	check_placement(ram);
	check_recursive();
	check_identity_map();
	check_boot_info(ram);
	if (fdt)
		check_fdt(ram);
	else
		fail(8, "no FDT in the boot info");
	check_args(argc, argv, envp);
	check_serial();
	check_virtual_buffer();
	check_files();
	if (split_va)
		split_unmap(-1); /* no tmp= file: WRITE only */
	check_pci();
	check_stdin();
	check_getdents();
	check_stat();
	check_cpus();
	check_ioapic();
	check_fsgsbase();
	if (rt_has_arg("lowmmio"))
		check_low_mmio(); /* last: a hypervisor that stops the VM there ends the list */
	else
		skip(29, "not asked for (argument lowmmio)");
	rt_printf("conform: %d failed\n", failures);
	return failures ? 1 : 0;
}
