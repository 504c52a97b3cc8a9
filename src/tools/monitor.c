/* monitor.c: the command interpreter behind GDB's `monitor` and the console.
 *
 * A table of commands: name (one or two words), argument synopsis, help text,
 * argument counts and flags. The dispatcher splits the line into words, finds the
 * command, checks the argument count, stops the VM when the command needs it
 * (console only: GDB has stopped it already) and hands the handler its argv.
 * Every error is a message and a non-zero result, never a crash. `cpu N` picks
 * the vCPU whose registers and page tables the commands use, as QEMU's does.
 */
#include "monitor_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "vmctl.h"

enum {
	MON_NEEDS_STOP = 1,   /* reads vCPU state: no vCPU may be inside KVM_RUN */
	MON_CONSOLE_ONLY = 2, /* changes execution: GDB does that itself */
	MON_FMT_SUFFIX = 4,   /* name/FMT, like GDB's x */
};

struct monitor_command {
	const char *name;
	const char *synopsis;
	const char *help;
	int min_args, max_args;
	unsigned flags;
	int (*fn)(struct mon *m, int argc, char **argv);
};

static int cmd_help(struct mon *m, int argc, char **argv);
static int cmd_info(struct mon *m, int argc, char **argv);

static const struct monitor_command commands[] = {
	{"help", "[COMMAND]", "list the commands, or describe one", 0, 2, 0, cmd_help},
	{"info", "", "list the info commands", 0, MON_MAX_ARGS, 0, cmd_info},
	{"info cpus", "",
	 "each vCPU: id, state (running/halted/stopped), RIP, mode; (current): see cpu", 0, 0,
	 MON_NEEDS_STOP, cmd_info_cpus},
	{"info registers", "[CPU]",
	 "general, segment and control registers, EFER, APIC base, pending events", 0, 1,
	 MON_NEEDS_STOP, cmd_info_registers},
	{"info mem", "[CPU]", "page-table mappings: virtual -> physical ranges, size, rwxu", 0, 1,
	 MON_NEEDS_STOP, cmd_info_mem},
	{"info tlb", "ADDR [CPU]", "page-walk of one virtual address, level by level", 1, 2,
	 MON_NEEDS_STOP, cmd_translate},
	{"info lapic", "[CPU]",
	 "local APIC: id, version, TPR, LDR/DFR, SVR, ISR/IRR/TMR, LVTs, timer", 0, 1,
	 MON_NEEDS_STOP, cmd_info_lapic},
	{"translate", "ADDR [CPU]", "same as info tlb", 1, 2, MON_NEEDS_STOP, cmd_translate},
	{"cpu", "[N]",
	 "make vCPU N the current one: the default CPU, $registers and x's page tables "
	 "(no N: show it)",
	 0, 1, 0, cmd_cpu},
	{"x", "/FMT ADDR",
	 "guest-virtual memory (the current vCPU's page tables); FMT: count, "
	 "b/h/w/g, x/d/u/o/c/s, i: instructions (as GDB's x)",
	 1, 1, MON_NEEDS_STOP | MON_FMT_SUFFIX, cmd_x},
	{"xp", "/FMT ADDR", "guest-physical memory; FMT as for x", 1, 1,
	 MON_NEEDS_STOP | MON_FMT_SUFFIX, cmd_xp},
	{"info hypercalls", "", "count and total time of each hypercall port", 0, 0, 0,
	 cmd_info_hypercalls},
	{"info vm", "", "image, memory and slots, vCPUs, boot info", 0, 0, 0, cmd_info_vm},
	{"stop", "", "stop every vCPU (console; under GDB use Ctrl-C)", 0, 0, MON_CONSOLE_ONLY,
	 cmd_stop},
	{"cont", "", "resume the stopped VM (console; under GDB use continue)", 0, 0,
	 MON_CONSOLE_ONLY, cmd_cont},
	{"step", "[CPU]",
	 "execute one instruction on a vCPU, the others stay stopped "
	 "(console; under GDB use stepi)",
	 0, 1, MON_CONSOLE_ONLY, cmd_step},
	{"dump-guest-core", "[-f] FILE",
	 "write an ELF core file of the guest to a new FILE (-f: replace one; load with gdb APP "
	 "FILE)",
	 1, 2, MON_NEEDS_STOP, cmd_dump_guest_core},
	{"system_reset", "",
	 "start the guest again at its first instruction: memory cleared, the image loaded "
	 "again, its files closed, vCPUs reset",
	 0, 0, 0, cmd_system_reset},
	{"quit", "", "end the VM (exit status 119, as GDB's kill) (console)", 0, 0,
	 MON_CONSOLE_ONLY, cmd_quit},
	{"savevm", "NAME",
	 "save the whole VM in memory as NAME (replaces an older NAME; kept while proxy runs)", 1,
	 1, 0, cmd_savevm},
	{"loadvm", "NAME", "put the VM back in the state savevm NAME saved", 1, 1, 0, cmd_loadvm},
	{"delvm", "NAME", "delete snapshot NAME", 1, 1, 0, cmd_delvm},
	{"info snapshots", "", "the snapshots savevm took: name, size, age, vCPU 0's RIP", 0, 0, 0,
	 cmd_info_snapshots},
	{"migrate", "[HOST:PORT]",
	 "send the guest to a proxy --incoming there (default: --migrate-to); this proxy "
	 "exits 0 once it has the guest (console)",
	 0, 1, MON_CONSOLE_ONLY, cmd_migrate},
#ifdef PROXY_FAULT_INJECTION
	{"x-forbidden-syscall", "", "test build: make a system call the sandbox forbids", 0, 0, 0,
	 cmd_x_forbidden_syscall},
	{"x-open-host", "PATH", "test build: open a host path from proxy itself", 1, 1, 0,
	 cmd_x_open_host},
#endif
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *monitor_command_name(size_t i)
{
	return i < NCOMMANDS ? commands[i].name : NULL;
}

void mon_say(const struct mon *m, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->out(m->arg, buf);
}

int mon_fail(const struct mon *m, int err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(buf) - 1 && (n == 0 || buf[n - 1] != '\n'))
		strcat(buf, "\n");
	m->out(m->arg, buf);
	return err;
}

static void print_usage(const struct mon *m, const struct monitor_command *c)
{
	char head[64];
	snprintf(head, sizeof(head), "%s%s%s", c->name, *c->synopsis == '/' ? "" : " ",
		 c->synopsis);
	mon_say(m, "  %-26s %s\n", head, c->help);
}

static int cmd_help(struct mon *m, int argc, char **argv)
{
	char want[64] = "";
	if (argc == 2)
		snprintf(want, sizeof(want), "%s %s", argv[0], argv[1]);
	else if (argc == 1)
		snprintf(want, sizeof(want), "%s", argv[0]);
	int shown = 0;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i].name;
		size_t n = strlen(want);
		/* "help info" lists every info command; "help x" only x. */
		if (*want && strcmp(name, want) && !(strncmp(name, want, n) == 0 && name[n] == ' '))
			continue;
		if (!shown++ && !*want)
			mon_say(m, "proxy monitor commands:\n");
		print_usage(m, &commands[i]);
	}
	if (!shown)
		return mon_fail(m, -EINVAL, "no command '%s'; try 'help'", want);
	if (!*want)
		mon_say(m, "numbers: 0x hex or decimal; ADDR may also be a register of the current "
			   "vCPU ($rip/$pc, $rsp/$sp, $rbp/$fp, ...) or a sum ($sp+8)\n");
	return 0;
}

/* "info" alone lists the info commands; "info bogus" says which word is wrong. */
static int cmd_info(struct mon *m, int argc, char **argv)
{
	if (argc) {
		char names[256] = "";
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (!strncmp(commands[i].name, "info ", 5))
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", *names ? ", " : "", commands[i].name + 5);
		return mon_fail(m, -EINVAL, "unknown info command '%s'; info commands: %s", argv[0],
				names);
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strncmp(commands[i].name, "info ", 5))
			print_usage(m, &commands[i]);
	return 0;
}

/* Split line into words (in buf); "double quotes" keep spaces. Returns the count,
 * or -1 when there are too many words or a quote is open. */
static int split_words(const char *line, char *buf, size_t buflen, char **words, int max)
{
	int n = 0;
	size_t o = 0;
	const char *p = line;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return n;
		if (n == max)
			return -1;
		words[n++] = buf + o;
		bool quoted = *p == '"';
		p += quoted;
		while (*p && (quoted ? *p != '"' : !isspace((unsigned char)*p))) {
			if (o + 1 >= buflen)
				return -1; /* the line is longer than any command */
			buf[o++] = *p++;
		}
		if (quoted && *p++ != '"')
			return -1;
		buf[o++] = 0;
	}
}

/* Does the command's name equal the first words? Returns how many words it used. */
static int match_name(const struct monitor_command *c, char **words, int n, const char **fmt)
{
	const char *name = c->name;
	int used = 0;
	while (*name) {
		if (used == n)
			return 0;
		const char *sp = strchr(name, ' ');
		size_t len = sp ? (size_t)(sp - name) : strlen(name);
		const char *w = words[used];
		if (strncmp(w, name, len))
			return 0;
		if (w[len] == '/' && !sp && (c->flags & MON_FMT_SUFFIX))
			*fmt = w + len + 1;
		else if (w[len])
			return 0;
		used++;
		name += len + (sp ? 1 : 0);
	}
	return used;
}

static const struct monitor_command *find_command(char **words, int n, int *used, const char **fmt)
{
	const struct monitor_command *best = NULL;
	*used = 0;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *f = "";
		int u = match_name(&commands[i], words, n, &f);
		if (u > *used) { /* "info cpus" wins over "info" */
			best = &commands[i];
			*used = u;
			*fmt = f;
		}
	}
	return best;
}

/* Beside a debugger (listen mode, or a guest GDB let run) the console has no all-stop
 * of its own: the snapshot module's pause holds the vCPUs for the command, unseen by
 * GDB (no stop is reported), as QEMU's monitor does. */
static int run_paused(struct mon *m, const struct monitor_command *c, int argc, char **argv)
{
	char err[256];
	if (!m->vm->snap)
		return mon_fail(m, -EBUSY,
				"the VM is running under GDB's control: interrupt it in "
				"GDB first (Ctrl-C), then ask again");
	if (snapshot_pause(m->vm, err, sizeof(err)))
		return mon_fail(m, -EBUSY, "%s", err);
	m->was_running = true;
	int rc = c->fn(m, argc, argv);
	snapshot_resume(m->vm);
	return rc;
}

/* Console: make sure no vCPU is inside KVM_RUN while the command reads state. */
static int run_stopped(struct mon *m, const struct monitor_command *c, int argc, char **argv)
{
	char err[256];
	if (vm_is_quiescent(m->vm))
		return c->fn(m, argc, argv);
	if (!m->vm->ctl)
		return run_paused(m, c, argc, argv);
	int rc = vmctl_stop(m->vm, false, err, sizeof(err));
	if (rc)
		return mon_fail(m, rc, "%s", err);
	m->was_running = true;
	rc = c->fn(m, argc, argv);
	vmctl_resume(m->vm);
	return rc;
}

static int run_line(struct mon *m, const char *line)
{
	char buf[1024];
	char *words[MON_MAX_ARGS + 2];
	int n = split_words(line, buf, sizeof(buf), words, MON_MAX_ARGS + 2);
	if (n < 0)
		return mon_fail(m, -EINVAL,
				"cannot parse '%.60s' (too long, too many words or an open quote)",
				line);
	if (n == 0)
		return 0;
	int used;
	const char *fmt = "";
	const struct monitor_command *c = find_command(words, n, &used, &fmt);
	if (!c)
		return mon_fail(m, -EINVAL, "unknown command '%s'; try 'help'", words[0]);
	int argc = n - used;
	if (argc < c->min_args || argc > c->max_args) {
		mon_say(m, "usage:\n");
		print_usage(m, c);
		return -EINVAL;
	}
	m->fmt = fmt;
	if ((c->flags & MON_CONSOLE_ONLY) && !m->console)
		return mon_fail(m, -EPERM,
				"'%s': GDB controls execution here: use continue, "
				"Ctrl-C, stepi or kill",
				c->name);
	if ((c->flags & MON_NEEDS_STOP) && m->console)
		return run_stopped(m, c, argc, words + used);
	return c->fn(m, argc, words + used);
}

/* The vCPU `cpu N` chose, per front end as each QEMU monitor has its own: [0] GDB's
 * `monitor`, [1] the console. Process-wide like the console's readline state: a
 * process runs one VM, and the choice must outlive the command that made it. */
static _Atomic unsigned selected_cpu[2];

static int run_front_end(struct vm *vm, bool console, const char *line, gdb_output_fn out,
			 void *arg)
{
	unsigned cpu = atomic_load(&selected_cpu[console]);
	struct mon m = {.vm = vm,
			.out = out,
			.arg = arg,
			.console = console,
			.cpu = cpu < vm->ncpus ? cpu : 0};
	return run_line(&m, line);
}

void mon_select_cpu(struct mon *m, unsigned cpu)
{
	m->cpu = cpu;
	atomic_store(&selected_cpu[m->console], cpu);
}

int monitor_run(struct vm *vm, const char *line, gdb_output_fn out, void *arg)
{
	return run_front_end(vm, false, line, out, arg);
}

int monitor_run_console(struct vm *vm, const char *line, gdb_output_fn out, void *arg)
{
	return run_front_end(vm, true, line, out, arg);
}

/* ---- argument parsers ------------------------------------------------------ */

struct reg_name {
	const char *name;
	size_t off;
	bool sreg;
};

/* KVM's names, then GDB's aliases ($pc, $sp, $fp, $eflags) and the segment bases. */
#define R(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct kvm_regs, f), false                                             \
	}
#define S(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct kvm_sregs, f), true                                             \
	}
/* clang-format off */
static const struct reg_name reg_names[] = {
	R("rax", rax), R("rbx", rbx), R("rcx", rcx), R("rdx", rdx), R("rsi", rsi),
	R("rdi", rdi), R("rsp", rsp), R("rbp", rbp), R("r8", r8), R("r9", r9), R("r10", r10),
	R("r11", r11), R("r12", r12), R("r13", r13), R("r14", r14), R("r15", r15),
	R("rip", rip), R("rflags", rflags), S("cr0", cr0), S("cr2", cr2), S("cr3", cr3),
	S("cr4", cr4), S("cr8", cr8), S("efer", efer), S("apic_base", apic_base),
	S("fs_base", fs.base), S("gs_base", gs.base),
	R("pc", rip), R("sp", rsp), R("fp", rbp), R("eflags", rflags),
};
/* clang-format on */
#undef R
#undef S

static int parse_register(const struct mon *m, const char *name, uint64_t *out)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++) {
		if (strcmp(reg_names[i].name, name))
			continue;
		if (vcpu_get_state(&m->vm->vcpus[m->cpu], &r, &s))
			return mon_fail(m, -EIO, "cannot read the registers of vCPU %u", m->cpu);
		const char *base = reg_names[i].sreg ? (const char *)&s : (const char *)&r;
		memcpy(out, base + reg_names[i].off, 8);
		return 0;
	}
	return mon_fail(m, -EINVAL,
			"unknown register '$%s' (rax...r15, rip/pc, rsp/sp, rbp/fp, "
			"rflags/eflags, cr0, cr2, cr3, cr4, cr8, efer, apic_base, fs_base, "
			"gs_base)",
			name);
}

static int not_a_value(const struct mon *m, const char *word)
{
	return mon_fail(m, -EINVAL,
			"'%s' is not a number (0x hex or decimal), a register ($rip) or a sum "
			"of them ($sp+8)",
			word);
}

/* One term of a sum at *p: $register or a number; *p moves past it. */
static int parse_term(const struct mon *m, const char *word, const char **p, uint64_t *v)
{
	const char *s = *p;
	if (*s == '$') {
		char name[16];
		size_t n = strspn(s + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
		snprintf(name, sizeof(name), "%.*s", (int)n, s + 1);
		*p = s + 1 + n;
		return parse_register(m, name, v);
	}
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (!isdigit((unsigned char)*s) || errno)
		return not_a_value(m, word);
	*p = end;
	return 0;
}

int mon_parse_value(const struct mon *m, const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t sum = 0, v;
	bool minus = false;
	for (;;) {
		if (parse_term(m, s, &p, &v))
			return -EINVAL;
		sum = minus ? sum - v : sum + v;
		if (!*p)
			break;
		if (*p != '+' && *p != '-')
			return not_a_value(m, s);
		minus = *p++ == '-';
	}
	*out = sum;
	return 0;
}

int mon_parse_cpu(const struct mon *m, const char *s, unsigned *cpu)
{
	uint64_t v = m->cpu;
	if (s && mon_parse_value(m, s, &v))
		return -EINVAL;
	if (v >= m->vm->ncpus)
		return mon_fail(m, -EINVAL, "no vCPU %llu (this VM has %u)", (unsigned long long)v,
				m->vm->ncpus);
	*cpu = (unsigned)v;
	return 0;
}
