/* monitor_internal.h: what the monitor's command files share: the context a
 * command runs in, output, argument parsers and the handlers of the table in
 * monitor.c. */
#ifndef PROXY_MONITOR_INTERNAL_H
#define PROXY_MONITOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "monitor.h"

#define MON_MAX_ARGS 8

struct mon {
	struct vm *vm;
	gdb_output_fn out;
	void *arg;
	bool console;	  /* the console front end (else GDB's `monitor`) */
	bool was_running; /* the VM ran until this command stopped it */
	unsigned cpu;	  /* the current vCPU (`cpu N`): default CPU, $reg, x's page tables */
	const char *fmt;  /* x/FMT, xp/FMT: the text after '/', or "" */
};

void mon_say(const struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the message and return err (a negative errno). */
int mon_fail(const struct mon *m, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A number (0x hex, decimal), a register of the current vCPU ($rip, $pc, $sp, $cr3,
 * ...) or a sum of them ($sp+8, $rip-0x10). */
int mon_parse_value(const struct mon *m, const char *s, uint64_t *out);
/* A vCPU index; NULL gives the current vCPU. Prints the error itself. */
int mon_parse_cpu(const struct mon *m, const char *s, unsigned *cpu);
/* Make `cpu` the current vCPU of this front end, for this and later commands. */
void mon_select_cpu(struct mon *m, unsigned cpu);

/* Guest memory, guest-virtual through a CR3 or guest-physical (monitor_cmds_mem.c). */
struct mon_memsrc {
	const struct guest_mem *mem;
	bool phys;
	uint64_t cr3;
};
/* Bytes read from addr on, stopping at the first unmapped or non-RAM byte. */
size_t mon_read_mem(const struct mon_memsrc *src, uint64_t addr, void *buf, size_t len);

/* monitor_cmds_cpu.c */
int cmd_info_cpus(struct mon *m, int argc, char **argv);
int cmd_info_registers(struct mon *m, int argc, char **argv);
int cmd_cpu(struct mon *m, int argc, char **argv);
int cmd_stop(struct mon *m, int argc, char **argv);
int cmd_cont(struct mon *m, int argc, char **argv);
int cmd_step(struct mon *m, int argc, char **argv);
int cmd_quit(struct mon *m, int argc, char **argv);

/* monitor_cmds_mem.c */
int cmd_info_mem(struct mon *m, int argc, char **argv);
int cmd_translate(struct mon *m, int argc, char **argv);
int cmd_x(struct mon *m, int argc, char **argv);
int cmd_xp(struct mon *m, int argc, char **argv);

/* monitor_cmds_disasm.c: x/Ni, xp/Ni */
int mon_disassemble(const struct mon *m, const struct mon_memsrc *src, uint64_t addr,
		    unsigned count);

/* monitor_cmds_lapic.c */
int cmd_info_lapic(struct mon *m, int argc, char **argv);

/* monitor_cmds_vm.c */
int cmd_info_vm(struct mon *m, int argc, char **argv);
int cmd_info_hypercalls(struct mon *m, int argc, char **argv);
int cmd_dump_guest_core(struct mon *m, int argc, char **argv);
int cmd_system_reset(struct mon *m, int argc, char **argv);

/* monitor_cmds_snap.c */
int cmd_savevm(struct mon *m, int argc, char **argv);
int cmd_loadvm(struct mon *m, int argc, char **argv);
int cmd_delvm(struct mon *m, int argc, char **argv);
int cmd_info_snapshots(struct mon *m, int argc, char **argv);
int cmd_migrate(struct mon *m, int argc, char **argv);

#ifdef PROXY_FAULT_INJECTION
/* monitor_cmds_fault.c: test builds only */
int cmd_x_forbidden_syscall(struct mon *m, int argc, char **argv);
int cmd_x_open_host(struct mon *m, int argc, char **argv);
#endif

#endif
