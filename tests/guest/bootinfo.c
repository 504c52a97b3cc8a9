/* bootinfo.c: every boot-info field and the start-up CPU state, against the ABI.
 *
 * Arguments (all optional), key=value: cpus=N (default 1), uart=0|1 (default 0),
 * ip=, gw=, mask= (defaults 255.255.255.255, 0.0.0.0, 0.0.0.0), mem=BYTES (check
 * limit), gtod=MICROSECONDS (host time just before the run; boot_gtod must be
 * within a minute). The __thread variables give this image a PT_TLS segment.
 */
#include "bootcheck.h"

#define GTOD_SLACK_US (60ULL * 1000 * 1000)

__thread uint64_t tls_initialised = 0x1122334455667788ULL;
__thread char tls_zeroed[100];

static void check_fields(const struct hermit_boot_info *bi)
{
	uint64_t base = (uint64_t)(uintptr_t)__image_start;
	check("magic_number", bi->magic_number, HERMIT_BOOT_MAGIC);
	check("version", bi->version, HERMIT_BOOT_VERSION);
	check("base", bi->base, base);
	check("image_size", bi->image_size, (uint64_t)(uintptr_t)__image_end - base);
	check("tls_start", bi->tls_start, (uint64_t)(uintptr_t)__tls_start);
	check("tls_filesz", bi->tls_filesz, (uint64_t)(__tdata_end - __tls_start));
	check("tls_memsz", bi->tls_memsz, (uint64_t)(uintptr_t)__tls_memsz);
	check("current_stack_address (CPU 0)", rt_boot_stack_address,
	      base - HERMIT_BOOT_STACK_SIZE);
	check("current_percore_address", bi->current_percore_address, 0);
	check("mb_info", bi->mb_info, 0);
	check("cmdline", bi->cmdline, 0);
	check("cmdsize", bi->cmdsize, 0);
	check("cpu_freq != 0", bi->cpu_freq != 0, 1);
	check("cpu_freq < 65536", bi->cpu_freq < 65536, 1);
	check("boot_processor", bi->boot_processor, 0);
	check("possible_cpus", bi->possible_cpus, arg_number("cpus", 1));
	check("cpu_online after start-up", bi->cpu_online, bi->possible_cpus);
	check("uartport", bi->uartport, arg_number("uart", 0) ? HERMIT_UART_PORT : 0);
	check("single_kernel", bi->single_kernel, 1);
	check("uhyve", bi->uhyve, 1);
	check("padding", bi->padding, 0);
	check_ipv4("hcip", "ip", bi->hcip, "255.255.255.255");
	check_ipv4("hcgateway", "gw", bi->hcgateway, "0.0.0.0");
	check_ipv4("hcmask", "mask", bi->hcmask, "0.0.0.0");
	uint64_t mem = arg_number("mem", 0);
	if (mem)
		check("limit", bi->limit, expected_limit(mem));
	check("boot_gtod != 0", bi->boot_gtod != 0, 1);
	uint64_t now = arg_number("gtod", 0);
	if (now) {
		uint64_t d = bi->boot_gtod > now ? bi->boot_gtod - now : now - bi->boot_gtod;
		check("boot_gtod within a minute of the host clock", d < GTOD_SLACK_US, 1);
	}
	rt_printf("bootinfo: limit=0x%lx cpu_freq=%u MHz boot_gtod=%lu tls=0x%lx/0x%lx/0x%lx\n",
		  (unsigned long)bi->limit, bi->cpu_freq, (unsigned long)bi->boot_gtod,
		  (unsigned long)bi->tls_start, (unsigned long)bi->tls_filesz,
		  (unsigned long)bi->tls_memsz);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	check_fields(rt_boot_info);
	return finish_checks(0, HERMIT_BOOT_INFO_ADDR, "RDI at entry (the boot info)", 0);
}
