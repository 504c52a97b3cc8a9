/* xgetbv.c: read XCR0 as RustyHermit's start-up does.
 *
 * Like the real kernel it first sets CR4.OSXSAVE when CPUID offers XSAVE
 * (without it XGETBV is #UD on hardware). On KVM-PVM hosts the hypervisor must
 * emulate XGETBV. XCR0 bit 0 (x87 state) is architecturally always 1.
 */
#include "rt.h"

#define CPUID1_ECX_XSAVE (1u << 26)
#define CR4_OSXSAVE	 (1ULL << 18)
#define XCR0_X87	 1u

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t r[4];
	rt_cpuid(1, 0, r);
	if (r[2] & CPUID1_ECX_XSAVE) {
		uint64_t cr4;
		__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSXSAVE));
	} else {
		rt_printf("xgetbv: CPUID has no XSAVE; executing XGETBV anyway\n");
	}
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	rt_printf("xgetbv: xcr0=0x%x%08x\n", hi, lo);
	if (!(lo & XCR0_X87)) {
		rt_printf("xgetbv: x87 bit is clear\n");
		return 1;
	}
	rt_printf("xgetbv: ok\n");
	return 0;
}
