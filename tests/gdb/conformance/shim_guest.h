/* shim_guest.h: twin.c as a proxy test guest (the rusty flavour of
 * tests/guest/guest.mk): hyper_write() is the classic write hypercall, a 32-bit
 * OUT of the argument struct's address. The labels around the OUT let the cases
 * name the instruction and the two after it (item 2: stepi over the hypercall). */
#include "rt.h"

#include "hermit_abi.h"

long hyper_write(int fd, const char *buf, long len);

long hyper_write(int fd, const char *buf, long len)
{
	volatile struct hermit_write a = {
		.fd = fd, .buf = (uint64_t)(uintptr_t)buf, .len = (uint64_t)len};
	__asm__ volatile(".globl hc_insn, hc_next, hc_next2\n"
			 "hc_insn: outl %%eax, %%dx\n"
			 "hc_next: nop\n"
			 "hc_next2: nop\n"
			 :
			 : "a"((uint32_t)(uintptr_t)&a), "d"(HERMIT_PORT_WRITE)
			 : "memory");
	return (long)a.len;
}
