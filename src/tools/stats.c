/* stats.c: what the run cost, from the counters the core keeps anyway.
 *
 * The vCPU loop counts KVM_RUN returns per exit reason and the time inside
 * KVM_RUN; handle_io counts calls and time per port; vm_create and vCPU 0's
 * first KVM_RUN stamp the start; the emulation and the debugger count the exits
 * they finished. Nothing here runs while the guest does.
 */
#include "stats.h"

#include <linux/kvm.h>

#include "debug.h"
#include "emulate.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
};

const char *kvm_exit_name(unsigned reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	return "other";
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Boot time is the hypervisor's cost: the time a debugger held the VM before its
 * first instruction (a user reading the first stop) is left out, and named. */
static void print_boot_time(const struct vm *vm, FILE *out)
{
	uint64_t first = atomic_load(&vm->t_first_insn_ns);
	uint64_t held = debug_boot_hold_ns(vm);
	fprintf(out, "proxy: stats: start to first guest instruction: ");
	if (!first) {
		fprintf(out, "never ran\n");
		return;
	}
	uint64_t boot = first - vm->t_start_ns;
	boot = held < boot ? boot - held : 0;
	if (held)
		fprintf(out, "%.3f ms (not counting %.3f ms stopped in the debugger)\n", ms(boot),
			ms(held));
	else
		fprintf(out, "%.3f ms\n", ms(boot));
}

static void print_times(const struct vm *vm, FILE *out)
{
	uint64_t end = now_ns();
	print_boot_time(vm, out);
	fprintf(out, "proxy: stats: start to exit: %.3f ms (exit status %d)\n",
		ms(end - vm->t_start_ns), vm->exit_status);
}

static void print_count(FILE *out, const char *what, uint64_t n)
{
	if (n)
		fprintf(out, "proxy: stats:   %-16s %10llu\n", what, (unsigned long long)n);
}

/* Software KVM ends KVM_RUN with an "internal error" for instructions proxy then
 * finishes itself (xgetbv, the guest's int3) and for the debugger's planted int3:
 * those get rows of their own, so INTERNAL_ERROR counts only real failures. */
static void print_internal_errors(const struct vm *vm, FILE *out, uint64_t n)
{
	uint64_t xgetbv = emulate_count(EMULATED_XGETBV), int3 = emulate_count(EMULATED_INT3);
	uint64_t planted = debug_planted_bp_exits(vm);
	uint64_t finished = xgetbv + int3 + planted;
	print_count(out, "INTERNAL_ERROR", finished < n ? n - finished : 0);
	print_count(out, "emulated xgetbv", xgetbv);
	print_count(out, "emulated int3", int3);
	print_count(out, "breakpoint int3", planted);
}

static void print_exits(const struct vm *vm, FILE *out)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < vm->ncpus; i++)
		total += vm->vcpus[i].exits;
	fprintf(out, "proxy: stats: VM exits: %llu\n", (unsigned long long)total);
	for (unsigned r = 0; r < VCPU_EXIT_REASONS; r++) {
		uint64_t n = 0;
		for (unsigned i = 0; i < vm->ncpus; i++)
			n += vm->vcpus[i].exit_reasons[r];
		if (r == KVM_EXIT_INTERNAL_ERROR)
			print_internal_errors(vm, out, n);
		else
			print_count(out, r == VCPU_EXIT_REASONS - 1 ? "other" : kvm_exit_name(r),
				    n);
	}
}

static void print_hypercalls(const struct vm *vm, FILE *out)
{
	fprintf(out, "proxy: stats: hypercalls:\n");
	for (unsigned i = 0; i < vm->nports; i++) {
		const struct port_handler *h = &vm->ports[i];
		if (h->count)
			fprintf(out, "proxy: stats:   %-10s 0x%04x %10llu calls %10.3f ms\n",
				h->name, h->port, (unsigned long long)h->count, ms(h->total_ns));
	}
}

static void print_vcpus(const struct vm *vm, FILE *out)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		fprintf(out, "proxy: stats: vCPU %u: %.3f ms in KVM_RUN, %llu exits\n", i,
			ms(v->run_ns), (unsigned long long)v->exits);
	}
}

void stats_print(const struct vm *vm, FILE *out)
{
	print_times(vm, out);
	print_exits(vm, out);
	print_hypercalls(vm, out);
	print_vcpus(vm, out);
}
