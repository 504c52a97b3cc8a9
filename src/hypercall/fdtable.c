/* fdtable.c: the guest's file descriptors, kept apart from proxy's own.
 *
 * A guest fd is an index into this table; the guest can only reach host fds it
 * opened itself (plus stdio), never KVM, vCPU, socket or tap descriptors. A
 * reference count lets one vCPU close an fd another is still using: the host fd
 * is closed when the last user is done, so its number cannot be reused under it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hypercall.h"
#include "uart.h"

/* The memory character devices (mem(4): major 1) that answer at once: null, zero,
 * full, random and urandom (random blocks only until the kernel's CRNG is ready,
 * long before anyone runs a guest). Not kmsg (1:11): its reads wait for messages. */
static bool is_memory_device(const struct stat *st)
{
	if (!S_ISCHR(st->st_mode) || major(st->st_rdev) != 1)
		return false;
	switch (minor(st->st_rdev)) {
	case 3: /* null */
	case 5: /* zero */
	case 7: /* full */
	case 8: /* random */
	case 9: /* urandom */
		return true;
	}
	return false;
}

/* Regular files, block devices and the memory devices are always ready, so I/O on
 * them needs no poll() first (a syscall per hypercall); anything else may wait
 * forever. */
static bool fd_can_block(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return true;
	return !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || is_memory_device(&st));
}

bool fd_may_block(struct vm *vm, int guest_fd)
{
	return guest_fd >= 0 && guest_fd < GUEST_FD_MAX && vm->fds.may_block[guest_fd];
}

void fd_table_init(struct vm *vm)
{
	pthread_mutex_init(&vm->fds.lock, NULL);
	for (int i = 0; i < GUEST_FD_MAX; i++) {
		vm->fds.host[i] = -1;
		vm->fds.refs[i] = 0;
		vm->fds.closing[i] = 0;
		vm->fds.path[i] = NULL;
	}
	for (int i = 0; i < 3; i++) {
		vm->fds.host[i] = i;
		vm->fds.may_block[i] = fd_can_block(i);
	}
}

int fd_get(struct vm *vm, int guest_fd)
{
	if (guest_fd < 0 || guest_fd >= GUEST_FD_MAX)
		return -EBADF;
	pthread_mutex_lock(&vm->fds.lock);
	int host = vm->fds.host[guest_fd];
	if (host < 0 || vm->fds.closing[guest_fd])
		host = -EBADF;
	else
		vm->fds.refs[guest_fd]++;
	pthread_mutex_unlock(&vm->fds.lock);
	return host;
}

static void fd_release_locked(struct vm *vm, int guest_fd)
{
	if (vm->fds.refs[guest_fd] == 0 && vm->fds.closing[guest_fd]) {
		close(vm->fds.host[guest_fd]);
		vm->fds.host[guest_fd] = -1;
		vm->fds.closing[guest_fd] = 0;
		free(vm->fds.path[guest_fd]);
		vm->fds.path[guest_fd] = NULL;
	}
}

void fd_put(struct vm *vm, int guest_fd)
{
	pthread_mutex_lock(&vm->fds.lock);
	vm->fds.refs[guest_fd]--;
	fd_release_locked(vm, guest_fd);
	pthread_mutex_unlock(&vm->fds.lock);
}

/* With the lock held: slot i (free) takes host_fd, opened as `path` with `flags`.
 * The path (copied; NULL: none, or no memory) is what a checkpoint reopens. */
static void install_locked(struct vm *vm, int i, int host_fd, const char *path, int flags)
{
	vm->fds.host[i] = host_fd;
	vm->fds.may_block[i] = fd_can_block(host_fd);
	vm->fds.path[i] = path ? strdup(path) : NULL;
	vm->fds.flags[i] = flags;
}

int fd_install(struct vm *vm, int host_fd, const char *path, int flags)
{
	int guest_fd = -EMFILE;
	pthread_mutex_lock(&vm->fds.lock);
	for (int i = 3; i < GUEST_FD_MAX; i++) {
		if (vm->fds.host[i] < 0) {
			install_locked(vm, i, host_fd, path, flags);
			guest_fd = i;
			break;
		}
	}
	pthread_mutex_unlock(&vm->fds.lock);
	return guest_fd;
}

int fd_install_at(struct vm *vm, int guest_fd, int host_fd, const char *path, int flags)
{
	if (guest_fd < 3 || guest_fd >= GUEST_FD_MAX)
		return -EBADF;
	pthread_mutex_lock(&vm->fds.lock);
	bool busy = vm->fds.host[guest_fd] >= 0;
	if (!busy)
		install_locked(vm, guest_fd, host_fd, path, flags);
	pthread_mutex_unlock(&vm->fds.lock);
	return busy ? -EBUSY : guest_fd;
}

int fd_close(struct vm *vm, int guest_fd)
{
	if (guest_fd >= 0 && guest_fd <= 2)
		return 0; /* the ABI: stdio is never closed */
	if (guest_fd < 0 || guest_fd >= GUEST_FD_MAX)
		return -EBADF;
	int rc = 0;
	pthread_mutex_lock(&vm->fds.lock);
	if (vm->fds.host[guest_fd] < 0 || vm->fds.closing[guest_fd]) {
		rc = -EBADF;
	} else {
		vm->fds.closing[guest_fd] = 1;
		fd_release_locked(vm, guest_fd);
	}
	pthread_mutex_unlock(&vm->fds.lock);
	return rc;
}

void hypercall_reset(struct vm *vm, void *arg)
{
	(void)arg;
	uart_flush(vm);
	fd_table_close_all(vm);
}

void fd_table_close_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->fds.lock);
	for (int i = 3; i < GUEST_FD_MAX; i++) {
		if (vm->fds.host[i] >= 0)
			close(vm->fds.host[i]);
		vm->fds.host[i] = -1;
		vm->fds.closing[i] = 0;
		free(vm->fds.path[i]);
		vm->fds.path[i] = NULL;
	}
	pthread_mutex_unlock(&vm->fds.lock);
}
