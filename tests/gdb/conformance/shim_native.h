/* shim_native.h: twin.c as a native Linux program for gdbserver: hyper_write() is
 * the write system call, with the same labels as the guest's hypercall. */
long hyper_write(int fd, const char *buf, long len);

long hyper_write(int fd, const char *buf, long len)
{
	long ret;
	__asm__ volatile(".globl hc_insn, hc_next, hc_next2\n"
			 "hc_insn: syscall\n"
			 "hc_next: nop\n"
			 "hc_next2: nop\n"
			 : "=a"(ret)
			 : "a"(1L), "D"((long)fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret;
}
