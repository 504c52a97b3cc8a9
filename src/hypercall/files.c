/* files.c: the file hypercalls (WRITE, OPEN, CLOSE, READ, LSEEK, UNLINK) and EXIT.
 *
 * OPEN and UNLINK reach only what the --mount mappings give the guest (mounts.c).
 * Each handler copies its argument struct out of guest RAM, checks every guest
 * address through guest_mem, does the host call, and writes the result (-errno on
 * failure) back. READ/WRITE buffers are guest-virtual: they are translated page by
 * page through the vCPU's page tables into host iovecs before any I/O, so a wild
 * buffer gets -EFAULT and nothing is read or written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest_abi.h"
#include "hermit_abi.h"
#include "hypercall.h"
#include "log.h"
#include "mounts.h"

/* Pieces a guest buffer usually has (a few pages): kept on the stack, so the common
 * hypercall allocates nothing. */
#define IOV_SMALL 8
/* One READ/WRITE moves at most this much (a short count, as read(2) may give): a guest
 * aliasing one page at many addresses cannot make us build a huge iovec array. */
#define MAX_TRANSFER (1ULL << 30)

void *hc_struct(struct vcpu *v, uint64_t gpa, size_t size)
{
	return gpa_ptr(&v->vm->mem, gpa, size);
}

/* Twice the room for iovecs, moving them off the stack array `small` the first time. */
static struct iovec *grow_iovecs(struct iovec *iov, const struct iovec *small, int n, int *cap)
{
	int want = *cap * 2;
	struct iovec *grown = iov == small ? malloc((size_t)want * sizeof(*iov))
					   : realloc(iov, (size_t)want * sizeof(*iov));
	if (!grown)
		return NULL;
	if (iov == small)
		memcpy(grown, small, (size_t)n * sizeof(*iov));
	*cap = want;
	return grown;
}

/* The guest buffer as iovecs, in `small` (IOV_SMALL of them) when they fit, else in
 * a heap array the caller frees (*out != small); -EFAULT if any page is unmapped. */
static int buffer_iovecs(struct vcpu *v, uint64_t gva, uint64_t len, struct iovec *small,
			 struct iovec **out, int *count)
{
	uint64_t cr3 = vcpu_exit_cr3(v);
	int n = 0, cap = IOV_SMALL;
	struct iovec *iov = small;
	uint64_t done = 0;
	while (done < len) {
		if (n == cap) {
			struct iovec *grown = grow_iovecs(iov, small, n, &cap);
			if (!grown) {
				if (iov != small)
					free(iov);
				return -ENOMEM;
			}
			iov = grown;
		}
		uint64_t covered;
		int got = gva_to_iovec(&v->vm->mem, cr3, gva + done, len - done, iov + n, cap - n,
				       &covered);
		if (got < 0) {
			if (iov != small)
				free(iov);
			return got;
		}
		n += got;
		done += covered;
	}
	*out = iov;
	*count = n;
	return 0;
}

/* A pipe or terminal can leave read(2) waiting forever, and a vCPU stuck there would
 * keep the VM from ending (SIGTERM, an exit on another vCPU) and a debugger stop from
 * completing. So wait in poll() for the fd or the VM's end; while waiting, the
 * vCPU counts as stopped for the debugger. */
static int wait_ready(struct vcpu *v, int fd, int is_write)
{
	struct vm *vm = v->vm;
	struct pollfd p[2] = {{fd, is_write ? POLLOUT : POLLIN, 0}, {vm->end_fd, POLLIN, 0}};
	int rc = 0;
	vcpu_set_blocked(v, true);
	for (;;) {
		int r = poll(p, 2, -1);
		if (atomic_load(&vm->ending)) {
			rc = -EINTR;
			break;
		}
		if (r > 0 && p[0].revents)
			break;
		if (r < 0 && errno != EINTR)
			break; /* let the read or write itself report the error */
	}
	vcpu_set_blocked(v, false);
	return rc;
}

/* One piece (a buffer within a page or two contiguous ones) goes through write(2)
 * or read(2): a little less kernel work than the vector calls, on every hypercall. */
static ssize_t io_call(int fd, const struct iovec *iov, int n, int is_write)
{
	if (n == 1)
		return is_write ? write(fd, iov->iov_base, iov->iov_len)
				: read(fd, iov->iov_base, iov->iov_len);
	return is_write ? writev(fd, iov, n) : readv(fd, iov, n);
}

/* writev/readv over many iovecs, IOV_MAX at a time. Writes go on until done or an
 * error; reads stop at the first short read, like read(2). */
static int64_t transfer(struct vcpu *v, int fd, bool may_block, struct iovec *iov, int n,
			int is_write)
{
	int64_t total = 0;
	int i = 0;
	while (i < n) {
		int batch = n - i > IOV_MAX ? IOV_MAX : n - i;
		int w = may_block ? wait_ready(v, fd, is_write) : 0;
		if (w < 0)
			return total ? total : w;
		ssize_t r = io_call(fd, iov + i, batch, is_write);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return total ? total : -errno;
		}
		total += r;
		size_t left = (size_t)r;
		while (i < n && left >= iov[i].iov_len)
			left -= iov[i++].iov_len;
		if (i < n && left) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + left;
			iov[i].iov_len -= left;
		}
		if (!is_write && (r == 0 || left || i < n))
			break; /* a short read is a complete answer */
		if (is_write && r == 0)
			break;
	}
	return total;
}

int64_t files_io_virt(struct vcpu *v, int guest_fd, uint64_t gva, uint64_t len, int is_write)
{
	if (len == 0)
		return 0;
	if (gva + len < gva)
		return -EFAULT;
	if (len > MAX_TRANSFER)
		len = MAX_TRANSFER;
	int fd = fd_get(v->vm, guest_fd);
	if (fd < 0)
		return fd;
	struct iovec small[IOV_SMALL], *iov;
	int n;
	int64_t r = buffer_iovecs(v, gva, len, small, &iov, &n);
	if (r == 0) {
		r = transfer(v, fd, fd_may_block(v->vm, guest_fd), iov, n, is_write);
		if (iov != small)
			free(iov);
	}
	fd_put(v->vm, guest_fd);
	return r;
}

int64_t files_io_phys(struct vcpu *v, int guest_fd, uint64_t gpa, uint64_t len, int is_write)
{
	if (len == 0)
		return 0;
	if (len > MAX_TRANSFER)
		len = MAX_TRANSFER;
	/* A read writes guest RAM (gpa_ptr counts the pages as written); a write only reads. */
	void *host = is_write ? gpa_host(&v->vm->mem, gpa, len) : gpa_ptr(&v->vm->mem, gpa, len);
	if (!host)
		return -EFAULT;
	int fd = fd_get(v->vm, guest_fd);
	if (fd < 0)
		return fd;
	struct iovec iov = {.iov_base = host, .iov_len = len};
	int64_t r = transfer(v, fd, fd_may_block(v->vm, guest_fd), &iov, 1, is_write);
	fd_put(v->vm, guest_fd);
	return r;
}

static void hc_write(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_write *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_write w;
	memcpy(&w, a, sizeof(w));
	int64_t r = files_io_virt(v, w.fd, w.buf, w.len, 1);
	a->len = (uint64_t)r;
}

static void hc_read(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_read *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_read rd;
	memcpy(&rd, a, sizeof(rd));
	a->ret = files_io_virt(v, rd.fd, rd.buf, rd.len, 0);
}

static int is_kvm_device(int fd)
{
	struct stat st, kvm;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && stat("/dev/kvm", &kvm) == 0 &&
	       st.st_rdev == kvm.st_rdev;
}

/* The guest must not reach the hypervisor through the file hypercalls: not /dev/kvm,
 * and nothing in procfs (/proc/self/mem is proxy's own), even with all of the host
 * mapped (the magic links, /proc/self/fd/N, are refused on the way: beneath.c). */
int files_is_forbidden(int fd)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC)
		return 1;
	return is_kvm_device(fd);
}

int files_open_path(struct vcpu *v, const char *path, int flags, int mode)
{
	/* open(2) of a FIFO waits for the other end: meanwhile the vCPU counts as stopped
	 * for the debugger, and the signal a debugger stop sends (EINTR) restarts the
	 * call instead of failing the guest's. */
	vcpu_set_blocked(v, true);
	int fd;
	do
		fd = mounts_open_path(v->vm->mounts, path, flags, (mode_t)(mode & 0777));
	while (fd == -EINTR && !atomic_load(&v->vm->ending));
	vcpu_set_blocked(v, false);
	if (fd < 0)
		return fd;
	if (files_is_forbidden(fd)) {
		close(fd);
		return -EACCES;
	}
	int guest_fd = fd_install(v->vm, fd, path, flags);
	if (guest_fd < 0)
		close(fd);
	return guest_fd;
}

int64_t files_lseek(struct vm *vm, int guest_fd, int64_t offset, int whence)
{
	int fd = fd_get(vm, guest_fd);
	if (fd < 0)
		return fd;
	off_t r = lseek(fd, offset, whence);
	if (r < 0)
		r = -errno; /* before fd_put, which may change errno */
	fd_put(vm, guest_fd);
	return r;
}

int files_unlink(struct vcpu *v, uint64_t name_gpa)
{
	char path[PATH_MAX];
	long len = gpa_strncpy(&v->vm->mem, name_gpa, path, sizeof(path));
	return len < 0 ? (int)len : mounts_unlink(v->vm->mounts, path);
}

void files_exit(struct vcpu *v, uint64_t gpa)
{
	struct hermit_exit *a = hc_struct(v, gpa, sizeof(*a));
	/* A bad struct address still ends the guest: it asked to exit. */
	if (!a) {
		vm_fail(v, STATUS_GUEST_BAD_EXIT,
			"vCPU %u: exit hypercall with its argument at 0x%llx, which is not guest "
			"RAM",
			v->id, (unsigned long long)gpa);
		return;
	}
	vm_guest_exit(v, a->code & 0xff);
}

static void hc_open(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_open *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_open o;
	memcpy(&o, a, sizeof(o));
	char path[PATH_MAX];
	long len = gpa_strncpy(&v->vm->mem, o.name, path, sizeof(path));
	if (len < 0) {
		a->ret = (int32_t)len;
		return;
	}
	/* FILES_OPEN_FLAGS: what a checkpoint saves and a restore accepts. */
	a->ret = files_open_path(v, path, o.flags & FILES_OPEN_FLAGS, o.mode);
}

static void hc_close(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_close *a = hc_struct(v, gpa, sizeof(*a));
	if (a)
		a->ret = fd_close(v->vm, a->fd);
}

static void hc_lseek(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_lseek *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_lseek l;
	memcpy(&l, a, sizeof(l));
	a->offset = files_lseek(v->vm, l.fd, l.offset, l.whence);
}

static void hc_unlink(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_unlink *a = hc_struct(v, gpa, sizeof(*a));
	if (a)
		a->ret = files_unlink(v, a->name);
}

static void hc_exit(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	files_exit(v, gpa);
}

/* The mappings' host roots are opened once, before the guest runs. */
static void open_mounts(struct vm *vm)
{
	char err[1024];
	const char *under = vm->abi ? vm->abi->relative_paths_under : NULL;
	vm->mounts = mounts_open(vm->cfg->mounts, vm->cfg->nmounts, under, err, sizeof(err));
	if (!vm->mounts)
		die("%s", err);
}

void files_init(struct vm *vm)
{
	open_mounts(vm);
}

void files_register(struct vm *vm)
{
	vm_register_port(vm, HERMIT_PORT_WRITE, "write", hc_write);
	vm_register_port(vm, HERMIT_PORT_OPEN, "open", hc_open);
	vm_register_port(vm, HERMIT_PORT_CLOSE, "close", hc_close);
	vm_register_port(vm, HERMIT_PORT_READ, "read", hc_read);
	vm_register_port(vm, HERMIT_PORT_EXIT, "exit", hc_exit);
	vm_register_port(vm, HERMIT_PORT_LSEEK, "lseek", hc_lseek);
}

/* UNLINK exists only in the RustyHermit contract. */
void files_register_unlink(struct vm *vm)
{
	vm_register_port(vm, HERMIT_PORT_UNLINK, "unlink", hc_unlink);
}
