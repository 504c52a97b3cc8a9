/* hooks.c: the registries through which modules plug into the core.
 *
 * Everything here is filled from main.c and the modules' set-up functions before
 * the vCPU threads start, and only read afterwards, so no lock is needed. A full
 * registry is a programming error (raise the limit in vm.h).
 */
#include "vm.h"

#include "log.h"

static struct port_handler *port_slot(struct vm *vm, uint16_t port, const char *name)
{
	struct port_handler *h = vm_find_port(vm, port);
	if (!h) {
		if (vm->nports == VM_MAX_PORTS)
			die("internal: too many port handlers (raise VM_MAX_PORTS)");
		h = &vm->ports[vm->nports++];
		*h = (struct port_handler){.port = port};
	}
	h->name = name;
	return h;
}

void vm_register_port(struct vm *vm, uint16_t port, const char *name, port_handler_fn fn)
{
	port_slot(vm, port, name)->fn = fn;
}

void vm_register_port_read(struct vm *vm, uint16_t port, const char *name, port_read_fn read)
{
	port_slot(vm, port, name)->read = read;
}

struct port_handler *vm_find_port(struct vm *vm, uint16_t port)
{
	for (unsigned i = 0; i < vm->nports; i++)
		if (vm->ports[i].port == port)
			return &vm->ports[i];
	return NULL;
}

static void check_room(unsigned used, const char *what)
{
	if (used == VM_MAX_HOOKS)
		die("internal: too many %s (raise VM_MAX_HOOKS)", what);
}

void vm_register_exit_hook(struct vm *vm, exit_hook_fn fn, void *arg)
{
	check_room(vm->nhooks, "exit hooks");
	vm->hooks[vm->nhooks].fn = fn;
	vm->hooks[vm->nhooks].arg = arg;
	vm->nhooks++;
}

void vm_register_park_hook(struct vm *vm, const struct park_hook *h)
{
	check_room(vm->npark_hooks, "park hooks");
	vm->park_hooks[vm->npark_hooks++] = *h;
}

void vm_register_exit_observer(struct vm *vm, const struct exit_observer *o)
{
	check_room(vm->nobservers, "exit observers");
	vm->observers[vm->nobservers++] = *o;
}

void vm_register_end_notifier(struct vm *vm, end_notifier_fn fn, void *arg)
{
	check_room(vm->nend_notifiers, "end notifiers");
	vm->end_notifiers[vm->nend_notifiers].fn = fn;
	vm->end_notifiers[vm->nend_notifiers].arg = arg;
	vm->nend_notifiers++;
}

void vm_register_fatal_hook(struct vm *vm, fatal_hook_fn fn, void *arg)
{
	check_room(vm->nfatal_hooks, "fatal hooks");
	vm->fatal_hooks[vm->nfatal_hooks].fn = fn;
	vm->fatal_hooks[vm->nfatal_hooks].arg = arg;
	vm->nfatal_hooks++;
}

void vm_register_guest_exit_hook(struct vm *vm, guest_exit_hook_fn fn, void *arg)
{
	check_room(vm->nguest_exit_hooks, "guest-exit hooks");
	vm->guest_exit_hooks[vm->nguest_exit_hooks].fn = fn;
	vm->guest_exit_hooks[vm->nguest_exit_hooks].arg = arg;
	vm->nguest_exit_hooks++;
}

void vm_register_reset_hook(struct vm *vm, reset_hook_fn fn, void *arg)
{
	if (vm->nreset_hooks == VM_MAX_RESET_HOOKS)
		die("internal: too many reset hooks (raise VM_MAX_RESET_HOOKS)");
	vm->reset_hooks[vm->nreset_hooks].fn = fn;
	vm->reset_hooks[vm->nreset_hooks].arg = arg;
	vm->nreset_hooks++;
}
