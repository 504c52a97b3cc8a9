/* guest_abi.h: the guest contract as the core and the hypercalls see it.
 *
 * One instance per contract lives in src/abi/ (abi.h: detection and selection);
 * the core reads the start gate and the start registers from it, main.c calls
 * the set-up functions, and the argument hypercalls follow its quirks.
 */
#ifndef PROXY_GUEST_ABI_H
#define PROXY_GUEST_ABI_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Where a vCPU's boot tables and boot info are (vcpu.c's defaults: the GDT and
 * page tables of hermit_abi.h, RDI = guest_abi.boot_rdi). */
struct guest_start {
	uint64_t gdt, cr3, rdi;
};

struct guest_abi {
	const char *name;  /* the HERMIT_ABI value */
	const char *label; /* how messages name it */
	/* Place guest RAM and the image (guest_mem_layout_at, image_rebase) and check
	 * they fit, dying with a message if not; NULL: RAM at 0, the image where it
	 * is linked or loaded (guest_mem_layout, image_check_layout). */
	void (*place)(struct vm *vm);
	/* Write the GDT and page tables; NULL: those of hermit_abi.h (boot.c). */
	void (*write_tables)(struct vm *vm);
	/* Override the start addresses of struct guest_start; NULL: the defaults. */
	void (*start_addresses)(const struct vm *vm, struct guest_start *out);
	/* Write the boot info / kernel header (after the image is loaded). */
	void (*write_boot_info)(struct vm *vm);
	/* The start gate (core/vcpu.c). cpu_online_gpa: the guest-physical address of a
	 * u32 counter; vCPU i >= 1 starts once it is >= i. When it returns 0 (this image
	 * has no such counter), vCPU i starts after i * start_stagger_ms of waiting
	 * instead (time the vCPUs spend stopped by a debugger not counted); 0 ms: at
	 * once. NULL: no gate, every vCPU starts at once and the guest orders them.
	 * boot_id_gpa: where the gate writes the id of the vCPU it lets through (the
	 * guest's current_boot_id); NULL: nowhere. */
	uint64_t (*cpu_online_gpa)(const struct vm *vm);
	uint64_t (*boot_id_gpa)(const struct vm *vm);
	unsigned start_stagger_ms;
	/* Called once after the ABI is chosen, while the image file is still open, to
	 * find what the contract needs beyond the program headers (a symbol, say).
	 * NULL: nothing to find. */
	void (*inspect_image)(struct vm *vm);
	/* Initial RDI (boot info pointer) for every vCPU. */
	uint64_t boot_rdi;
	/* Initial RSP and RSI of vCPU `id`; NULL: both 0. */
	void (*start_stack)(const struct vm *vm, unsigned id, uint64_t *rsp, uint64_t *rsi);
	/* Register the ports that only this ABI has. */
	void (*register_ports)(struct vm *vm);
	/* Whether the guest needs KVM's in-kernel IOAPIC and PIC (its contract programs
	 * them, or a device interrupts through them). NULL or false: the in-kernel LAPIC
	 * alone, which starts faster (core/irqchip.c). */
	bool (*needs_ioapic)(const struct vm *vm);
	/* Guest counts the NULL slot in envc (C HermitCore quirk). */
	int env_count_includes_null;
	/* Guests whose kernel reads past a short environment get it padded to
	 * min_envc variables with env_padding's (hermit-entry-abi.md 11.1); 0: none. */
	int min_envc;
	const char *const *env_padding;
	/* The guest directory relative paths from the guest are under (the kernel strips
	 * its mount point before an OPEN or UNLINK); NULL: none (hypercall/mounts.h). */
	const char *relative_paths_under;
};

#endif
