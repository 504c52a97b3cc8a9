/* uart.c: the kernel log port.
 *
 * The guest writes its log one byte at a time with `outb` to port 0x800. One VM
 * exit per byte is slow, so where KVM offers coalesced port I/O the port is
 * registered as a coalesced zone: bytes collect in a ring shared with KVM and are
 * drained at the next exit of any vCPU. Output is line-buffered so concurrent
 * vCPUs do not interleave within a line.
 *
 * Without HERMIT_VERBOSE the log is dropped, but its lines are still read for the
 * kernel's panic line ("[1][PANIC] panicked at FILE:L:C:" and the message on the
 * next line in Hermit 0.6; "[0][!!!PANIC!!!] ..." in older RustyHermit): a guest
 * that exits non-zero after one gets it named on stderr (uart_report_panic), so
 * a kernel panic never looks like a silent exit 1.
 */
#include "uart.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hermit_abi.h"
#include "log.h"

#define UART_LINE_MAX  4096
#define UART_PANIC_MAX 512

enum panic_state { PANIC_NONE, PANIC_WANTS_MESSAGE, PANIC_SEEN };

struct uart {
	pthread_mutex_t lock;
	struct kvm_coalesced_mmio_ring *ring; /* NULL without coalescing */
	size_t ring_max;
	char line[UART_LINE_MAX];
	size_t len;
	int verbose;
	enum panic_state panic_state; /* the first panic counts: later ones follow from it */
	char panic[UART_PANIC_MAX];   /* its line (and message line), printable, no newline */
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

/* "[<digits>][PANIC] " or "[<digits>][!!!PANIC!!!] " at the start of the line. */
bool uart_is_panic_line(const char *line, size_t len)
{
	size_t i = 1;
	if (len < 2 || line[0] != '[' || !isdigit((unsigned char)line[1]))
		return false;
	while (i < len && isdigit((unsigned char)line[i]))
		i++;
	static const char *const tags[] = {"][PANIC] ", "][!!!PANIC!!!] "};
	for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		size_t n = strlen(tags[t]);
		if (len - i >= n && !memcmp(line + i, tags[t], n))
			return true;
	}
	return false;
}

/* Append the line to the recorded panic, without its line end and with anything
 * unprintable (the guest's bytes reach a terminal) shown as '?'. */
static void record_panic_line(struct uart *u, const char *line, size_t len)
{
	size_t at = strlen(u->panic);
	if (at && at + 1 < UART_PANIC_MAX)
		u->panic[at++] = ' ';
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && at + 1 < UART_PANIC_MAX; i++) {
		unsigned char c = (unsigned char)line[i];
		u->panic[at++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	u->panic[at] = 0;
}

/* A whole line (or UART_LINE_MAX bytes of one): a panic line is recorded, with the
 * next line when it ends in ':' (the message of Rust's "panicked at FILE:L:C:"). */
static void line_done_locked(struct uart *u)
{
	if (u->panic_state == PANIC_WANTS_MESSAGE) {
		record_panic_line(u, u->line, u->len);
		u->panic_state = PANIC_SEEN;
	} else if (u->panic_state == PANIC_NONE && uart_is_panic_line(u->line, u->len)) {
		record_panic_line(u, u->line, u->len);
		size_t n = strlen(u->panic);
		u->panic_state = n && u->panic[n - 1] == ':' ? PANIC_WANTS_MESSAGE : PANIC_SEEN;
	}
	if (u->verbose)
		flush_locked(u);
	u->len = 0;
}

static void put_locked(struct uart *u, uint8_t c)
{
	u->line[u->len++] = (char)c;
	if (c == '\n' || u->len == UART_LINE_MAX)
		line_done_locked(u);
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
	if (u->panic_state == PANIC_WANTS_MESSAGE && u->len) { /* a message without newline */
		record_panic_line(u, u->line, u->len);
		u->panic_state = PANIC_SEEN;
	}
	if (u->verbose)
		flush_locked(u);
	u->len = 0;
	pthread_mutex_unlock(&u->lock);
}

void uart_report_panic(struct vm *vm)
{
	struct uart *u = vm->uart;
	if (!u || !vm->exit_status)
		return;
	pthread_mutex_lock(&u->lock);
	if (u->panic_state != PANIC_NONE)
		warnx_("the guest kernel panicked: %s", u->panic);
	pthread_mutex_unlock(&u->lock);
}

void uart_write(struct vm *vm, const void *buf, size_t len)
{
	struct uart *u = vm->uart;
	if (!u)
		return;
	/* Line by line also without HERMIT_VERBOSE (which alone shows the log): a
	 * kernel panic's line is recorded for uart_report_panic. */
	pthread_mutex_lock(&u->lock);
	if (u->ring)
		drain_locked(u); /* keep the order of bytes that were batched before */
	for (size_t i = 0; i < len; i++)
		put_locked(u, ((const uint8_t *)buf)[i]);
	pthread_mutex_unlock(&u->lock);
}

static void hc_uart(struct vcpu *v, uint16_t port, uint32_t value)
{
	(void)port;
	uint8_t b = (uint8_t)value;
	uart_write(v->vm, &b, 1);
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
