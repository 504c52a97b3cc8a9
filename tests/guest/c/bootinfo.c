/* c/bootinfo.c (c-bootinfo.elf): the C HermitCore kernel header and start-up state.
 *
 * Checks every field proxy writes into the header at the start of the image
 * (c_hermit_abi.h), that the fields it must not write still hold the kernel's
 * image defaults, the CPU state both ABIs share (CS 0x08, RDX 0, RSP 0 at entry;
 * RDI 0 for C images), the IOAPIC as proxy programs it for C kernels, and the
 * C-only network hypercalls without a NIC (NETSTAT 0, NETINFO an 18-byte string).
 *
 * Arguments (all optional), key=value: cpus=N (default 1), uart=0|1 (default 0),
 * ip=, gw=, mask= (defaults: the image's 10.0.5.2, 10.0.5.1, 255.255.255.0),
 * mem=BYTES (check limit).
 */
#include "../bootcheck.h"

#include "c_hermit_abi.h"

#define JMP_REL32 0xE9
#define NOP	  0x90

void start64(void); /* rt/entry_c.S */

static void check_zero(const char *what, const volatile uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i]) {
			check(what, p[i], 0);
			return;
		}
}

static void check_ip_field(const char *what, const char *key, const volatile uint8_t *field,
			   const char *dflt)
{
	uint8_t got[4] = {field[0], field[1], field[2], field[3]};
	check_ipv4(what, key, got, dflt);
}

static void check_entry_bytes(void)
{
	const volatile uint8_t *img = (const volatile uint8_t *)__image_start;
	int32_t rel = (int32_t)((uint32_t)img[1] | (uint32_t)img[2] << 8 | (uint32_t)img[3] << 16 |
				(uint32_t)img[4] << 24);
	uint64_t base = (uint64_t)(uintptr_t)__image_start;
	check("byte 0: jmp rel32", img[0], JMP_REL32);
	check("jmp target = start64", base + 5 + (uint64_t)(int64_t)rel,
	      (uint64_t)(uintptr_t)start64);
	for (int i = 5; i < 8; i++)
		check("NOP fill before the header", img[i], NOP);
}

static void check_header(const volatile struct c_hermit_header *h)
{
	uint64_t base = (uint64_t)(uintptr_t)__image_start;
	uint32_t cpus = (uint32_t)arg_number("cpus", 1);
	check("header = image start = entry", (uint64_t)(uintptr_t)h, base);
	check("base", h->base, base);
	uint64_t mem = arg_number("mem", 0);
	if (mem)
		check("limit", h->limit, expected_limit(mem));
	check("cpu_freq != 0", h->cpu_freq != 0, 1);
	check("cpu_freq < 65536", h->cpu_freq < 65536, 1);
	check("boot_processor (image default)", h->boot_processor, 0xFFFFFFFF);
	check("possible_cpus", h->possible_cpus, cpus);
	check("cpu_online after start-up", h->cpu_online, cpus);
	check("phy_rcce_internals", h->phy_rcce_internals, 0);
	check("current_boot_id (the last CPU started)", h->current_boot_id, cpus - 1);
	check("isle (image default)", h->isle, 0xFFFFFFFF);
	check("image_size = end of the last PT_LOAD - base", h->image_size,
	      (uint64_t)(uintptr_t)__image_end - base);
	check_zero("multi-kernel fields 0x40-0x5F", h->multi_kernel, sizeof(h->multi_kernel));
	check("possible_isles", h->possible_isles, 1);
	check("heap_start_address", h->heap_start_address, 0);
	check("header_start_address", h->header_start_address, 0);
	check("disable_x2apic (image default)", h->disable_x2apic, 1);
	check("single_kernel (image default)", h->single_kernel, 1);
	check("mb_info", h->mb_info, 0);
	check("hbmem_base", h->hbmem_base, 0);
	check("hbmem_size", h->hbmem_size, 0);
	check("uhyve", h->uhyve, 1);
	check("uartport", h->uartport, arg_number("uart", 0) ? HERMIT_UART_PORT : 0);
	check("cmdline", h->cmdline, 0);
	check("cmdsize", h->cmdsize, 0);
	check_ip_field("hcip", "ip", h->hcip, "10.0.5.2");
	check_ip_field("hcgateway", "gw", h->hcgateway, "10.0.5.1");
	check_ip_field("hcmask", "mask", h->hcmask, "255.255.255.0");
	check("host_logical_addr", h->host_logical_addr, 0);
	rt_printf("bootinfo: base=0x%lx limit=0x%lx cpu_freq=%u MHz image_size=0x%lx cpus=%u\n",
		  (unsigned long)h->base, (unsigned long)h->limit, h->cpu_freq,
		  (unsigned long)h->image_size, h->possible_cpus);
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Without HERMIT_NETIF: no NIC, and NETINFO still answers in the C layout. */
static void check_network(void)
{
	volatile struct c_hermit_netstat st = {.status = -38};
	rt_hypercall(C_HERMIT_PORT_NETSTAT, &st);
	check("NETSTAT without HERMIT_NETIF", (uint64_t)(int64_t)st.status, 0);
	volatile struct c_hermit_netinfo info;
	for (unsigned i = 0; i < sizeof(info.mac_str); i++)
		info.mac_str[i] = 'Z';
	rt_hypercall(C_HERMIT_PORT_NETINFO, &info);
	int ok = info.mac_str[17] == '\0';
	for (int i = 0; i < 17 && ok; i++)
		ok = i % 3 == 2 ? info.mac_str[i] == ':' : is_hex(info.mac_str[i]);
	check("NETINFO: \"xx:xx:xx:xx:xx:xx\\0\"", ok, 1);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	check_entry_bytes();
	check_header(rt_c_header);
	check_network();
	return finish_checks(0, 0, "RDI at entry (C images get no pointer)", 1);
}
