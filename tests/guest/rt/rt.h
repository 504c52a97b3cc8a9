/* rt.h: the test guests' freestanding runtime (hypercalls, printing, traps, paging, CPUs).
 *
 * A guest program provides main() (run on CPU 0 once every CPU is up) and may
 * override ap_main() (run by every other CPU). The ABI values come from
 * include/hermit_abi.h; this header adds only guest-side helpers.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hermit_abi.h"

#define RT_MAX_CPUS	    16
#define RT_EXCEPTION_STATUS 99 /* exit status after an unhandled exception */
#define RT_SETUP_STATUS	    98 /* exit status when the runtime itself cannot start */
#define RT_NUM_VECTORS	    64 /* IDT stubs exist for vectors 0..63 */

/* Linux errno and open/lseek values: the hypervisor speaks Linux's numbers. */
#define RT_ENOENT	2
#define RT_EBADF	9
#define RT_EFAULT	14
#define RT_EINVAL	22
#define RT_ENAMETOOLONG 36
#define RT_O_RDONLY	0
#define RT_O_WRONLY	01
#define RT_O_RDWR	02
#define RT_O_CREAT	0100
#define RT_O_TRUNC	01000
#define RT_O_APPEND	02000
#define RT_SEEK_SET	0
#define RT_SEEK_CUR	1
#define RT_SEEK_END	2

/* ---- boot state ---- */
extern uint64_t rt_entry_rflags; /* RFLAGS of CPU 0 at _start */
extern uint64_t rt_entry_rsp;	 /* RSP of CPU 0 at _start (0; Hermit 0.6: start - 0x8000) */
extern uint64_t rt_entry_rdx;	 /* RDX of CPU 0 at _start (the C ABI says 0) */
extern uint64_t rt_entry_rdi;	 /* RDI of CPU 0 at _start (0x9000 Rusty/Hermit, 0 C) */
extern int rt_argc;
extern char **rt_argv;
extern char **rt_envp;

/* linker symbols (guest.ld) */
extern char __image_start[], __image_end[], __tls_start[], __tdata_end[], __tls_end[];
extern char __tls_memsz[]; /* absolute: its address is the number (not in PIE code) */

/* ---- the boot contract: rt/abi_rusty.c, rt/abi_c.c or rt/abi_hermit.c, chosen at
 * link time ----
 * Programs use these instead of a header layout, so one program runs under every
 * ABI. ABI-specific programs (bootinfo, c/bootinfo, hermit/bootinfo) reach the
 * header directly: rt_boot_info (RustyHermit only), rt_c_header (C only) or
 * rt_hermit_boot_info (Hermit 0.6 only). */
enum rt_abi_kind { RT_ABI_RUSTY, RT_ABI_C, RT_ABI_HERMIT, RT_ABI_FDT };
extern const enum rt_abi_kind rt_abi_kind;
extern const char rt_abi_name[];
uint32_t rt_possible_cpus(void); /* vCPUs the hypervisor starts */
uint32_t rt_cpu_online(void);	 /* the start gate counter */
uint32_t rt_boot_id(void);	 /* current_boot_id: the id of the CPU starting now */
uint16_t rt_uartport(void);	 /* kernel log port, 0 = log off */
uint64_t rt_limit(void);	 /* end of guest RAM (counts the PCI hole) */
uint32_t rt_cpu_freq(void);	 /* MHz */
int rt_abi_has_unlink(void);	 /* UNLINK (0x840) is part of this ABI */
/* start-up hooks for rt/start.c */
int rt_abi_is_boot_cpu(void *header); /* cpu_online == 0 at entry */
void rt_abi_init(void *header);	      /* on the boot CPU, first thing */
void rt_abi_hand_over(uint32_t next); /* let CPU `next` start (cpu_online++) */
/* Optional (weak): sets rt_argc/rt_argv/rt_envp itself instead of CMDSIZE/CMDVAL. */
__attribute__((weak)) void rt_abi_command_line(void);

struct c_hermit_header;
extern struct hermit_boot_info *rt_boot_info;	     /* RustyHermit flavour only */
extern uint64_t rt_boot_stack_address;		     /* idem: current_stack_address CPU 0 found */
extern volatile struct c_hermit_header *rt_c_header; /* C flavour only: = __image_start */

/* Hermit 0.6 (hermit-entry v4) flavour only: the boot info from RDI, and what each
 * CPU brought to _start, recorded by rt/entry_hermit.S once it is past the gate
 * (index = its RSI; arrivals counts the CPUs that came with that RSI). */
struct hermit_entry_boot_info;
struct rt_hermit_entry_regs {
	uint64_t rdi, rsi, rsp, rdx, rflags, arrivals, pad[2];
};
extern const struct hermit_entry_boot_info *rt_hermit_boot_info;
extern struct rt_hermit_entry_regs rt_hermit_entry[RT_MAX_CPUS];
extern char rt_hermit_note[]; /* the HERMIT 0x5A00 note, as loaded */

/* FDT-booted flavours (Hermit 0.10 to main, rt/abi_fdt.c) only. They reuse the
 * Hermit 0.6 entry code and its rt_hermit_* state; rt_hermit_boot_info is the boot
 * info from RDI (G + 0x5000). */
enum rt_fdt_gen {
	RT_GEN_FDT10 = 10, /* 0.10.0: interface 1, tables through the recursive slot */
	RT_GEN_FDT11 = 11, /* 0.11.0: interface 1 */
	RT_GEN_FDT13 = 13, /* 0.13.2: interface 1 (UHYVEIF 1) */
	RT_GEN_M2 = 102,   /* main, UHYVEIF 2 */
	RT_GEN_M3 = 103,   /* main, UHYVEIF 3 */
};
extern const enum rt_fdt_gen rt_fdt_gen;
extern const char *rt_fdt_bootargs; /* /chosen/bootargs as found */
uint64_t rt_fdt_guest_base(void);   /* G = image start - 0x40000 */
int rt_fdt_uses_shlex(void);	    /* main >= 3f890334 splits bootargs with shlex */
/* Split bootargs the way the generation's kernel does into words[] (pointers into
 * pool); returns the count, or -1 when the tokeniser fails (an unterminated quote
 * under shell-words: the real kernel panics). */
int rt_fdt_split(const char *s, int shlex, char **words, int max, char *pool, size_t pool_size);
/* Interface 1 logs through 0x880 {buf, len}, 2/3 through 0x1030 {len, buf}. */
void rt_fdt_log(const char *buf, uint64_t len);

int main(int argc, char **argv, char **envp);
void ap_main(uint32_t id); /* weak default in rt/start.c */

/* ---- hypercalls (rt/hypercall.c): results are -errno on failure ----
 * rt_uhyve_interface (defined by rt/abi_fdt.c only) chooses the ports:
 * 0 and 1 the classic ones with EAX = the struct's 32-bit address, 2 and 3 the
 * uhyve-interface 2 ports with RDI = the struct's address and EAX = 0x1234. */
extern const uint32_t rt_uhyve_interface; /* weak in rt/hypercall.c */
void rt_hypercall(uint16_t port, volatile void *args);
void rt_hypercall_rdi(uint16_t port, uint64_t rdi); /* interface 2/3 */
int64_t rt_write(int fd, const void *buf, uint64_t len);
int64_t rt_read(int fd, void *buf, uint64_t len);
int rt_open(const char *name, int flags, int mode);
int rt_close(int fd);
int64_t rt_lseek(int fd, int64_t offset, int whence);
int rt_unlink(const char *name);
__attribute__((noreturn)) void rt_exit(int code);
__attribute__((noreturn)) void rt_halt_forever(void);

/* ---- port I/O and CPU helpers ---- */
static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void rt_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void rt_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}
static inline uint64_t rt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void rt_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* ---- output (rt/print.c) ---- */
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_uart_puts(const char *s); /* kernel log: only when rt_uartport() != 0 */

/* ---- strings (rt/string.c); gcc may call memcpy/memset itself ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *rt_strcat3(char *dst, size_t size, const char *a, const char *b, const char *c);
int rt_parse_int(const char *s, int64_t *out);	  /* decimal or 0x hex, optional '-' */
int rt_parse_ipv4(const char *s, uint8_t out[4]); /* a.b.c.d */
const char *rt_arg_value(const char *key);	  /* "key=value" in argv → value */
int rt_has_arg(const char *word);		  /* some argv[i] (i ≥ 1) equals word */

/* ---- traps (rt/trap.c) ---- */
struct rt_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
typedef void (*rt_trap_handler)(struct rt_trap_frame *f);
void rt_trap_init(void); /* build the IDT (CPU 0) */
void rt_trap_load(void); /* lidt on this CPU */
void rt_set_trap_handler(unsigned vector, rt_trap_handler h);

/* ---- paging (rt/paging.c) ---- */
#define RT_MAP_UNCACHED (0x10ULL | 0x08ULL) /* PCD | PWT, for MMIO such as the LAPIC */
int rt_map_identity(uint64_t phys_start, uint64_t size);
int rt_map_identity_flags(uint64_t phys_start, uint64_t size, uint64_t extra_flags);

/* ---- CPUs (rt/start.c) ---- */
void rt_start_aps(void);     /* CPU 0: bring up every vCPU, wait until all are online */
void boot_cpu_online(void);  /* weak: CPU 0 once online, before that wait */
uint32_t rt_cpu_count(void); /* = rt_possible_cpus() */
extern uint8_t rt_ap_stacks[RT_MAX_CPUS - 1][HERMIT_BOOT_STACK_SIZE];
extern volatile uint32_t rt_aps_in_ap_main; /* bumped by the default ap_main */

#endif
