/* abi_rusty.c: the runtime's view of the RustyHermit ("path2rs") boot contract.
 *
 * The hypervisor passes the boot info (0x9000) in RDI; entry_rusty.S hands it to
 * rt_cstart. CPU i+1 takes its stack from current_stack_address, so each CPU
 * stores the next one's stack there before it increments cpu_online.
 */
#include "rt.h"

const enum rt_abi_kind rt_abi_kind = RT_ABI_RUSTY;
const char rt_abi_name[] = "rusty";

struct hermit_boot_info *rt_boot_info;
uint64_t rt_boot_stack_address;

uint32_t rt_possible_cpus(void)
{
	return rt_boot_info->possible_cpus;
}

uint32_t rt_cpu_online(void)
{
	return __atomic_load_n(&rt_boot_info->cpu_online, __ATOMIC_SEQ_CST);
}

uint32_t rt_boot_id(void)
{
	return __atomic_load_n(&rt_boot_info->current_boot_id, __ATOMIC_SEQ_CST);
}

uint16_t rt_uartport(void)
{
	return rt_boot_info ? rt_boot_info->uartport : 0;
}

uint64_t rt_limit(void)
{
	return rt_boot_info->limit;
}

uint32_t rt_cpu_freq(void)
{
	return rt_boot_info->cpu_freq;
}

int rt_abi_has_unlink(void)
{
	return 1;
}

int rt_abi_is_boot_cpu(void *header)
{
	return ((struct hermit_boot_info *)header)->cpu_online == 0;
}

void rt_abi_init(void *header)
{
	rt_boot_info = header;
	rt_boot_stack_address = rt_boot_info->current_stack_address;
}

void rt_abi_hand_over(uint32_t next)
{
	if (next < rt_boot_info->possible_cpus)
		rt_boot_info->current_stack_address = (uint64_t)(uintptr_t)rt_ap_stacks[next - 1];
	__atomic_add_fetch(&rt_boot_info->cpu_online, 1, __ATOMIC_SEQ_CST);
}
