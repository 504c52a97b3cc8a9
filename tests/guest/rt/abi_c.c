/* abi_c.c: the runtime's view of the C HermitCore (libhermit) boot contract.
 *
 * The kernel header is the first bytes of the image (entry_c.S), found through
 * the linker symbol __image_start, never through a register (RDI is 0). The
 * start gate is cpu_online at +0x20 and current_boot_id at +0x30. Every CPU
 * picks its boot stack by current_boot_id in entry_c.S (CPU 0: rt_c_bsp_stack,
 * CPU i: rt_ap_stacks[i-1]), so handing over is just counting this CPU online.
 * UNLINK (0x840) is not part of this ABI: the C kernel never uses it.
 */
#include "rt.h"

#include "c_hermit_abi.h"

_Static_assert(HERMIT_BOOT_STACK_SIZE == 0x8000, "entry_c.S hard-codes the stack size");
_Static_assert(RT_MAX_CPUS == 16, "entry_c.S hard-codes the stack table size");

const enum rt_abi_kind rt_abi_kind = RT_ABI_C;
const char rt_abi_name[] = "c";

volatile struct c_hermit_header *rt_c_header = (volatile struct c_hermit_header *)__image_start;
uint8_t rt_c_bsp_stack[HERMIT_BOOT_STACK_SIZE] __attribute__((aligned(16)));

/* The gate counters are naturally aligned u32s inside the packed header; atomics
 * need their address, which a packed member does not give without a warning. */
#define GATE(field)                                                                                \
	((uint32_t *)(uintptr_t)(__image_start + offsetof(struct c_hermit_header, field)))

uint32_t rt_possible_cpus(void)
{
	return rt_c_header->possible_cpus;
}

uint32_t rt_cpu_online(void)
{
	return __atomic_load_n(GATE(cpu_online), __ATOMIC_SEQ_CST);
}

uint32_t rt_boot_id(void)
{
	return __atomic_load_n(GATE(current_boot_id), __ATOMIC_SEQ_CST);
}

uint16_t rt_uartport(void)
{
	return (uint16_t)rt_c_header->uartport;
}

uint64_t rt_limit(void)
{
	return rt_c_header->limit;
}

uint32_t rt_cpu_freq(void)
{
	return rt_c_header->cpu_freq;
}

int rt_abi_has_unlink(void)
{
	return 0;
}

int rt_abi_is_boot_cpu(void *header)
{
	return ((volatile struct c_hermit_header *)header)->cpu_online == 0;
}

void rt_abi_init(void *header)
{
	(void)header; /* == rt_c_header: entry_c.S passes the same symbol */
}

void rt_abi_hand_over(uint32_t next)
{
	(void)next;
	__atomic_add_fetch(GATE(cpu_online), 1, __ATOMIC_SEQ_CST);
}
