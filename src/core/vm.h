/* vm.h: the virtual machine and its vCPUs: the state every module works on.
 *
 * The core (src/core/) owns KVM, guest RAM and the vCPU loop, and knows the
 * modules above it only through the registries declared here (hooks.c), which
 * main.c and the modules' set-up functions fill in:
 *   port handlers   a guest write to port N (hypercalls, UART, network)
 *   exit hooks      a KVM exit the core does not handle itself (emulation, debugger)
 *   park hooks      "may this vCPU run?" before every KVM_RUN (debugger, console)
 *   exit observers  around every exit and port handler (UART drain, trace)
 *   end notifiers   the VM is ending (wake whoever waits)
 *   fatal hooks     the guest misbehaved: stop in a debugger before the VM ends
 *   guest-exit hooks the guest asked to exit: a debugger may keep the VM (GDB's run)
 *   reset hooks     system_reset: each module puts back its part of a fresh boot
 * The guest's contract reaches the core as a struct guest_abi (guest_abi.h).
 */
#ifndef PROXY_VM_H
#define PROXY_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "guest_mem.h"
#include "image.h"

struct vm;
struct vcpu;
struct debugger;

/* What an exit hook did with an exit. */
enum hook_result { HOOK_NOT_MINE, HOOK_HANDLED };
typedef enum hook_result (*exit_hook_fn)(struct vcpu *v, void *arg);

/* A port handler gets the value the guest wrote (32-bit hypercall address or a byte). */
typedef void (*port_handler_fn)(struct vcpu *v, uint16_t port, uint32_t value);
/* A port-read handler returns what the guest reads (`size` bytes of it count). */
typedef uint32_t (*port_read_fn)(struct vcpu *v, uint16_t port, unsigned size);

struct port_handler {
	uint16_t port;
	const char *name;
	port_handler_fn fn; /* writes (out); NULL: the port is read-only */
	port_read_fn read;  /* reads (in); NULL: reading the port is a guest error */
	uint64_t count;	    /* statistics */
	uint64_t total_ns;  /* time spent in fn (info hypercalls, --stats) */
};

/* Park hooks. wants_park is asked before every KVM_RUN and while a vCPU waits at
 * the start gate; when it says yes, park runs and the question is asked again.
 * vcpu_blocked (optional) tells that the vCPU waits in a blocking hypercall, out of
 * KVM_RUN (it counts as stopped); vcpu_done (optional) that its thread is leaving. */
struct park_hook {
	bool (*wants_park)(struct vcpu *v, void *arg);
	void (*park)(struct vcpu *v, void *arg);
	void (*vcpu_blocked)(struct vcpu *v, bool blocked, void *arg);
	void (*vcpu_done)(struct vcpu *v, void *arg);
	void *arg;
};

/* Exit observers: on_exit before every KVM exit is handled; before_port and
 * after_port around each port handler call (value: what the guest wrote). Any of
 * them may be NULL. They watch; they do not handle. */
struct exit_observer {
	void (*on_exit)(struct vcpu *v, void *arg);
	void (*before_port)(struct vcpu *v, const struct port_handler *h, uint32_t value,
			    void *arg);
	void (*after_port)(struct vcpu *v, const struct port_handler *h, void *arg);
	void *arg;
};

/* The VM is ending (from vm_end, any thread, once). */
typedef void (*end_notifier_fn)(struct vm *vm, void *arg);
/* The guest misbehaved with `status`: true when the hook takes over (it will end
 * the VM itself, e.g. after a debugger has looked at the crash). */
typedef bool (*fatal_hook_fn)(struct vcpu *v, int status, void *arg);
/* The guest asked to exit with `code` (vm_guest_exit): true when the hook keeps the
 * VM (it stops the vCPUs; a reset or the hook's own vm_end follows). */
typedef bool (*guest_exit_hook_fn)(struct vcpu *v, int code, void *arg);
/* vm_reset has put the vCPUs and memory back: the module's part of a fresh boot. */
typedef void (*reset_hook_fn)(struct vm *vm, void *arg);

#define VM_MAX_PORTS	   48 /* uhyve-interface 3 and PCI: 20 beside the shared ones */
#define VM_MAX_HOOKS	   4
#define VM_MAX_RESET_HOOKS 8
#define GUEST_FD_MAX	   1024
#define VCPU_EXIT_REASONS  64 /* the last slot counts every larger exit reason */

/* Which contract the guest speaks (guest_abi.h). */
struct guest_abi;
struct tracer;
struct vmctl;
struct legacy_irq;
struct guest_ram;
struct vcpu_boot_state;

/* What this host's KVM can and cannot do (probed once at start). */
struct host_caps {
	_Atomic bool probed; /* pvm and hw_watchpoints are known (host_caps_debug) */
	bool pvm;	     /* software KVM: int3/SSE/xgetbv end KVM_RUN with emulation failure */
	bool blockirq;	     /* KVM_GUESTDBG_BLOCKIRQ available */
	bool coalesced_pio;  /* KVM_CAP_COALESCED_PIO */
	bool hw_watchpoints; /* data breakpoints in DR0-3 fire */
	bool tsc_deadline;
	bool sync_sregs; /* KVM_CAP_SYNC_REGS: sregs copied into kvm_run on every exit */
	int max_vcpus;
};

enum vcpu_state { VCPU_GATED, VCPU_RUNNING, VCPU_PARKED, VCPU_DONE };

/* The exception KVM holds for a vCPU (KVM_GET_VCPU_EVENTS: injected or pending). */
struct vcpu_exception {
	bool valid; /* KVM held one */
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
};

/* What the core saw when this vCPU's guest misbehaved (vm_fail), taken at once on
 * its thread: a debugger's $_siginfo, the monitor and the register dump show it. */
struct vcpu_fault {
	bool valid;	      /* vm_fail ran for this vCPU */
	int status;	      /* the STATUS_* it ends the VM with */
	uint32_t exit_reason; /* KVM_EXIT_* of the exit that failed */
	struct vcpu_exception exception;
	uint64_t rip, cr2;
	uint64_t addr; /* the unhandled MMIO's guest-physical address, else RIP */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	_Atomic int state;    /* enum vcpu_state */
	_Atomic bool in_park; /* waiting in a park hook: out of KVM_RUN */
	/* kvm_run holds an exit that KVM_RUN from another thread returned (a save's
	 * immediate_exit entry): the vCPU's loop handles it before running again. */
	_Atomic bool exit_pending;
	uint64_t exits;				  /* KVM_RUN returns */
	uint64_t run_ns;			  /* time spent in KVM_RUN */
	uint64_t exit_reasons[VCPU_EXIT_REASONS]; /* KVM_RUN returns by exit_reason (--stats) */
	struct vcpu_fault fault;		  /* filled by vm_fail, before its fatal hooks */
	/* An exception proxy injected itself (emulate.c) at this exit: a triple fault as
	 * the next exit means the guest could not take it. Cleared by any other exit. */
	struct vcpu_exception injected;
	struct vcpu_debug *dbg;
	_Atomic bool blocked;	      /* in a blocking hypercall (vcpu_set_blocked) */
	struct vcpu_boot_state *boot; /* what vm_reset puts back (reset.c); NULL: none */
};

struct fd_table {
	pthread_mutex_t lock;
	int host[GUEST_FD_MAX];	      /* -1: free */
	int refs[GUEST_FD_MAX];	      /* hypercalls using it right now */
	int closing[GUEST_FD_MAX];    /* closed by the guest, host fd closed at refs == 0 */
	bool may_block[GUEST_FD_MAX]; /* not a regular file or block device */
	char *path[GUEST_FD_MAX];     /* the guest's path and open flags (checkpoints) */
	int flags[GUEST_FD_MAX];
};

struct vm {
	const struct config *cfg;
	int kvm_fd, vm_fd;
	int run_size;
	struct host_caps caps;
	struct guest_mem mem;
	struct image image;
	const struct guest_abi *abi;
	uint32_t cpu_freq_mhz;
	bool split_irqchip;	       /* LAPIC in the kernel, no IOAPIC/PIC (irqchip.c) */
	struct legacy_irq *legacy_irq; /* what a guest reads of them then (irqchip_legacy.c) */
	struct guest_ram *ram;	       /* memory slots registered after boot (ram_slots.c) */
	bool ram_dirty_log;	       /* slots log the guest's writes (incremental checkpoints) */

	unsigned ncpus;
	struct vcpu *vcpus;
	struct kvm_cpuid2 *cpuid;

	struct port_handler ports[VM_MAX_PORTS];
	unsigned nports;
	struct {
		exit_hook_fn fn;
		void *arg;
	} hooks[VM_MAX_HOOKS];
	unsigned nhooks;
	struct park_hook park_hooks[VM_MAX_HOOKS];
	unsigned npark_hooks;
	struct exit_observer observers[VM_MAX_HOOKS];
	unsigned nobservers;
	struct {
		end_notifier_fn fn;
		void *arg;
	} end_notifiers[VM_MAX_HOOKS];
	unsigned nend_notifiers;
	struct {
		fatal_hook_fn fn;
		void *arg;
	} fatal_hooks[VM_MAX_HOOKS];
	unsigned nfatal_hooks;
	struct {
		guest_exit_hook_fn fn;
		void *arg;
	} guest_exit_hooks[VM_MAX_HOOKS];
	unsigned nguest_exit_hooks;
	struct {
		reset_hook_fn fn;
		void *arg;
	} reset_hooks[VM_MAX_RESET_HOOKS];
	unsigned nreset_hooks;

	/* Modules' state, opaque to the core; NULL when the module is off. */
	struct fd_table fds;   /* the guest's descriptors (operations: hypercall/fdtable.c) */
	struct mounts *mounts; /* the file policy (hypercall/mounts.c) */
	struct uart *uart;     /* hypercall/uart.c */
	struct net *net;       /* hypercall/net.c */
	struct debugger *dbg;  /* debug/ */
	struct tracer *trace;  /* hypercall tracing (tools/trace.c) */
	struct vmctl *ctl;     /* pause/resume for the monitor console (tools/vmctl.c) */
	struct snapshot *snap; /* checkpoints, migration, savevm (snapshot/) */
	uint64_t abi_gate_gpa; /* abi/: the start-gate counter inspect_image found; 0: none */

	/* Lifecycle: the first vm_end() wins; end_fd (eventfd) wakes whoever waits. */
	atomic_bool end_claimed; /* the first vm_end() caller owns the exit status */
	atomic_bool ending;
	int exit_status;
	int failed_cpu; /* the vCPU whose misbehaviour ended the VM, or -1 */
	int end_fd;
	pthread_mutex_t lock;
	uint64_t t_start_ns;
	atomic_uint_fast64_t t_first_insn_ns;
};

/* hooks.c: the registries (see the top of this file), filled before the vCPU
 * threads start; hooks run in the order they were registered. */
void vm_register_port(struct vm *vm, uint16_t port, const char *name, port_handler_fn fn);
void vm_register_port_read(struct vm *vm, uint16_t port, const char *name, port_read_fn read);
void vm_register_exit_hook(struct vm *vm, exit_hook_fn fn, void *arg);
void vm_register_park_hook(struct vm *vm, const struct park_hook *h);
void vm_register_exit_observer(struct vm *vm, const struct exit_observer *o);
void vm_register_end_notifier(struct vm *vm, end_notifier_fn fn, void *arg);
void vm_register_fatal_hook(struct vm *vm, fatal_hook_fn fn, void *arg);
void vm_register_guest_exit_hook(struct vm *vm, guest_exit_hook_fn fn, void *arg);
void vm_register_reset_hook(struct vm *vm, reset_hook_fn fn, void *arg);
struct port_handler *vm_find_port(struct vm *vm, uint16_t port);

/* vm.c */
void vm_create(struct vm *vm, const struct config *cfg);
/* Map guest RAM for the layout in vm->mem (guest_mem_layout first), register what
 * boot needs and create the irqchip the ABI needs (vm->abi chosen first); the rest
 * of RAM is registered when the guest reaches it (ram_slots.c). */
void vm_setup_memory(struct vm *vm);
void vm_load_cpuid(struct vm *vm);
/* End the VM with `status`; the first caller wins. Safe from any thread, and from
 * a signal handler while no end notifier is registered. */
void vm_end(struct vm *vm, int status);
/* SIGHUP, SIGINT, SIGQUIT and SIGTERM end the VM (statuses 129, 130, 131, 143).
 * vm_end_on_signals: from a handler on whichever thread they hit, instead of a
 * thread waiting for them: only while no end notifier is registered, since those
 * may not run in a handler. */
void vm_end_on_signals(struct vm *vm);
/* Those signals, for a thread that blocks or waits for them. */
void vm_end_signal_set(sigset_t *set);
/* Say which one came and end the VM with 128 + sig (async-signal-safe). */
void vm_end_by_signal(struct vm *vm, int sig);
/* Whether an exit status is one of theirs. */
bool vm_status_is_end_signal(int status);
/* The guest's exit hypercall: end the VM with `code`, unless a guest-exit hook keeps
 * it (a debugger in extended mode, which then reports the exit and waits). */
void vm_guest_exit(struct vcpu *v, int code);
/* Guest misbehaviour: print the reason (and registers under verbose), end the VM. */
void vm_fail(struct vcpu *v, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Kick every vCPU out of KVM_RUN. */
void vm_kick_all(struct vm *vm);
void vcpu_kick(struct vcpu *v);
uint64_t now_ns(void);

/* vcpu.c */
void vcpu_create(struct vm *vm, struct vcpu *v, unsigned id);
void vcpu_set_boot_state(struct vcpu *v);
/* A thread for each vCPU from `first` on; the caller may run vCPU 0 itself. */
void vcpu_start_threads(struct vm *vm, unsigned first);
/* Run vCPU v on the calling thread until the VM ends (vCPU 0 without a debugger:
 * the main thread has nothing else to do meanwhile). */
void vcpu_run_here(struct vcpu *v);
void vcpu_join_threads(struct vm *vm);
/* "not started", "ended", "halted", else "running" or "stopped" as the caller knows. */
const char *vcpu_state_name(struct vcpu *v, bool running);
uint64_t vcpu_cr3(struct vcpu *v);
/* CR3 at the current exit, on the vCPU's own thread (cheap with sync regs). */
uint64_t vcpu_exit_cr3(struct vcpu *v);
/* Registers, IDTR/GDTR/TR and the exception KVM held (the verbose crash dump). */
void vcpu_dump_registers(struct vcpu *v);
/* "#PF" for 14 and so on ("reserved" for an unnamed vector, "interrupt" from 32). */
const char *exception_name(unsigned vector);
/* The exception KVM holds for v now; false (e->valid unset) if it cannot be read. */
bool vcpu_exception(struct vcpu *v, struct vcpu_exception *e);
/* Fill v->fault from the current exit (vm_fail, on v's thread). */
void vcpu_record_fault(struct vcpu *v, int status);
/* Read guest-virtual memory through this vCPU's page tables. */
size_t vcpu_read_virt(struct vcpu *v, uint64_t gva, void *dst, size_t len);
/* The vCPU starts or stops waiting in a blocking hypercall, out of KVM_RUN: the
 * park hooks count it as stopped meanwhile. */
void vcpu_set_blocked(struct vcpu *v, bool blocked);
/* Where the port instruction of v's current KVM_EXIT_IO begins, for a vCPU out of
 * KVM_RUN in that exit's handler, given its registers: hardware KVM leaves RIP on
 * it until KVM_RUN completes it, software KVM (PVM) has moved RIP past it already.
 * There it is found in the bytes before RIP; 0 if none match the exit. */
uint64_t vcpu_io_insn_start(struct vcpu *v, const struct kvm_regs *r);
/* The hidden parts of CS (64-bit code) and DS/ES/FS/GS/SS (data) matching the
 * GDT of include/hermit_abi.h (every vCPU and the probe VM start with them). */
void vcpu_long_mode_segments(struct kvm_sregs *s);

/* reset.c: system_reset. vcpu_save_boot_state keeps what a fresh boot gave the vCPU
 * (vcpu_set_boot_state does, when a debugger or the console may reset). vm_reset,
 * with every vCPU stopped out of KVM_RUN: guest RAM zero, the image loaded again
 * (its file stays open for this), each vCPU in its boot state (the started ones at
 * their start gate again), then the reset hooks. 0, or with a message in err:
 * -EBUSY, nothing changed: a vCPU is not parked yet (in a hypercall, between two
 * looks at its start gate): let it finish and try again; -EINVAL, nothing changed;
 * -EIO, a failure that ended the VM. */
void vcpu_save_boot_state(struct vcpu *v);
int vm_reset(struct vm *vm, char *err, size_t errlen);

/* irqchip.c: the in-kernel IOAPIC and PIC if the ABI needs them, else a split
 * irqchip (irqchip_legacy.c answers for the devices that are then missing). */
void vm_create_irqchip(struct vm *vm);
/* Whether vm_create_irqchip will create the in-kernel IOAPIC and PIC. */
bool vm_wants_full_irqchip(const struct vm *vm);
void irqchip_legacy_register(struct vm *vm);

/* ram_slots.c: guest RAM as KVM memory slots. Boot's part at once; the rest once
 * the guest reaches it: a vCPU whose access to RAM came as MMIO (no slot yet)
 * registers that piece, its access is completed in RAM, and a background thread
 * registers the other pieces ahead of it. */
/* Cut RAM into slots (boot's first); returns how many there are. */
unsigned ram_plan_slots(struct vm *vm);
void ram_register_boot(struct vm *vm);
/* Start the background registration now with one piece (the rest still when the
 * guest first needs it): that slot change waits out the in-kernel IOAPIC's grace
 * period while the guest boots. */
void ram_register_rest(struct vm *vm);
/* KVM_EXIT_MMIO into RAM: register it, complete the access, true. Else false. */
bool ram_complete_mmio(struct vcpu *v);
/* Register all that is left now; true if anything was (an exit worth retrying). */
bool ram_register_all(struct vm *vm);
/* OR KVM's log of the pages the guest wrote since the last call into `bits` (one bit
 * per 4 KiB of the mapping, as guest_mem_take_host_dirty), for every registered slot
 * (vm->ram_dirty_log set before the first). 0 or -errno. */
int ram_take_dirty_log(struct vm *vm, uint64_t *bits);
/* Turn KVM's dirty log of every slot on or off while the guest runs (live
 * migration): registered slots are registered again with the new flag, later ones
 * get it. A slot's log starts empty when turned on. 0 or -errno. */
int ram_set_dirty_log(struct vm *vm, bool on);
/* After the VM ended: wait for the background registration to stop. */
void ram_join(struct vm *vm);

/* hostcaps.c */
void host_caps_probe(struct vm *vm);
/* The probed debug behaviour (pvm, hw_watchpoints), probed now if start-up did not
 * need it (a failure report may). Safe from any thread. */
const struct host_caps *host_caps_debug(struct vm *vm);
void host_caps_print(const struct vm *vm);
/* --host-info on a host without a usable /dev/kvm: prints "kvm: none" and why, and
 * returns 1; returns 0 (printing nothing) when /dev/kvm opens. */
int host_caps_print_if_no_kvm(void);

#endif
