/* uart.c: the kernel log port.
 *
 * The guest writes its log one byte at a time with `outb` to port 0x800. One VM
 * exit per byte is slow, so where KVM offers coalesced port I/O the port is
 * registered as a coalesced zone: bytes collect in a ring shared with KVM and are
 * drained at the next exit of any vCPU. Output is line-buffered so concurrent
 * vCPUs do not interleave within a line.
 */
#include "uart.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hermit_abi.h"
#include "log.h"

#define UART_LINE_MAX 4096

struct uart {
	pthread_mutex_t lock;
	struct kvm_coalesced_mmio_ring *ring; /* NULL without coalescing */
	size_t ring_max;
	char line[UART_LINE_MAX];
	size_t len;
	int verbose;
};

static void flush_locked(struct uart *u)
{
	size_t off = 0;
	while (off < u->len) {
		ssize_t n = write(STDERR_FILENO, u->line + off, u->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	u->len = 0;
}

static void put_locked(struct uart *u, uint8_t c)
{
	if (!u->verbose)
		return;
	u->line[u->len++] = (char)c;
	if (c == '\n' || u->len == UART_LINE_MAX)
		flush_locked(u);
}

static void drain_locked(struct uart *u)
{
	struct kvm_coalesced_mmio_ring *r = u->ring;
	while (r->first != r->last) {
		struct kvm_coalesced_mmio *e = &r->coalesced_mmio[r->first];
		for (uint32_t i = 0; i < e->len && i < sizeof(e->data); i++)
			put_locked(u, e->data[i]);
		__atomic_store_n(&r->first, (r->first + 1) % u->ring_max, __ATOMIC_RELEASE);
	}
}

void uart_drain(struct vm *vm)
{
	struct uart *u = vm->uart;
	if (!u || !u->ring || u->ring->first == __atomic_load_n(&u->ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&u->lock);
	drain_locked(u);
	pthread_mutex_unlock(&u->lock);
}

/* Exit observer: log bytes KVM batched since the last exit come before the exit's
 * own effects. */
static void drain_at_exit(struct vcpu *v, void *arg)
{
	(void)arg;
	uart_drain(v->vm);
}

void uart_flush(struct vm *vm)
{
	struct uart *u = vm->uart;
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	if (u->ring)
		drain_locked(u);
	flush_locked(u);
	pthread_mutex_unlock(&u->lock);
}

static void hc_uart(struct vcpu *v, uint16_t port, uint32_t value)
{
	(void)port;
	struct uart *u = v->vm->uart;
	pthread_mutex_lock(&u->lock);
	if (u->ring)
		drain_locked(u); /* keep the order of bytes that were batched before */
	put_locked(u, (uint8_t)value);
	pthread_mutex_unlock(&u->lock);
}

void uart_write(struct vm *vm, const void *buf, size_t len)
{
	struct uart *u = vm->uart;
	if (!u || !u->verbose)
		return; /* the kernel log is shown only under HERMIT_VERBOSE */
	pthread_mutex_lock(&u->lock);
	if (u->ring)
		drain_locked(u);
	for (size_t i = 0; i < len; i++)
		put_locked(u, ((const uint8_t *)buf)[i]);
	pthread_mutex_unlock(&u->lock);
}

/* Map the ring KVM shares through vCPU 0's mmap and register the port as a zone. */
static void setup_coalescing(struct vm *vm, struct uart *u)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!vm->caps.coalesced_pio || !vm->cfg->verbose ||
	    (long)vm->run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page)
		return;
	struct kvm_coalesced_mmio_zone zone = {.addr = HERMIT_UART_PORT, .size = 1, .pio = 1};
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return; /* the plain path still works */
	u->ring = (void *)((uint8_t *)vm->vcpus[0].run + KVM_COALESCED_MMIO_PAGE_OFFSET * page);
	u->ring_max = (size_t)(page - sizeof(struct kvm_coalesced_mmio_ring)) /
		      sizeof(struct kvm_coalesced_mmio);
}

void uart_register(struct vm *vm)
{
	struct uart *u = calloc(1, sizeof(*u));
	if (!u)
		die("out of memory");
	pthread_mutex_init(&u->lock, NULL);
	u->verbose = vm->cfg->verbose;
	vm->uart = u;
	setup_coalescing(vm, u);
	vm_register_port(vm, HERMIT_PORT_UART, "uart", hc_uart);
	const struct exit_observer drain = {.on_exit = drain_at_exit};
	vm_register_exit_observer(vm, &drain);
}
