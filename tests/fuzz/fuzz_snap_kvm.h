/* fuzz_snap_kvm.h: ioctl() for the harnesses that load vCPU or VM state: the fake
 * KVM descriptors of fuzz_snap.h get fake_kvm_ioctl, every other goes to libc's (or
 * the sanitizer's interceptor). Included by one file per harness binary. */
#ifndef FUZZ_SNAP_KVM_H
#define FUZZ_SNAP_KVM_H

#include <dlfcn.h>
#include <stdarg.h>

#include "fuzz_snap.h"

int ioctl(int fd, unsigned long req, ...);

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd == FUZZ_SNAP_KVM_FD)
		return fake_kvm_ioctl(req);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "ioctl");
	if (!real)
		return errno = ENOSYS, -1;
	return real(fd, req, arg);
}

#endif
