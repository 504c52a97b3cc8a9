/* test_guest_mem.c: the RAM layout around the PCI hole, gpa_ptr's bounds, and the
 * page-table walk (4 KiB, 2 MiB and 1 GiB pages) over hand-built tables in fake RAM. */
#include "guest_mem.h"
#include "hermit_abi.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MiB	 (1ULL << 20)
#define GiB	 (1ULL << 30)
#define RAM_SIZE (16 * MiB)

static void test_layout(void)
{
	struct guest_mem m = {0};
	guest_mem_layout(&m, 512 * MiB);
	CHECK(m.size == 512 * MiB && m.low_size == 512 * MiB && m.limit == 512 * MiB);
	guest_mem_layout(&m, 0xCFFFF000);
	CHECK(m.low_size == 0xCFFFF000 && m.limit == 0xCFFFF000);
	guest_mem_layout(&m, 0xD0000000);
	CHECK(m.low_size == 0xD0000000 && m.limit == 4 * GiB);
	guest_mem_layout(&m, 4 * GiB);
	CHECK_EQ(m.size, 4 * GiB);
	CHECK_EQ(m.low_size, 0xD0000000);
	CHECK_EQ(m.limit, 4 * GiB + 768 * MiB);
}

static void test_gpa_ptr_low(void)
{
	struct guest_mem m = {0};
	uint8_t *ram = malloc(RAM_SIZE);
	guest_mem_layout(&m, RAM_SIZE);
	m.host = ram;
	CHECK(gpa_ptr(&m, 0, 8) == ram);
	CHECK(gpa_ptr(&m, RAM_SIZE - 1, 1) == ram + RAM_SIZE - 1);
	CHECK(gpa_ptr(&m, 0, RAM_SIZE) == ram);
	CHECK(gpa_ptr(&m, RAM_SIZE, 1) == NULL);
	CHECK(gpa_ptr(&m, RAM_SIZE - 4, 8) == NULL);
	CHECK(gpa_ptr(&m, 0, RAM_SIZE + 1) == NULL);
	CHECK(gpa_ptr(&m, 0xFFFFFFFFFFFFFFF0ULL, 0x20) == NULL);
	CHECK(gpa_ptr(&m, 0xFFFFFFFFFFFFFFF0ULL, 0x10) == NULL);
	CHECK(gpa_ptr(&m, 8, UINT64_MAX) == NULL);
	CHECK(gpa_ptr(&m, 4 * GiB, 1) == NULL); /* no high RAM at this size */

	strcpy((char *)ram + 0x100, "hello");
	char buf[16];
	CHECK_EQ(gpa_strncpy(&m, 0x100, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "hello");
	CHECK_EQ(gpa_strncpy(&m, 0x105, buf, sizeof(buf)), 0);
	CHECK_EQ(gpa_strncpy(&m, 0x100, buf, 5), -ENAMETOOLONG);
	CHECK_EQ(gpa_strncpy(&m, 0x100, buf, 6), 5);
	CHECK_EQ(gpa_strncpy(&m, RAM_SIZE, buf, sizeof(buf)), -EFAULT);
	memset(ram + RAM_SIZE - 4, 'x', 4); /* runs off the end of RAM without a NUL */
	CHECK_EQ(gpa_strncpy(&m, RAM_SIZE - 4, buf, sizeof(buf)), -EFAULT);
	free(ram);
}

/* Above the hole: an address-space reservation, never touched, stands in for RAM. */
static void test_gpa_ptr_high(void)
{
	struct guest_mem m = {0};
	uint64_t size = 0xD0000000 + 16 * MiB;
	uint8_t *ram =
		mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		fprintf(stderr, "no address space for the high-RAM test\n");
		return;
	}
	guest_mem_layout(&m, size);
	m.host = ram;
	CHECK_EQ(m.limit, 4 * GiB + 16 * MiB);
	CHECK(gpa_ptr(&m, 0xCFFFFFFF, 1) == ram + 0xCFFFFFFF);
	CHECK(gpa_ptr(&m, 0xCFFFFFFF, 2) == NULL); /* straddles the start of the hole */
	CHECK(gpa_ptr(&m, 0xD0000000, 1) == NULL);
	CHECK(gpa_ptr(&m, 0xE0000000, 8) == NULL);
	CHECK(gpa_ptr(&m, 0xFFFFFFFF, 1) == NULL);
	CHECK(gpa_ptr(&m, 0xFFFFFFFF, 2) == NULL); /* straddles the end of the hole */
	CHECK(gpa_ptr(&m, 4 * GiB, 1) == ram + 0xD0000000);
	CHECK(gpa_ptr(&m, 4 * GiB + 0x1234, 16) == ram + 0xD0000000 + 0x1234);
	CHECK(gpa_ptr(&m, m.limit - 1, 1) == ram + size - 1);
	CHECK(gpa_ptr(&m, m.limit, 1) == NULL);
	CHECK(gpa_ptr(&m, m.limit - 8, 16) == NULL);
	CHECK(gpa_ptr(&m, 0, 0xD0000000 + 1) == NULL); /* low RAM does not run into high */
	munmap(ram, size);
}

/* Page tables in fake RAM (cr3 = 0x1000):
 *   PML4[0] -> PDPT 0x2000;  PML4[511] -> PDPT 0x5000
 *   PDPT[0] -> PD 0x3000;    PDPT[1] = 1 GiB page at 0;  PDPT 0x5000[511] -> PD 0x6000
 *   PD 0x6000[0] = 2 MiB page at 0, [511] = 2 MiB page at 0x600000 (the top of the space)
 *   PD[0] -> PT 0x4000;  PD[1] = 2 MiB page at 0x400000 (PAT bit set);  PD[2] absent;
 *   PD[3] -> a page table outside RAM
 *   PT[1] -> 0x100000, PT[2] -> 0x101000 (contiguous), PT[3] -> 0x200000,
 *   PT[4] -> 0x103000 (NX), PT[5] absent, PT[6] -> 0x2000000 (outside RAM) */
#define CR3 0x1000ULL
#define P   (PTE_PRESENT | PTE_WRITABLE)

static void set_entry(uint8_t *ram, uint64_t table, unsigned i, uint64_t val)
{
	memcpy(ram + table + 8 * i, &val, 8);
}

static uint8_t *build_tables(struct guest_mem *m)
{
	uint8_t *ram = calloc(1, RAM_SIZE);
	guest_mem_layout(m, RAM_SIZE);
	m->host = ram;
	set_entry(ram, 0x1000, 0, 0x2000 | P);
	set_entry(ram, 0x1000, 511, 0x5000 | P);
	set_entry(ram, 0x2000, 0, 0x3000 | P);
	set_entry(ram, 0x2000, 1, 0 | P | PTE_PAGE_SIZE);
	set_entry(ram, 0x5000, 511, 0x6000 | P);
	set_entry(ram, 0x6000, 0, 0 | P | PTE_PAGE_SIZE);
	set_entry(ram, 0x6000, 511, 0x600000 | P | PTE_PAGE_SIZE);
	set_entry(ram, 0x3000, 0, 0x4000 | P);
	set_entry(ram, 0x3000, 1, 0x400000 | P | PTE_PAGE_SIZE | (1 << 12));
	set_entry(ram, 0x3000, 3, 0x80000000 | P);
	set_entry(ram, 0x4000, 1, 0x100000 | P);
	set_entry(ram, 0x4000, 2, 0x101000 | P);
	set_entry(ram, 0x4000, 3, 0x200000 | P);
	set_entry(ram, 0x4000, 4, 0x103000 | P | PTE_NX);
	set_entry(ram, 0x4000, 6, 0x2000000 | P);
	return ram;
}

static void test_walk(void)
{
	struct guest_mem m = {0};
	uint8_t *ram = build_tables(&m);
	uint64_t gpa = 0, left = 0;

	CHECK_EQ(gva_to_gpa(&m, CR3, 0x1234, &gpa, &left), 0); /* 4 KiB */
	CHECK_EQ(gpa, 0x100234);
	CHECK_EQ(left, 0x1000 - 0x234);
	CHECK_EQ(gva_to_gpa(&m, CR3 | 0x18, 0x3000, &gpa, &left), 0); /* PCD|PWT in cr3 */
	CHECK_EQ(gpa, 0x200000);
	CHECK_EQ(left, 0x1000);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x4FFF, &gpa, &left), 0); /* NX is not an address bit */
	CHECK_EQ(gpa, 0x103FFF);
	CHECK_EQ(left, 1);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x212345, &gpa, &left), 0); /* 2 MiB, PAT bit ignored */
	CHECK_EQ(gpa, 0x412345);
	CHECK_EQ(left, 0x200000 - 0x12345);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x40000000 + 0x123456, &gpa, &left), 0); /* 1 GiB */
	CHECK_EQ(gpa, 0x123456);
	CHECK_EQ(left, GiB - 0x123456);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0xFFFFFFFFC0001234ULL, &gpa, &left), 0); /* high half */
	CHECK_EQ(gpa, 0x1234);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0xFFFFFFFFFFFFFFFFULL, &gpa, &left), 0);
	CHECK_EQ(gpa, 0x7FFFFF);
	CHECK_EQ(left, 1);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x6000, &gpa, &left), 0); /* translates; RAM is gpa_ptr's */
	CHECK_EQ(gpa, 0x2000000);

	CHECK_EQ(gva_to_gpa(&m, CR3, 0x0, &gpa, &left), -EFAULT);	 /* PT[0] absent */
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x5000, &gpa, &left), -EFAULT);	 /* PT[5] absent */
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x400000, &gpa, &left), -EFAULT);	 /* PD[2] absent */
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x600000, &gpa, &left), -EFAULT);	 /* table outside RAM */
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x80000000, &gpa, &left), -EFAULT); /* PDPT[2] absent */
	CHECK_EQ(gva_to_gpa(&m, CR3, 0x0000800000000000ULL, &gpa, &left), -EFAULT);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0xFFFF7FFFFFFFF000ULL, &gpa, &left), -EFAULT);
	CHECK_EQ(gva_to_gpa(&m, CR3, 0xFFFF800000000000ULL, &gpa, &left), -EFAULT);
	CHECK_EQ(gva_to_gpa(&m, 0x7FFFF000, 0x1000, &gpa, &left), -EFAULT); /* cr3 outside RAM */
	free(ram);
}

static void test_iovec(void)
{
	struct guest_mem m = {0};
	uint8_t *ram = build_tables(&m);
	struct iovec iov[4];
	uint64_t covered = 99;

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1000, 0x3000, iov, 4, &covered), 2);
	CHECK_EQ(covered, 0x3000);
	CHECK(iov[0].iov_base == ram + 0x100000 && iov[0].iov_len == 0x2000); /* merged */
	CHECK(iov[1].iov_base == ram + 0x200000 && iov[1].iov_len == 0x1000);

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1800, 0x1000, iov, 4, &covered), 1);
	CHECK(iov[0].iov_base == ram + 0x100800 && iov[0].iov_len == 0x1000);
	CHECK_EQ(covered, 0x1000);

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x2F00, 0x1200, iov, 4, &covered), 3); /* 3 pages */
	CHECK(iov[0].iov_base == ram + 0x101F00 && iov[0].iov_len == 0x100);
	CHECK(iov[1].iov_base == ram + 0x200000 && iov[1].iov_len == 0x1000);
	CHECK(iov[2].iov_base == ram + 0x103000 && iov[2].iov_len == 0x100);
	CHECK_EQ(covered, 0x1200);

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1000, 0x3000, iov, 1, &covered), 1); /* max_iov */
	CHECK_EQ(covered, 0x2000);
	CHECK(iov[0].iov_base == ram + 0x100000 && iov[0].iov_len == 0x2000);

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x200000, 0x200000, iov, 4, &covered), 1); /* 2 MiB */
	CHECK(iov[0].iov_base == ram + 0x400000 && iov[0].iov_len == 0x200000);
	CHECK_EQ(covered, 0x200000);

	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1000, 0, iov, 4, &covered), 0);
	CHECK_EQ(covered, 0);
	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1000, 0x5000, iov, 4, &covered), -EFAULT); /* PT[5] */
	CHECK_EQ(gva_to_iovec(&m, CR3, 0x6000, 0x10, iov, 4, &covered), -EFAULT);   /* not RAM */
	CHECK_EQ(gva_to_iovec(&m, CR3, 0xFFFFFFFFFFFFF000ULL, 0x2000, iov, 4, &covered), -EFAULT);
	CHECK_EQ(gva_to_iovec(&m, CR3, 0x1000, UINT64_MAX, iov, 4, &covered), -EFAULT);
	/* The last page of the address space ends at 2^64: it does not wrap. */
	CHECK_EQ(gva_to_iovec(&m, CR3, 0xFFFFFFFFFFFFF000ULL, 0x1000, iov, 4, &covered), 1);
	CHECK(iov[0].iov_base == ram + 0x7FF000 && iov[0].iov_len == 0x1000);
	CHECK_EQ(covered, 0x1000);
	free(ram);
}

static void test_copy(void)
{
	struct guest_mem m = {0};
	uint8_t *ram = build_tables(&m);
	uint8_t src[0x1000], dst[0x1000];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);

	/* Across two non-contiguous pages: 0x100 bytes at 0x101F00, the rest at 0x200000. */
	CHECK_EQ(gva_write(&m, CR3, 0x2F00, src, 0x200), 0x200);
	CHECK_MEM(ram + 0x101F00, src, 0x100);
	CHECK_MEM(ram + 0x200000, src + 0x100, 0x100);
	memset(dst, 0, sizeof(dst));
	CHECK_EQ(gva_read(&m, CR3, 0x2F00, dst, 0x200), 0x200);
	CHECK_MEM(dst, src, 0x200);

	/* PT[4] is mapped, PT[5] is not: the copies stop at the page boundary. */
	CHECK_EQ(gva_write(&m, CR3, 0x4800, src, 0x1000), 0x800);
	CHECK_MEM(ram + 0x103800, src, 0x800);
	CHECK_EQ(ram[0x104000], 0); /* nothing written past the short count */
	memset(dst, 0, sizeof(dst));
	CHECK_EQ(gva_read(&m, CR3, 0x4800, dst, 0x1000), 0x800);
	CHECK_MEM(dst, src, 0x800);
	CHECK_EQ(dst[0x800], 0);

	CHECK_EQ(gva_read(&m, CR3, 0x5000, dst, 0x10), 0);  /* first page unmapped */
	CHECK_EQ(gva_write(&m, CR3, 0x6000, src, 0x10), 0); /* maps outside RAM */
	CHECK_EQ(gva_read(&m, CR3, 0x1000, dst, 0), 0);
	CHECK_EQ(gva_write(&m, CR3, 0xFFFFFFFFFFFFFF00ULL, src, 0x100), 0x100);
	CHECK_MEM(ram + 0x7FFF00, src, 0x100);
	free(ram);
}

int main(void)
{
	test_layout();
	test_gpa_ptr_low();
	test_gpa_ptr_high();
	test_walk();
	test_iovec();
	test_copy();
	return unit_report();
}
