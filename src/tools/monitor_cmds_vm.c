/* monitor_cmds_vm.c: whole-VM commands: info vm, info hypercalls, dump-guest-core. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "abi_fdt.h"
#include "coredump.h"
#include "debug.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"
#include "monitor_internal.h"
#include "snapshot.h"
#include "vmctl.h"

static void say_entry_boot_info(const struct mon *m, uint64_t at)
{
	const struct hermit_entry_boot_info *bi = gpa_host(&m->vm->mem, at, sizeof(*bi));
	if (!bi)
		return;
	mon_say(m,
		"boot info at 0x%llx (hermit-entry v4): RAM 0x%llx-0x%llx, image 0x%llx-0x%llx, "
		"serial 0x%x, platform %u, has_pci %u\n",
		(unsigned long long)at, (unsigned long long)bi->phys_addr_start,
		(unsigned long long)bi->phys_addr_end,
		(unsigned long long)bi->kernel_image_addr_start,
		(unsigned long long)bi->kernel_image_addr_end, bi->serial_port_base, bi->platform,
		bi->has_pci);
	mon_say(m,
		"  tls_start 0x%llx tls_filesz 0x%llx tls_memsz 0x%llx tls_align 0x%llx num_cpus "
		"%llu cpu_freq %u kHz\n",
		(unsigned long long)bi->tls_start, (unsigned long long)bi->tls_filesz,
		(unsigned long long)bi->tls_memsz, (unsigned long long)bi->tls_align,
		(unsigned long long)bi->num_cpus, bi->cpu_freq);
}

static void say_boot_info(const struct mon *m)
{
	const struct hermit_boot_info *bi =
		gpa_ptr(&m->vm->mem, HERMIT_BOOT_INFO_ADDR, sizeof(*bi));
	if (m->vm->abi != &rusty_abi || !bi)
		return;
	mon_say(m,
		"boot info at 0x%llx: magic 0x%x version %u base 0x%llx limit 0x%llx "
		"image_size 0x%llx\n",
		HERMIT_BOOT_INFO_ADDR, bi->magic_number, bi->version, (unsigned long long)bi->base,
		(unsigned long long)bi->limit, (unsigned long long)bi->image_size);
	mon_say(m,
		"  tls_start 0x%llx tls_filesz 0x%llx tls_memsz 0x%llx cpu_freq %u MHz "
		"uartport 0x%x\n",
		(unsigned long long)bi->tls_start, (unsigned long long)bi->tls_filesz,
		(unsigned long long)bi->tls_memsz, bi->cpu_freq, bi->uartport);
	mon_say(m,
		"  cpu_online %u possible_cpus %u current_boot_id %u current_stack_address "
		"0x%llx\n",
		__atomic_load_n(&bi->cpu_online, __ATOMIC_RELAXED), bi->possible_cpus,
		bi->current_boot_id, (unsigned long long)bi->current_stack_address);
}

int cmd_info_vm(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct vm *vm = m->vm;
	const struct guest_mem *mem = &vm->mem;
	mon_say(m, "image: %s (%s ABI), entry 0x%llx, base 0x%llx, size 0x%llx\n", vm->cfg->image,
		vm->abi->name, (unsigned long long)vm->image.entry,
		(unsigned long long)vm->image.base,
		(unsigned long long)(vm->image.end - vm->image.base));
	if (vm->image.relocatable)
		mon_say(m,
			"  static-PIE: load bias 0x%llx (program file address + bias = guest "
			"address), %zu relocations applied\n",
			(unsigned long long)vm->image.load_bias, vm->image.nrela);
	mon_say(m, "ABI: %s, guest base 0x%llx\n", vm->abi->label, (unsigned long long)mem->base);
	mon_say(m, "memory: %llu MiB, guest-physical top 0x%llx\n",
		(unsigned long long)(mem->size >> 20), (unsigned long long)mem->limit);
	struct ram_range r[2];
	unsigned n = guest_mem_ranges(mem, r);
	for (unsigned i = 0; i < n; i++)
		mon_say(m, "  RAM %u: guest-physical 0x%llx-0x%llx%s\n", i,
			(unsigned long long)r[i].gpa, (unsigned long long)(r[i].gpa + r[i].size),
			i ? " (above the PCI hole)" : "");
	mon_say(m, "vCPUs: %u, cpu_freq %u MHz, host KVM: %s\n", vm->ncpus, vm->cpu_freq_mhz,
		vm->caps.pvm ? "software (PVM)" : "hardware");
	if (vm->abi == &entry_abi)
		say_entry_boot_info(m, HERMIT_ENTRY_BOOT_INFO);
	else if (abi_fdt_of(vm))
		say_entry_boot_info(m, mem->base + HFDT_BOOT_INFO_OFF);
	else
		say_boot_info(m);
	return 0;
}

int cmd_info_hypercalls(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	mon_say(m, "%-10s %-6s %10s %14s %12s\n", "hypercall", "port", "calls", "total", "average");
	for (unsigned i = 0; i < m->vm->nports; i++) {
		const struct port_handler *h = &m->vm->ports[i];
		uint64_t n = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
		uint64_t ns = __atomic_load_n(&h->total_ns, __ATOMIC_RELAXED);
		mon_say(m, "%-10s 0x%04x %10llu %11.3f ms %9.3f us\n", h->name, h->port,
			(unsigned long long)n, ns / 1e6, n ? ns / 1e3 / (double)n : 0.0);
	}
	return 0;
}

int cmd_dump_guest_core(struct mon *m, int argc, char **argv)
{
	char err[512];
	struct coredump_info info;
	bool overwrite = argc == 2 && !strcmp(argv[0], "-f");
	if (argc == 2 && !overwrite)
		return mon_fail(m, -EINVAL,
				"dump-guest-core: unknown option '%s' (usage: "
				"dump-guest-core [-f] FILE)",
				argv[0]);
	const char *path = argv[argc - 1];
	if (coredump_write(m->vm, path, overwrite, &info, err, sizeof(err)))
		return mon_fail(m, -EIO, "dump-guest-core: %s", err);
	mon_say(m, "wrote %s: %u vCPUs, %u memory segments, %llu MiB of guest memory\n", path,
		m->vm->ncpus, info.segments, (unsigned long long)(info.bytes >> 20));
	return 0;
}

#define RESET_TRIES 400 /* 5 ms apart: a hypercall in progress has 2 s to finish */

/* vm_reset on a VM paused for it (the snapshot module's all-stop, unseen by GDB);
 * a vCPU in a hypercall runs on between two tries to finish it and park. */
static int reset_paused(struct vm *vm, char *err, size_t errlen)
{
	const struct timespec nap = {0, 5000000};
	int rc = -EBUSY;
	for (int i = 0; rc == -EBUSY && i < RESET_TRIES; i++) {
		if (i)
			nanosleep(&nap, NULL);
		if (snapshot_pause(vm, err, errlen))
			return -EBUSY;
		rc = vm_reset(vm, err, errlen);
		snapshot_resume(vm);
	}
	return rc;
}

/* vm_reset on a VM stopped by GDB or the console's `stop`: a vCPU still finishing
 * a hypercall parks by itself. */
static int reset_stopped(struct vm *vm, char *err, size_t errlen)
{
	const struct timespec nap = {0, 5000000};
	int rc = vm_reset(vm, err, errlen);
	for (int i = 0; rc == -EBUSY && i < RESET_TRIES; i++) {
		nanosleep(&nap, NULL);
		rc = vm_reset(vm, err, errlen);
	}
	return rc;
}

/* QEMU's system_reset. A running VM pauses for it and runs on from the first
 * instruction; a stopped one stays stopped there: under GDB, its next stepi or
 * continue stops at once so that GDB reads the new state. */
int cmd_system_reset(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	char err[512];
	bool stopped = vm_is_quiescent(m->vm);
	if (!stopped && !m->vm->snap)
		return mon_fail(m, -ENOTSUP, "system_reset needs the VM stopped here");
	int rc = stopped ? reset_stopped(m->vm, err, sizeof(err))
			 : reset_paused(m->vm, err, sizeof(err));
	if (rc)
		return mon_fail(m, rc, "system_reset: %s", err);
	if (stopped)
		debug_state_replaced(m->vm);
	mon_say(m, "system_reset: the guest starts again at 0x%llx%s\n",
		(unsigned long long)m->vm->image.entry,
		stopped && m->vm->dbg
			? "; GDB sees it at the next stop: stepi or continue stops at once"
			: "");
	return 0;
}
