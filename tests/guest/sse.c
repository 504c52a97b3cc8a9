/* sse.c: a guest that uses SSE in ring 0, as every real HermitCore kernel does.
 *
 * It enables SSE the way a kernel must (CR4.OSFXSR | CR4.OSXMMEXCPT; CR0.MP set,
 * CR0.EM and CR0.TS clear), then adds two 128-bit vectors with movdqu/paddq and
 * reads both lanes back (movdqu to memory, movq/psrldq to registers) and checks the sums.
 * Hardware KVM runs this natively (exit 0). Software KVM (PVM) emulates guest
 * ring 0 and cannot execute SSE: proxy must end the VM (status 126) with a
 * message naming the RIP and the instruction bytes, never hang or run on.
 * The guest itself is built with -mgeneral-regs-only: the vector code is all
 * inline asm, so gcc never touches an XMM register behind our back.
 */
#include "rt.h"

#define CR0_MP		(1ULL << 1)
#define CR0_EM		(1ULL << 2)
#define CR0_TS		(1ULL << 3)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXC	(1ULL << 10)
#define CPUID1_EDX_SSE2 (1u << 26)

static const uint64_t a[2] __attribute__((aligned(16))) = {0x1111111122222222ULL, 40};
static const uint64_t b[2] __attribute__((aligned(16))) = {0x0101010101010101ULL, 2};
static uint64_t sum[2];

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t r[4];
	rt_cpuid(1, 0, r);
	if (!(r[3] & CPUID1_EDX_SSE2)) {
		rt_printf("sse: CPUID has no SSE2\n");
		return 2;
	}
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 | CR0_MP) & ~(CR0_EM | CR0_TS)));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXC));
	rt_printf("sse: SSE enabled (cr0 0x%lx, cr4 0x%lx)\n", (unsigned long)(cr0 | CR0_MP),
		  (unsigned long)(cr4 | CR4_OSFXSR | CR4_OSXMMEXC));

	uint64_t lo, hi;
	__asm__ volatile("movdqu (%[a]), %%xmm0\n\t"
			 "movdqu (%[b]), %%xmm1\n\t"
			 "paddq %%xmm1, %%xmm0\n\t"
			 "movdqu %%xmm0, (%[sum])\n\t"
			 "movq %%xmm0, %[lo]\n\t"
			 "psrldq $8, %%xmm0\n\t"
			 "movq %%xmm0, %[hi]"
			 : [lo] "=r"(lo), [hi] "=r"(hi)
			 : [a] "r"(a), [b] "r"(b), [sum] "r"(sum)
			 : "memory"); /* xmm0/xmm1: gcc may not name them under
				       * -mgeneral-regs-only, and it never uses them */
	uint64_t want_lo = a[0] + b[0], want_hi = a[1] + b[1];
	rt_printf("sse: paddq gives 0x%lx 0x%lx\n", (unsigned long)lo, (unsigned long)hi);
	if (lo != want_lo || hi != want_hi || sum[0] != want_lo || sum[1] != want_hi) {
		rt_printf("sse: wrong result, expected 0x%lx 0x%lx\n", (unsigned long)want_lo,
			  (unsigned long)want_hi);
		return 1;
	}
	rt_printf("sse: ok\n");
	return 0;
}
