/* hermit_fdt_abi.h: the boot and hypercall contract of Hermit 0.10-0.13 and main
 * (FDT boot, uhyve-interface 1, 2 and 3), shared by proxy and the test guests.
 *
 * Every value comes from shared/spec/hermit-fdt-abi.md (section numbers below); it
 * extends hermit_entry_abi.h (entry version 4, the 128-byte boot info, whose struct
 * is reused). The _Static_asserts pin each offset of each hypercall struct.
 * Freestanding: only <stdint.h> and <stddef.h>, so the guests can include it.
 */
#ifndef HERMIT_FDT_ABI_H
#define HERMIT_FDT_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- 1. Notes ---------------------------------------------------------- */
/* GNU ABI tag: name "GNU\0", type 1, desc 4 x u32 LITTLE-endian: OS, major, minor,
 * patch. Its presence marks a >= 0.10 kernel. */
#define HFDT_NOTE_ABI_TAG_NAME "GNU"
#define HFDT_NOTE_ABI_TAG_TYPE 1
#define HFDT_NOTE_ABI_TAG_OS   6 /* Hermit (binutils calls it NaCl) */
/* uhyve interface: name "UHYVEIF\0", type 0x5B00, desc one u32 BIG-endian. */
#define HFDT_NOTE_UHYVEIF_NAME "UHYVEIF"
#define HFDT_NOTE_UHYVEIF_TYPE 0x5B00
#define HFDT_UHYVEIF_MIN       1
#define HFDT_UHYVEIF_MAX       3

/* ---- 2.1 Layout, relative to the guest base G ---------------------------- */
#define HFDT_GDT_OFF	    0x0ULL
#define HFDT_FDT_OFF	    0x1000ULL
#define HFDT_FDT_MAX	    0x4000ULL /* the blob must be smaller */
#define HFDT_BOOT_INFO_OFF  0x5000ULL
#define HFDT_PML4_OFF	    0x10000ULL
#define HFDT_PT_POOL_OFF    0x11000ULL /* PDPT, PD, ... bump allocated */
#define HFDT_PT_POOL_END    0x38000ULL
#define HFDT_STACK_OFF	    0x38000ULL /* RSP = G + this (the kernel adds 0x7FF0) */
#define HFDT_KERNEL_OFF	    0x40000ULL /* ET_DYN load address = G + this */
#define HFDT_RECURSIVE_SLOT 511	       /* PML4[511] = PML4 | P | W */

/* Default G and the window [G, G + mem + image + 0x40000] must fit in. */
#define HFDT_IFV1_WINDOW_START 0x0ULL
#define HFDT_IFV1_WINDOW_END   0xC0000000ULL /* exclusive: RAM below 3 GiB */
#define HFDT_IFV2_WINDOW_START 0x100000000ULL
#define HFDT_IFV2_WINDOW_END   0x1000000000ULL /* exclusive: 64 GiB */
#define HFDT_BASE_ALIGN	       0x200000ULL     /* --aslr picks a 2 MiB aligned G */

/* Boot info serial_port_base per interface (never 0: G10/G11 unwrap it). */
#define HFDT_SERIAL_PORT_IFV1 0x800
#define HFDT_SERIAL_PORT_IFV2 0x1030

/* ---- 3. FDT -------------------------------------------------------------- */
#define HFDT_COMPATIBLE	 "hermit,uhyve"
#define HFDT_TSC_NODE	 "hermit,tsc"
#define HFDT_MOUNTS_NODE "uhyve,mounts"

/* ---- 4.1 uhyve-interface 1 (G10-G13): OUT dx, eax; EAX = 32-bit physical
 * address of a packed struct. The file structs and ports are those of
 * hermit_abi.h (hermit_write ... hermit_unlink); WRITE/READ buffers are
 * guest-VIRTUAL here. */
#define HFDT_V1_PORT_SERIAL_BUFFER 0x880

struct __attribute__((packed)) hfdt_v1_serial_buffer {
	uint64_t buf; /* guest-physical */
	uint64_t len;
};
_Static_assert(offsetof(struct hfdt_v1_serial_buffer, len) == 8, "v1 serial len");
_Static_assert(sizeof(struct hfdt_v1_serial_buffer) == 16, "v1 serial struct");

/* ---- 4.2 uhyve-interface 2 and 3 (main): OUT dx, eax with EAX = 0x1234 (junk);
 * RDI = 64-bit guest-physical address of a naturally aligned struct, or the value
 * itself for EXIT and SERIAL_WRITE_BYTE. Buffers are guest-physical. */
#define HFDT_V2_EAX_DUMMY	       0x1234
#define HFDT_V2_PORT_EXIT	       0x1010
#define HFDT_V2_PORT_SERIAL_WRITE_BYTE 0x1020
#define HFDT_V2_PORT_SERIAL_WRITE_BUF  0x1030
#define HFDT_V2_PORT_SERIAL_READ_BYTE  0x1040
#define HFDT_V2_PORT_SERIAL_READ_BUF   0x1050
#define HFDT_V2_PORT_FILE_WRITE	       0x1100
#define HFDT_V2_PORT_FILE_OPEN	       0x1110
#define HFDT_V2_PORT_FILE_CLOSE	       0x1120
#define HFDT_V2_PORT_FILE_READ	       0x1130
#define HFDT_V2_PORT_FILE_LSEEK	       0x1140
#define HFDT_V2_PORT_FILE_UNLINK       0x1150
#define HFDT_V3_PORT_GETDENTS	       0x1160 /* interface 3 only */
#define HFDT_V3_PORT_FILE_STAT	       0x1170
#define HFDT_V3_PORT_FILE_FSTAT	       0x1180
#define HFDT_V3_PORT_MKDIR	       0x1190
#define HFDT_V2_PORT_SHAREDMEM_OPEN    0x1200 /* reserved: no handler */
#define HFDT_V2_PORT_SHAREDMEM_CLOSE   0x1210

struct hfdt_v2_serial_write_buf {
	uint64_t len; /* order reversed against v1 */
	uint64_t buf;
};
_Static_assert(offsetof(struct hfdt_v2_serial_write_buf, buf) == 8, "v2 serial buf");

struct hfdt_v2_serial_read_buf {
	uint64_t maxlen;
	uint64_t len;
	uint64_t buf;
};
_Static_assert(sizeof(struct hfdt_v2_serial_read_buf) == 24, "v2 serial read");

/* FILE_WRITE and FILE_READ: ret = bytes done or -errno (write: must equal len). */
struct hfdt_v2_rw {
	uint64_t len;
	int64_t ret;
	uint64_t buf;
	int32_t fd;
	uint32_t pad;
};
_Static_assert(offsetof(struct hfdt_v2_rw, ret) == 8, "v2 rw ret");
_Static_assert(offsetof(struct hfdt_v2_rw, buf) == 16, "v2 rw buf");
_Static_assert(offsetof(struct hfdt_v2_rw, fd) == 24, "v2 rw fd");
_Static_assert(sizeof(struct hfdt_v2_rw) == 32, "v2 rw struct");

/* FILE_OPEN, FILE_CLOSE, FILE_UNLINK keep the v1 packed layouts of hermit_abi.h
 * (hermit_open 20, hermit_close 8, hermit_unlink 12 bytes); results -errno. */

struct hfdt_v2_lseek {
	int64_t offset; /* in: offset; out: new offset or -errno */
	uint32_t whence;
	int32_t fd;
};
_Static_assert(offsetof(struct hfdt_v2_lseek, whence) == 8, "v2 lseek whence");
_Static_assert(offsetof(struct hfdt_v2_lseek, fd) == 12, "v2 lseek fd");
_Static_assert(sizeof(struct hfdt_v2_lseek) == 16, "v2 lseek struct");

/* ---- 5. Interface-3 results: a u32 tag + payload (repr(C) Rust enums).
 * The guest presets tag 0; a tag still 0 on return means "not implemented". */
#define HFDT_V3_GETDENTS_NONE  0
#define HFDT_V3_GETDENTS_OK    1 /* payload: u64 bytes written */
#define HFDT_V3_GETDENTS_END   2
#define HFDT_V3_GETDENTS_ERROR 3 /* payload: i32 errno */
#define HFDT_V3_RESULT_NONE    0
#define HFDT_V3_RESULT_OK      1
#define HFDT_V3_RESULT_ERROR   2
#define HFDT_V3_STAT_FOLLOW    0 /* kind: stat */
#define HFDT_V3_STAT_NOFOLLOW  1 /* kind: lstat */

struct hfdt_v3_getdents {
	int32_t fd;
	uint32_t pad0;
	uint64_t buf; /* guest-physical */
	uint64_t len;
	uint32_t tag;
	uint32_t pad1;
	uint64_t payload; /* bytes (OK) or errno in the low 32 bits (ERROR) */
};
_Static_assert(offsetof(struct hfdt_v3_getdents, buf) == 8, "getdents buf");
_Static_assert(offsetof(struct hfdt_v3_getdents, len) == 16, "getdents len");
_Static_assert(offsetof(struct hfdt_v3_getdents, tag) == 24, "getdents tag");
_Static_assert(offsetof(struct hfdt_v3_getdents, payload) == 32, "getdents payload");
_Static_assert(sizeof(struct hfdt_v3_getdents) == 40, "getdents struct");

struct hfdt_v3_stat {
	uint64_t name; /* guest-physical, NUL-terminated */
	uint32_t kind; /* HFDT_V3_STAT_* */
	uint32_t pad0;
	uint64_t attr; /* guest-physical struct hfdt_file_attr */
	uint32_t tag;
	int32_t err;
};
_Static_assert(offsetof(struct hfdt_v3_stat, kind) == 8, "stat kind");
_Static_assert(offsetof(struct hfdt_v3_stat, attr) == 16, "stat attr");
_Static_assert(offsetof(struct hfdt_v3_stat, tag) == 24, "stat tag");
_Static_assert(offsetof(struct hfdt_v3_stat, err) == 28, "stat errno");
_Static_assert(sizeof(struct hfdt_v3_stat) == 32, "stat struct");

struct hfdt_v3_fstat {
	int32_t fd; /* fd < 3 -> EBADF */
	uint32_t pad0;
	uint64_t attr;
	uint32_t tag;
	int32_t err;
};
_Static_assert(offsetof(struct hfdt_v3_fstat, attr) == 8, "fstat attr");
_Static_assert(offsetof(struct hfdt_v3_fstat, tag) == 16, "fstat tag");
_Static_assert(offsetof(struct hfdt_v3_fstat, err) == 20, "fstat errno");
_Static_assert(sizeof(struct hfdt_v3_fstat) == 24, "fstat struct");

struct hfdt_v3_mkdir {
	uint64_t path; /* guest-physical, NUL-terminated */
	uint64_t len;  /* ignored */
	uint32_t tag;
	int32_t err;
};
_Static_assert(offsetof(struct hfdt_v3_mkdir, tag) == 16, "mkdir tag");
_Static_assert(sizeof(struct hfdt_v3_mkdir) == 24, "mkdir struct");

struct hfdt_timespec {
	int64_t sec;
	int32_t nsec;
	uint32_t pad;
};

/* Hermit's FileAttr (120 bytes); mode uses Linux S_IF* numbers. */
struct hfdt_file_attr {
	uint64_t dev;
	uint64_t ino;
	uint64_t nlink;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t pad0;
	uint64_t rdev;
	int64_t size;
	int64_t blksize;
	int64_t blocks;
	struct hfdt_timespec atim;
	struct hfdt_timespec mtim;
	struct hfdt_timespec ctim;
};
_Static_assert(offsetof(struct hfdt_file_attr, mode) == 24, "attr mode");
_Static_assert(offsetof(struct hfdt_file_attr, rdev) == 40, "attr rdev");
_Static_assert(offsetof(struct hfdt_file_attr, size) == 48, "attr size");
_Static_assert(offsetof(struct hfdt_file_attr, atim) == 72, "attr atim");
_Static_assert(offsetof(struct hfdt_file_attr, mtim) == 88, "attr mtim");
_Static_assert(offsetof(struct hfdt_file_attr, ctim) == 104, "attr ctim");
_Static_assert(sizeof(struct hfdt_file_attr) == 120, "FileAttr is 120 bytes");

/* linux_dirent64 in a getdents buffer: d_reclen = align8(19 + namelen + 1). */
struct hfdt_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};
_Static_assert(offsetof(struct hfdt_dirent64, d_name) == 19, "dirent name");

/* ---- 4.3 Hermit errno values (numerically Linux x86_64) ------------------ */
#define HFDT_EPERM     1
#define HFDT_ENOENT    2
#define HFDT_EIO       5
#define HFDT_EBADF     9
#define HFDT_EFAULT    14
#define HFDT_EEXIST    17
#define HFDT_EISDIR    21
#define HFDT_EINVAL    22
#define HFDT_EROFS     30
#define HFDT_ENOSYS    38
#define HFDT_EOVERFLOW 75

/* ---- 4.6 PCI configuration ports (an empty slot reads all ones) ----------- */
#define HFDT_PCI_CONFIG_ADDRESS 0xCF8
#define HFDT_PCI_CONFIG_DATA	0xCFC

#endif
