/* debug_internal.h: state shared by the debugger's files (debug.c: vCPU side and
 * all-stop; debug_target.c: the gdb_target operations; debug_regs.c: registers). */
#ifndef PROXY_DEBUG_INTERNAL_H
#define PROXY_DEBUG_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "debug.h"
#include "record.h"

#define GDB_SIGTRAP 5 /* GDB's signal numbers, as stop replies carry them */
#define GDB_SIGINT  2

#define DEBUG_MAX_SW_BP 256
#define DEBUG_HW_SLOTS	4

/* Registers of a stopped vCPU, read once per stop and written back before it runs. */
struct regcache {
	bool valid;
	bool dirty_regs, dirty_sregs, dirty_fpu, dirty_msr, dirty_xsave;
	bool have_xsave; /* KVM_GET_XSAVE worked: the ymm halves are readable */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave; /* the ymm upper halves, on vCPUs with AVX */
	uint64_t kernel_gs_base;
	uint64_t orig_rax; /* GDB's Linux register: -1 (no system call to restart) */
	bool dirty_none;   /* writes that need no flush */
};

struct vcpu_debug {
	enum gdb_resume_action action;
	bool parked;
	bool blocked; /* waiting for a blocking hypercall: not in KVM_RUN, parks after it */
	bool halted;  /* recording: its last step ended in hlt (it waits for an interrupt) */
	struct regcache rc;
};

/* A planted int3 is keyed by GDB's virtual address but lives at a guest-physical
 * byte, translated once when planted: the guest may load other page tables before
 * GDB removes it, and two virtual addresses (an alias mapping) may share the byte. */
struct sw_breakpoint {
	uint64_t addr;
	uint64_t gpa;
	uint8_t orig;
	bool used;
};

/* One debug register: a hardware breakpoint, or one aligned piece of a watchpoint
 * (watch_split.h), which may take several slots: GDB's range is kept in each. */
/* A 0xCC the debugger wrote itself with M/X (GDB plants its breakpoints so with
 * `set remote software-breakpoint-packet off`, as some clients always do): a
 * breakpoint of the debugger's, at a guest-physical byte, until it writes that
 * byte over. Memory reads show it, as they show any byte the debugger wrote. */
struct written_bp {
	uint64_t gpa;
	bool used;
};

struct hw_slot {
	bool used;
	enum gdb_bp_kind kind;
	uint64_t addr;
	size_t len;
	uint64_t watch_addr; /* the range GDB asked for (Z packet) */
	size_t watch_len;
	uint8_t old[8]; /* last seen bytes (single-step watchpoints) */
};

/* What the stub's event reports need (debug_serve.c). */
struct debug_serve_ctx {
	char where[128]; /* "127.0.0.1:1234" or the socket's path, for "attach again on" */
	const struct vm *vm;
};

struct gdbstub;

/* debug_socket.c, --gdb-socket: before listening, a stale socket of proxy's user at
 * the path is removed (a live one refused); after, the socket goes to --user's
 * account and is removed when proxy ends. Both die with a message on failure. */
void debug_socket_prepare(const struct config *c);
void debug_socket_settle(const struct config *c);

struct debugger {
	struct vm *vm;
	struct gdbstub *stub; /* listening from debug_listen until debug_serve ends */
	struct debug_serve_ctx serve;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop_requested; /* all vCPUs park */
	bool have_stop;	     /* a stop has been recorded since the last resume */
	struct gdb_stop stop;
	bool stop_signalled; /* stop_fd was written for the current stop */
	bool detached;	     /* no debugger attached (listen mode, or after a detach) */
	int fatal_status;    /* a guest failure was reported as a stop; resuming ends the VM */
	int stop_fd;	     /* eventfd for the stub */
	bool soft_watch;     /* watchpoints by single-stepping (no data breakpoints here) */
	bool avx;	     /* the vCPUs have AVX and KVM hands out their XSAVE state */
	enum { SOFT_WATCH_UNTOLD, SOFT_WATCH_TO_TELL, SOFT_WATCH_TOLD } soft_watch_notice;
	int current_cpu; /* the vCPU memory accesses and breakpoints translate through */
	struct sw_breakpoint sw[DEBUG_MAX_SW_BP];
	struct written_bp written[DEBUG_MAX_SW_BP];
	struct hw_slot hw[DEBUG_HW_SLOTS];
	debug_monitor_fn monitor; /* GDB's `monitor` commands */
	/* extended-remote (`!`): the guest's exit (or `k`) keeps the VM, stopped, for the
	 * next `vRun`; guest_exited until then, exit_status what proxy ends with if the
	 * debugger leaves instead. */
	bool extended;
	bool guest_exited;
	int exit_status;
	bool stop_at_resume; /* loadvm replaced the state: the next resume reports a stop */
	/* --stats: time the debugger held the VM before vCPU 0's first instruction
	 * (boot_hold_ns, summed when it resumes), from held_since_ns on. */
	uint64_t held_since_ns, boot_hold_ns;
	_Atomic uint64_t planted_bp_exits; /* software KVM: our int3 as emulation failure */
	struct recorder *rec;		   /* reverse execution (record.c); NULL until used */
	bool record_autostarted;	   /* HERMIT_DEBUG_RECORD's start is done */
	int rec_turn; /* recording several vCPUs: the one whose instruction is next, or -1 */
};

/* debug.c */
/* With d->lock held: every vCPU is to park (a stop begins, if none is under way). */
void debug_request_stop_locked(struct debugger *d);
/* With d->lock held: if a stop is requested and every vCPU is parked, blocked in a
 * hypercall or gone, tell the stub (once per stop). */
void debug_stop_complete_locked(struct debugger *d);
void debug_record_stop(struct vcpu *v, const struct gdb_stop *stop);
int debug_apply_guest_debug(struct vcpu *v, bool step, bool inject_bp);
bool debug_soft_watch_active(const struct debugger *d);
/* Recording starts its fixed order of the vCPUs again from vCPU 0. */
void debug_turn_reset(struct debugger *d);

/* debug_regs.c */
int regcache_load(struct vcpu *v);
int regcache_flush(struct vcpu *v);
/* Forget the cached registers, written back or not (the state was replaced). */
void regcache_drop(struct vcpu *v);
int debug_reg_size(const struct debugger *d, int regno);
/* Whether the vCPUs have AVX (CPUID) and KVM gives their XSAVE area. */
bool debug_probe_avx(struct vm *vm);
int debug_read_reg(struct vcpu *v, int regno, uint8_t *buf);
int debug_write_reg(struct vcpu *v, int regno, const uint8_t *buf);

/* debug_target.c */
void debug_on_reset(struct vm *vm, void *arg); /* reset hook */
struct sw_breakpoint *debug_find_sw(struct debugger *d, uint64_t addr);
struct hw_slot *debug_find_hw_exec(struct debugger *d, uint64_t addr);
/* On the vCPU thread: whether the int3 at `rip` is one the debugger wrote (M/X). */
bool debug_is_written_bp(struct vcpu *v, uint64_t rip);
/* Compare the watched bytes of single-step watchpoints; the slot that changed, or NULL. */
struct hw_slot *debug_soft_watch_check(struct vcpu *v);
uint64_t debug_dr7(const struct debugger *d);

#endif
