/* monitor_cmds_cpu.c: the vCPU commands: info cpus, info registers, cpu, stop,
 * cont, step, quit. State is read while no vCPU is inside KVM_RUN (the dispatcher
 * makes sure of that), through vcpu_get_state so GDB's cached changes show. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "monitor_internal.h"
#include "vmctl.h"

#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

static const char *cpu_mode(const struct kvm_sregs *s)
{
	if (s->efer & EFER_LMA)
		return s->cs.l ? "64-bit" : "compatibility";
	return (s->cr0 & 1) ? "protected" : "real";
}

int cmd_info_cpus(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	for (unsigned i = 0; i < m->vm->ncpus; i++) {
		struct vcpu *v = &m->vm->vcpus[i];
		struct kvm_regs r;
		struct kvm_sregs s;
		if (vcpu_get_state(v, &r, &s))
			return mon_fail(m, -EIO, "vCPU %u: cannot read its registers", i);
		mon_say(m, "vCPU %u: %s, RIP 0x%llx, %s mode%s\n", i,
			vcpu_state_name(v, m->was_running), (unsigned long long)r.rip, cpu_mode(&s),
			i == m->cpu ? " (current)" : "");
	}
	return 0;
}

int cmd_cpu(struct mon *m, int argc, char **argv)
{
	unsigned cpu;
	if (mon_parse_cpu(m, argc ? argv[0] : NULL, &cpu))
		return -EINVAL;
	mon_select_cpu(m, cpu);
	mon_say(m, "current vCPU: %u (of %u)\n", cpu, m->vm->ncpus);
	return 0;
}

static void say_rip_flags(const struct mon *m, uint64_t rip, uint64_t rflags)
{
	static const char *const names[] = {"CF", "",	"PF", "",   "AF", "",
					    "ZF", "SF", "TF", "IF", "DF", "OF"};
	char buf[64] = "";
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (*names[i] && (rflags & (1ULL << i)))
			strcat(strcat(buf, " "), names[i]);
	mon_say(m, "rip  0x%016llx  rflags 0x%08llx [%s ]\n", (unsigned long long)rip,
		(unsigned long long)rflags, buf);
}

static void say_gprs(const struct mon *m, const struct kvm_regs *r)
{
	const unsigned long long g[16] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
					  r->rbp, r->rsp, r->r8,  r->r9,  r->r10, r->r11,
					  r->r12, r->r13, r->r14, r->r15};
	static const char *const n[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
					  "r8",	 "r9",	"r10", "r11", "r12", "r13", "r14", "r15"};
	for (int i = 0; i < 16; i += 4)
		mon_say(m, "%-4s 0x%016llx  %-4s 0x%016llx  %-4s 0x%016llx  %-4s 0x%016llx\n", n[i],
			g[i], n[i + 1], g[i + 1], n[i + 2], g[i + 2], n[i + 3], g[i + 3]);
}

static void say_segment(const struct mon *m, const char *name, const struct kvm_segment *s)
{
	mon_say(m, "%-3s selector 0x%04x base 0x%016llx limit 0x%08x type 0x%x dpl %u%s%s%s%s%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present ? " P" : "", s->s ? " S" : "", s->l ? " L" : "", s->db ? " DB" : "",
		s->g ? " G" : "");
}

static void say_sregs(const struct mon *m, const struct kvm_sregs *s)
{
	say_segment(m, "cs", &s->cs);
	say_segment(m, "ss", &s->ss);
	say_segment(m, "ds", &s->ds);
	say_segment(m, "es", &s->es);
	say_segment(m, "fs", &s->fs);
	say_segment(m, "gs", &s->gs);
	say_segment(m, "tr", &s->tr);
	say_segment(m, "ldt", &s->ldt);
	mon_say(m, "gdt base 0x%016llx limit 0x%04x   idt base 0x%016llx limit 0x%04x\n",
		(unsigned long long)s->gdt.base, s->gdt.limit, (unsigned long long)s->idt.base,
		s->idt.limit);
	mon_say(m, "cr0 0x%016llx  cr2 0x%016llx  cr3 0x%016llx\ncr4 0x%016llx  cr8 0x%016llx\n",
		(unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
		(unsigned long long)s->cr4, (unsigned long long)s->cr8);
	mon_say(m, "efer 0x%llx [%s%s%s ]  apic_base 0x%llx\n", (unsigned long long)s->efer,
		s->efer & EFER_LME ? " LME" : "", s->efer & EFER_LMA ? " LMA" : "",
		s->efer & EFER_NXE ? " NXE" : "", (unsigned long long)s->apic_base);
}

static void say_events(const struct mon *m, struct vcpu *v)
{
	struct kvm_vcpu_events e;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e) < 0) {
		mon_say(m, "events: cannot read (%s)\n", strerror(errno));
		return;
	}
	char exc[64] = "none", irq[32] = "none";
	if (e.exception.injected || e.exception.pending)
		snprintf(exc, sizeof(exc), "vector %u %s%s", e.exception.nr,
			 e.exception.injected ? "injected" : "pending",
			 e.exception.has_error_code ? " with error code" : "");
	if (e.interrupt.injected)
		snprintf(irq, sizeof(irq), "vector %u injected", e.interrupt.nr);
	mon_say(m, "events: exception %s; interrupt %s; nmi%s%s%s; interrupt shadow %u\n", exc, irq,
		e.nmi.pending ? " pending" : "", e.nmi.injected ? " injected" : "",
		e.nmi.masked ? " masked" : " unmasked", e.interrupt.shadow);
}

/* The exception KVM held when this vCPU's guest failed (after a crash, under GDB). */
static void say_fault(const struct mon *m, const struct vcpu *v)
{
	const struct vcpu_fault *f = &v->fault;
	const struct vcpu_exception *e = &f->exception;
	if (!f->valid)
		return;
	if (!e->valid)
		mon_say(m, "fault: status %d at RIP 0x%llx, cr2 0x%llx, no exception held by KVM\n",
			f->status, (unsigned long long)f->rip, (unsigned long long)f->cr2);
	else
		mon_say(m,
			"fault: status %d at RIP 0x%llx, cr2 0x%llx, exception vector %u (%s) "
			"error code 0x%x\n",
			f->status, (unsigned long long)f->rip, (unsigned long long)f->cr2,
			e->vector, exception_name(e->vector),
			e->has_error_code ? e->error_code : 0);
}

int cmd_info_registers(struct mon *m, int argc, char **argv)
{
	unsigned cpu;
	if (mon_parse_cpu(m, argc ? argv[0] : NULL, &cpu))
		return -EINVAL;
	struct vcpu *v = &m->vm->vcpus[cpu];
	struct kvm_regs r;
	struct kvm_sregs s;
	if (vcpu_get_state(v, &r, &s))
		return mon_fail(m, -EIO, "vCPU %u: cannot read its registers", cpu);
	mon_say(m, "vCPU %u (%s, %s mode)\n", cpu, vcpu_state_name(v, m->was_running),
		cpu_mode(&s));
	say_gprs(m, &r);
	say_rip_flags(m, r.rip, r.rflags);
	say_sregs(m, &s);
	say_events(m, v);
	say_fault(m, v);
	return 0;
}

int cmd_stop(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	char err[256];
	if (vmctl_stopped(m->vm))
		return mon_fail(m, 0, "the VM is already stopped");
	int rc = vmctl_stop(m->vm, true, err, sizeof(err));
	if (rc)
		return mon_fail(m, rc, "%s", err);
	mon_say(m, "VM stopped\n");
	return cmd_info_cpus(m, 0, NULL);
}

int cmd_cont(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	if (!m->vm->ctl)
		return mon_fail(m, -EBUSY, "the VM is under GDB's control: use GDB's continue");
	if (!vmctl_stopped(m->vm))
		return mon_fail(m, 0, "the VM is running");
	vmctl_resume(m->vm);
	mon_say(m, "VM resumed\n");
	return 0;
}

int cmd_step(struct mon *m, int argc, char **argv)
{
	unsigned cpu;
	char err[256];
	if (mon_parse_cpu(m, argc ? argv[0] : NULL, &cpu))
		return -EINVAL;
	struct kvm_regs before, after;
	struct kvm_sregs s;
	bool known = m->vm->ctl && vmctl_stopped(m->vm) &&
		     !vcpu_get_state(&m->vm->vcpus[cpu], &before, &s);
	int rc = vmctl_step(m->vm, cpu, err, sizeof(err));
	if (rc)
		return mon_fail(m, rc, "%s", err);
	if (vcpu_get_state(&m->vm->vcpus[cpu], &after, &s))
		return mon_fail(m, -EIO, "vCPU %u: cannot read its registers", cpu);
	if (known)
		mon_say(m, "vCPU %u: RIP 0x%llx -> 0x%llx\n", cpu, (unsigned long long)before.rip,
			(unsigned long long)after.rip);
	else
		mon_say(m, "vCPU %u: stopped, stepped to RIP 0x%llx\n", cpu,
			(unsigned long long)after.rip);
	return 0;
}

int cmd_quit(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	mon_say(m, "ending the VM\n");
	vm_end(m->vm, STATUS_KILLED);
	return 0;
}
