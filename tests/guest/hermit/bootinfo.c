/* hermit/bootinfo.c (entry-bootinfo.elf, entry-exec-bootinfo.elf): the Hermit 0.6
 * (hermit-entry v4) boot info and start-up state, against the ABI and the image.
 *
 * Checks every field of the 128-byte boot info (hermit_entry_abi.h) against what
 * the linker laid out (__image_start/__image_end, __tls_start/__tdata_end/__tls_end) and the
 * arguments; the entry registers of every vCPU (RDI = boot info, RSI = its index,
 * which is also its APIC id, RSP = image start - 0x8000, RFLAGS 2, RDX 0), each
 * index arriving exactly once; the CPU state, GDT and page tables proxy sets up
 * for every ABI; the version note as loaded; and, in the static-PIE build, that
 * every R_X86_64_RELATIVE relocation of the image holds its relocated value.
 *
 * Arguments (all optional), key=value: cpus=N (default 1), mem=BYTES (check
 * phys_addr_end), now=SECONDS (host time just before the run: boot_time must be
 * within a minute of it). Prints "bootinfo: ok" or each mismatch; exit 0 / 1.
 */
#include "../bootcheck.h"

#include "hermit_entry_abi.h"

#ifdef __PIE__
#define IMAGE_ADDR HERMIT_ENTRY_LOAD_ADDR /* ET_DYN: where proxy places it */
#else
#define IMAGE_ADDR 0x800000ULL /* ET_EXEC: its link address (hermit-exec.ld) */
#endif
#define TLS_ALIGN	    64
#define NS_PER_S	    1000000000ULL
#define NS_2020		    (1577836800ULL * NS_PER_S) /* 2020-01-01T00:00:00Z */
#define NOW_SLACK_NS	    (60ULL * NS_PER_S)
#define KHZ_MIN		    100000   /* 100 MHz: a value in MHz would be far below */
#define KHZ_MAX		    10000000 /* 10 GHz */
#define CPUID1_APIC_ID(ebx) ((ebx) >> 24)
#define ELF_ET_DYN	    3
#define DT_NULL		    0
#define DT_RELA		    7
#define DT_RELASZ	    8
#define DT_RELAENT	    9
#define R_X86_64_RELATIVE   8

/* Both TLS variables 64-aligned, so PT_TLS p_align (the boot info's tls_align) is 64. */
__thread uint64_t tls_initialised __attribute__((aligned(TLS_ALIGN))) = 0x1122334455667788ULL;
__thread char tls_zeroed[100] __attribute__((aligned(TLS_ALIGN)));

static volatile uint32_t apic_id[RT_MAX_CPUS];
static volatile uint32_t aps_arrived;

static uint32_t my_apic_id(void)
{
	uint32_t r[4];
	rt_cpuid(1, 0, r);
	return CPUID1_APIC_ID(r[1]);
}

void ap_main(uint32_t id)
{
	if (id < RT_MAX_CPUS)
		apic_id[id] = my_apic_id();
	__atomic_add_fetch(&aps_arrived, 1, __ATOMIC_SEQ_CST);
}

static void check_padding(const char *what, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i]) {
			check(what, p[i], 0);
			return;
		}
}

static void check_fields(const struct hermit_entry_boot_info *bi, uint32_t cpus)
{
	uint64_t start = (uint64_t)(uintptr_t)__image_start;
	check("image loaded at", start, IMAGE_ADDR);
	check("phys_addr_start", bi->phys_addr_start, 0);
	uint64_t mem = arg_number("mem", 0);
	if (mem)
		check("phys_addr_end", bi->phys_addr_end, expected_limit(mem));
	check("phys_addr_end above the image", bi->phys_addr_end > (uint64_t)(uintptr_t)__image_end,
	      1);
	check("serial_port_base (also without HERMIT_VERBOSE)", bi->serial_port_base,
	      HERMIT_ENTRY_SERIAL_PORT);
	check_padding("padding after serial_port_base", bi->pad0, sizeof(bi->pad0));
	check("device_tree", bi->device_tree, 0);
	check("kernel_image_addr_start", bi->kernel_image_addr_start, start);
	check("kernel_image_addr_end", bi->kernel_image_addr_end, (uint64_t)(uintptr_t)__image_end);
	check("tls_start", bi->tls_start, (uint64_t)(uintptr_t)__tls_start);
	check("tls_filesz", bi->tls_filesz, (uint64_t)(__tdata_end - __tls_start));
	check("tls_memsz", bi->tls_memsz, (uint64_t)(__tls_end - __tls_start));
	check("tls_align", bi->tls_align, TLS_ALIGN);
	check("platform (Uhyve)", bi->platform, HERMIT_ENTRY_PLATFORM_UHYVE);
	check("padding after platform", bi->pad1, 0);
	check("has_pci", bi->has_pci, 0);
	check_padding("padding after has_pci", bi->pad2, sizeof(bi->pad2));
	check("num_cpus", bi->num_cpus, cpus);
	check("cpu_freq in kHz (100 MHz .. 10 GHz)",
	      bi->cpu_freq >= KHZ_MIN && bi->cpu_freq <= KHZ_MAX, 1);
	check("padding after cpu_freq", bi->pad3, 0);
	check("boot_time high 64 bits", bi->boot_time[1], 0);
	check("boot_time after 2020-01-01", bi->boot_time[0] > NS_2020, 1);
	uint64_t now = arg_number("now", 0) * NS_PER_S;
	if (now) {
		uint64_t t = bi->boot_time[0];
		check("boot_time within a minute of the host clock",
		      (t > now ? t - now : now - t) < NOW_SLACK_NS, 1);
	}
	check("rt_cpu_freq() = cpu_freq / 1000 (MHz)", rt_cpu_freq(), bi->cpu_freq / 1000);
	check("cpu_online (the guest's own) after start-up", rt_cpu_online(), cpus);
	rt_printf("bootinfo: phys_addr_end=0x%lx cpu_freq=%u kHz boot_time=%lu image=0x%lx-0x%lx "
		  "tls=0x%lx/0x%lx/0x%lx/0x%lx cpus=%lu\n",
		  (unsigned long)bi->phys_addr_end, bi->cpu_freq, (unsigned long)bi->boot_time[0],
		  (unsigned long)bi->kernel_image_addr_start,
		  (unsigned long)bi->kernel_image_addr_end, (unsigned long)bi->tls_start,
		  (unsigned long)bi->tls_filesz, (unsigned long)bi->tls_memsz,
		  (unsigned long)bi->tls_align, (unsigned long)bi->num_cpus);
}

/* What each vCPU brought to _start (rt/entry_hermit.S), and its APIC id. */
static void check_entry_registers(uint32_t cpus)
{
	uint64_t stack = (uint64_t)(uintptr_t)__image_start - HERMIT_ENTRY_STACK_SIZE;
	char what[80];
	apic_id[0] = my_apic_id();
	while (__atomic_load_n(&aps_arrived, __ATOMIC_SEQ_CST) < rt_cpu_count() - 1)
		rt_pause();
	for (uint32_t i = 0; i < RT_MAX_CPUS; i++) {
		const struct rt_hermit_entry_regs *r = &rt_hermit_entry[i];
		rt_snprintf(what, sizeof(what), "vCPUs that entered with RSI %u", i);
		check(what, r->arrivals, i < cpus);
		if (i >= cpus || r->arrivals != 1)
			continue;
		rt_snprintf(what, sizeof(what), "vCPU %u: RDI at entry (the boot info)", i);
		check(what, r->rdi, HERMIT_ENTRY_BOOT_INFO);
		rt_snprintf(what, sizeof(what), "vCPU %u: RSP at entry (image start - 0x8000)", i);
		check(what, r->rsp, stack);
		rt_snprintf(what, sizeof(what), "vCPU %u: RFLAGS at entry", i);
		check(what, r->rflags, ENTRY_RFLAGS);
		rt_snprintf(what, sizeof(what), "vCPU %u: RDX at entry", i);
		check(what, r->rdx, 0);
		rt_snprintf(what, sizeof(what), "vCPU with RSI %u: its APIC id", i);
		check(what, apic_id[i], i);
	}
}

static void check_note(void)
{
	const uint8_t *n = (const uint8_t *)rt_hermit_note;
	uint32_t hdr[3];
	memcpy(hdr, n, sizeof(hdr));
	check("note n_namesz", hdr[0], sizeof(HERMIT_NOTE_NAME));
	check("note n_descsz", hdr[1], 1);
	check("note n_type", hdr[2], HERMIT_NOTE_ENTRY_VERSION);
	check("note name \"HERMIT\"", !memcmp(n + 12, HERMIT_NOTE_NAME, sizeof(HERMIT_NOTE_NAME)),
	      1);
	check("note desc (entry version)", n[20], HERMIT_ENTRY_VERSION);
}

#ifdef __PIE__
struct elf64_dyn {
	int64_t tag;
	uint64_t val;
};
struct elf64_rela {
	uint64_t offset, info;
	int64_t addend;
};
extern const struct elf64_dyn _DYNAMIC[] __attribute__((visibility("hidden")));

/* The first PT_LOAD starts with the ELF header (hermit-pie.ld), and every
 * RELATIVE relocation of the image holds start + addend. */
static void check_relocations(void)
{
	const uint8_t *img = (const uint8_t *)__image_start;
	uint64_t start = (uint64_t)(uintptr_t)__image_start;
	check("ELF magic at the image start", !memcmp(img, "\177ELF", 4), 1);
	check("EI_OSABI (HermitCore)", img[7], HERMIT_ELFOSABI);
	check("e_type ET_DYN", (uint64_t)img[16] | (uint64_t)img[17] << 8, ELF_ET_DYN);
	uint64_t rela = 0, relasz = 0, relaent = 0;
	for (const struct elf64_dyn *d = _DYNAMIC; d->tag != DT_NULL; d++) {
		if (d->tag == DT_RELA)
			rela = d->val;
		else if (d->tag == DT_RELASZ)
			relasz = d->val;
		else if (d->tag == DT_RELAENT)
			relaent = d->val;
	}
	check("DT_RELAENT", relaent, sizeof(struct elf64_rela));
	check("the image has relocations", relasz != 0 && rela != 0, 1);
	if (failed || !relasz)
		return;
	const struct elf64_rela *r = (const struct elf64_rela *)(uintptr_t)(start + rela);
	uint64_t n = relasz / sizeof(*r), bad = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t got;
		memcpy(&got, img + r[i].offset, sizeof(got));
		if ((uint32_t)r[i].info != R_X86_64_RELATIVE ||
		    got != start + (uint64_t)r[i].addend) {
			if (!bad++)
				check("relocated word (first mismatch)", got,
				      start + (uint64_t)r[i].addend);
		}
	}
	rt_printf("bootinfo: %lu relocations applied\n", (unsigned long)(n - bad));
}
#else
static void check_relocations(void)
{
}
#endif

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	uint32_t cpus = (uint32_t)arg_number("cpus", 1);
	check_fields(rt_hermit_boot_info, cpus);
	check_entry_registers(cpus);
	check_note();
	check_relocations();
	return finish_checks((uint64_t)(uintptr_t)__image_start - HERMIT_ENTRY_STACK_SIZE,
			     HERMIT_ENTRY_BOOT_INFO, "RDI at entry (the boot info)", 0);
}
