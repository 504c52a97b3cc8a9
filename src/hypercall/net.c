/* net.c: RustyHermit networking: a tap device bridged to two rings in guest RAM.
 *
 * RX: a thread reads frames from the tap into free slots of the RX ring at
 * 0x80000, bumps `written` and raises GSI 11 through an irqfd. TX: the guest fills
 * slots of the TX ring at 0x83080 and writes port 0x640; we send every pending
 * frame and advance `read`. Full 1514-byte Ethernet frames pass.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before linux/if.h: glibc's libc-compat keeps them apart */
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hermit_abi.h"
#include "log.h"

static int open_tap(const char *name)
{
	if (name[0] == '@') {
		char *end;
		long fd = strtol(name + 1, &end, 10);
		if (*end || fd < 0 || fcntl((int)fd, F_GETFD) < 0)
			die("HERMIT_NETIF=%s: not an open file descriptor", name);
		return (int)fd;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die_errno("HERMIT_NETIF=%s: cannot open /dev/net/tun", name);
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	if (strlen(name) >= IFNAMSIZ)
		die("HERMIT_NETIF=%s: interface name too long", name);
	strcpy(ifr.ifr_name, name);
	if (!if_nametoindex(name)) /* TUNSETIFF would create it, as a tap nobody set up */
		die("HERMIT_NETIF=%s: no such network interface (expected an existing tap)", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die_errno("HERMIT_NETIF=%s: cannot attach to the tap device", name);
	return fd;
}

void net_open(struct vm *vm)
{
	struct net *n = calloc(1, sizeof(*n));
	if (!n)
		die("out of memory");
	n->tap = -1;
	n->irq_fd = -1;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->drained, NULL);
	if (vm->cfg->mac_set) {
		memcpy(n->mac, vm->cfg->mac, 6);
	} else {
		if (getrandom(n->mac, 6, 0) != 6)
			die_errno("getrandom for the guest MAC address");
		n->mac[0] =
			(uint8_t)((n->mac[0] & 0xFE) | 0x02); /* unicast, locally administered */
	}
	if (vm->cfg->netif)
		n->tap = open_tap(vm->cfg->netif);
	vm->net = n;
}

static struct hermit_net_ring *ring(struct vm *vm, uint64_t gpa)
{
	return gpa_ptr(&vm->mem, gpa, sizeof(struct hermit_net_ring));
}

static void *rx_loop(void *arg)
{
	struct vm *vm = arg;
	struct net *n = vm->net;
	struct hermit_net_ring *rx = ring(vm, HERMIT_NET_RX_RING);
	const struct timespec nap = {0, 100000};
	while (!atomic_load(&vm->ending)) {
		uint64_t w = __atomic_load_n(&rx->written, __ATOMIC_ACQUIRE);
		if (w - __atomic_load_n(&rx->read, __ATOMIC_ACQUIRE) >= HERMIT_NET_SLOTS) {
			nanosleep(&nap,
				  NULL); /* ring full; the guest does not tell us when it frees */
			continue;
		}
		struct pollfd p = {.fd = n->tap, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		struct hermit_net_slot *s = &rx->slot[w % HERMIT_NET_SLOTS];
		ssize_t len = read(n->tap, s->data, sizeof(s->data));
		if (len <= 0)
			continue;
		s->len = (uint16_t)len;
		__atomic_store_n(&rx->written, w + 1, __ATOMIC_RELEASE);
		net_raise_irq(n);
	}
	return NULL;
}

bool net_needs_ioapic(const struct vm *vm)
{
	return vm->cfg->netif != NULL;
}

void net_start(struct vm *vm, void *(*rx_thread)(void *))
{
	struct net *n = vm->net;
	n->irq_fd = eventfd(0, EFD_CLOEXEC);
	struct kvm_irqfd irqfd = {.fd = (uint32_t)n->irq_fd, .gsi = HERMIT_NET_IRQ};
	if (n->irq_fd < 0 || ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		warnx_("network: cannot set up the interrupt (irqfd): %s", strerror(errno));
		if (n->irq_fd >= 0)
			close(n->irq_fd);
		n->irq_fd = -1;
		n->started = true; /* do not retry at every NETINFO */
		return;
	}
	if (pthread_create(&n->rx_thread, NULL, rx_thread, vm) == 0)
		n->started = true;
}

void net_raise_irq(struct net *n)
{
	uint64_t one = 1;
	if (write(n->irq_fd, &one, sizeof(one)) < 0)
		warnx_("network: cannot raise the guest's interrupt: %s", strerror(errno));
}

static void hc_netinfo(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct vm *vm = v->vm;
	uint8_t *mac = gpa_ptr(&vm->mem, gpa, 6);
	if (!mac)
		return;
	memcpy(mac, vm->net->mac, 6);
	pthread_mutex_lock(&vm->lock);
	if (vm->net->tap >= 0 && !vm->net->started)
		net_start(vm, rx_loop);
	pthread_mutex_unlock(&vm->lock);
}

static void hc_netwrite(struct vcpu *v, uint16_t port, uint32_t value)
{
	(void)port;
	(void)value;
	struct vm *vm = v->vm;
	struct hermit_net_ring *tx = ring(vm, HERMIT_NET_TX_RING);
	if (vm->net->tap < 0)
		return;
	uint64_t r = __atomic_load_n(&tx->read, __ATOMIC_ACQUIRE);
	uint64_t w = __atomic_load_n(&tx->written, __ATOMIC_ACQUIRE);
	for (; r != w && w - r <= HERMIT_NET_SLOTS; r++) {
		struct hermit_net_slot *s = &tx->slot[r % HERMIT_NET_SLOTS];
		uint16_t len = s->len;
		if (len <= sizeof(s->data) && write(vm->net->tap, s->data, len) < 0)
			warnx_("network: cannot send a frame: %s", strerror(errno));
	}
	__atomic_store_n(&tx->read, w, __ATOMIC_RELEASE);
}

void net_register_rusty_ports(struct vm *vm)
{
	net_open(vm);
	vm_register_port(vm, HERMIT_PORT_NETINFO, "netinfo", hc_netinfo);
	vm_register_port(vm, HERMIT_PORT_NETWRITE, "netwrite", hc_netwrite);
}
