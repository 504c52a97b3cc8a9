/* uhyve_if.c: uhyve-interface 1 (Hermit 0.10-0.13) and what all three interfaces share.
 *
 * hermit-fdt-abi.md section 4. Interface 1 keeps the RustyHermit ports and packed
 * structs (EAX = their 32-bit physical address), WRITE/READ buffers guest-virtual
 * (translated page by page: files.c), and adds 0x880, a buffer of kernel log. The
 * kernel log (0x880 here, 0x1020/0x1030 in interface 2) follows the 0x800 UART's
 * policy: stderr under HERMIT_VERBOSE, else dropped; the application's own output
 * is FileWrite to fd 1 and 2, which reach proxy's stdout and stderr.
 *
 * Files (section 5): the --mount policy, and a file or directory the guest creates
 * at a path no mapping covers goes to a per-run temporary directory (tempdir.c),
 * as uhyve does. Every guest-supplied mode is masked with 0777: no setuid, setgid
 * or sticky file ever comes from a guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "guest_abi.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"
#include "hypercall.h"
#include "log.h"
#include "mounts.h"
#include "tempdir.h"
#include "uart.h"
#include "uhyve_if.h"

/* MP-table search areas of Hermit 0.10/0.11 (section 4.6): zeros when not RAM. */
#define MP_AREA1_START 0x9F000ULL
#define MP_AREA1_END   0xA0000ULL
#define MP_AREA2_START 0xF0000ULL
#define MP_AREA2_END   0x100000ULL

int uhyve_errno(int host_errno)
{
	if (host_errno < 1 || host_errno > 133 || host_errno == 41 || host_errno == 58)
		return HFDT_EIO;
	return host_errno;
}

void uhyve_file_attr(struct hfdt_file_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->dev = st->st_dev;
	a->ino = st->st_ino;
	a->nlink = st->st_nlink;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->size = st->st_size;
	a->blksize = st->st_blksize;
	a->blocks = st->st_blocks;
	a->atim = (struct hfdt_timespec){st->st_atim.tv_sec, (int32_t)st->st_atim.tv_nsec, 0};
	a->mtim = (struct hfdt_timespec){st->st_mtim.tv_sec, (int32_t)st->st_mtim.tv_nsec, 0};
	a->ctim = (struct hfdt_timespec){st->st_ctim.tv_sec, (int32_t)st->st_ctim.tv_nsec, 0};
}

/* The open flags uhyve passes on (section 5); Hermit's numbers are Linux's. */
#define UHYVE_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY)

int uhyve_open_path(struct vcpu *v, const char *path, int flags, int mode)
{
	flags &= UHYVE_OPEN_FLAGS;
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	return files_open_path(v, path, flags, mode);
}

/* ---- interface 1 ---------------------------------------------------------- */

static void v1_serial(struct vcpu *v, uint64_t gpa)
{
	struct hfdt_v1_serial_buffer *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hfdt_v1_serial_buffer s;
	memcpy(&s, a, sizeof(s));
	const void *buf = gpa_host(&v->vm->mem, s.buf, s.len);
	if (buf)
		uart_write(v->vm, buf, s.len);
}

/* WRITE has no result field: the kernel takes `len` back as the count written, so
 * a failure (bad fd, unmapped buffer) says 0, never more than was asked. */
static void v1_write(struct vcpu *v, uint64_t gpa)
{
	struct hermit_write *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_write w;
	memcpy(&w, a, sizeof(w));
	int64_t r = files_io_virt(v, w.fd, w.buf, w.len, 1);
	a->len = r < 0 ? 0 : (uint64_t)r;
}

static void v1_read(struct vcpu *v, uint64_t gpa)
{
	struct hermit_read *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_read rd;
	memcpy(&rd, a, sizeof(rd));
	int64_t r = files_io_virt(v, rd.fd, rd.buf, rd.len, 0);
	a->ret = r < 0 ? -uhyve_errno((int)-r) : r;
}

static void v1_open(struct vcpu *v, uint64_t gpa)
{
	struct hermit_open *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_open o;
	memcpy(&o, a, sizeof(o));
	char path[PATH_MAX];
	long len = gpa_strncpy(&v->vm->mem, o.name, path, sizeof(path));
	int r = len < 0 ? (int)len : uhyve_open_path(v, path, o.flags, o.mode);
	a->ret = r < 0 ? -uhyve_errno(-r) : r;
}

static void v1_close(struct vcpu *v, uint64_t gpa)
{
	struct hermit_close *a = hc_struct(v, gpa, sizeof(*a));
	if (a) {
		int r = fd_close(v->vm, a->fd);
		a->ret = r < 0 ? -uhyve_errno(-r) : r;
	}
}

static void v1_lseek(struct vcpu *v, uint64_t gpa)
{
	struct hermit_lseek *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_lseek l;
	memcpy(&l, a, sizeof(l));
	int64_t r = files_lseek(v->vm, l.fd, l.offset, l.whence);
	a->offset = r < 0 ? -uhyve_errno((int)-r) : r;
}

static void v1_unlink(struct vcpu *v, uint64_t gpa)
{
	struct hermit_unlink *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	int r = files_unlink(v, a->name);
	a->ret = r < 0 ? -uhyve_errno(-r) : r;
}

void uhyve_v1_call(struct vcpu *v, uint16_t port, uint64_t arg)
{
	switch (port) {
	case HFDT_V1_PORT_SERIAL_BUFFER:
		v1_serial(v, arg);
		break;
	case HERMIT_PORT_WRITE:
		v1_write(v, arg);
		break;
	case HERMIT_PORT_READ:
		v1_read(v, arg);
		break;
	case HERMIT_PORT_OPEN:
		v1_open(v, arg);
		break;
	case HERMIT_PORT_CLOSE:
		v1_close(v, arg);
		break;
	case HERMIT_PORT_LSEEK:
		v1_lseek(v, arg);
		break;
	case HERMIT_PORT_UNLINK:
		v1_unlink(v, arg);
		break;
	case HERMIT_PORT_EXIT:
		files_exit(v, arg);
		break;
	}
}

static void v1_port(struct vcpu *v, uint16_t port, uint32_t value)
{
	uhyve_v1_call(v, port, value);
}

static void v1_register(struct vm *vm)
{
	static const struct {
		uint16_t port;
		const char *name;
	} ports[] = {
		{HFDT_V1_PORT_SERIAL_BUFFER, "serial-buffer"},
		{HERMIT_PORT_WRITE, "write"},
		{HERMIT_PORT_OPEN, "open"},
		{HERMIT_PORT_CLOSE, "close"},
		{HERMIT_PORT_READ, "read"},
		{HERMIT_PORT_EXIT, "exit"},
		{HERMIT_PORT_LSEEK, "lseek"},
		{HERMIT_PORT_UNLINK, "unlink"},
	};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		vm_register_port(vm, ports[i].port, ports[i].name, v1_port);
}

/* ---- platform: PCI configuration, MP-table search -------------------------- */

/* 0xCF8 takes the address of a configuration register, 0xCFC..0xCFF read it:
 * all ones is "no device here" (0 would fake 1024 devices). */
static void pci_config_write(struct vcpu *v, uint16_t port, uint32_t value)
{
	(void)v, (void)port, (void)value;
}

static uint32_t pci_config_read(struct vcpu *v, uint16_t port, unsigned size)
{
	(void)v, (void)port, (void)size;
	return 0xFFFFFFFFu;
}

/* hermit-entry (abi_entry.c) registers the same ports through this. */
_Static_assert(HERMIT_ENTRY_PCI_CONFIG_ADDRESS == HFDT_PCI_CONFIG_ADDRESS &&
		       HERMIT_ENTRY_PCI_CONFIG_DATA == HFDT_PCI_CONFIG_DATA,
	       "one PCI configuration port pair for every ABI");

void pci_no_device_register(struct vm *vm)
{
	vm_register_port(vm, HFDT_PCI_CONFIG_ADDRESS, "pci-config", pci_config_write);
	vm_register_port_read(vm, HFDT_PCI_CONFIG_ADDRESS, "pci-config", pci_config_read);
	for (uint16_t p = 0; p < 4; p++) {
		vm_register_port(vm, HFDT_PCI_CONFIG_DATA + p, "pci-config", pci_config_write);
		vm_register_port_read(vm, HFDT_PCI_CONFIG_DATA + p, "pci-config", pci_config_read);
	}
}

static bool in_mp_area(uint64_t a, uint32_t len)
{
	return (a >= MP_AREA1_START && a + len <= MP_AREA1_END) ||
	       (a >= MP_AREA2_START && a + len <= MP_AREA2_END);
}

/* Hermit 0.10/0.11 look for an MP table with reads of the BIOS areas; when RAM does
 * not start at 0 nothing is there: they read zeros, and find no table, as on uhyve
 * (which answers every interface so: a probe of a later kernel fares the same). */
static enum hook_result mp_area_read(struct vcpu *v, void *arg)
{
	(void)arg;
	struct kvm_run *run = v->run;
	if (run->exit_reason != KVM_EXIT_MMIO || run->mmio.is_write ||
	    !in_mp_area(run->mmio.phys_addr, run->mmio.len))
		return HOOK_NOT_MINE;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	return HOOK_HANDLED;
}

/* ---- set-up ------------------------------------------------------------------- */

static int attach_tempdir(struct vm *vm)
{
	const struct config *c = vm->cfg;
	char err[PATH_MAX + 256];
	uid_t uid = c->user ? (uid_t)c->user_uid : (uid_t)-1;
	gid_t gid = c->user ? (gid_t)c->user_gid : (gid_t)-1;
	struct tempdir *t = tempdir_create(c->guest_tempdir, c->tmpdir, uid, gid, err, sizeof(err));
	if (!t || err[0])
		warnx_("%s", err);
	if (!t)
		return -1;
	mounts_attach_tempdir(vm->mounts, t);
	if (c->verbose)
		warnx_("files the guest creates outside its mounts go to %s%s", tempdir_path(t),
		       c->guest_tempdir ? " (kept)" : " (removed at exit)");
	return 0;
}

const char *uhyve_if_tempdir(const struct vm *vm)
{
	struct tempdir *t = vm->mounts ? mounts_tempdir(vm->mounts) : NULL;
	return t ? tempdir_path(t) : NULL;
}

int uhyve_if_register(struct vm *vm, unsigned interface_version)
{
	if (interface_version < HFDT_UHYVEIF_MIN || interface_version > HFDT_UHYVEIF_MAX) {
		warnx_("uhyve interface %u is not one proxy speaks (it speaks %d to %d)",
		       interface_version, HFDT_UHYVEIF_MIN, HFDT_UHYVEIF_MAX);
		return -1;
	}
	if (!vm->mounts) {
		warnx_("internal: uhyve_if_register before files_register");
		return -1;
	}
	if (attach_tempdir(vm))
		return -1;
	pci_no_device_register(vm);
	/* uhyve ignores stray MMIO reads for every interface (kvm_cpu.rs l.584). */
	vm_register_exit_hook(vm, mp_area_read, NULL);
	if (interface_version == 1)
		v1_register(vm);
	else
		uhyve_v2_register(vm, interface_version == 3);
	return 0;
}
