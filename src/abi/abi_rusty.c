/* abi_rusty.c: the RustyHermit ("path2rs") boot contract: boot info at 0x9000.
 *
 * Fills struct hermit_boot_info (section 2 of the ABI) and names where the start
 * gate lives. The network ports of this ABI are registered by net.c.
 */
#include <string.h>

#include "abi.h"
#include "boot.h"
#include "hermit_abi.h"
#include "hypercall.h"
#include "net.h"

static void rusty_write_boot_info(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	const struct image *img = &vm->image;
	struct hermit_boot_info *bi =
		gpa_ptr(&vm->mem, HERMIT_BOOT_INFO_ADDR, sizeof(struct hermit_boot_info));
	memset(bi, 0, sizeof(*bi));
	bi->magic_number = HERMIT_BOOT_MAGIC;
	bi->version = HERMIT_BOOT_VERSION;
	bi->base = img->base;
	bi->limit = vm->mem.limit;
	bi->image_size = img->end - img->base;
	bi->tls_start = img->tls_start;
	bi->tls_filesz = img->tls_filesz;
	bi->tls_memsz = img->tls_memsz;
	bi->current_stack_address = img->base - HERMIT_BOOT_STACK_SIZE;
	/* host_logical_addr stays 0: a guest has no business knowing our address space. */
	bi->boot_gtod = boot_gtod_us();
	bi->cpu_freq = vm->cpu_freq_mhz;
	bi->possible_cpus = vm->ncpus;
	bi->uartport = cfg->verbose ? HERMIT_UART_PORT : 0;
	bi->single_kernel = 1;
	bi->uhyve = 1;
	if (cfg->ip_set)
		memcpy(bi->hcip, cfg->ip, 4);
	else
		memset(bi->hcip, 255, 4);
	if (cfg->gateway_set)
		memcpy(bi->hcgateway, cfg->gateway, 4);
	if (cfg->mask_set)
		memcpy(bi->hcmask, cfg->mask, 4);
}

static uint64_t rusty_cpu_online_gpa(const struct vm *vm)
{
	(void)vm;
	return HERMIT_BOOT_INFO_ADDR + offsetof(struct hermit_boot_info, cpu_online);
}

static uint64_t rusty_boot_id_gpa(const struct vm *vm)
{
	(void)vm;
	return HERMIT_BOOT_INFO_ADDR + offsetof(struct hermit_boot_info, current_boot_id);
}

static void rusty_register_ports(struct vm *vm)
{
	files_register(vm);
	args_register(vm);
	files_register_unlink(vm);
	net_register_rusty_ports(vm);
}

const struct guest_abi rusty_abi = {
	.name = "rusty",
	.label = "RustyHermit",
	.write_boot_info = rusty_write_boot_info,
	.cpu_online_gpa = rusty_cpu_online_gpa,
	.boot_id_gpa = rusty_boot_id_gpa,
	.boot_rdi = HERMIT_BOOT_INFO_ADDR,
	.register_ports = rusty_register_ports,
	.needs_ioapic = net_needs_ioapic, /* only its network device interrupts */
	.env_count_includes_null = 0,
};
