/* debug_serve.c: the GDB stub's place in proxy: where it listens, what it says.
 *
 * debug_listen opens the stub before the guest runs (a GDB may attach at once);
 * debug_serve serves one debugger after the other until the VM ends: after a
 * detach, a client that vanished or GDB's `disconnect`, the guest runs on and the
 * next GDB attaches to it where it is. Every coming and going is one line on
 * stderr, so a user who sees a guest stop (or resume) knows who did it. The
 * listening line is short; how this host's KVM implements breakpoints and
 * watchpoints is for HERMIT_VERBOSE.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "debug_internal.h"
#include "gdbstub.h"
#include "log.h"

/* Quote `in` for a POSIX shell unless it is made of characters that need none, so a
 * printed command line pastes as it is (an image path with spaces or quotes). */
static void shell_quote(const char *in, char *out, size_t len)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_./+-:@%=,";
	size_t o = 0;

	if (*in && strspn(in, safe) == strlen(in)) {
		snprintf(out, len, "%s", in);
		return;
	}
	for (const char *p = "'"; *p && o + 1 < len; p++)
		out[o++] = *p;
	for (; *in && o + 5 < len; in++) {
		if (*in == '\'') { /* close, an escaped quote, reopen */
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *in;
		}
	}
	snprintf(out + o, len - o, "'");
}

/* The host part of `target remote HOST:PORT`: a wildcard address is reached through
 * loopback, and GDB wants an IPv6 address in brackets. */
static void connect_host(const char *bind, char *out, size_t len)
{
	if (!strcmp(bind, "0.0.0.0") || !strcmp(bind, "::"))
		snprintf(out, len, "localhost");
	else if (strchr(bind, ':'))
		snprintf(out, len, "[%s]", bind);
	else
		snprintf(out, len, "%s", bind);
}

static void print_connect_command(const struct vm *vm, int port)
{
	char image[1024], host[128], target[160], quoted[200];

	shell_quote(vm->cfg->image, image, sizeof(image));
	connect_host(vm->cfg->gdb_bind, host, sizeof(host));
	if (vm->cfg->gdb_socket) /* GDB takes a path that contains a '/' as a Unix socket */
		snprintf(target, sizeof(target), "target remote %s%s",
			 strchr(vm->cfg->gdb_socket, '/') ? "" : "./", vm->cfg->gdb_socket);
	else
		snprintf(target, sizeof(target), "target remote %s:%d", host, port);
	shell_quote(target, quoted, sizeof(quoted));
	warnx_("connect with: gdb %s -ex %s", image, quoted);
}

/* How this host's KVM implements the debugger: worth knowing when a watchpoint is
 * slow, not every time. */
static void print_host_paths(const struct vm *vm)
{
	warnx_("GDB stub on this host (breakpoints: %s, watchpoints: %s)",
	       vm->caps.pvm ? "int3 via emulation failure (software KVM)"
			    : "int3 via KVM_EXIT_DEBUG",
	       vm->dbg->soft_watch ? "single-step emulation: this KVM ignores data breakpoints"
				   : "debug registers");
}

static void print_listening(const struct vm *vm, const char *where, int port)
{
	if (vm->cfg->debug == DEBUG_LISTEN)
		warnx_("listening for GDB on %s (the guest runs; GDB may attach at any time)",
		       where);
	else
		warnx_("waiting for GDB on %s (vCPUs stopped before the first instruction)", where);
	print_connect_command(vm, port);
	if (vm->cfg->verbose)
		print_host_paths(vm);
}

/* After a guest failure the VM ends with its status, whoever ends the session. */
static int ending_status(const struct debug_serve_ctx *c)
{
	const struct debugger *d =
		(const struct debugger *)((const char *)c - offsetof(struct debugger, serve));
	return d->fatal_status ? d->fatal_status : STATUS_KILLED;
}

static void on_stub_event(void *arg, enum gdbstub_event ev, const char *peer)
{
	const struct debug_serve_ctx *c = arg;

	if ((ev == GDBSTUB_EV_DETACHED || ev == GDBSTUB_EV_LOST) &&
	    ending_status(c) != STATUS_KILLED) {
		warnx_("debugger from %s left after the guest's failure; the VM ends (exit "
		       "status %d)",
		       peer, ending_status(c));
		return;
	}
	switch (ev) {
	case GDBSTUB_EV_CONNECTED:
		warnx_("debugger connected from %s (all vCPUs stopped)", peer);
		break;
	case GDBSTUB_EV_REFUSED:
		warnx_("turned away a debugger from %s: another one is attached", peer);
		break;
	case GDBSTUB_EV_DETACHED:
		warnx_("debugger from %s detached; the guest runs on (GDB may attach again on %s)",
		       peer, c->where);
		break;
	case GDBSTUB_EV_LOST:
		warnx_("debugger from %s disconnected without detaching; the guest runs on (GDB "
		       "may attach again on %s)",
		       peer, c->where);
		break;
	case GDBSTUB_EV_NOT_OURS:
		warnx_("turned away a debugger from %s: the stub serves only proxy's user "
		       "(README, Security)",
		       peer);
		break;
	case GDBSTUB_EV_KILLED:
		warnx_("debugger from %s killed the VM (exit status %d)", peer, ending_status(c));
		break;
	}
}

/* A debugger from another host only reaches a stub that was told to listen there. */
static bool listens_beyond_loopback(const char *bind)
{
	return strncmp(bind, "127.", 4) && strcmp(bind, "::1") && strcmp(bind, "localhost") &&
	       strcmp(bind, "::ffff:127.0.0.1");
}

/* --gdb-socket: the stub on a Unix socket instead of TCP; peers are checked with
 * SO_PEERCRED against the same users. */
static void listen_unix(struct vm *vm, struct gdbstub_config *sc)
{
	const struct config *cfg = vm->cfg;
	struct debugger *d = vm->dbg;
	char err[512];

	debug_socket_prepare(cfg);
	sc->unix_path = cfg->gdb_socket;
	sc->remote_ok = false;
	if (gdbstub_open(&d->stub, sc, debug_target(vm), err, sizeof(err)) < 0)
		die("cannot start the GDB stub (%s%s): %s", cfg->gdb_socket_source, cfg->gdb_socket,
		    err);
	debug_socket_settle(cfg);
	snprintf(d->serve.where, sizeof(d->serve.where), "%s", cfg->gdb_socket);
	print_listening(vm, d->serve.where, 0);
}

void debug_listen(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	struct debugger *d = vm->dbg;
	unsigned uids[CONFIG_MAX_TRUSTED_UIDS];
	struct gdbstub_config sc = {.bind_addr = cfg->gdb_bind,
				    .port = cfg->gdb_port,
				    .on_event = on_stub_event,
				    .event_arg = &d->serve,
				    .allowed_uids = uids,
				    .nallowed_uids = config_trusted_uids(cfg, uids),
				    .remote_ok = listens_beyond_loopback(cfg->gdb_bind)};
	char err[512];

	if (cfg->gdb_socket) {
		listen_unix(vm, &sc);
		return;
	}
	if (gdbstub_open(&d->stub, &sc, debug_target(vm), err, sizeof(err)) < 0)
		die("cannot start the GDB stub (port %d from -s/HERMIT_DEBUG_PORT, address %s "
		    "from --gdb-addr/HERMIT_DEBUG_ADDR): %s",
		    cfg->gdb_port, cfg->gdb_bind, err);
	bool v6 = strchr(cfg->gdb_bind, ':') != NULL; /* [::1]:1234, as GDB wants it */
	snprintf(d->serve.where, sizeof(d->serve.where), "%s%s%s:%d", v6 ? "[" : "", cfg->gdb_bind,
		 v6 ? "]" : "", gdbstub_port(d->stub));
	print_listening(vm, d->serve.where, gdbstub_port(d->stub));
}

void debug_serve(struct vm *vm)
{
	struct debugger *d = vm->dbg;

	/* Until the VM ends (or GDB ends it): a detached guest runs on, and the next
	 * debugger attaches to it where it is. */
	int rc;
	while ((rc = gdbstub_serve(d->stub)) == GDBSTUB_DETACHED)
		;
	/* Nobody can attach any more: a VM waiting for a debugger would wait forever. */
	if (rc < 0) {
		warnx_("the GDB stub cannot accept a debugger on %s: %s; ending the VM",
		       d->serve.where, strerror(-rc));
		vm_end(vm, STATUS_SETUP_ERROR);
	}
	gdbstub_close(d->stub);
	d->stub = NULL;
}
