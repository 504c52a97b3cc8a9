/* test_boot.c: the GDT and boot page tables byte by byte, and the CPU frequency. */
#include "boot.h"
#include "hermit_abi.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/time.h>

#define RAM_SIZE (1ULL << 20)

static uint64_t entry(const uint8_t *ram, uint64_t table, unsigned i)
{
	uint64_t v;
	memcpy(&v, ram + table + 8 * i, 8);
	return v;
}

static void test_gdt(void)
{
	struct guest_mem m = {0};
	guest_mem_layout(&m, RAM_SIZE);
	m.host = malloc(RAM_SIZE);
	memset(m.host, 0xEE, RAM_SIZE);
	boot_write_gdt(&m);
	CHECK_EQ(entry(m.host, 0x1000, 0), 0);
	CHECK_EQ(entry(m.host, 0x1000, 1), 0x00AF9B000000FFFFULL);
	CHECK_EQ(entry(m.host, 0x1000, 2), 0x00CF93000000FFFFULL);
	CHECK_EQ(m.host[0x1000 + 24], 0xEE); /* exactly three entries */
	CHECK_EQ(m.host[0x0FFF], 0xEE);
	free(m.host);
}

static void test_page_tables(void)
{
	struct guest_mem m = {0};
	guest_mem_layout(&m, RAM_SIZE);
	m.host = malloc(RAM_SIZE);
	memset(m.host, 0xEE, RAM_SIZE); /* stale bytes the tables must not keep */
	boot_write_page_tables(&m);
	const uint8_t *ram = m.host;

	CHECK_EQ(entry(ram, 0x10000, 0), 0x11003);
	CHECK_EQ(entry(ram, 0x10000, 511), 0x10003);
	CHECK_EQ(entry(ram, 0x11000, 0), 0x12003);
	int zero_pml4 = 1, zero_pdpt = 1, pd_ok = 1;
	for (unsigned i = 1; i < 511; i++)
		zero_pml4 &= entry(ram, 0x10000, i) == 0;
	for (unsigned i = 1; i < 512; i++)
		zero_pdpt &= entry(ram, 0x11000, i) == 0;
	for (uint64_t i = 0; i < 512; i++) {
		if (entry(ram, 0x12000, (unsigned)i) != ((i << 21) | 0x83)) {
			fprintf(stderr, "    PD[%llu] = 0x%llx\n", (unsigned long long)i,
				(unsigned long long)entry(ram, 0x12000, (unsigned)i));
			pd_ok = 0;
		}
	}
	CHECK(zero_pml4);
	CHECK(zero_pdpt);
	CHECK(pd_ok);
	CHECK_EQ(ram[0x13000], 0xEE); /* nothing past the PD */
	CHECK_EQ(ram[0x0FFFF], 0xEE);

	/* The tables map what they claim: walk them like the guest would. */
	uint64_t gpa, left;
	CHECK_EQ(gva_to_gpa(&m, HERMIT_PML4_ADDR, 0x3FFFFFFF, &gpa, &left), 0);
	CHECK_EQ(gpa, 0x3FFFFFFF);
	CHECK_EQ(gva_to_gpa(&m, HERMIT_PML4_ADDR, 0x200123, &gpa, &left), 0);
	CHECK_EQ(gpa, 0x200123);
	CHECK_EQ(left, 0x200000 - 0x123);
	CHECK(gva_to_gpa(&m, HERMIT_PML4_ADDR, 0x40000000, &gpa, &left) != 0);
	free(m.host);
}

static void test_cpu_freq(void)
{
	const char *cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\n"
			      "model name\t: Intel(R) Xeon(R)\nstepping\t: 7\n"
			      "cpu MHz\t\t: 2994.375\ncache size\t: 16384 KB\n"
			      "processor\t: 1\ncpu MHz\t\t: 1200.000\n";
	CHECK_EQ(cpu_mhz_from_cpuinfo(cpuinfo), 2994);
	CHECK_EQ(cpu_mhz_from_cpuinfo("cpu MHz\t\t: 2994.6\n"), 2995); /* rounded */
	CHECK_EQ(cpu_mhz_from_cpuinfo("processor\t: 0\nBogoMIPS\t: 5988.75\n"), 0);
	CHECK_EQ(cpu_mhz_from_cpuinfo(""), 0);
	CHECK_EQ(cpu_mhz_from_cpuinfo("cpu MHz\t\t: unknown\n"), 0);
	CHECK_EQ(cpu_mhz_from_cpuinfo("cpu MHz\n"), 0);
	CHECK_EQ(cpu_mhz_from_cpuinfo("cpu MHz\t: 9999999\n"), 0);

	uint32_t mhz = boot_cpu_freq_mhz(-1);
	CHECK(mhz > 0);
	CHECK(mhz <= 0xFFFF);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t now = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	uint64_t us = boot_gtod_us();
	CHECK(us >= now && us - now < 10 * 1000000);
}

int main(void)
{
	test_gdt();
	test_page_tables();
	test_cpu_freq();
	return unit_report();
}
