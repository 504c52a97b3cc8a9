/* hypercall.h: the port handlers every guest ABI shares, and their helpers. */
#ifndef PROXY_HYPERCALL_H
#define PROXY_HYPERCALL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* The guest's file policy (--mount), which every ABI's file hypercalls use. */
void files_init(struct vm *vm);
/* Register WRITE, OPEN, CLOSE, READ, EXIT, LSEEK (files.c); UNLINK separately,
 * RustyHermit and Hermit 0.6 only. CMDSIZE/CMDVAL: args_register (args.c). Only the
 * ABIs whose contract has these ports register them: a Hermit 0.10+ guest gets its
 * own interface's ports and nothing else. */
void files_register(struct vm *vm);
void files_register_unlink(struct vm *vm);
/* The open flags a guest's OPEN may use, those Hermit's open takes (and uhyve
 * passes on); the others (O_PATH, O_TMPFILE, O_NOATIME, O_DIRECT, O_ASYNC, O_SYNC,
 * ...) are dropped. A checkpoint's saved files carry no others (snap_files.c). */
#define FILES_OPEN_FLAGS                                                                           \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC)
/* Whether a host fd is one the guest may never hold (procfs, /dev/kvm). */
int files_is_forbidden(int fd);
/* What the file hypercalls of every interface share (files.c; the caller reads
 * the guest's struct and maps the result to its errno numbers):
 * open(2) of a guest path under the file policy (mounts.c), `flags` already reduced
 * by the caller, `mode` masked with 0777, restarted while a debugger stop interrupts
 * it; procfs and /dev/kvm refused: a guest fd or -errno (host numbers). */
int files_open_path(struct vcpu *v, const char *path, int flags, int mode);
/* lseek(2) on a guest fd: the new offset or -errno. */
int64_t files_lseek(struct vm *vm, int guest_fd, int64_t offset, int whence);
/* unlink(2) of the guest path (C string at guest-physical `name_gpa`) under the
 * file policy: 0 or -errno. */
int files_unlink(struct vcpu *v, uint64_t name_gpa);
/* EXIT with struct hermit_exit at `gpa`: ends the VM with its code, or fails it
 * (STATUS_GUEST_BAD_EXIT) when the struct is not in RAM. */
void files_exit(struct vcpu *v, uint64_t gpa);
void args_register(struct vm *vm);

/* The hypercalls of uhyve-interface 1, 2 or 3 (the Hermit FDT kernels: 0.10-0.13
 * speak 1, main 2 or 3; hermit-fdt-abi.md sections 4 and 5), the PCI configuration
 * ports ("no device"), zeros for the MP-table search outside RAM. Files the guest
 * creates at paths outside its mounts go to a per-run temporary directory
 * (--tempdir). Call from the ABI's register_ports (after files_register). 0, or -1
 * with a message printed (an interface other than 1-3, no temporary directory). */
int uhyve_if_register(struct vm *vm, unsigned interface_version);
/* The PCI configuration ports 0xCF8 and 0xCFC..0xCFF, answering "no device" (all
 * ones) to every read and ignoring writes: for the ABIs whose kernels scan the bus
 * (uhyve_if_register registers them itself; hermit-entry calls this). */
void pci_no_device_register(struct vm *vm);
/* That temporary directory's host path (the sandbox allows it), or NULL. */
const char *uhyve_if_tempdir(const struct vm *vm);

/* Guest-virtual (through the vCPU's page tables, page by page) or guest-physical
 * (RAM in one piece) buffers read from or written to guest fd `guest_fd`: bytes
 * moved or -errno (-EFAULT: the buffer is not all mapped; nothing moved). */
int64_t files_io_virt(struct vcpu *v, int guest_fd, uint64_t gva, uint64_t len, int is_write);
int64_t files_io_phys(struct vcpu *v, int guest_fd, uint64_t gpa, uint64_t len, int is_write);

/* The guest's argument struct at guest-physical `gpa`, or NULL when [gpa,
 * gpa+size) is not RAM (the call is then dropped: there is nowhere to put a result). */
void *hc_struct(struct vcpu *v, uint64_t gpa, size_t size);

/* Guest fd table: guest fds 0-2 are the host's stdio; others map to host fds the
 * guest opened. fd_get() takes a reference the caller drops with fd_put(). */
int fd_get(struct vm *vm, int guest_fd);
void fd_put(struct vm *vm, int guest_fd);
/* host_fd becomes the lowest free guest fd; `path` and `flags` say how the guest
 * opened it (a checkpoint reopens it so; NULL: not by path). guest fd or -EMFILE. */
int fd_install(struct vm *vm, int host_fd, const char *path, int flags);
/* Restore: host_fd becomes guest fd `guest_fd` (free until now). guest_fd or -errno. */
int fd_install_at(struct vm *vm, int guest_fd, int host_fd, const char *path, int flags);
/* Whether I/O on it can wait indefinitely (pipe, terminal, socket). */
bool fd_may_block(struct vm *vm, int guest_fd);
int fd_close(struct vm *vm, int guest_fd);
void fd_table_init(struct vm *vm);
/* Reset hook (system_reset): the guest's files closed (its fd numbers start again at
 * 3), its buffered console output written out. */
void hypercall_reset(struct vm *vm, void *arg);
void fd_table_close_all(struct vm *vm);

/* args.c: argc/argv/env sizes as the guest sees them (exposed for tests). */
struct hermit_cmdsize;
void args_fill_cmdsize(const struct vm *vm, struct hermit_cmdsize *cs);

#endif
