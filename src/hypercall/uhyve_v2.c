/* uhyve_v2.c: uhyve-interface 2 and 3, the hypercalls of Hermit's main branch.
 *
 * hermit-fdt-abi.md sections 4.2, 4.3 and 5. `out dx, eax` with EAX a dummy: the
 * argument is RDI, a 64-bit guest-physical struct address (or the value itself for
 * EXIT and SERIAL_WRITE_BYTE), fetched with KVM_GET_REGS. Buffers are physical and
 * must be RAM in one piece (else -EFAULT). Results: -errno with Hermit's numbers
 * (uhyve_errno), FileWrite's ret the byte count, new fds from 3 on, close of 0-2
 * answered 0; interface 3's calls answer a tag and a payload. stdin is a FileRead
 * of fd 0: a blocking read of proxy's stdin that a debugger stop or the VM's end
 * interrupts (files.c). Structs are copied out and results copied in with memcpy:
 * a guest may misalign them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hermit_abi.h"
#include "hermit_fdt_abi.h"
#include "hypercall.h"
#include "log.h"
#include "mounts.h"
#include "uart.h"
#include "uhyve_if.h"

/* Copy the guest's struct at gpa into *out; the host pointer to write results to,
 * or NULL (the call is dropped: there is nowhere to put a result). */
static uint8_t *fetch(struct vcpu *v, uint64_t gpa, void *out, size_t size)
{
	uint8_t *p = hc_struct(v, gpa, size);
	if (p)
		memcpy(out, p, size);
	return p;
}

#define PUT(p, type, field, value)                                                                 \
	do {                                                                                       \
		__typeof__(((type *)0)->field) put_v_ = (value);                                   \
		memcpy((p) + offsetof(type, field), &put_v_, sizeof(put_v_));                      \
	} while (0)

static int64_t hermit_err(int64_t r)
{
	return r < 0 ? -uhyve_errno((int)-r) : r;
}

static void v2_exit(struct vcpu *v, uint64_t rdi)
{
	vm_guest_exit(v, (int32_t)(uint32_t)rdi & 0xff);
}

static void v2_serial_byte(struct vcpu *v, uint64_t rdi)
{
	uint8_t b = (uint8_t)rdi;
	uart_write(v->vm, &b, 1);
}

static void v2_serial_buf(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v2_serial_write_buf s;
	if (!fetch(v, gpa, &s, sizeof(s)))
		return;
	const void *buf = gpa_host(&v->vm->mem, s.buf, s.len);
	if (buf)
		uart_write(v->vm, buf, s.len);
}

/* Never issued by main (uhyve panics on it): nothing is read. */
static void v2_serial_read_buf(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v2_serial_read_buf s;
	uint8_t *p = fetch(v, gpa, &s, sizeof(s));
	if (p)
		PUT(p, struct hfdt_v2_serial_read_buf, len, 0);
}

static void v2_rw(struct vcpu *v, uint64_t gpa, int is_write)
{
	struct hfdt_v2_rw a;
	uint8_t *p = fetch(v, gpa, &a, sizeof(a));
	if (!p)
		return;
	int64_t r = files_io_phys(v, a.fd, a.buf, a.len, is_write);
	PUT(p, struct hfdt_v2_rw, ret, hermit_err(r));
}

static void v2_open(struct vcpu *v, uint64_t gpa)
{
	struct hermit_open o;
	uint8_t *p = fetch(v, gpa, &o, sizeof(o));
	if (!p)
		return;
	char path[PATH_MAX];
	long len = gpa_strncpy(&v->vm->mem, o.name, path, sizeof(path));
	int r = len < 0 ? (int)len : uhyve_open_path(v, path, o.flags, o.mode);
	PUT(p, struct hermit_open, ret, (int32_t)hermit_err(r));
}

static void v2_close(struct vcpu *v, uint64_t gpa)
{
	struct hermit_close c;
	uint8_t *p = fetch(v, gpa, &c, sizeof(c));
	if (p)
		PUT(p, struct hermit_close, ret, (int32_t)hermit_err(fd_close(v->vm, c.fd)));
}

static void v2_lseek(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v2_lseek l;
	uint8_t *p = fetch(v, gpa, &l, sizeof(l));
	if (!p)
		return;
	int64_t r = files_lseek(v->vm, l.fd, l.offset, (int)l.whence);
	PUT(p, struct hfdt_v2_lseek, offset, hermit_err(r));
}

static void v2_unlink(struct vcpu *v, uint64_t gpa)
{
	struct hermit_unlink u;
	uint8_t *p = fetch(v, gpa, &u, sizeof(u));
	if (!p)
		return;
	int r = files_unlink(v, u.name);
	PUT(p, struct hermit_unlink, ret, (int32_t)hermit_err(r));
}

/* ---- interface 3 ---------------------------------------------------------------- */

/* The host's linux_dirent64 records are the layout Hermit reads (section 5). */
static void v3_getdents(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v3_getdents g;
	uint8_t *p = fetch(v, gpa, &g, sizeof(g));
	if (!p)
		return;
	uint64_t len = g.len > INT_MAX ? INT_MAX : g.len;
	void *buf = len ? gpa_ptr(&v->vm->mem, g.buf, len) : NULL;
	long r = -EFAULT;
	if (g.fd < 3) {
		r = -EBADF; /* stdio is not a directory the guest may list (as fstat) */
	} else if (buf || !len) {
		int fd = fd_get(v->vm, g.fd);
		r = fd;
		if (fd >= 0) {
			r = syscall(SYS_getdents64, fd, buf, (unsigned)len);
			r = r < 0 ? -errno : r;
			fd_put(v->vm, g.fd);
		}
	}
	uint32_t tag = r > 0	? HFDT_V3_GETDENTS_OK
		       : r == 0 ? HFDT_V3_GETDENTS_END
				: HFDT_V3_GETDENTS_ERROR;
	uint64_t payload = r > 0 ? (uint64_t)r : r == 0 ? 0 : (uint64_t)uhyve_errno((int)-r);
	PUT(p, struct hfdt_v3_getdents, payload, payload);
	PUT(p, struct hfdt_v3_getdents, tag, tag);
}

/* Write the attributes (or the error) of a stat-like call: 0 or -errno. */
static void attr_result(struct vcpu *v, uint8_t *tag_at, uint8_t *err_at, uint64_t attr_gpa, int r,
			const struct stat *st)
{
	uint32_t tag = HFDT_V3_RESULT_OK;
	int32_t err = 0;
	if (r == 0) {
		struct hfdt_file_attr a;
		uhyve_file_attr(&a, st);
		uint8_t *dst = gpa_ptr(&v->vm->mem, attr_gpa, sizeof(a));
		if (dst)
			memcpy(dst, &a, sizeof(a));
		else
			r = -EFAULT;
	}
	if (r < 0) {
		tag = HFDT_V3_RESULT_ERROR;
		err = uhyve_errno(-r);
	}
	memcpy(err_at, &err, sizeof(err));
	memcpy(tag_at, &tag, sizeof(tag));
}

static void v3_stat(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v3_stat s;
	uint8_t *p = fetch(v, gpa, &s, sizeof(s));
	if (!p)
		return;
	char path[PATH_MAX];
	struct stat st;
	long len = gpa_strncpy(&v->vm->mem, s.name, path, sizeof(path));
	int r = len < 0 ? (int)len
			: mounts_stat(v->vm->mounts, path, s.kind != HFDT_V3_STAT_NOFOLLOW, &st);
	attr_result(v, p + offsetof(struct hfdt_v3_stat, tag),
		    p + offsetof(struct hfdt_v3_stat, err), s.attr, r, &st);
}

static void v3_fstat(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v3_fstat f;
	uint8_t *p = fetch(v, gpa, &f, sizeof(f));
	if (!p)
		return;
	struct stat st;
	int r = -EBADF; /* stdio is not a file the guest may look at (uhyve's rule) */
	if (f.fd >= 3) {
		int fd = fd_get(v->vm, f.fd);
		r = fd;
		if (fd >= 0) {
			r = fstat(fd, &st) ? -errno : 0;
			fd_put(v->vm, f.fd);
		}
	}
	attr_result(v, p + offsetof(struct hfdt_v3_fstat, tag),
		    p + offsetof(struct hfdt_v3_fstat, err), f.attr, r, &st);
}

static void v3_mkdir(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v3_mkdir m;
	uint8_t *p = fetch(v, gpa, &m, sizeof(m));
	if (!p)
		return;
	char path[PATH_MAX];
	long len = gpa_strncpy(&v->vm->mem, m.path, path, sizeof(path));
	int r = len < 0 ? (int)len : mounts_mkdir(v->vm->mounts, path);
	uint32_t tag = r < 0 ? HFDT_V3_RESULT_ERROR : HFDT_V3_RESULT_OK;
	PUT(p, struct hfdt_v3_mkdir, err, r < 0 ? uhyve_errno(-r) : 0);
	PUT(p, struct hfdt_v3_mkdir, tag, tag);
}

void uhyve_v2_call(struct vcpu *v, uint16_t port, uint64_t arg)
{
	switch (port) {
	case HFDT_V2_PORT_EXIT:
		v2_exit(v, arg);
		break;
	case HFDT_V2_PORT_SERIAL_WRITE_BYTE:
		v2_serial_byte(v, arg);
		break;
	case HFDT_V2_PORT_SERIAL_WRITE_BUF:
		v2_serial_buf(v, arg);
		break;
	case HFDT_V2_PORT_SERIAL_READ_BUF:
		v2_serial_read_buf(v, arg);
		break;
	case HFDT_V2_PORT_FILE_WRITE:
		v2_rw(v, arg, 1);
		break;
	case HFDT_V2_PORT_FILE_READ:
		v2_rw(v, arg, 0);
		break;
	case HFDT_V2_PORT_FILE_OPEN:
		v2_open(v, arg);
		break;
	case HFDT_V2_PORT_FILE_CLOSE:
		v2_close(v, arg);
		break;
	case HFDT_V2_PORT_FILE_LSEEK:
		v2_lseek(v, arg);
		break;
	case HFDT_V2_PORT_FILE_UNLINK:
		v2_unlink(v, arg);
		break;
	case HFDT_V3_PORT_GETDENTS:
		v3_getdents(v, arg);
		break;
	case HFDT_V3_PORT_FILE_STAT:
		v3_stat(v, arg);
		break;
	case HFDT_V3_PORT_FILE_FSTAT:
		v3_fstat(v, arg);
		break;
	case HFDT_V3_PORT_MKDIR:
		v3_mkdir(v, arg);
		break;
	}
}

/* EAX holds a dummy: the argument is RDI (hermit-fdt-abi.md 4.2). */
static void v2_port(struct vcpu *v, uint16_t port, uint32_t value)
{
	(void)value;
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0) {
		vm_fail(v, STATUS_INTERNAL_ERROR, "vCPU %u: KVM_GET_REGS at hypercall 0x%x: %s",
			v->id, port, strerror(errno));
		return;
	}
	uhyve_v2_call(v, port, r.rdi);
}

void uhyve_v2_register(struct vm *vm, bool v3)
{
	static const struct {
		uint16_t port;
		const char *name;
		bool v3;
	} ports[] = {
		{HFDT_V2_PORT_EXIT, "exit", false},
		{HFDT_V2_PORT_SERIAL_WRITE_BYTE, "serial-byte", false},
		{HFDT_V2_PORT_SERIAL_WRITE_BUF, "serial-buffer", false},
		{HFDT_V2_PORT_SERIAL_READ_BYTE, "serial-read-byte", false},
		{HFDT_V2_PORT_SERIAL_READ_BUF, "serial-read-buffer", false},
		{HFDT_V2_PORT_FILE_WRITE, "write", false},
		{HFDT_V2_PORT_FILE_OPEN, "open", false},
		{HFDT_V2_PORT_FILE_CLOSE, "close", false},
		{HFDT_V2_PORT_FILE_READ, "read", false},
		{HFDT_V2_PORT_FILE_LSEEK, "lseek", false},
		{HFDT_V2_PORT_FILE_UNLINK, "unlink", false},
		{HFDT_V3_PORT_GETDENTS, "getdents", true},
		{HFDT_V3_PORT_FILE_STAT, "stat", true},
		{HFDT_V3_PORT_FILE_FSTAT, "fstat", true},
		{HFDT_V3_PORT_MKDIR, "mkdir", true},
	};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (v3 || !ports[i].v3)
			vm_register_port(vm, ports[i].port, ports[i].name, v2_port);
}
