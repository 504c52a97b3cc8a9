/* gdb_target.h: the one interface between the RSP protocol layer and the VM it debugs.
 *
 * The protocol layer (gdbstub/) knows nothing of KVM; src/debug_target.c implements
 * these operations for proxy's VM, and the unit tests implement them with a fake.
 * CPUs are numbered from 0 here; the protocol layer maps them to GDB thread ids
 * (cpu + 1). All calls are made from the stub's thread while the VM is stopped,
 * except interrupt(), which may be called while it runs.
 */
#ifndef GDB_TARGET_H
#define GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* GDB's amd64 register numbers, the order of target.xml and of the `g` packet. */
enum gdb_x86_64_reg {
	GDB_REG_RAX = 0,
	GDB_REG_RBX,
	GDB_REG_RCX,
	GDB_REG_RDX,
	GDB_REG_RSI,
	GDB_REG_RDI,
	GDB_REG_RBP,
	GDB_REG_RSP,
	GDB_REG_R8,
	GDB_REG_R9,
	GDB_REG_R10,
	GDB_REG_R11,
	GDB_REG_R12,
	GDB_REG_R13,
	GDB_REG_R14,
	GDB_REG_R15,
	GDB_REG_RIP = 16,
	GDB_REG_EFLAGS,
	GDB_REG_CS = 18,
	GDB_REG_SS,
	GDB_REG_DS,
	GDB_REG_ES,
	GDB_REG_FS,
	GDB_REG_GS,
	GDB_REG_ST0 = 24, /* st0..st7: 10 bytes each */
	GDB_REG_FCTRL = 32,
	GDB_REG_FSTAT,
	GDB_REG_FTAG,
	GDB_REG_FISEG,
	GDB_REG_FIOFF,
	GDB_REG_FOSEG,
	GDB_REG_FOOFF,
	GDB_REG_FOP,
	GDB_REG_XMM0 = 40, /* xmm0..xmm15: 16 bytes each */
	GDB_REG_MXCSR = 56,
	GDB_REG_FS_BASE = 57,
	GDB_REG_GS_BASE,
	GDB_REG_K_GS_BASE,
	GDB_REG_CR0,
	GDB_REG_CR2,
	GDB_REG_CR3,
	GDB_REG_CR4,
	GDB_REG_CR8,
	GDB_REG_EFER,
	/* GDB's GNU/Linux amd64 support (gcore among it) needs the register a Linux
	 * kernel keeps for system-call restarts; a unikernel has none: always -1. */
	GDB_REG_ORIG_RAX,
	/* The upper halves of ymm0..ymm15 (GDB's i386.avx feature), 16 bytes each;
	 * a target without AVX gives them size 0 and target.xml leaves them out. */
	GDB_REG_YMM0H = 67,
	GDB_REG_YMM15H = GDB_REG_YMM0H + 15,
	GDB_REG_COUNT /* 83 */
};

/* Z/z packet types. */
enum gdb_bp_kind {
	GDB_BP_SW = 0,	   /* Z0 */
	GDB_BP_HW = 1,	   /* Z1 */
	GDB_WP_WRITE = 2,  /* Z2 */
	GDB_WP_READ = 3,   /* Z3 */
	GDB_WP_ACCESS = 4, /* Z4 */
};

enum gdb_stop_kind {
	GDB_STOP_SIGNAL,     /* plain stop (step done, interrupt): T<signal> */
	GDB_STOP_SWBREAK,    /* software breakpoint: T05...swbreak:; */
	GDB_STOP_HWBREAK,    /* hardware exec breakpoint: T05...hwbreak:; */
	GDB_STOP_WATCH,	     /* write watchpoint at addr */
	GDB_STOP_RWATCH,     /* read watchpoint at addr */
	GDB_STOP_AWATCH,     /* access watchpoint at addr */
	GDB_STOP_EXITED,     /* the guest ended: W<exit_code> */
	GDB_STOP_NO_HISTORY, /* reverse execution reached the log's beginning */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	int cpu;       /* the vCPU that stopped (0-based) */
	int signal;    /* GDB signal number: 5 SIGTRAP, 2 SIGINT, ... */
	uint64_t addr; /* watchpoint address */
	int exit_code; /* for GDB_STOP_EXITED */
};

/* What GDB shows as $_siginfo after a stop a guest fault caused (qXfer:siginfo:read);
 * the stub lays it out as a Linux x86-64 siginfo_t (gdb_cmd_siginfo.c). */
#define GDB_SI_KERNEL 0x80 /* si_code when no exception vector is known */
struct gdb_siginfo {
	int signal;    /* GDB signal number, as in the stop reply */
	int code;      /* si_code: the exception vector, or GDB_SI_KERNEL */
	int error;     /* si_errno: the exception's error code (0 without one) */
	uint64_t addr; /* si_addr: CR2 (page fault, triple fault), MMIO address, or RIP */
};

/* The siginfo as GDB's Linux x86-64 siginfo_t, which GDB reads through
 * qXfer:siginfo:read and from a core file's NT_SIGINFO (gdb_cmd_siginfo.c). */
#define GDB_SIGINFO_SIZE 128
void gdb_siginfo_layout(const struct gdb_siginfo *si, uint8_t out[GDB_SIGINFO_SIZE]);

enum gdb_resume_action {
	GDB_RESUME_NONE, /* stays stopped */
	GDB_RESUME_CONTINUE,
	GDB_RESUME_STEP,
};

typedef void (*gdb_output_fn)(void *arg, const char *text);

struct gdb_target_ops {
	int (*cpu_count)(void *ctx);
	/* Size in bytes of register regno (0 if the target has no such register). */
	int (*reg_size)(void *ctx, int regno);
	/* Read/write one register in target byte order; 0 or -errno. */
	int (*read_reg)(void *ctx, int cpu, int regno, uint8_t *buf);
	int (*write_reg)(void *ctx, int cpu, int regno, const uint8_t *buf);
	/* Guest-virtual memory through the page tables of `cpu`. Returns the number of
	 * bytes transferred from the start (short when the rest is unmapped), or -errno
	 * when not even the first byte is accessible. Reads hide planted breakpoints. */
	ssize_t (*read_mem)(void *ctx, int cpu, uint64_t addr, void *buf, size_t len);
	ssize_t (*write_mem)(void *ctx, int cpu, uint64_t addr, const void *buf, size_t len);
	/* 0 on success; -EOPNOTSUPP: kind not supported (stub answers empty);
	 * other -errno: refused (stub answers E..). Must be idempotent. */
	int (*insert_bp)(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len);
	int (*remove_bp)(void *ctx, enum gdb_bp_kind kind, uint64_t addr, size_t len);
	/* Resume with one action per CPU (array of cpu_count()); returns at once.
	 * When the VM has stopped again (all-stop), stop_fd() becomes readable.
	 * -ESRCH: a CPU given an action has not started yet (nothing resumed). */
	int (*resume)(void *ctx, const enum gdb_resume_action *actions);
	/* An fd that polls readable while a stop is pending. */
	int (*stop_fd)(void *ctx);
	/* Take the pending stop (clears stop_fd readiness). Returns 0, or -EAGAIN. */
	int (*take_stop)(void *ctx, struct gdb_stop *out);
	/* Ask a running VM to stop all vCPUs (Ctrl-C, or a debugger attaching to a
	 * running guest: this also re-arms a detached target); a stop follows with
	 * signal 2. */
	void (*interrupt)(void *ctx);
	/* Short description of a vCPU for qThreadExtraInfo ("vCPU 1, halted"). */
	void (*thread_info)(void *ctx, int cpu, char *buf, size_t len);
	/* `monitor` command; output through out(); 0, or -errno for a failure the
	 * stub answers with OK after the output (a script goes on), or a positive
	 * errno for one the debugger must see as an error: an `E` reply (loadvm that
	 * could not load: the state GDB shows did not change). */
	int (*monitor)(void *ctx, const char *cmd, gdb_output_fn out, void *arg);
	/* Debugger leaves: remove all break/watchpoints and let the VM run freely. */
	void (*detach)(void *ctx);
	/* `k`: end the VM; in extended mode, stop it for a `vRun` instead (the VM ends
	 * when the debugger leaves without one). */
	void (*kill)(void *ctx);
	/* `!`: the client speaks extended-remote (on = 1): the guest's exit keeps the VM,
	 * stopped, for a `vRun`. NULL: extended mode is not offered. */
	void (*set_extended)(void *ctx, int on);
	/* vRun: start the guest again at its first instruction (the VM is stopped). 0, or
	 * -errno with a message in err. */
	int (*restart)(void *ctx, char *err, size_t errlen);
	/* What to add to the program file's addresses to get the running image's
	 * (qOffsets): the load bias of a relocated image, 0 for one at its link
	 * address. NULL: 0. */
	uint64_t (*load_bias)(void *ctx);
	/* The running image's entry address (qXfer:auxv AT_ENTRY). NULL: 0. */
	uint64_t (*entry_point)(void *ctx);
	/* The siginfo of the fault `cpu` stopped with: 0, or -ENOENT when its stop was
	 * no guest fault. NULL: never any. */
	int (*siginfo)(void *ctx, int cpu, struct gdb_siginfo *out);
	/* A line the user should read once (GDB prints it on its console), taken when
	 * the VM resumes; NULL when there is none. The op itself may be NULL. */
	const char *(*take_notice)(void *ctx);
	/* Can `cpu` execute an instruction if resumed? False for one that never will by
	 * itself (halted with interrupts off), with the reason in `why` ("halted with
	 * interrupts disabled ..."): a step of it is refused instead of waiting forever.
	 * NULL: always true. */
	bool (*can_progress)(void *ctx, int cpu, char *why, size_t len);
	/* Reverse execution (`bs`: step back one instruction of `cpu`; `bc`: back to a
	 * breakpoint, watchpoint or the history's beginning); returns at once like
	 * resume(), the stop follows. -errno with a message in err when there is no
	 * history (not recording). NULL: ReverseStep/ReverseContinue are not offered. */
	int (*reverse)(void *ctx, int cpu, bool step, char *err, size_t errlen);
	/* Why a register or memory write is refused right now (the guest stands in the
	 * recorded past), or NULL when writes are allowed. The op itself may be NULL. */
	const char *(*write_refused)(void *ctx);
};

struct gdb_target {
	const struct gdb_target_ops *ops;
	void *ctx;
};

#endif
