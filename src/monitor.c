/* monitor.c: the command interpreter behind GDB's `monitor` command.
 *
 * A table of commands, each with its help text and one handler that receives the
 * rest of the line. Commands that read vCPU state run while the VM is stopped
 * (GDB stops it before sending qRcmd).
 */
#include "monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "abi.h"

struct monitor_out {
	gdb_output_fn fn;
	void *arg;
};

static void say(const struct monitor_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct monitor_out *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->fn(o->arg, buf);
}

struct command {
	const char *name;
	const char *help;
	int (*fn)(struct vm *vm, const char *args, const struct monitor_out *o);
};

static int cmd_help(struct vm *vm, const char *args, const struct monitor_out *o);

static const char *vcpu_state_name(struct vcpu *v)
{
	struct kvm_mp_state mp;
	switch (atomic_load(&v->state)) {
	case VCPU_GATED:
		return "not started";
	case VCPU_DONE:
		return "ended";
	default:
		if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_HALTED)
			return "halted";
		return "stopped";
	}
}

static int cmd_info_cpus(struct vm *vm, const char *args, const struct monitor_out *o)
{
	(void)args;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_regs r;
		struct kvm_sregs s;
		if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
			return -errno;
		const char *mode = (s.efer & 0x400) ? (s.cs.l ? "64-bit" : "compat")
				   : (s.cr0 & 1)     ? "protected"
						     : "real";
		say(o, "vCPU %u: %s, RIP 0x%llx, %s mode\n", i, vcpu_state_name(v),
		    (unsigned long long)r.rip, mode);
	}
	return 0;
}

static int cmd_info_vm(struct vm *vm, const char *args, const struct monitor_out *o)
{
	(void)args;
	say(o, "image: %s (%s ABI), entry 0x%llx, base 0x%llx, size 0x%llx\n", vm->cfg->image,
	    vm->abi->name, (unsigned long long)vm->image.entry, (unsigned long long)vm->image.base,
	    (unsigned long long)(vm->image.end - vm->image.base));
	say(o, "memory: %llu MiB, guest-physical top 0x%llx, %s\n",
	    (unsigned long long)(vm->mem.size >> 20), (unsigned long long)vm->mem.limit,
	    vm->mem.size > vm->mem.low_size ? "2 slots (PCI hole at 0xd0000000-4G)" : "1 slot");
	say(o, "vCPUs: %u, cpu_freq %u MHz, host KVM: %s\n", vm->ncpus, vm->cpu_freq_mhz,
	    vm->caps.pvm ? "software (PVM)" : "hardware");
	return 0;
}

static const struct command commands[] = {
	{"help", "help [COMMAND]        list the commands, or describe one", cmd_help},
	{"info cpus", "info cpus             each vCPU: state, RIP, mode", cmd_info_cpus},
	{"info vm", "info vm               image, memory, vCPUs, host", cmd_info_vm},
};

static int cmd_help(struct vm *vm, const char *args, const struct monitor_out *o)
{
	(void)vm;
	say(o, "proxy monitor commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!*args || !strncmp(commands[i].name, args, strlen(args)))
			say(o, "  %s\n", commands[i].help);
	return 0;
}

int monitor_run(struct vm *vm, const char *line, gdb_output_fn out, void *arg)
{
	struct monitor_out o = {out, arg};
	while (*line == ' ')
		line++;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t n = strlen(commands[i].name);
		if (!strncmp(line, commands[i].name, n) && (line[n] == 0 || line[n] == ' ')) {
			const char *args = line + n;
			while (*args == ' ')
				args++;
			return commands[i].fn(vm, args, &o);
		}
	}
	say(&o, "unknown command '%s'; try 'monitor help'\n", line);
	return -EINVAL;
}
