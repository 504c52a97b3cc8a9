/* abi_hermit.c: the runtime's view of the Hermit 0.6 boot contract (hermit-entry v4).
 *
 * The hypervisor passes the 128-byte boot info (hermit_entry_abi.h) in RDI and
 * starts every vCPU (staggered: this runtime has no CORE_COUNTER, only
 * hermit/coregate.c does); the gate that orders them is the guest's own: cpu_online and
 * current_stack_address are variables of this image (.bss), which entry_hermit.S
 * reads. CPU i+1 takes its stack from rt_hermit_current_stack, so each CPU stores
 * the next one's stack there before it increments cpu_online (as RustyHermit).
 *
 * Built twice: as static PIE (entry-*.elf, placed at 0x400000 and relocated by the
 * hypervisor) and as ET_EXEC at 0x800000 (entry-exec-*.elf). rt_abi_init checks
 * first that the hypervisor applied the image's R_X86_64_RELATIVE relocations.
 */
#include "rt.h"

#include "hermit_entry_abi.h"

_Static_assert(HERMIT_ENTRY_STACK_SIZE == 0x8000, "entry_hermit.S hard-codes the stack top");
_Static_assert(RT_MAX_CPUS == 16, "entry_hermit.S hard-codes the CPU count");
_Static_assert(sizeof(struct rt_hermit_entry_regs) == 64, "entry_hermit.S: REGS_SHIFT");
_Static_assert(offsetof(struct rt_hermit_entry_regs, rdi) == 0x00, "REGS_RDI");
_Static_assert(offsetof(struct rt_hermit_entry_regs, rsi) == 0x08, "REGS_RSI");
_Static_assert(offsetof(struct rt_hermit_entry_regs, rsp) == 0x10, "REGS_RSP");
_Static_assert(offsetof(struct rt_hermit_entry_regs, rdx) == 0x18, "REGS_RDX");
_Static_assert(offsetof(struct rt_hermit_entry_regs, rflags) == 0x20, "REGS_RFLAGS");
_Static_assert(offsetof(struct rt_hermit_entry_regs, arrivals) == 0x28, "REGS_ARRIVALS");
_Static_assert(HERMIT_NOTE_ENTRY_VERSION == 0x5A00 && HERMIT_ENTRY_VERSION == 4 &&
		       sizeof(HERMIT_NOTE_NAME) == 7,
	       "entry_hermit.S hard-codes the note");

const enum rt_abi_kind rt_abi_kind = RT_ABI_HERMIT;
const char rt_abi_name[] = "hermit-entry";

const struct hermit_entry_boot_info *rt_hermit_boot_info;
struct rt_hermit_entry_regs rt_hermit_entry[RT_MAX_CPUS];
uint64_t rt_hermit_boot_id;	  /* RSI of the CPU past the gate (entry_hermit.S) */
uint32_t rt_hermit_cpu_online;	  /* the gate: CPU i runs once this equals i */
uint64_t rt_hermit_current_stack; /* the next CPU's stack (0: its entry RSP) */
static uint32_t boot_cpu_claimed;

/* A statically initialised pointer: in the static-PIE image an R_X86_64_RELATIVE
 * target (linked at vaddr 0), correct only once the hypervisor relocated it. Read
 * through volatile so the compiler cannot fold the comparison with the address
 * the code computes itself (RIP-relative). */
static const char reloc_target[] = "relocated";
static const char *volatile reloc_probe = reloc_target;

uint32_t rt_possible_cpus(void)
{
	uint64_t n = rt_hermit_boot_info->num_cpus;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t rt_cpu_online(void)
{
	return __atomic_load_n(&rt_hermit_cpu_online, __ATOMIC_SEQ_CST);
}

uint32_t rt_boot_id(void)
{
	return (uint32_t)__atomic_load_n(&rt_hermit_boot_id, __ATOMIC_SEQ_CST);
}

uint16_t rt_uartport(void)
{
	return rt_hermit_boot_info ? rt_hermit_boot_info->serial_port_base : 0;
}

uint64_t rt_limit(void)
{
	return rt_hermit_boot_info->phys_addr_end;
}

uint32_t rt_cpu_freq(void)
{
	return rt_hermit_boot_info->cpu_freq / 1000; /* kHz in the boot info */
}

int rt_abi_has_unlink(void)
{
	return 1;
}

/* The boot CPU is the one with RSI 0; a second one would share its stack. */
int rt_abi_is_boot_cpu(void *header)
{
	(void)header;
	if (rt_hermit_boot_id != 0)
		return 0;
	if (__atomic_exchange_n(&boot_cpu_claimed, 1, __ATOMIC_SEQ_CST)) {
		rt_printf("rt: a second vCPU entered with RSI 0\n");
		rt_exit(RT_SETUP_STATUS);
	}
	return 1;
}

void rt_abi_init(void *header)
{
	rt_hermit_boot_info = header;
	if (reloc_probe != reloc_target) {
		rt_printf("rt: relocations not applied: a pointer to 0x%lx reads 0x%lx "
			  "(image loaded at 0x%lx)\n",
			  (unsigned long)(uintptr_t)reloc_target,
			  (unsigned long)(uintptr_t)reloc_probe,
			  (unsigned long)(uintptr_t)__image_start);
		rt_exit(RT_SETUP_STATUS);
	}
}

void rt_abi_hand_over(uint32_t next)
{
	if (next < rt_possible_cpus())
		rt_hermit_current_stack = (uint64_t)(uintptr_t)rt_ap_stacks[next - 1];
	__atomic_add_fetch(&rt_hermit_cpu_online, 1, __ATOMIC_SEQ_CST);
}
