/* vcpu.c: vCPU creation, the 64-bit start state, the start gate and the run loop.
 *
 * Each vCPU runs in its own thread. vCPU 0 starts at once; vCPU i waits until the
 * guest's cpu_online counter reaches i (section 4 of the ABI; hermit-entry: the
 * kernel's CORE_COUNTER, or a staggered start without it), unless the ABI has no
 * such gate (all start together). The run loop
 * dispatches port I/O through the VM's port table, offers other exits to the
 * registered hooks, and ends the VM with a clear message for everything else.
 */
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "disasm.h"
#include "guest_abi.h"
#include "hermit_abi.h"
#include "log.h"

#define MSR_IA32_MISC_ENABLE 0x1A0

void vcpu_create(struct vm *vm, struct vcpu *v, unsigned id)
{
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		die_errno("KVM_CREATE_VCPU %u", id);
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die_errno("mmap of vCPU %u's kvm_run", id);
	bool gated = id > 0 && vm->abi->cpu_online_gpa &&
		     (vm->abi->cpu_online_gpa(vm) || vm->abi->start_stagger_ms);
	atomic_store(&v->state, gated ? VCPU_GATED : VCPU_RUNNING);
	/* Hypercalls need CR3 to translate buffers: have KVM hand it over with every
	 * exit instead of paying a KVM_GET_SREGS per call. */
	if (vm->caps.sync_sregs)
		v->run->kvm_valid_regs = KVM_SYNC_X86_SREGS;
}

/* CPUID as the ABI says: KVM's supported set plus hypervisor, TSC deadline, MSR
 * bits, no PMU; APIC ids per vCPU. */
static void set_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = v->vm->cpuid;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			e->ecx |= 1u << 31;
			if (v->vm->caps.tsc_deadline)
				e->ecx |= 1u << 24;
			e->edx |= 1u << 5;
			e->ebx = (e->ebx & 0x00FFFFFFu) | (v->id << 24);
		} else if (e->function == 0xA) {
			e->eax = 0;
		} else if (e->function == 0xB || e->function == 0x1F) {
			e->edx = v->id;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		die_errno("KVM_SET_CPUID2 on vCPU %u", v->id);
}

static void set_msrs(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = {.hdr.nmsrs = 1, .e[0] = {.index = MSR_IA32_MISC_ENABLE, .data = 1}};
	if (ioctl(v->fd, KVM_SET_MSRS, &msrs) != 1)
		die_errno("KVM_SET_MSRS (IA32_MISC_ENABLE) on vCPU %u", v->id);
}

void vcpu_long_mode_segments(struct kvm_sregs *s)
{
	const struct kvm_segment code = {
		.limit = 0xFFFFFFFF,
		.selector = HERMIT_GDT_CODE_SEL,
		.type = 11, /* exec/read, accessed */
		.present = 1,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	const struct kvm_segment data = {
		.limit = 0xFFFFFFFF,
		.selector = HERMIT_GDT_DATA_SEL,
		.type = 3, /* read/write, accessed */
		.present = 1,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
}

static struct guest_start start_addresses(const struct vm *vm)
{
	struct guest_start at = {HERMIT_GDT_ADDR, HERMIT_PML4_ADDR, vm->abi->boot_rdi};
	if (vm->abi->start_addresses)
		vm->abi->start_addresses(vm, &at);
	return at;
}

static void set_sregs(struct vcpu *v)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		die_errno("KVM_GET_SREGS on vCPU %u", v->id);
	vcpu_long_mode_segments(&s);
	struct guest_start at = start_addresses(v->vm);
	s.gdt.base = at.gdt;
	s.gdt.limit = HERMIT_GDT_ENTRIES * 8 - 1;
	s.cr0 = HERMIT_CR0;
	s.cr3 = at.cr3;
	s.cr4 = HERMIT_CR4;
	s.efer = HERMIT_EFER;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		die_errno("KVM_SET_SREGS on vCPU %u", v->id);
}

static void set_regs(struct vcpu *v)
{
	const struct guest_abi *abi = v->vm->abi;
	struct kvm_regs r = {
		.rip = v->vm->image.entry,
		.rflags = 0x2,
		.rdi = start_addresses(v->vm).rdi,
	};
	if (abi->start_stack) {
		uint64_t rsp, rsi;
		abi->start_stack(v->vm, v->id, &rsp, &rsi);
		r.rsp = rsp;
		r.rsi = rsi;
	}
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		die_errno("KVM_SET_REGS on vCPU %u", v->id);
}

/* With the in-kernel LAPIC, every vCPU but 0 would wait for INIT/SIPI; there is
 * none in this ABI, so all start runnable (the start gate is ours). */
static void set_runnable(struct vcpu *v)
{
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		die_errno("KVM_SET_MP_STATE on vCPU %u", v->id);
}

void vcpu_set_boot_state(struct vcpu *v)
{
	set_runnable(v);
	set_cpuid(v);
	set_msrs(v);
	set_sregs(v);
	set_regs(v);
	if (v->vm->cfg->debug || v->vm->cfg->monitor) /* who may ask for system_reset */
		vcpu_save_boot_state(v);
}

const char *vcpu_state_name(struct vcpu *v, bool running)
{
	struct kvm_mp_state mp;
	switch (atomic_load(&v->state)) {
	case VCPU_GATED:
		return "not started";
	case VCPU_DONE:
		return "ended";
	}
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_HALTED)
		return "halted";
	return running ? "running" : "stopped";
}

uint64_t vcpu_cr3(struct vcpu *v)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return 0;
	return s.cr3;
}

uint64_t vcpu_exit_cr3(struct vcpu *v)
{
	if (v->run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		return v->run->s.regs.sregs.cr3;
	return vcpu_cr3(v);
}

size_t vcpu_read_virt(struct vcpu *v, uint64_t gva, void *dst, size_t len)
{
	return gva_read(&v->vm->mem, vcpu_cr3(v), gva, dst, len);
}

static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs r;
	return ioctl(v->fd, KVM_GET_REGS, &r) < 0 ? 0 : r.rip;
}

const char *exception_name(unsigned vector)
{
	/* clang-format off */
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "coprocessor overrun", "#TS", "#NP", "#SS", "#GP", "#PF", NULL,
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", NULL, NULL,
		NULL, NULL, NULL, NULL, "#HV", "#VC", "#SX", NULL};
	/* clang-format on */
	if (vector >= 32)
		return "interrupt";
	return names[vector] ? names[vector] : "reserved";
}

bool vcpu_exception(struct vcpu *v, struct vcpu_exception *e)
{
	struct kvm_vcpu_events ev;
	*e = (struct vcpu_exception){0};
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	if (ev.exception.injected || ev.exception.pending) {
		e->valid = true;
		e->vector = ev.exception.nr;
		e->has_error_code = ev.exception.has_error_code;
		e->error_code = ev.exception.error_code;
	}
	return true;
}

#define VECTORING_VALID	     (1u << 31)
#define VECTORING_ERROR_CODE (1u << 11)

/* Hardware KVM that could not deliver an exception (the IDT or the handler's stack
 * is not RAM, say) reports an internal error whose first datum is the IDT-vectoring
 * information: the exception it was delivering (the error code itself is not in it). */
static void delivery_exception(const struct kvm_run *run, struct vcpu_exception *e)
{
	if (run->exit_reason != KVM_EXIT_INTERNAL_ERROR ||
	    run->internal.suberror != KVM_INTERNAL_ERROR_DELIVERY_EV || run->internal.ndata < 1 ||
	    !(run->internal.data[0] & VECTORING_VALID))
		return;
	*e = (struct vcpu_exception){.valid = true,
				     .vector = (uint8_t)run->internal.data[0],
				     .has_error_code =
					     run->internal.data[0] & VECTORING_ERROR_CODE};
}

void vcpu_record_fault(struct vcpu *v, int status)
{
	struct vcpu_fault *f = &v->fault;
	struct kvm_regs r;
	struct kvm_sregs s;
	*f = (struct vcpu_fault){
		.valid = true, .status = status, .exit_reason = v->run->exit_reason};
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0)
		f->rip = r.rip;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
		f->cr2 = s.cr2;
	if (!vcpu_exception(v, &f->exception) || !f->exception.valid)
		delivery_exception(v->run, &f->exception);
	if (!f->exception.valid && f->exit_reason == KVM_EXIT_SHUTDOWN)
		f->exception = v->injected; /* what proxy gave it (software KVM's int3), if any */
	f->addr = f->exit_reason == KVM_EXIT_MMIO ? v->run->mmio.phys_addr : f->rip;
}

/* The exception KVM held when the guest failed (recorded then), else the one it
 * holds now. */
static void dump_exception(struct vcpu *v)
{
	struct vcpu_exception now;
	const struct vcpu_exception *e = &v->fault.exception;
	if (!v->fault.valid) {
		if (!vcpu_exception(v, &now))
			return;
		e = &now;
	}
	if (!e->valid)
		fprintf(stderr, "  exception: none held by KVM\n");
	else if (e->has_error_code)
		fprintf(stderr, "  exception: vector %u (%s) error code 0x%x\n", e->vector,
			exception_name(e->vector), e->error_code);
	else
		fprintf(stderr, "  exception: vector %u (%s)\n", e->vector,
			exception_name(e->vector));
}

void vcpu_dump_registers(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	fprintf(stderr,
		"vCPU %u registers:\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  rip %016llx rflags %08llx\n"
		"  cs %04x ss %04x ds %04x es %04x fs %04x gs %04x\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
		"  idtr base %016llx limit %04x  gdtr base %016llx limit %04x\n"
		"  tr %04x base %016llx limit %08x\n",
		v->id, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
		r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags, s.cs.selector, s.ss.selector,
		s.ds.selector, s.es.selector, s.fs.selector, s.gs.selector, s.cr0, s.cr2, s.cr3,
		s.cr4, s.efer, s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit, s.tr.selector,
		s.tr.base, s.tr.limit);
	dump_exception(v);
}

/* ---- exits --------------------------------------------------------------- */

static void observe_port(struct vcpu *v, const struct port_handler *h, uint32_t value, bool before)
{
	struct vm *vm = v->vm;
	for (unsigned i = 0; i < vm->nobservers; i++) {
		const struct exit_observer *o = &vm->observers[i];
		if (before && o->before_port)
			o->before_port(v, h, value, o->arg);
		else if (!before && o->after_port)
			o->after_port(v, h, o->arg);
	}
}

static void observe_exit(struct vcpu *v)
{
	struct vm *vm = v->vm;
	for (unsigned i = 0; i < vm->nobservers; i++)
		if (vm->observers[i].on_exit)
			vm->observers[i].on_exit(v, vm->observers[i].arg);
}

static bool is_io_insn(const char *text)
{
	return !strncmp(text, "in", 2) || !strncmp(text, "out", 3);
}

/* Put RIP back on the in/out instruction that failed, so the message, GDB's stop
 * and the core file show the crash site. Hardware KVM exits before the
 * instruction retires (RIP is on it); software KVM (PVM) exits after it, so
 * there the instruction is the one that ends at RIP. Returns the RIP to report. */
static uint64_t rewind_to_io_insn(struct vcpu *v)
{
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return 0;
	if (!host_caps_debug(v->vm)->pvm)
		return r.rip;
	for (uint64_t len = 1; len <= 4 && len <= r.rip; len++) {
		uint8_t code[4];
		struct disasm_insn d;
		if (vcpu_read_virt(v, r.rip - len, code, len) != len ||
		    disasm_one(code, len, r.rip - len, &d) != len || !is_io_insn(d.text))
			continue;
		r.rip -= len;
		if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
			return r.rip + len;
		return r.rip;
	}
	return r.rip;
}

/* Whether the `len` guest bytes before `end` are `want`. */
static bool bytes_before(struct vcpu *v, uint64_t end, const uint8_t *want, size_t len)
{
	uint8_t got[3];
	return end >= len && vcpu_read_virt(v, end - len, got, len) == len &&
	       !memcmp(got, want, len);
}

/* The in/out of the current exit ending at `end`: a DX form (EC/ED in, EE/EF out)
 * with DX the port, or an imm8 form (E4-E7) naming it, after 66 for 16 bits.
 * Other prefixes change nothing in a non-string in/out: from the opcode (or its
 * 66) it does the same access. 0 for a string form or unless one form matches. */
static uint64_t io_insn_ending_at(struct vcpu *v, uint64_t end, uint64_t rdx)
{
	const struct kvm_run *run = v->run;
	if (run->io.count != 1)
		return 0;
	bool out = run->io.direction == KVM_EXIT_IO_OUT, word = run->io.size == 2;
	uint8_t wide = run->io.size > 1;
	const uint8_t dx_form[] = {0x66, (uint8_t)((out ? 0xEE : 0xEC) | wide)};
	const uint8_t imm_form[] = {0x66, (uint8_t)((out ? 0xE6 : 0xE4) | wide),
				    (uint8_t)run->io.port};
	size_t dx_len = 1 + word, imm_len = 2 + word;
	bool dx = (rdx & 0xFFFF) == run->io.port && bytes_before(v, end, dx_form + !word, dx_len);
	bool imm = run->io.port <= 0xFF && bytes_before(v, end, imm_form + !word, imm_len);
	if (dx == imm)
		return 0;
	return end - (dx ? dx_len : imm_len);
}

uint64_t vcpu_io_insn_start(struct vcpu *v, const struct kvm_regs *r)
{
	if (!host_caps_debug(v->vm)->pvm)
		return r->rip;
	return io_insn_ending_at(v, r->rip, r->rdx);
}

/* Reads are device registers (no hypercall reads its result from a port). */
static void handle_port_read(struct vcpu *v, struct port_handler *h)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t value = h->read(v, run->io.port, run->io.size);
		memcpy(data, &value, run->io.size < 4 ? run->io.size : 4);
		__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
	}
}

/* Time in KVM_RUN and in each port handler is for --stats and the monitor's `info
 * hypercalls` (the console's, or GDB's `monitor`): without them, the two clock
 * reads per exit would be a few percent of a hypercall spent for nobody. */
static bool timed(const struct vm *vm)
{
	return vm->cfg->stats || vm->cfg->monitor || vm->cfg->debug;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint16_t port = run->io.port;
	struct port_handler *h = vm_find_port(v->vm, port);
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	if (!h || (out ? !h->fn : !h->read)) {
		vm_fail(v, STATUS_UNHANDLED_IO,
			"vCPU %u: unhandled port I/O: %s of %u byte(s) on port 0x%x at RIP 0x%llx",
			v->id, out ? "write" : "read", run->io.size, port,
			(unsigned long long)rewind_to_io_insn(v));
		return;
	}
	if (!out) {
		handle_port_read(v, h);
		return;
	}
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t value = 0;
		memcpy(&value, data, run->io.size < 4 ? run->io.size : 4);
		observe_port(v, h, value, true);
		uint64_t t0 = timed(v->vm) ? now_ns() : 0;
		h->fn(v, port, value);
		/* Several vCPUs may run the same handler: count atomically. */
		if (t0)
			__atomic_add_fetch(&h->total_ns, now_ns() - t0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
		observe_port(v, h, value, false);
	}
}

static void report_emulation_failure(struct vcpu *v, uint64_t rip)
{
	uint8_t insn[15];
	size_t n = vcpu_read_virt(v, rip, insn, sizeof(insn));
	struct disasm_insn d;
	size_t len = disasm_one(insn, n, rip, &d);
	char bytes[64] = "";
	size_t used = 0;
	for (size_t i = 0; i < n && i < (len ? len : 8); i++)
		used += (size_t)snprintf(bytes + used, sizeof(bytes) - used, i ? " %02x" : "%02x",
					 insn[i]);
	char what[210];
	snprintf(what, sizeof(what), len ? "`%s`" : "the instruction", d.text);
	vm_fail(v, STATUS_INTERNAL_ERROR,
		"vCPU %u: the host's KVM could not execute %s at RIP 0x%llx (bytes %s) in the %s "
		"guest (%s)",
		v->id, what, (unsigned long long)rip, n ? bytes : "unreadable",
		v->vm->abi ? v->vm->abi->label : "unknown",
		d.vector ? "an SSE/AVX instruction: software KVM such as PVM cannot run those in "
			   "guest ring 0; the guest needs a hardware (VT-x/SVM) KVM host"
			 : "emulation failure; on software KVM such as PVM, guest ring 0 cannot "
			   "use SSE/AVX and some other instructions");
}

static void report_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t rip = vcpu_rip(v);
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		report_emulation_failure(v, rip);
		return;
	}
	vm_fail(v, STATUS_INTERNAL_ERROR, "vCPU %u: KVM internal error, suberror %u, at RIP 0x%llx",
		v->id, run->internal.suberror, (unsigned long long)rip);
}

/* At a triple fault KVM on AMD SVM reinitialises the VMCB: the vCPU then stands at
 * the reset vector in real mode (a 64-bit Hermit guest never does by itself). */
static bool vcpu_was_reset(struct vcpu *v)
{
	struct kvm_sregs s;
	return ioctl(v->fd, KVM_GET_SREGS, &s) == 0 && !(s.cr0 & 1) && s.cs.selector == 0xf000 &&
	       vcpu_rip(v) == 0xfff0;
}

static void report_unhandled_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		if (vcpu_was_reset(v))
			vm_fail(v, STATUS_TRIPLE_FAULT,
				"vCPU %u: triple fault (KVM_EXIT_SHUTDOWN): the guest took an "
				"exception it could not handle; this host's KVM reset the vCPU at "
				"the fault (AMD SVM does), so its registers there are lost (VT-x "
				"and software KVM keep them)",
				v->id);
		else
			vm_fail(v, STATUS_TRIPLE_FAULT,
				"vCPU %u: triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x%llx: the "
				"guest took an exception it could not handle",
				v->id, (unsigned long long)vcpu_rip(v));
		break;
	case KVM_EXIT_MMIO:
		vm_fail(v, STATUS_UNHANDLED_IO,
			"vCPU %u: unhandled MMIO %s of %u byte(s) at guest-physical 0x%llx (no RAM "
			"or "
			"device there), RIP 0x%llx",
			v->id, run->mmio.is_write ? "write" : "read", run->mmio.len,
			(unsigned long long)run->mmio.phys_addr, (unsigned long long)vcpu_rip(v));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_fail(v, STATUS_INTERNAL_ERROR,
			"vCPU %u: VM entry failed, hardware reason 0x%llx, at RIP 0x%llx", v->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			(unsigned long long)vcpu_rip(v));
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		report_internal_error(v);
		break;
	default:
		vm_fail(v, STATUS_INTERNAL_ERROR,
			"vCPU %u: unexpected KVM exit reason %u at RIP 0x%llx", v->id,
			run->exit_reason, (unsigned long long)vcpu_rip(v));
	}
}

static void handle_exit(struct vcpu *v)
{
	struct vm *vm = v->vm;
	observe_exit(v); /* e.g. log bytes KVM batched since the last exit come first */
	if (v->run->exit_reason != KVM_EXIT_SHUTDOWN)
		v->injected.valid = false; /* the guest took it: no longer a clue */
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return;
	case KVM_EXIT_INTR:
		return;
	case KVM_EXIT_MMIO:
		if (ram_complete_mmio(v)) /* RAM whose slot was not registered yet */
			return;
		break;
	}
	for (unsigned i = 0; i < vm->nhooks; i++)
		if (vm->hooks[i].fn(v, vm->hooks[i].arg) == HOOK_HANDLED)
			return;
	/* KVM could not emulate an access to RAM not registered yet (an instruction
	 * fetched from it, say): with all of it registered, the instruction runs again. */
	if (v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR && ram_register_all(vm))
		return;
	report_unhandled_exit(v);
}

/* Ask the park hooks whether this vCPU may run; park in the first that says no. */
static bool parked_by_hook(struct vcpu *v)
{
	struct vm *vm = v->vm;
	for (unsigned i = 0; i < vm->npark_hooks; i++) {
		const struct park_hook *h = &vm->park_hooks[i];
		if (h->wants_park(v, h->arg)) {
			atomic_store(&v->in_park, true);
			h->park(v, h->arg);
			atomic_store(&v->in_park, false);
			return true;
		}
	}
	return false;
}

void vcpu_set_blocked(struct vcpu *v, bool blocked)
{
	struct vm *vm = v->vm;
	if (blocked)
		atomic_store(&v->blocked, true);
	for (unsigned i = 0; i < vm->npark_hooks; i++)
		if (vm->park_hooks[i].vcpu_blocked)
			vm->park_hooks[i].vcpu_blocked(v, blocked, vm->park_hooks[i].arg);
	if (!blocked) /* after the hooks: one may hold the vCPU until a pause ends */
		atomic_store(&v->blocked, false);
}

/* Until the VM ends, or a reset sends the vCPU back to its start gate. */
static void run_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	while (!atomic_load(&vm->ending)) {
		if (parked_by_hook(v))
			continue;
		if (atomic_load(&v->state) == VCPU_GATED)
			return;
		if (atomic_exchange(&v->exit_pending, false)) {
			handle_exit(v);
			continue;
		}
		bool first = v->id == 0 && v->exits == 0;
		uint64_t t0 = first || timed(vm) ? now_ns() : 0;
		if (first)
			atomic_store(&vm->t_first_insn_ns, t0);
		int rc = ioctl(v->fd, KVM_RUN, 0);
		if (timed(vm))
			v->run_ns += now_ns() - t0;
		v->exits++;
		unsigned reason = rc < 0 ? KVM_EXIT_INTR : v->run->exit_reason;
		v->exit_reasons[reason < VCPU_EXIT_REASONS ? reason : VCPU_EXIT_REASONS - 1]++;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vm_fail(v, STATUS_INTERNAL_ERROR, "vCPU %u: KVM_RUN failed: %s", v->id,
				strerror(errno));
			break;
		}
		handle_exit(v);
	}
}

/* vCPU i (i >= 1) may start once the guest's cpu_online reaches i, or, for an
 * image without such a counter, after i times the ABI's stagger. The guest cannot
 * notify us, so poll: often for the next vCPU in line, rarely for the rest. Time
 * parked (a debugger's stop) does not count towards the stagger: the vCPUs that
 * would have raced it were stopped too. */
static bool wait_start_gate(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t gpa = vm->abi->cpu_online_gpa(vm);
	volatile uint32_t *online = gpa ? gpa_host(&vm->mem, gpa, 4) : NULL;
	uint64_t stagger_ns = (uint64_t)v->id * vm->abi->start_stagger_ms * 1000000u, waited = 0;
	const struct timespec next_nap = {0, 20000}, later_nap = {0, 1000000};
	prctl(PR_SET_TIMERSLACK, 1000UL);
	for (;;) {
		if (atomic_load(&vm->ending))
			return false;
		if (parked_by_hook(v))
			continue;
		uint32_t now_online = online ? __atomic_load_n(online, __ATOMIC_ACQUIRE) : 0;
		if (online ? now_online >= v->id : waited >= stagger_ns)
			break;
		uint64_t t0 = now_ns();
		nanosleep(online && now_online + 1 == v->id ? &next_nap : &later_nap, NULL);
		waited += now_ns() - t0;
	}
	if (vm->abi->boot_id_gpa) {
		volatile uint32_t *boot_id = gpa_ptr(&vm->mem, vm->abi->boot_id_gpa(vm), 4);
		__atomic_store_n(boot_id, v->id, __ATOMIC_RELEASE);
	}
	atomic_store(&v->state, VCPU_RUNNING);
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!atomic_load(&v->vm->ending)) {
		if (atomic_load(&v->state) == VCPU_GATED && !wait_start_gate(v))
			break;
		run_loop(v);
	}
	atomic_store(&v->state, VCPU_DONE);
	struct vm *vm = v->vm;
	for (unsigned i = 0; i < vm->npark_hooks; i++)
		if (vm->park_hooks[i].vcpu_done)
			vm->park_hooks[i].vcpu_done(v, vm->park_hooks[i].arg);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

void vcpu_start_threads(struct vm *vm, unsigned first)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (unsigned i = first; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (rc)
			die("cannot start the thread of vCPU %u: %s", i, strerror(rc));
		v->thread_started = true;
	}
}

void vcpu_run_here(struct vcpu *v)
{
	v->thread = pthread_self();
	v->thread_started = true; /* kicks reach this thread from now on */
	vcpu_thread(v);
}

void vcpu_join_threads(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].thread_started &&
		    !pthread_equal(vm->vcpus[i].thread, pthread_self()))
			pthread_join(vm->vcpus[i].thread, NULL);
}
