/* main.c: proxy's entry point: configuration, VM set-up, run, exit status.
 *
 * `proxy [options] <unikernel> [args...]` loads the image, creates the VM with
 * its vCPUs in 64-bit mode, registers the hypercall modules and runs the guest
 * until it exits (status = its exit code), fails (a documented status, see log.h)
 * or a signal ends it. With a debugging mode (HERMIT_DEBUG=1 or listen, -d, -s) the
 * GDB stub serves one debugger after the other in this thread until the VM ends.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abi.h"
#include "boot.h"
#include "checkpoint.h"
#include "config.h"
#include "debug.h"
#include "record.h"
#include "emulate.h"
#include "hypercall.h"
#include "log.h"
#include "monitor.h"
#include "peer_uid.h"
#include "sandbox.h"
#include "tools.h"
#include "uart.h"
#include "vm.h"

static void say_image(const struct vm *vm)
{
	const struct image *img = &vm->image;
	char reloc[96] = "";
	if (img->relocatable)
		snprintf(reloc, sizeof(reloc), " (static-PIE: load bias 0x%llx, %zu relocations)",
			 (unsigned long long)img->load_bias, img->nrela);
	warnx_("%s: %s ABI (%s), entry 0x%llx, loaded at 0x%llx%s", vm->cfg->image, vm->abi->label,
	       vm->cfg->restore || vm->cfg->incoming ? "as in the checkpoint"
	       : vm->cfg->abi == ABI_AUTO	     ? "detected"
						     : "forced by HERMIT_ABI",
	       (unsigned long long)img->entry, (unsigned long long)img->base, reloc);
}

/* The image, the memory and the irqchip. A restored guest's RAM comes from its
 * checkpoint (restore_load), not from the image, which then only says where the
 * guest lives (ABI, load bias, symbols for the debugger); it is the file the
 * restore checked, open as image_fd (-1 on a fresh boot: opened here). */
static void load_image(struct vm *vm, bool resumed, int image_fd)
{
	const struct config *c = vm->cfg;
	char err[1024];
	if (image_fd >= 0 ? image_open_fd(&vm->image, image_fd, c->image, err, sizeof(err))
			  : image_open(&vm->image, c->image, err, sizeof(err)))
		die("%s", err);
	vm->abi = abi_select(vm);
	if (vm->abi->place) {
		vm->abi->place(vm);
	} else {
		guest_mem_layout(&vm->mem, c->mem_size);
		if (image_check_layout(&vm->image, &vm->mem, err, sizeof(err)))
			die("%s", err);
	}
	if (c->verbose)
		say_image(vm);
	if (vm->abi->inspect_image) /* while the file is open */
		vm->abi->inspect_image(vm);
	/* Before memory is registered: incremental checkpoints need KVM's dirty log. */
	if (c->snapshots)
		snapshot_init(vm, c->checkpoint_interval && !c->full_checkpoint);
	if (c->debug && !c->checkpoint_interval) /* reverse execution reads the dirty log */
		record_prepare_memory(vm);
	vm_setup_memory(vm);
	if (!resumed && image_load(&vm->image, &vm->mem, err, sizeof(err)))
		die("%s", err);
	if (!c->debug && !c->monitor) /* else open for system_reset (core/reset.c) */
		image_close(&vm->image);
}

/* The ABI's boot tables (GDT, page tables, what else it places in RAM). */
static void write_boot_tables(struct vm *vm)
{
	if (vm->abi->write_tables) {
		vm->abi->write_tables(vm);
	} else {
		boot_write_gdt(&vm->mem);
		boot_write_page_tables(&vm->mem);
	}
}

/* Reset hook: a fresh boot's tables and boot info in the reloaded RAM. */
static void reset_boot(struct vm *vm, void *arg)
{
	(void)arg;
	write_boot_tables(vm);
	vm->abi->write_boot_info(vm);
}

static void create_vcpus(struct vm *vm)
{
	vm->vcpus = calloc(vm->ncpus, sizeof(struct vcpu));
	if (!vm->vcpus)
		die("out of memory");
	vm_load_cpuid(vm);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_create(vm, &vm->vcpus[i], i);
	vm->cpu_freq_mhz = boot_cpu_freq_mhz(vm->vcpus[0].fd);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_set_boot_state(&vm->vcpus[i]);
}

static void register_modules(struct vm *vm)
{
	/* system_reset: the boot tables first, then the modules' state. */
	vm_register_reset_hook(vm, reset_boot, NULL);
	vm_register_reset_hook(vm, hypercall_reset, NULL);
	files_init(vm);
	uart_register(vm);
	vm->abi->register_ports(vm);
	if (vm->cfg->debug)
		debug_init(vm,
			   monitor_run); /* its exit hook must see planted int3s before emulate's */
	emulate_register(vm);
}

/* The end signals (vm.h) end the VM cleanly from this thread; every other thread
 * blocks them. */
static void *signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	vm_end_signal_set(&set);
	int sig;
	while (sigwait(&set, &sig) == 0)
		vm_end_by_signal(vm, sig);
	return NULL;
}

/* The end notifiers (debugger, console) must run when a signal ends the VM, which a
 * handler cannot do: then a thread waits for the signals. Otherwise a handler ends
 * the VM and no thread is spent on it. */
static void handle_signals(struct vm *vm)
{
	pthread_t sig_thread;
	if (!vm->nend_notifiers)
		vm_end_on_signals(vm);
	else if (pthread_create(&sig_thread, NULL, signal_thread, vm))
		die("cannot start the signal thread");
}

/* After set-up, proxy keeps only what it still needs (src/sandbox): the host paths
 * the guest was given and its own outputs, and the system calls of the run. */
static void confine(struct vm *vm)
{
	const struct config *c = vm->cfg;
#ifdef PROXY_SANITIZED
	c = NULL; /* the sanitizer runtime needs ptrace and exec: see sandbox_print_info */
#endif
	if (!c || !c->sandbox)
		return;
	struct sandbox_paths paths = {0}; /* 16 KiB, once, on the main thread's stack */
	struct sandbox_needs needs = {.coredump = c->coredump,
				      .history = c->monitor ? c->monitor_history : NULL,
				      .debugger = c->debug || c->monitor,
				      .tmpdir = c->tmpdir};
	sandbox_plan(&needs, &paths);
	for (int i = 0; i < c->nmounts; i++) /* the guest's files: what --mount gave */
		sandbox_allow(&paths, c->mounts[i].host,
			      c->mounts[i].ro ? SANDBOX_READ : SANDBOX_READ_WRITE);
	if (c->checkpoint_interval) /* made by checkpoint_prepare */
		sandbox_allow(&paths, c->checkpoint_dir, SANDBOX_READ_WRITE);
	if (uhyve_if_tempdir(vm)) /* files a Hermit FDT guest creates outside its mounts */
		sandbox_allow(&paths, uhyve_if_tempdir(vm), SANDBOX_READ_WRITE);
	char why[256] = "";
	int abi = sandbox_landlock(&paths, why, sizeof(why));
	if (abi < 0)
		die("cannot confine proxy with Landlock: %s (--no-sandbox runs without)", why);
	if (sandbox_seccomp(why, sizeof(why)) < 0)
		die("cannot install the system-call filter: %s (--no-sandbox runs without)", why);
	if (c->verbose && abi)
		warnx_("sandbox: Landlock ABI %d (%u paths), seccomp allow-list", abi, paths.n);
	else if (c->verbose)
		warnx_("sandbox: no Landlock (%s), seccomp allow-list", why);
}

/* --user: everything that needed root is open by now. */
static void drop_privileges(const struct config *c)
{
	char why[256];
	if (!c->user)
		return;
	if (sandbox_drop_privileges(c->user, c->user_uid, c->user_gid, why, sizeof(why)))
		die("--user %s: %s", c->user, why);
	if (c->verbose)
		warnx_("running as %s (uid %u, gid %u)", c->user, c->user_uid, c->user_gid);
}

/* SIGUSR2 with --migrate-to: send the guest away, from a thread of its own (the
 * signal may come while the VM is busy; migrate_send pauses it). */
static void *migrate_signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int sig;
	char err[768];
	while (!atomic_load(&vm->ending) && sigwait(&set, &sig) == 0)
		if (migrate_send(vm, NULL, err, sizeof(err)))
			warnx_("SIGUSR2: migration failed: %s; the guest goes on here", err);
		else
			break;
	return NULL;
}

static void handle_migration_signal(struct vm *vm)
{
	pthread_t t;
	if (vm->cfg->migrate_to && pthread_create(&t, NULL, migrate_signal_thread, vm))
		die("cannot start the migration thread");
	if (vm->cfg->migrate_to)
		pthread_detach(t); /* it may wait for a signal that never comes */
}

/* Who may be on the other end of a migration without --migration-key (whose
 * handshake proves the peer instead): a proxy of proxy's own user (and root, and
 * who ran sudo), as for the debug port, on loopback (a keyless migration is
 * refused anywhere else). */
struct migration_peers {
	const struct config *cfg;
	struct peer_tables tables; /* opened at start: the sandbox closes /proc later */
};

static bool migration_peer_ok(int fd, void *ctx)
{
	struct migration_peers *mp = ctx;
	long uid = peer_uid(&mp->tables, fd);
	unsigned uids[CONFIG_MAX_TRUSTED_UIDS], n = config_trusted_uids(mp->cfg, uids);
	bool ok = false;
	for (unsigned i = 0; i < n; i++)
		ok |= uid == (long)uids[i];
	if (!ok && mp->cfg->incoming && uid == PEER_UID_UNPROVEN) /* e.g. a TIME_WAIT row */
		warnx_("--incoming: turned away a connection whose owner is not proven (uid not "
		       "proven): only proxy's user may send it a guest (or a proxy with the same "
		       "--migration-key)");
	else if (!ok && mp->cfg->incoming)
		warnx_("--incoming: turned away a connection from uid %ld: only proxy's user may "
		       "send it a guest (or a proxy with the same --migration-key)",
		       uid);
	return ok;
}

/* --restore, --incoming: where the guest comes from, and the VM it needs. */
static bool open_resumed_guest(struct config *c, struct restore_source *src, struct snap_config *sc,
			       struct migration_peers *peers)
{
	char err[1024];
	if (c->restore && checkpoint_open_latest(c, src, err, sizeof(err)))
		die("--restore: %s", err);
	if (c->incoming)
		migrate_accept(c, src, migration_peer_ok, peers);
	if (!c->restore && !c->incoming)
		return false;
	/* The image, arguments, vCPUs and memory come from the checkpoint; the file
	 * policy and environment stay this command line's. */
	restore_read_config(src, sc, c);
	return true;
}

static void block_signals(const struct config *c)
{
	sigset_t set;
	vm_end_signal_set(&set);
	sigaddset(&set, SIGUSR1);
	if (c->migrate_to)
		sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void wait_for_end(struct vm *vm)
{
	struct pollfd p = {.fd = vm->end_fd, .events = POLLIN};
	while (!atomic_load(&vm->ending))
		poll(&p, 1, -1);
}

/* A closed fd 0, 1 or 2 would be taken by the next open: /dev/kvm, the VM, an
 * eventfd, which the guest's console writes would then reach. */
static void open_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int null = open("/dev/null", O_RDWR);
		if (null != fd) /* the lowest free descriptor: fd, unless that failed */
			_exit(STATUS_SETUP_ERROR);
	}
}

int main(int argc, char **argv, char **envp)
{
	static struct config cfg;
	static struct vm vm;
	static struct restore_source src; /* --restore, --incoming */
	static struct snap_config sc;
	static struct migration_peers peers;
	char err[4096];
	/* First: a closed stdout, a migration peer gone, are error results, not our
	 * death (--incoming writes to its peer long before the VM exists). */
	signal(SIGPIPE, SIG_IGN);
	open_standard_fds();
	int rc = config_parse(&cfg, argc, argv, envp, err, sizeof(err));
	if (rc == CONFIG_EXIT_OK)
		return 0;
	if (rc == CONFIG_USAGE) {
		fprintf(stderr, "proxy: %s", err);
		return STATUS_USAGE;
	}
	if (rc)
		die("%s", err);

	peers.cfg = &cfg;
	if (cfg.snapshots)
		peer_tables_open(&peers.tables);
	else
		peers.tables = (struct peer_tables){-1, -1};
	/* Before the signals are blocked: a SIGTERM ends a target still waiting. */
	bool resumed = open_resumed_guest(&cfg, &src, &sc, &peers);
	block_signals(&cfg);
	if (cfg.host_info)
		sandbox_print_info(cfg.sandbox);
	if (cfg.host_info && host_caps_print_if_no_kvm())
		return 1;
	vm_create(&vm, &cfg);
	if (cfg.host_info) {
		host_caps_print(&vm);
		return 0;
	}
	fd_table_init(&vm);
	load_image(&vm, resumed, resumed ? sc.image_fd : -1);
	if (!resumed)
		write_boot_tables(&vm);
	create_vcpus(&vm);
	if (!resumed)
		vm.abi->write_boot_info(&vm);
	register_modules(&vm);
	tools_init(&vm);
	checkpoint_prepare(&vm);
	if (cfg.snapshots) /* --migrate-to, or the monitor's migrate */
		migrate_prepare(&vm, migration_peer_ok, &peers);

	if (cfg.debug)
		debug_listen(&vm); /* before the guest runs: a debugger may attach at once */
	drop_privileges(&cfg);
	/* After --user: the guest's files reopen with the rights it will have. Before
	 * any vCPU runs: a refusal leaves nothing half-restored. */
	if (resumed)
		restore_load(&vm, &src, &sc);
	/* Before any thread that opens files exists: Landlock binds the calling thread
	 * and the ones it creates later. */
	confine(&vm);
	handle_signals(&vm);
	handle_migration_signal(&vm);
	if (resumed)
		restore_confirm(&src); /* nothing that can fail is left before the vCPUs run */
	/* Without a debugger this thread has nothing else to do: it runs vCPU 0. */
	vcpu_start_threads(&vm, cfg.debug ? 0 : 1);
	tools_start(&vm);
	checkpoint_start(&vm);
	if (cfg.debug)
		debug_serve(&vm);
	else
		vcpu_run_here(&vm.vcpus[0]);
	wait_for_end(&vm);
	vcpu_join_threads(&vm);
	checkpoint_join(&vm);
	ram_join(&vm);
	uart_flush(&vm);
	uart_report_panic(&vm);
	tools_finish(&vm);
	/* Where was the guest when a signal ended it? Worth knowing for a hang. */
	if (cfg.verbose && vm_status_is_end_signal(vm.exit_status))
		for (unsigned i = 0; i < vm.ncpus; i++)
			vcpu_dump_registers(&vm.vcpus[i]);
	fd_table_close_all(&vm);
	image_close(&vm.image);
	return vm.exit_status;
}
