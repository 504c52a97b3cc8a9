/* uhyve_if.h: the uhyve-interface 1, 2 and 3 hypercalls of the Hermit FDT kernels,
 * inside the hypercall layer (uhyve_if.c: registration, interface 1, the platform
 * ports; uhyve_v2.c: interfaces 2 and 3). The ABI layer sees only
 * uhyve_if_register (hypercall.h); the rest is exposed for the unit tests.
 */
#ifndef PROXY_UHYVE_IF_H
#define PROXY_UHYVE_IF_H

#include <stdint.h>
#include <sys/stat.h>

#include "hermit_fdt_abi.h"
#include "vm.h"

/* A host errno as Hermit's (hermit-fdt-abi.md 4.3): Hermit's errno numbers are
 * Linux's, and it knows 1-133 but 41 and 58 (aliases); a number it does not know
 * would panic main's kernel (Errno::try_from(..).unwrap()), so it becomes EIO. */
int uhyve_errno(int host_errno);

/* Hermit's FileAttr from a host stat. */
void uhyve_file_attr(struct hfdt_file_attr *a, const struct stat *st);

/* open(2) of a guest path under the file policy (mounts.c; unmapped paths: the
 * temporary directory), flags reduced to those uhyve passes, mode masked with 0777:
 * a guest fd (>= 3) or -errno (host numbers). */
int uhyve_open_path(struct vcpu *v, const char *path, int flags, int mode);

/* Carry out the hypercall on `port` with its argument: the 32-bit value written
 * (interface 1) or RDI (interfaces 2, 3). What the port handlers do after reading
 * RDI; the unit tests call it with a fake vCPU. */
void uhyve_v1_call(struct vcpu *v, uint16_t port, uint64_t arg);
void uhyve_v2_call(struct vcpu *v, uint16_t port, uint64_t arg);

/* Register the ports of interfaces 2 (and 3 when v3). */
void uhyve_v2_register(struct vm *vm, bool v3);

#endif
