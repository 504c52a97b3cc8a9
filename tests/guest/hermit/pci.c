/* pci.c: the PCI configuration ports under the hermit-entry ABI (spec section 9).
 *
 * A kernel with has_pci set scans bus 0-31, device 0-31 through 0xCF8 (address)
 * and 0xCFC (data): every read must answer all ones, "no device", in every width.
 * Prints "pci: no device" and exits 0, or names the first read that was not.
 */
#include "rt.h"

#include "hermit_entry_abi.h"

static uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	for (uint32_t dev = 0; dev < 32; dev++) {
		rt_outl(HERMIT_ENTRY_PCI_CONFIG_ADDRESS, 0x80000000u | dev << 11);
		uint32_t id = inl(HERMIT_ENTRY_PCI_CONFIG_DATA);
		if (id != 0xFFFFFFFFu) {
			rt_printf("pci: device %u reads 0x%x\n", dev, id);
			return 1;
		}
	}
	if (inw(HERMIT_ENTRY_PCI_CONFIG_DATA + 2) != 0xFFFF ||
	    inb(HERMIT_ENTRY_PCI_CONFIG_DATA + 3) != 0xFF) {
		rt_printf("pci: a narrow read is not all ones\n");
		return 1;
	}
	rt_printf("pci: no device\n");
	return 0;
}
