/* abi_entry.c: the Hermit 0.6 boot contract (hermit-entry v4, uhyve-interface v1).
 *
 * The 128-byte boot info of hermit-entry-abi.md section 5 at 0x9000 (RDI), every
 * vCPU with RSI = its index and RSP at the bottom of the boot stack (section 6);
 * the kernel orders its CPUs itself (section 7). The hypercalls are the
 * RustyHermit ones (section 8); the PCI configuration ports answer "no device"
 * (section 9).
 *
 * The start gate (section 16): these kernels release CPU i+1 before CPU i has
 * registered its scheduler queue, and CPU i+1 then panics ("insertion index (is
 * 1) should be <= len (is 0)"). The uhyve of their time hid it by starting vCPU i
 * i * 50 ms late. proxy holds vCPU i until the kernel's own
 * synch_all_cores::CORE_COUNTER, which each CPU increments right after that
 * registration, is >= i: found by symbol, since no note announces it. An image
 * without the symbol (stripped, or a non-SMP build that needs no gate) gets
 * uhyve's stagger, which narrows the window without closing it.
 */
#include <inttypes.h>
#include <string.h>

#include "abi.h"
#include "boot.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "hypercall.h"
#include "log.h"

static void entry_write_boot_info(struct vm *vm)
{
	struct hermit_entry_boot_info *bi =
		gpa_ptr(&vm->mem, HERMIT_ENTRY_BOOT_INFO, sizeof(struct hermit_entry_boot_info));
	boot_entry_info_common(bi, vm, boot_cpu_freq_khz(vm->vcpus[0].fd));
	bi->phys_addr_start = 0;
	bi->phys_addr_end = vm->mem.limit;
	/* Always announced: the kernel unwraps it before it can print anything. The
	 * UART module drops the bytes unless HERMIT_VERBOSE asks for them. */
	bi->serial_port_base = HERMIT_ENTRY_SERIAL_PORT;
	bi->has_pci = 0; /* no PCI devices: the kernel skips its bus scan */
}

uint64_t entry_gate_gpa(const struct image *img, uint64_t addr, uint64_t size)
{
	if (size != 4 || addr % 4)
		return 0;
	for (size_t i = 0; i < img->nseg; i++) {
		const struct image_segment *s = &img->seg[i];
		if (addr >= s->vaddr && addr - s->vaddr <= s->memsz &&
		    s->memsz - (addr - s->vaddr) >= 4)
			return s->paddr + (addr - s->vaddr);
	}
	return 0;
}

static void entry_inspect_image(struct vm *vm)
{
	uint64_t addr = 0, size = 0;
	vm->abi_gate_gpa = 0;
	if (vm->ncpus < 2)
		return;
	bool found = !image_find_symbol(&vm->image, HERMIT_ENTRY_CORE_COUNTER_PREFIX, &addr, &size);
	if (found)
		vm->abi_gate_gpa = entry_gate_gpa(&vm->image, addr, size);
	if (!vm->cfg->verbose)
		return;
	if (vm->abi_gate_gpa)
		warnx_("start gate: vCPU i starts once the kernel's CORE_COUNTER (0x%" PRIx64
		       ") reaches i",
		       vm->abi_gate_gpa);
	else
		warnx_("start gate: %s; vCPU i starts i * %d ms after vCPU 0, as the uhyve of "
		       "these kernels did",
		       found ? "the kernel's CORE_COUNTER symbol is not a u32 inside the image"
			     : "no CORE_COUNTER symbol (a stripped or non-SMP kernel)",
		       HERMIT_ENTRY_START_STAGGER_MS);
}

static uint64_t entry_cpu_online_gpa(const struct vm *vm)
{
	return vm->abi_gate_gpa;
}

static void entry_start_stack(const struct vm *vm, unsigned id, uint64_t *rsp, uint64_t *rsi)
{
	*rsp = vm->image.base - HERMIT_ENTRY_STACK_SIZE; /* _start adds 0x7ff0 itself */
	*rsi = id;
}

static void entry_register_ports(struct vm *vm)
{
	files_register(vm);
	args_register(vm);
	files_register_unlink(vm);
	pci_no_device_register(vm); /* section 9 */
}

static const char *const entry_env_padding[] = {
	"HERMIT_ENV_PLACEHOLDER=1",
	"HERMIT_ENV_PLACEHOLDER2=1",
	"HERMIT_ENV_PLACEHOLDER3=1",
	"HERMIT_ENV_PLACEHOLDER4=1",
};

const struct guest_abi entry_abi = {
	.name = "hermit-entry",
	.label = "Hermit 0.6 (hermit-entry v4)",
	.write_boot_info = entry_write_boot_info,
	.cpu_online_gpa = entry_cpu_online_gpa,
	.start_stagger_ms = HERMIT_ENTRY_START_STAGGER_MS,
	.inspect_image = entry_inspect_image,
	.boot_rdi = HERMIT_ENTRY_BOOT_INFO,
	.start_stack = entry_start_stack,
	.register_ports = entry_register_ports,
	/* The kernel never NULL-terminates its environment array and Rust's std
	 * walks it to the NULL (hermit-entry-abi.md 11.1). A short array comes from a
	 * reused heap chunk, not zeroed: measured on the real hello_world under real
	 * KVM, 0, 1 or 2 variables crash it (#GP in strlen, then a hang), 4, 8 and 16
	 * boot. So it always gets at least 4. */
	.min_envc = 4,
	.env_padding = entry_env_padding,
	/* Its uhyve file system is mounted at /root (UHYVE_MOUNT), the prefix stripped. */
	.relative_paths_under = "/root",
};
