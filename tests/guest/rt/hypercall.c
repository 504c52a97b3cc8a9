/* hypercall.c: the file and exit hypercalls of hermit_abi.h section 5.
 *
 * A hypercall is a 32-bit OUT of the argument struct's guest-physical address;
 * the guest is identity-mapped, so &struct is that address. Result fields are
 * preset to a sentinel so a hypervisor that forgets to write one back shows up
 * as a strange value instead of a plausible 0.
 */
#include "rt.h"

#define RT_UNANSWERED (-38) /* -ENOSYS: what a result reads if nobody wrote it */

void rt_hypercall(uint16_t port, volatile void *args)
{
	rt_outl(port, (uint32_t)(uintptr_t)args);
}

int64_t rt_write(int fd, const void *buf, uint64_t len)
{
	volatile struct hermit_write a = {.fd = fd, .buf = (uint64_t)(uintptr_t)buf, .len = len};
	rt_hypercall(HERMIT_PORT_WRITE, &a);
	return (int64_t)a.len; /* bytes written, or -errno */
}

int64_t rt_read(int fd, void *buf, uint64_t len)
{
	volatile struct hermit_read a = {
		.fd = fd, .buf = (uint64_t)(uintptr_t)buf, .len = len, .ret = RT_UNANSWERED};
	rt_hypercall(HERMIT_PORT_READ, &a);
	return a.ret;
}

int rt_open(const char *name, int flags, int mode)
{
	volatile struct hermit_open a = {.name = (uint64_t)(uintptr_t)name,
					 .flags = flags,
					 .mode = mode,
					 .ret = RT_UNANSWERED};
	rt_hypercall(HERMIT_PORT_OPEN, &a);
	return a.ret;
}

int rt_close(int fd)
{
	volatile struct hermit_close a = {.fd = fd, .ret = RT_UNANSWERED};
	rt_hypercall(HERMIT_PORT_CLOSE, &a);
	return a.ret;
}

int64_t rt_lseek(int fd, int64_t offset, int whence)
{
	volatile struct hermit_lseek a = {.fd = fd, .offset = offset, .whence = whence};
	rt_hypercall(HERMIT_PORT_LSEEK, &a);
	return a.offset; /* new position, or -errno */
}

int rt_unlink(const char *name)
{
	volatile struct hermit_unlink a = {.name = (uint64_t)(uintptr_t)name, .ret = RT_UNANSWERED};
	rt_hypercall(HERMIT_PORT_UNLINK, &a);
	return a.ret;
}

void rt_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

void rt_exit(int code)
{
	volatile struct hermit_exit a = {.code = code};
	rt_hypercall(HERMIT_PORT_EXIT, &a);
	rt_halt_forever(); /* the hypervisor ends the VM; never come back */
}
