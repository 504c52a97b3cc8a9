/* start.c: from _start to main(): CPU roles, command line, secondary CPUs.
 *
 * Every ABI starts every vCPU at the same entry without INIT/SIPI: vCPU i runs
 * once the guest's cpu_online counter reaches i, with current_boot_id = i. A
 * CPU that reads cpu_online == 0 is the boot CPU. Where the counters live and
 * how the next CPU gets its stack is the ABI's business (rt/abi_rusty.c,
 * rt/abi_c.c, rt/abi_hermit.c: there the guest's own counter and RSI = i, and
 * the CPUs wait in rt/entry_hermit.S); the entry code (rt/entry_<abi>.S) calls
 * rt_cstart.
 */
#include "rt.h"

void rt_cstart(void *header, uint64_t rflags, uint64_t rsp, uint64_t rdx, uint64_t rdi);

uint64_t rt_entry_rflags, rt_entry_rsp, rt_entry_rdx, rt_entry_rdi;
int rt_argc;
char **rt_argv, **rt_envp;

uint8_t rt_ap_stacks[RT_MAX_CPUS - 1][HERMIT_BOOT_STACK_SIZE] __attribute__((aligned(16)));
volatile uint32_t rt_aps_in_ap_main;

/* Command-line storage: pointer arrays and one string pool, static because the
 * guest has no allocator. 128 KiB covers any sane environment. */
#define STRING_POOL_SIZE (128 * 1024)
/* C HermitCore's guest leaves the environment array's last slot (its NULL) to
 * itself; this value must still be there after CMDVAL. It points outside RAM
 * (into the PCI hole), so a hypervisor writing through it cannot hit the guest. */
#define ENV_NULL_SLOT_POISON 0xFFFFF000ULL
static uint64_t argv_ptrs[HERMIT_MAX_ARGC + 1];
static uint64_t envp_ptrs[HERMIT_MAX_ENVC + 2];
static char string_pool[STRING_POOL_SIZE];
static struct hermit_cmdsize cmdsize;
static int aps_started;

__attribute__((weak)) void ap_main(uint32_t id)
{
	(void)id;
	__atomic_add_fetch(&rt_aps_in_ap_main, 1, __ATOMIC_SEQ_CST);
}

/* CPU 0, counted online (CPU 1 may start), before it waits for the others: where
 * a Hermit 0.6 kernel registers its scheduler queue (hermit/coregate.c). */
__attribute__((weak)) void boot_cpu_online(void)
{
}

uint32_t rt_cpu_count(void)
{
	return rt_possible_cpus();
}

/* Carve n strings (argument sizes, or environment sizes if env) from the pool;
 * returns -1 if they do not fit. */
static int carve(uint64_t *ptrs, int env, int n, size_t *used)
{
	for (int i = 0; i < n; i++) {
		int32_t size = env ? cmdsize.envsz[i] : cmdsize.argsz[i];
		if (size <= 0 || (size_t)size > STRING_POOL_SIZE - *used)
			return -1;
		ptrs[i] = (uint64_t)(uintptr_t)(string_pool + *used);
		*used += (size_t)size;
	}
	ptrs[n] = 0;
	return 0;
}

/* RustyHermit: envc variables, the guest adds its own NULL. C HermitCore
 * (libhermit main.c): envc counts the NULL slot; the guest allocates envc
 * pointers, fills envc-1 and stores NULL in slot envc-1 itself. */
static void fetch_command_line(void)
{
	const int c_abi = rt_abi_kind == RT_ABI_C;
	const int max_envc = HERMIT_MAX_ENVC + c_abi;
	size_t used = 0;
	cmdsize.argc = -1;
	rt_hypercall(HERMIT_PORT_CMDSIZE, &cmdsize);
	if (cmdsize.argc < 0 || cmdsize.argc > HERMIT_MAX_ARGC || cmdsize.envc < c_abi ||
	    cmdsize.envc > max_envc) {
		rt_printf("rt: CMDSIZE returned argc %d envc %d\n", cmdsize.argc, cmdsize.envc);
		rt_exit(RT_SETUP_STATUS);
	}
	int nvars = cmdsize.envc - c_abi;
	if (carve(argv_ptrs, 0, cmdsize.argc, &used) || carve(envp_ptrs, 1, nvars, &used)) {
		rt_printf("rt: command line does not fit the %d-byte pool\n", STRING_POOL_SIZE);
		rt_exit(RT_SETUP_STATUS);
	}
	if (c_abi)
		envp_ptrs[nvars] = ENV_NULL_SLOT_POISON; /* uninitialised in libhermit */
	volatile struct hermit_cmdval val = {(uint64_t)(uintptr_t)argv_ptrs,
					     (uint64_t)(uintptr_t)envp_ptrs};
	rt_hypercall(HERMIT_PORT_CMDVAL, &val);
	if (c_abi) {
		if (envp_ptrs[nvars] != ENV_NULL_SLOT_POISON) {
			rt_printf("rt: CMDVAL changed the environment's NULL slot %d to 0x%lx\n",
				  nvars, (unsigned long)envp_ptrs[nvars]);
			rt_exit(RT_SETUP_STATUS);
		}
		envp_ptrs[nvars] = 0;
	}
	rt_argc = cmdsize.argc;
	rt_argv = (char **)argv_ptrs; /* identity map: physical pointers are usable */
	rt_envp = (char **)envp_ptrs;
}

void rt_start_aps(void)
{
	if (aps_started)
		return;
	aps_started = 1;
	uint32_t n = rt_possible_cpus();
	if (n == 0 || n > RT_MAX_CPUS) {
		rt_printf("rt: possible_cpus %u: the test runtime supports 1..%d\n", n,
			  RT_MAX_CPUS);
		rt_exit(RT_SETUP_STATUS);
	}
	rt_abi_hand_over(1);
	boot_cpu_online();
	while (rt_cpu_online() < n)
		rt_pause();
}

static void boot_cpu(void)
{
	rt_trap_init();
	rt_trap_load();
	if (rt_abi_command_line)
		rt_abi_command_line(); /* the FDT flavours: from /chosen/bootargs */
	else
		fetch_command_line();
	rt_start_aps();
	rt_exit(main(rt_argc, rt_argv, rt_envp));
}

static void secondary_cpu(void)
{
	/* Read the id before counting online: afterwards the hypervisor may
	 * already overwrite current_boot_id for the next CPU. */
	uint32_t id = rt_boot_id();
	rt_trap_load();
	rt_abi_hand_over(id + 1);
	ap_main(id);
	rt_halt_forever();
}

/* Called by the entry code on every CPU, on its own stack, with the ABI's
 * header and the entry values of RFLAGS, RSP, RDX and RDI. */
void rt_cstart(void *header, uint64_t rflags, uint64_t rsp, uint64_t rdx, uint64_t rdi)
{
	if (rt_abi_is_boot_cpu(header)) {
		rt_abi_init(header);
		rt_entry_rflags = rflags;
		rt_entry_rsp = rsp;
		rt_entry_rdx = rdx;
		rt_entry_rdi = rdi;
		boot_cpu();
	}
	secondary_cpu();
}
