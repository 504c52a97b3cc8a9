/* cpuid.c: the CPUID proxy programs with KVM_SET_CPUID2 is the CPUID the guest sees.
 *
 * proxy's CPUID (src/core/vcpu.c set_cpuid) promises, on every vCPU:
 *   leaf 1 ECX bit 31   hypervisor present
 *   leaf 1 EDX bit 5    MSR (RDMSR/WRMSR)
 *   leaf 1 EBX[31:24]   initial APIC id = the vCPU id
 *   leaf 0xA EAX        0: no architectural PMU
 * Each CPU checks its own view; CPU 0 waits for the others and prints one line
 * per CPU. Exit 0 when every CPU saw what proxy set, 1 otherwise.
 */
#include "rt.h"

#define ECX_HYPERVISOR (1u << 31)
#define EDX_MSR	       (1u << 5)

static volatile uint32_t failures[RT_MAX_CPUS];
static volatile uint32_t apic_id[RT_MAX_CPUS];
static volatile uint32_t pmu_eax[RT_MAX_CPUS];
static volatile uint32_t arrived;

static void check(uint32_t id)
{
	uint32_t r[4];
	uint32_t bad = 0;
	rt_cpuid(1, 0, r);
	if (!(r[2] & ECX_HYPERVISOR))
		bad |= 1;
	if (!(r[3] & EDX_MSR))
		bad |= 2;
	apic_id[id] = r[1] >> 24;
	if (apic_id[id] != id)
		bad |= 4;
	rt_cpuid(0xA, 0, r);
	pmu_eax[id] = r[0];
	if (r[0] != 0)
		bad |= 8;
	failures[id] = bad;
}

void ap_main(uint32_t id)
{
	if (id < RT_MAX_CPUS)
		check(id);
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t n = rt_cpu_count();
	uint32_t r[4];
	rt_cpuid(0, 0, r);
	rt_printf("cpuid: max basic leaf 0x%x, %u cpus\n", r[0], n);
	check(0);
	while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < n - 1)
		rt_pause();
	int bad = 0;
	for (uint32_t id = 0; id < n && id < RT_MAX_CPUS; id++) {
		uint32_t f = failures[id];
		rt_printf("cpuid: cpu %u: hypervisor=%s msr=%s apic_id=%u pmu_eax=0x%x%s\n", id,
			  f & 1 ? "no" : "yes", f & 2 ? "no" : "yes", apic_id[id], pmu_eax[id],
			  f ? " WRONG" : "");
		if (f)
			bad = 1;
	}
	if (bad)
		return 1;
	rt_printf("cpuid: ok\n");
	return 0;
}
