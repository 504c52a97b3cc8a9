/* abi.h: what differs between the guest ABIs proxy boots (RustyHermit, C HermitCore).
 *
 * The core asks the ABI where the start-gate counters live, how to write the boot
 * header and registers, and which ABI-specific ports to register. Everything else
 * (file hypercalls, arguments, UART) is shared.
 */
#ifndef PROXY_ABI_H
#define PROXY_ABI_H

#include <stdint.h>

#include "vm.h"

struct guest_abi {
	const char *name;
	/* Write the boot info / kernel header (after the image is loaded). */
	void (*write_boot_info)(struct vm *vm);
	/* Guest-physical addresses of the cpu_online gate and current_boot_id. */
	uint64_t (*cpu_online_gpa)(const struct vm *vm);
	uint64_t (*boot_id_gpa)(const struct vm *vm);
	/* Initial RDI (boot info pointer) for every vCPU. */
	uint64_t boot_rdi;
	/* Register the ports that only this ABI has. */
	void (*register_ports)(struct vm *vm);
	/* Guest counts the NULL slot in envc (C HermitCore quirk). */
	int env_count_includes_null;
};

extern const struct guest_abi rusty_abi;
extern const struct guest_abi c_abi;

enum abi_kind { ABI_KIND_UNKNOWN, ABI_KIND_RUSTY, ABI_KIND_C };

/* Classify an image by its file contents alone (exposed for tests). */
enum abi_kind abi_detect(const struct image *img);

/* Pick the ABI from the image (or the configured override); die with a message
 * when the image speaks neither. */
const struct guest_abi *abi_select(const struct vm *vm);

#endif
