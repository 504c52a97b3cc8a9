/* net_c.c: C HermitCore networking: per-packet hypercalls on a tap device.
 *
 * NETSTAT says whether a NIC exists, NETINFO hands over the MAC as a string,
 * NETWRITE sends one frame from guest memory, NETREAD receives one. A thread
 * raises IRQ 11 when the tap has data and then waits until the guest's NETREAD
 * finds it empty, so the guest is interrupted once per burst, not per frame.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "c_hermit_abi.h"
#include "hypercall.h"
#include "log.h"
#include "net.h"

static void *c_rx_loop(void *arg)
{
	struct vm *vm = arg;
	struct net *n = vm->net;
	while (!atomic_load(&vm->ending)) {
		struct pollfd p = {.fd = n->tap, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		pthread_mutex_lock(&n->lock);
		n->rx_armed = false;
		net_raise_irq(n);
		while (!n->rx_armed && !atomic_load(&vm->ending)) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += 100000000;
			if (t.tv_nsec >= 1000000000) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&n->drained, &n->lock, &t);
		}
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

static void hc_netstat(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct c_hermit_netstat *a = hc_struct(v, gpa, sizeof(*a));
	if (a)
		a->status = v->vm->net->tap >= 0;
}

static void hc_netinfo(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct vm *vm = v->vm;
	struct c_hermit_netinfo *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	const uint8_t *m = vm->net->mac;
	char mac[sizeof(a->mac_str)];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	memcpy(a->mac_str, mac, sizeof(mac));
	pthread_mutex_lock(&vm->lock);
	if (vm->net->tap >= 0 && !vm->net->started)
		net_start(vm, c_rx_loop);
	pthread_mutex_unlock(&vm->lock);
}

static void hc_netwrite(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct vm *vm = v->vm;
	struct c_hermit_netio *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct c_hermit_netio io;
	memcpy(&io, a, sizeof(io));
	const uint8_t *frame = gpa_ptr(&vm->mem, io.data, io.len);
	if (!frame || vm->net->tap < 0) {
		a->ret = frame ? -ENODEV : -EFAULT;
		return;
	}
	ssize_t n = write(vm->net->tap, frame, io.len);
	a->ret = n < 0 ? -errno : 0;
	a->len = n < 0 ? 0 : (uint64_t)n;
}

static void hc_netread(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct vm *vm = v->vm;
	struct net *n = vm->net;
	struct c_hermit_netio *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct c_hermit_netio io;
	memcpy(&io, a, sizeof(io));
	uint8_t *buf = gpa_ptr(&vm->mem, io.data, io.len);
	if (!buf || n->tap < 0) {
		a->ret = -1;
		return;
	}
	struct pollfd p = {.fd = n->tap, .events = POLLIN};
	ssize_t got = poll(&p, 1, 0) == 1 ? read(n->tap, buf, io.len) : -1;
	if (got > 0) {
		a->len = (uint64_t)got;
		a->ret = 0;
		return;
	}
	a->ret = -1;
	pthread_mutex_lock(&n->lock); /* drained: let the RX thread watch the tap again */
	n->rx_armed = true;
	pthread_cond_signal(&n->drained);
	pthread_mutex_unlock(&n->lock);
}

void net_register_c_ports(struct vm *vm)
{
	net_open(vm);
	vm_register_port(vm, C_HERMIT_PORT_NETSTAT, "netstat", hc_netstat);
	vm_register_port(vm, C_HERMIT_PORT_NETINFO, "netinfo", hc_netinfo);
	vm_register_port(vm, C_HERMIT_PORT_NETWRITE, "netwrite", hc_netwrite);
	vm_register_port(vm, C_HERMIT_PORT_NETREAD, "netread", hc_netread);
}
