/* abi_fdt.c: the runtime's view of the FDT-booted Hermit generations (0.10.0,
 * 0.11.0, 0.13.2, main with uhyve-interface 2 and 3), included by rt/abi_<gen>.c
 * with RT_FDT_GEN set (shared/spec/hermit-fdt-abi.md).
 *
 * It behaves like the kernel it imitates up to main(): the boot info from RDI
 * (G + 0x5000) is checked for what that generation reads (spec 2.4) and stops the
 * guest where the kernel would panic; the FDT is found from boot info offset 24 and
 * checked as the kernel's parser does (3.2, 3.4); Hermit 0.10 touches its page
 * tables only through the recursive slot 0xFFFF_FFFF_FFFF_F000, main requires that
 * slot as its marker (2.2); the command line comes from /chosen/bootargs, split
 * with shell-words or shlex (3.3): argv[0] = "bin", the words after "--", env
 * from "env=K=V" words. The start gate is Hermit 0.6's (rt/entry_hermit.S), so
 * its rt_hermit_* state is defined here. Failures exit with RT_SETUP_STATUS (98),
 * an unterminated quote under shell-words with 1 (the kernel's panic).
 */
#include "rt.h"

#include "fdt.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"

#ifndef RT_FDT_GEN
#error "rt/abi_<gen>.c sets RT_FDT_GEN"
#endif

#define IS_MAIN (RT_FDT_GEN >= RT_GEN_M2)

_Static_assert(HFDT_STACK_OFF + HERMIT_ENTRY_STACK_SIZE == HFDT_KERNEL_OFF,
	       "the boot stack ends where the kernel starts");

const enum rt_abi_kind rt_abi_kind = RT_ABI_FDT;
const enum rt_fdt_gen rt_fdt_gen = RT_FDT_GEN;
const uint32_t rt_uhyve_interface = RT_FDT_GEN == RT_GEN_M3 ? 3 : RT_FDT_GEN == RT_GEN_M2 ? 2 : 1;
#if RT_FDT_GEN == 10
const char rt_abi_name[] = "Hermit 0.10.0";
#elif RT_FDT_GEN == 11
const char rt_abi_name[] = "Hermit 0.11.0";
#elif RT_FDT_GEN == 13
const char rt_abi_name[] = "Hermit 0.13.2";
#elif RT_FDT_GEN == 102
const char rt_abi_name[] = "Hermit main (uhyve-interface 2)";
#else
const char rt_abi_name[] = "Hermit main (uhyve-interface 3)";
#endif

const struct hermit_entry_boot_info *rt_hermit_boot_info;
struct rt_hermit_entry_regs rt_hermit_entry[RT_MAX_CPUS];
uint64_t rt_hermit_boot_id;
uint32_t rt_hermit_cpu_online;
uint64_t rt_hermit_current_stack;
static uint32_t boot_cpu_claimed;

const char *rt_fdt_bootargs;
static const void *fdt;

static const char reloc_target[] = "relocated";
static const char *volatile reloc_probe = reloc_target;

#define RECURSIVE_PML4 0xFFFFFFFFFFFFF000ULL

uint64_t rt_fdt_guest_base(void)
{
	return (uint64_t)(uintptr_t)__image_start - HFDT_KERNEL_OFF;
}

int rt_fdt_uses_shlex(void)
{
	return RT_FDT_GEN == RT_GEN_M3;
}

void rt_fdt_log(const char *buf, uint64_t len)
{
	if (rt_uhyve_interface >= 2) {
		volatile struct hfdt_v2_serial_write_buf a = {.len = len,
							      .buf = (uint64_t)(uintptr_t)buf};
		rt_hypercall(HFDT_V2_PORT_SERIAL_WRITE_BUF, &a);
	} else {
		volatile struct hfdt_v1_serial_buffer a = {.buf = (uint64_t)(uintptr_t)buf,
							   .len = len};
		rt_hypercall(HFDT_V1_PORT_SERIAL_BUFFER, &a);
	}
}

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
	return 0; /* these kernels log through the serial-buffer hypercall only */
}

uint64_t rt_limit(void)
{
	uint32_t len = 0;
	const uint8_t *reg = fdt ? rt_fdt_prop(fdt, "memory@", "reg", &len) : NULL;
	if (reg && len >= 16)
		return rt_be64(reg) + rt_be64(reg + 8);
	return rt_hermit_boot_info->phys_addr_end; /* 0.10 without /memory */
}

uint32_t rt_cpu_freq(void)
{
	uint32_t len = 0;
	const uint8_t *khz = fdt && RT_FDT_GEN != RT_GEN_FDT10
				     ? rt_fdt_prop(fdt, HFDT_TSC_NODE, "khz", &len)
				     : NULL;
	if (khz && len == 4)
		return rt_be32(khz) / 1000;
	if (khz && len == 8)
		return (uint32_t)(rt_be64(khz) / 1000);
	return IS_MAIN ? 0 : rt_hermit_boot_info->cpu_freq / 1000;
}

int rt_abi_has_unlink(void)
{
	return 1;
}

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

__attribute__((noreturn)) static void die(const char *what, const char *detail)
{
	rt_printf("rt: %s: %s (the %s kernel stops here)\n", rt_abi_name, what, detail);
	rt_exit(RT_SETUP_STATUS);
}

/* Spec 2.4: what this generation reads from the boot info, and unwraps. */
static void check_boot_info(const struct hermit_entry_boot_info *bi)
{
	if (RT_FDT_GEN <= RT_GEN_FDT11 && bi->serial_port_base == 0)
		die("boot info serial_port_base is 0", "unwraps it");
	if (RT_FDT_GEN != RT_GEN_FDT10 && bi->device_tree == 0)
		die("boot info device_tree is 0", "requires an FDT");
	if (!IS_MAIN && bi->phys_addr_start > bi->kernel_image_addr_start)
		die("phys_addr_start lies above the kernel", "checks memory from it");
	if (IS_MAIN && bi->platform != HERMIT_ENTRY_PLATFORM_UHYVE)
		die("boot info tag is not 1 (uhyve)", "reads num_cpus/boot_time only then");
	if (bi->num_cpus == 0)
		die("num_cpus is 0", "waits for");
}

/* Spec 3.2 and 3.4: what the kernel's FDT parser and pretty printer insist on. */
static void check_fdt(void)
{
	const char *why;
	uint32_t len = 0;
	if (rt_fdt_check(fdt, (uint32_t)HFDT_FDT_MAX, &why))
		die("FDT header", why);
	const char *compat = rt_fdt_prop(fdt, "", "compatible", &len);
	if (!compat)
		die("FDT without /compatible", "unwraps it");
	if (IS_MAIN && (len < sizeof(HFDT_COMPATIBLE) ||
			memcmp(compat, HFDT_COMPATIBLE, sizeof(HFDT_COMPATIBLE))))
		die("/compatible does not list hermit,uhyve", "boots as bare metal and");
	const char *cells[] = {"#address-cells", "#size-cells"};
	for (int i = 0; i < 2; i++)
		if (rt_fdt_prop(fdt, "", cells[i], &len) && len != 4 && len != 8)
			die(cells[i], "pretty-prints it and");
	if (RT_FDT_GEN != RT_GEN_FDT10 && !rt_fdt_prop(fdt, "memory@", "reg", &len))
		die("FDT without /memory reg", "panics: no physical memory");
	if (!rt_fdt_child(fdt, "chosen"))
		die("FDT without /chosen", "panics: /chosen is required");
	rt_fdt_bootargs = rt_fdt_prop(fdt, "chosen", "bootargs", &len);
	if (rt_fdt_bootargs && (len == 0 || rt_fdt_bootargs[len - 1]))
		die("/chosen/bootargs is empty or not NUL-terminated", "slices it and");
}

/* Spec 2.2: Hermit 0.10 edits its tables through PML4[511] (a read here faults if
 * the slot is missing, as the kernel would); main takes PML4[511] pointing to the
 * PML4 as the sign that memory below the kernel is in use. */
static void check_recursive_slot(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	if (RT_FDT_GEN == RT_GEN_FDT10) {
		volatile uint64_t *pml4 = (volatile uint64_t *)RECURSIVE_PML4;
		if ((pml4[HFDT_RECURSIVE_SLOT] & PTE_ADDR_MASK) != (cr3 & PTE_ADDR_MASK))
			die("PML4[511] through the recursive slot is not the PML4",
			    "maps through it");
	} else if (IS_MAIN) {
		const uint64_t *pml4 = (const uint64_t *)(uintptr_t)(cr3 & PTE_ADDR_MASK);
		if ((pml4[HFDT_RECURSIVE_SLOT] & PTE_ADDR_MASK) != (cr3 & PTE_ADDR_MASK))
			die("PML4[511] is not recursive", "hands out its live page tables");
	}
}

void rt_abi_init(void *header)
{
	rt_hermit_boot_info = header;
#ifdef RT_SSE
	/* The SSE build uses XMM registers on purpose at once, as real kernels do:
	 * on PVM the VM ends here, whatever gcc made of the C code. */
	uint64_t one = 1, two = 0;
	__asm__ volatile("movq %1, %%xmm0; paddq %%xmm0, %%xmm0; movq %%xmm0, %0"
			 : "=r"(two)
			 : "r"(one)
			 : "xmm0");
	if (two != 2)
		die("SSE arithmetic is wrong", "computes with SSE and");
#endif
	if (reloc_probe != reloc_target) {
		rt_printf("rt: relocations not applied: a pointer to 0x%lx reads 0x%lx\n",
			  (unsigned long)(uintptr_t)reloc_target,
			  (unsigned long)(uintptr_t)reloc_probe);
		rt_exit(RT_SETUP_STATUS);
	}
	check_boot_info(rt_hermit_boot_info);
	fdt = (const void *)(uintptr_t)rt_hermit_boot_info->device_tree;
	if (fdt)
		check_fdt();
	check_recursive_slot();
}

/* ---- the command line ---- */

#define MAX_WORDS 512
static char *words[MAX_WORDS];
static char word_pool[64 * 1024];
static char *argv_out[MAX_WORDS + 2];
static char *envp_out[MAX_WORDS + 1];
static char bin[] = "bin";

/* Spec 3.3, word by word: "--" starts the app arguments, env=K=V a variable,
 * -freq/-ip/-mask/-gateway/-mount take the next word, anything else is the image
 * path or ignored. */
void rt_abi_command_line(void)
{
	int argc = 0, envc = 0;
	argv_out[argc++] = bin;
	int n = rt_fdt_bootargs ? rt_fdt_split(rt_fdt_bootargs, rt_fdt_uses_shlex(), words,
					       MAX_WORDS, word_pool, sizeof(word_pool))
				: 0;
	if (n < 0) {
		rt_printf("rt: %s: bootargs do not split (unterminated quote?): the kernel "
			  "panics\n",
			  rt_abi_name);
		rt_exit(1);
	}
	for (int i = 0; i < n; i++) {
		if (!strcmp(words[i], "--")) {
			while (++i < n)
				argv_out[argc++] = words[i];
		} else if (!strncmp(words[i], "env=", 4)) {
			for (const char *c = words[i] + 4; *c; c++)
				if (*c == '=') {
					envp_out[envc++] = words[i] + 4;
					break;
				}
		} else if (!strcmp(words[i], "-freq") || !strcmp(words[i], "-ip") ||
			   !strcmp(words[i], "-mask") || !strcmp(words[i], "-gateway") ||
			   !strcmp(words[i], "-mount")) {
			i++;
		}
	}
	argv_out[argc] = NULL; /* the kernel's argv has none: the runtime's does */
	envp_out[envc] = NULL;
	rt_argc = argc;
	rt_argv = argv_out;
	rt_envp = envp_out; /* the kernel passes NULL when empty; rt_fdt_envc says so */
}

void rt_abi_hand_over(uint32_t next)
{
	if (next < rt_possible_cpus())
		rt_hermit_current_stack = (uint64_t)(uintptr_t)rt_ap_stacks[next - 1];
	__atomic_add_fetch(&rt_hermit_cpu_online, 1, __ATOMIC_SEQ_CST);
}
