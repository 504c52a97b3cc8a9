/* c_hermit_abi.h: the C HermitCore (libhermit, hermit-caves `master`) guest ABI.
 *
 * Shared by proxy and the C-contract test guests; values from
 * shared/spec/c-hermit-abi.md. The kernel header is the first bytes of the image's
 * first PT_LOAD segment (offsets below are relative to it). Several u64 fields
 * are only 4-byte aligned, so the header is a packed struct.
 */
#ifndef C_HERMIT_ABI_H
#define C_HERMIT_ABI_H

#include <stddef.h>
#include <stdint.h>

struct __attribute__((packed)) c_hermit_header {
	uint8_t jmp[8];		       /* 0x00: jmp start64; nop fill */
	uint64_t base;		       /* 0x08 */
	uint64_t limit;		       /* 0x10 */
	uint32_t cpu_freq;	       /* 0x18 */
	uint32_t boot_processor;       /* 0x1C: image default 0xFFFFFFFF */
	uint32_t cpu_online;	       /* 0x20 */
	uint32_t possible_cpus;	       /* 0x24 */
	uint64_t phy_rcce_internals;   /* 0x28 */
	uint32_t current_boot_id;      /* 0x30 */
	uint32_t isle;		       /* 0x34: image default 0xFFFFFFFF */
	uint64_t image_size;	       /* 0x38 */
	uint8_t multi_kernel[0x20];    /* 0x40-0x5F: multi-kernel only */
	uint32_t possible_isles;       /* 0x60: image default 1 */
	uint64_t heap_start_address;   /* 0x64 */
	uint64_t header_start_address; /* 0x6C */
	uint32_t disable_x2apic;       /* 0x74: image default 1 */
	uint32_t single_kernel;	       /* 0x78: image default 1 */
	uint64_t mb_info;	       /* 0x7C */
	uint64_t hbmem_base;	       /* 0x84 */
	uint64_t hbmem_size;	       /* 0x8C */
	uint32_t uhyve;		       /* 0x94 */
	uint64_t uartport;	       /* 0x98 */
	uint64_t cmdline;	       /* 0xA0 */
	uint64_t cmdsize;	       /* 0xA8 */
	uint8_t hcip[4];	       /* 0xB0: image default 10.0.5.2 */
	uint8_t hcgateway[4];	       /* 0xB4: image default 10.0.5.1 */
	uint8_t hcmask[4];	       /* 0xB8: image default 255.255.255.0 */
	uint64_t host_logical_addr;    /* 0xBC */
};

#define CH_OFF(f, o) _Static_assert(offsetof(struct c_hermit_header, f) == (o), #f)
CH_OFF(base, 0x08);
CH_OFF(limit, 0x10);
CH_OFF(cpu_freq, 0x18);
CH_OFF(boot_processor, 0x1C);
CH_OFF(cpu_online, 0x20);
CH_OFF(possible_cpus, 0x24);
CH_OFF(current_boot_id, 0x30);
CH_OFF(isle, 0x34);
CH_OFF(image_size, 0x38);
CH_OFF(possible_isles, 0x60);
CH_OFF(heap_start_address, 0x64);
CH_OFF(header_start_address, 0x6C);
CH_OFF(disable_x2apic, 0x74);
CH_OFF(single_kernel, 0x78);
CH_OFF(mb_info, 0x7C);
CH_OFF(hbmem_base, 0x84);
CH_OFF(hbmem_size, 0x8C);
CH_OFF(uhyve, 0x94);
CH_OFF(uartport, 0x98);
CH_OFF(cmdline, 0xA0);
CH_OFF(cmdsize, 0xA8);
CH_OFF(hcip, 0xB0);
CH_OFF(hcgateway, 0xB4);
CH_OFF(hcmask, 0xB8);
CH_OFF(host_logical_addr, 0xBC);
#undef CH_OFF
_Static_assert(sizeof(struct c_hermit_header) == 0xC4, "C header size");

/* Ports that only the C ABI has (all others are shared with hermit_abi.h). */
#define C_HERMIT_PORT_NETINFO	 0x600 /* struct c_hermit_netinfo */
#define C_HERMIT_PORT_NETWRITE	 0x640 /* struct c_hermit_netio */
#define C_HERMIT_PORT_NETREAD	 0x680 /* struct c_hermit_netio */
#define C_HERMIT_PORT_NETSTAT	 0x700 /* struct c_hermit_netstat */
#define C_HERMIT_NET_IRQ	 11
#define C_HERMIT_IOAPIC_PINS	 24
#define C_HERMIT_IRQ_VECTOR_BASE 0x20

struct __attribute__((packed)) c_hermit_netinfo {
	char mac_str[18]; /* "xx:xx:xx:xx:xx:xx\0" */
};
struct __attribute__((packed)) c_hermit_netio {
	uint64_t data; /* guest-physical */
	uint64_t len;  /* NETREAD: in capacity, out frame size */
	int32_t ret;
};
struct __attribute__((packed)) c_hermit_netstat {
	int32_t status;
};
_Static_assert(sizeof(struct c_hermit_netio) == 20, "netio");
_Static_assert(offsetof(struct c_hermit_netio, ret) == 16, "netio.ret");

#endif
