/* tools.c: set-up and tear-down of the developer tools, in the order they need. */
#include "tools.h"

#include <stdio.h>

#include "console.h"
#include "coredump.h"
#include "log.h"
#include "stats.h"
#include "trace.h"
#include "vmctl.h"

void tools_init(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	if (cfg->trace)
		trace_init(vm, cfg->trace);
	/* Under GDB the debugger owns execution; the console only looks. */
	if (cfg->monitor && !cfg->debug)
		vmctl_init(vm);
}

void tools_start(struct vm *vm)
{
	if (vm->cfg->monitor)
		console_start(vm);
}

static bool guest_failed(int status)
{
	return status == STATUS_TRIPLE_FAULT || status == STATUS_UNHANDLED_IO ||
	       status == STATUS_INTERNAL_ERROR;
}

static void dump_core(struct vm *vm)
{
	char err[512];
	struct coredump_info info;
	const char *path = vm->cfg->coredump;
	/* The configured path: each failing run replaces the previous run's core. */
	if (coredump_write(vm, path, true, &info, err, sizeof(err)))
		warnx_("HERMIT_COREDUMP: %s", err);
	else
		warnx_("guest core dumped to %s (%u vCPUs, %u segments, %llu MiB)", path, vm->ncpus,
		       info.segments, (unsigned long long)(info.bytes >> 20));
}

void tools_finish(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	if (cfg->monitor)
		console_join(vm);
	if (cfg->coredump && guest_failed(vm->exit_status))
		dump_core(vm);
	if (cfg->stats)
		stats_print(vm, stderr);
	trace_close(vm);
}
