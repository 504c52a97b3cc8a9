/* hermit_abi.h: the RustyHermit ("path2rs") guest ABI, shared by proxy and the test guests.
 *
 * Every value here is part of the contract in shared/spec/hermit-abi.md; the
 * _Static_asserts pin each offset so host and guest can never drift apart.
 * Freestanding: only <stdint.h> and <stddef.h>, so the guests can include it.
 */
#ifndef HERMIT_ABI_H
#define HERMIT_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- 1. The image ------------------------------------------------------ */
#define HERMIT_ELFOSABI 0xFF

/* ---- 3. Guest-physical memory map -------------------------------------- */
#define HERMIT_GDT_ADDR		  0x1000ULL
#define HERMIT_BOOT_INFO_ADDR	  0x9000ULL
#define HERMIT_PML4_ADDR	  0x10000ULL
#define HERMIT_PDPT_ADDR	  0x11000ULL
#define HERMIT_PD_ADDR		  0x12000ULL
#define HERMIT_FIXED_AREA_END	  0x13000ULL /* images must not start below this */
#define HERMIT_BOOT_STACK_SIZE	  0x8000ULL  /* boot stack = [base - 0x8000, base) */
#define HERMIT_IDENTITY_MAP_SIZE  (1ULL << 30)
#define HERMIT_PCI_HOLE_START	  0xD0000000ULL
#define HERMIT_PCI_HOLE_END	  0x100000000ULL
#define HERMIT_IDENTITY_PAGE_ADDR 0xFEFFC000ULL
#define HERMIT_TSS_ADDR		  0xFEFFD000ULL
#define HERMIT_LAPIC_ADDR	  0xFEE00000ULL

#define HERMIT_GDT_ENTRIES  3
#define HERMIT_GDT_CODE_SEL 0x08
#define HERMIT_GDT_DATA_SEL 0x10
#define HERMIT_GDT_CODE	    0x00AF9B000000FFFFULL /* access 0x9B, G=1 L=1 */
#define HERMIT_GDT_DATA	    0x00CF93000000FFFFULL /* access 0x93, G=1 DB=1 */

#define HERMIT_CR0  0x80000031ULL /* PE|ET|NE|PG */
#define HERMIT_CR4  0x20ULL	  /* PAE */
#define HERMIT_EFER 0xD00ULL	  /* LME|LMA|NXE */

/* page-table entry bits */
#define PTE_PRESENT   0x1ULL
#define PTE_WRITABLE  0x2ULL
#define PTE_USER      0x4ULL
#define PTE_PAGE_SIZE 0x80ULL
#define PTE_NX	      (1ULL << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* ---- 2. Boot info at 0x9000 -------------------------------------------- */
#define HERMIT_BOOT_MAGIC   0xC0DECAFEU
#define HERMIT_BOOT_VERSION 1U
#define HERMIT_UART_PORT    0x800

struct hermit_boot_info {
	uint32_t magic_number;
	uint32_t version;
	uint64_t base;
	uint64_t limit;
	uint64_t image_size;
	uint64_t tls_start;
	uint64_t tls_filesz;
	uint64_t tls_memsz;
	uint64_t current_stack_address;
	uint64_t current_percore_address;
	uint64_t host_logical_addr;
	uint64_t boot_gtod;
	uint64_t mb_info;
	uint64_t cmdline;
	uint64_t cmdsize;
	uint32_t cpu_freq;
	uint32_t boot_processor;
	uint32_t cpu_online;
	uint32_t possible_cpus;
	uint32_t current_boot_id;
	uint16_t uartport;
	uint8_t single_kernel;
	uint8_t uhyve;
	uint8_t hcip[4];
	uint8_t hcgateway[4];
	uint8_t hcmask[4];
	uint32_t padding;
};

#define BI_OFF(f, o) _Static_assert(offsetof(struct hermit_boot_info, f) == (o), #f)
BI_OFF(magic_number, 0x00);
BI_OFF(version, 0x04);
BI_OFF(base, 0x08);
BI_OFF(limit, 0x10);
BI_OFF(image_size, 0x18);
BI_OFF(tls_start, 0x20);
BI_OFF(tls_filesz, 0x28);
BI_OFF(tls_memsz, 0x30);
BI_OFF(current_stack_address, 0x38);
BI_OFF(current_percore_address, 0x40);
BI_OFF(host_logical_addr, 0x48);
BI_OFF(boot_gtod, 0x50);
BI_OFF(mb_info, 0x58);
BI_OFF(cmdline, 0x60);
BI_OFF(cmdsize, 0x68);
BI_OFF(cpu_freq, 0x70);
BI_OFF(boot_processor, 0x74);
BI_OFF(cpu_online, 0x78);
BI_OFF(possible_cpus, 0x7C);
BI_OFF(current_boot_id, 0x80);
BI_OFF(uartport, 0x84);
BI_OFF(single_kernel, 0x86);
BI_OFF(uhyve, 0x87);
BI_OFF(hcip, 0x88);
BI_OFF(hcgateway, 0x8C);
BI_OFF(hcmask, 0x90);
BI_OFF(padding, 0x94);
#undef BI_OFF
_Static_assert(sizeof(struct hermit_boot_info) == 152, "boot info is 152 bytes");

/* ---- 5. Hypercall ports and argument structs --------------------------- */
#define HERMIT_PORT_WRITE    0x400
#define HERMIT_PORT_OPEN     0x440
#define HERMIT_PORT_CLOSE    0x480
#define HERMIT_PORT_READ     0x500
#define HERMIT_PORT_EXIT     0x540
#define HERMIT_PORT_LSEEK    0x580
#define HERMIT_PORT_NETINFO  0x600
#define HERMIT_PORT_NETWRITE 0x640
#define HERMIT_PORT_CMDSIZE  0x740
#define HERMIT_PORT_CMDVAL   0x780
#define HERMIT_PORT_UART     0x800
#define HERMIT_PORT_UNLINK   0x840

#define HERMIT_MAX_ARGC 128
#define HERMIT_MAX_ENVC 127

struct __attribute__((packed)) hermit_write {
	int32_t fd;
	uint64_t buf; /* guest-virtual */
	uint64_t len; /* in: requested, out: written */
};
struct __attribute__((packed)) hermit_open {
	uint64_t name; /* guest-physical C string */
	int32_t flags;
	int32_t mode;
	int32_t ret;
};
struct __attribute__((packed)) hermit_close {
	int32_t fd;
	int32_t ret;
};
struct __attribute__((packed)) hermit_read {
	int32_t fd;
	uint64_t buf; /* guest-virtual */
	uint64_t len;
	int64_t ret;
};
struct __attribute__((packed)) hermit_exit {
	int32_t code;
};
struct __attribute__((packed)) hermit_lseek {
	int32_t fd;
	int64_t offset; /* in: offset, out: new position or -errno */
	int32_t whence;
};
struct __attribute__((packed)) hermit_cmdsize {
	int32_t argc;
	int32_t argsz[HERMIT_MAX_ARGC];
	int32_t envc;
	int32_t envsz[HERMIT_MAX_ARGC];
};
struct __attribute__((packed)) hermit_cmdval {
	uint64_t argv; /* guest-physical array of guest-physical pointers */
	uint64_t envp;
};
struct __attribute__((packed)) hermit_unlink {
	uint64_t name; /* guest-physical C string */
	int32_t ret;
};

#define HC_OFF(s, f, o) _Static_assert(offsetof(struct s, f) == (o), #s "." #f)
HC_OFF(hermit_write, fd, 0);
HC_OFF(hermit_write, buf, 4);
HC_OFF(hermit_write, len, 12);
HC_OFF(hermit_open, name, 0);
HC_OFF(hermit_open, flags, 8);
HC_OFF(hermit_open, mode, 12);
HC_OFF(hermit_open, ret, 16);
HC_OFF(hermit_close, fd, 0);
HC_OFF(hermit_close, ret, 4);
HC_OFF(hermit_read, fd, 0);
HC_OFF(hermit_read, buf, 4);
HC_OFF(hermit_read, len, 12);
HC_OFF(hermit_read, ret, 20);
HC_OFF(hermit_exit, code, 0);
HC_OFF(hermit_lseek, fd, 0);
HC_OFF(hermit_lseek, offset, 4);
HC_OFF(hermit_lseek, whence, 12);
HC_OFF(hermit_cmdsize, argc, 0);
HC_OFF(hermit_cmdsize, argsz, 4);
HC_OFF(hermit_cmdsize, envc, 516);
HC_OFF(hermit_cmdsize, envsz, 520);
HC_OFF(hermit_cmdval, argv, 0);
HC_OFF(hermit_cmdval, envp, 8);
HC_OFF(hermit_unlink, name, 0);
HC_OFF(hermit_unlink, ret, 8);
#undef HC_OFF
_Static_assert(sizeof(struct hermit_write) == 20, "write struct");
_Static_assert(sizeof(struct hermit_open) == 20, "open struct");
_Static_assert(sizeof(struct hermit_read) == 28, "read struct");
_Static_assert(sizeof(struct hermit_lseek) == 16, "lseek struct");
_Static_assert(sizeof(struct hermit_cmdsize) == 1032, "cmdsize struct");
_Static_assert(sizeof(struct hermit_unlink) == 12, "unlink struct");

/* ---- 6. Network rings --------------------------------------------------- */
#define HERMIT_NET_RX_RING   0x80000ULL
#define HERMIT_NET_TX_RING   0x83080ULL
#define HERMIT_NET_RING_SIZE 0x3080
#define HERMIT_NET_SLOTS     8
#define HERMIT_NET_SLOT_DATA 1534
#define HERMIT_NET_IRQ	     11

struct hermit_net_slot {
	uint16_t len;
	uint8_t data[HERMIT_NET_SLOT_DATA];
};
struct hermit_net_ring {
	uint64_t read;
	uint8_t pad0[56];
	uint64_t written;
	uint8_t pad1[56];
	struct hermit_net_slot slot[HERMIT_NET_SLOTS];
};
_Static_assert(sizeof(struct hermit_net_slot) == 1536, "net slot");
_Static_assert(offsetof(struct hermit_net_ring, written) == 64, "ring.written");
_Static_assert(offsetof(struct hermit_net_ring, slot) == 128, "ring.slot");
_Static_assert(sizeof(struct hermit_net_ring) == HERMIT_NET_RING_SIZE, "ring size");
_Static_assert(HERMIT_NET_RX_RING + HERMIT_NET_RING_SIZE == HERMIT_NET_TX_RING, "rings adjacent");

#endif
