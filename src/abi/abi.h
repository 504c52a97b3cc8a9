/* abi.h: what differs between the guest ABIs proxy boots (RustyHermit, C HermitCore,
 * Hermit 0.6 = hermit-entry v4).
 *
 * Each contract is a struct guest_abi (core/guest_abi.h): where the start-gate
 * counters live, how to write the boot header and registers, and which
 * ABI-specific ports to register. Everything else (file hypercalls, arguments,
 * UART) is shared.
 */
#ifndef PROXY_ABI_H
#define PROXY_ABI_H

#include <stdint.h>

#include "guest_abi.h"
#include "vm.h"

extern const struct guest_abi rusty_abi;
extern const struct guest_abi c_abi;
extern const struct guest_abi entry_abi;

enum abi_kind { ABI_KIND_UNKNOWN, ABI_KIND_RUSTY, ABI_KIND_C, ABI_KIND_ENTRY };

/* Classify an image by its file contents alone (exposed for tests). */
enum abi_kind abi_detect(const struct image *img);

/* Pick the ABI from the image (or the configured override); die with a message
 * when the image speaks none of them. */
const struct guest_abi *abi_select(const struct vm *vm);

/* hermit-entry's start gate (abi_entry.c): the guest-physical address of the
 * kernel's CORE_COUNTER symbol at runtime address `addr` of `size` bytes, or 0
 * when it cannot be the u32 the gate reads (wrong size, unaligned, outside the
 * loaded segments). Exposed for tests. */
uint64_t entry_gate_gpa(const struct image *img, uint64_t addr, uint64_t size);

#endif
