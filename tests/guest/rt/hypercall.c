/* hypercall.c: the file and exit hypercalls of hermit_abi.h section 5, and of
 * uhyve-interface 2/3 (hermit_fdt_abi.h, shared/spec/hermit-fdt-abi.md 4.2).
 *
 * A classic hypercall is a 32-bit OUT of the argument struct's guest-physical
 * address; the guest is identity-mapped, so &struct is that address (uhyve-interface
 * 1 is the same, with WRITE/READ buffers taken as guest-virtual, equal here too).
 * Interface 2/3 passes the 64-bit address in RDI and junk (0x1234) in EAX. Result
 * fields are preset to a sentinel so a hypervisor that forgets to write one back
 * shows up as a strange value instead of a plausible 0.
 */
#include "rt.h"

#include "hermit_fdt_abi.h"

#define RT_UNANSWERED (-38) /* -ENOSYS: what a result reads if nobody wrote it */

/* Only rt/abi_fdt.c defines it: in the other flavours this weak reference stays
 * undefined (address 0). A weak default definition here would not do: gcc folds
 * a const it can see. */
extern const uint32_t rt_uhyve_interface __attribute__((weak));

static int v2(void)
{
	return &rt_uhyve_interface && rt_uhyve_interface >= 2;
}

void rt_hypercall(uint16_t port, volatile void *args)
{
	if (v2())
		rt_hypercall_rdi(port, (uint64_t)(uintptr_t)args);
	else
		rt_outl(port, (uint32_t)(uintptr_t)args);
}

void rt_hypercall_rdi(uint16_t port, uint64_t rdi)
{
	__asm__ volatile("outl %%eax, %%dx"
			 :
			 : "a"(HFDT_V2_EAX_DUMMY), "d"(port), "D"(rdi)
			 : "memory");
}

static int64_t v2_rw(uint16_t port, int fd, const void *buf, uint64_t len)
{
	volatile struct hfdt_v2_rw a = {
		.len = len, .ret = RT_UNANSWERED, .buf = (uint64_t)(uintptr_t)buf, .fd = fd};
	rt_hypercall(port, &a);
	return a.ret;
}

int64_t rt_write(int fd, const void *buf, uint64_t len)
{
	if (v2())
		return v2_rw(HFDT_V2_PORT_FILE_WRITE, fd, buf, len);
	volatile struct hermit_write a = {.fd = fd, .buf = (uint64_t)(uintptr_t)buf, .len = len};
	rt_hypercall(HERMIT_PORT_WRITE, &a);
	return (int64_t)a.len; /* bytes written, or -errno */
}

int64_t rt_read(int fd, void *buf, uint64_t len)
{
	if (v2())
		return v2_rw(HFDT_V2_PORT_FILE_READ, fd, buf, len);
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
	rt_hypercall(v2() ? HFDT_V2_PORT_FILE_OPEN : HERMIT_PORT_OPEN, &a);
	return a.ret;
}

int rt_close(int fd)
{
	volatile struct hermit_close a = {.fd = fd, .ret = RT_UNANSWERED};
	rt_hypercall(v2() ? HFDT_V2_PORT_FILE_CLOSE : HERMIT_PORT_CLOSE, &a);
	return a.ret;
}

int64_t rt_lseek(int fd, int64_t offset, int whence)
{
	if (v2()) {
		volatile struct hfdt_v2_lseek a = {
			.offset = offset, .whence = (uint32_t)whence, .fd = fd};
		rt_hypercall(HFDT_V2_PORT_FILE_LSEEK, &a);
		return a.offset;
	}
	volatile struct hermit_lseek a = {.fd = fd, .offset = offset, .whence = whence};
	rt_hypercall(HERMIT_PORT_LSEEK, &a);
	return a.offset; /* new position, or -errno */
}

int rt_unlink(const char *name)
{
	volatile struct hermit_unlink a = {.name = (uint64_t)(uintptr_t)name, .ret = RT_UNANSWERED};
	rt_hypercall(v2() ? HFDT_V2_PORT_FILE_UNLINK : HERMIT_PORT_UNLINK, &a);
	return a.ret;
}

void rt_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

void rt_exit(int code)
{
	if (v2()) {
		rt_hypercall_rdi(HFDT_V2_PORT_EXIT, (uint32_t)code); /* zero-extended */
	} else {
		volatile struct hermit_exit a = {.code = code};
		rt_hypercall(HERMIT_PORT_EXIT, &a);
	}
	rt_halt_forever(); /* the hypervisor ends the VM; never come back */
}
