/* boot.c: the GDT and page tables of section 3, and the CPU frequency.
 *
 * No KVM here: these only write guest memory, so unit tests check them to the
 * byte.
 */
#include "boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <linux/kvm.h>

#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "vm.h"

#define DEFAULT_CPU_MHZ 2000

void boot_write_gdt(struct guest_mem *m)
{
	uint64_t *gdt = gpa_ptr(m, HERMIT_GDT_ADDR, HERMIT_GDT_ENTRIES * 8);
	gdt[0] = 0;
	gdt[1] = HERMIT_GDT_CODE;
	gdt[2] = HERMIT_GDT_DATA;
}

void boot_write_page_tables(struct guest_mem *m)
{
	uint64_t *pml4 = gpa_ptr(m, HERMIT_PML4_ADDR, 4096);
	uint64_t *pdpt = gpa_ptr(m, HERMIT_PDPT_ADDR, 4096);
	uint64_t *pd = gpa_ptr(m, HERMIT_PD_ADDR, 4096);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = HERMIT_PDPT_ADDR | PTE_PRESENT | PTE_WRITABLE;
	/* The recursive slot: the guest reaches its own tables through it. */
	pml4[511] = HERMIT_PML4_ADDR | PTE_PRESENT | PTE_WRITABLE;
	pdpt[0] = HERMIT_PD_ADDR | PTE_PRESENT | PTE_WRITABLE;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE;
}

uint32_t cpu_mhz_from_cpuinfo(const char *text)
{
	const char *p = strstr(text, "cpu MHz");
	if (!p || !(p = strchr(p, ':')))
		return 0;
	double mhz = strtod(p + 1, NULL);
	return mhz > 0 && mhz < 1e6 ? (uint32_t)(mhz + 0.5) : 0;
}

static uint32_t cpu_mhz_from_proc(void)
{
	char buf[8192];
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return cpu_mhz_from_cpuinfo(buf);
}

/* The guest calibrates its timers with this; 0 would make a C kernel program the
 * PIT, which does not exist here. Fallbacks: KVM's TSC rate, /proc/cpuinfo, 2 GHz. */
uint32_t boot_cpu_freq_khz(int vcpu_fd)
{
	if (vcpu_fd >= 0) {
		int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
		if (khz > 0)
			return (uint32_t)khz;
	}
	uint32_t mhz = cpu_mhz_from_proc();
	return (mhz ? mhz : DEFAULT_CPU_MHZ) * 1000u;
}

uint32_t boot_cpu_freq_mhz(int vcpu_fd)
{
	uint32_t mhz = (boot_cpu_freq_khz(vcpu_fd) + 500) / 1000;
	return mhz > 0xFFFF ? 0xFFFF : mhz;
}

void boot_entry_info_common(struct hermit_entry_boot_info *bi, const struct vm *vm, uint32_t khz)
{
	const struct image *img = &vm->image;
	memset(bi, 0, sizeof(*bi));
	bi->kernel_image_addr_start = img->base;
	bi->kernel_image_addr_end = img->end;
	bi->tls_start = img->tls_start;
	bi->tls_filesz = img->tls_filesz;
	bi->tls_memsz = img->tls_memsz;
	bi->tls_align = img->tls_align;
	bi->platform = HERMIT_ENTRY_PLATFORM_UHYVE;
	bi->num_cpus = vm->ncpus;
	bi->cpu_freq = khz;
	bi->boot_time[0] = boot_time_ns(); /* the high half stays 0 until the year 2554 */
}

uint64_t boot_gtod_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
}

uint64_t boot_time_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
