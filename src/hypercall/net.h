/* net.h: the guest NIC: a host tap device and the shared rings of section 6. */
#ifndef PROXY_NET_H
#define PROXY_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

struct net {
	int tap;    /* -1 without HERMIT_NETIF */
	int irq_fd; /* eventfd bound to GSI 11 */
	uint8_t mac[6];
	pthread_t rx_thread;
	bool started;
	/* C ABI: the RX thread waits here until the guest has drained the tap. */
	pthread_mutex_t lock;
	pthread_cond_t drained;
	bool rx_armed;
};

/* Open the tap named by HERMIT_NETIF (host set-up: dies with a message on failure). */
void net_open(struct vm *vm);
/* Bind GSI 11 to an irqfd and start the ABI's receive thread (first NETINFO). */
void net_start(struct vm *vm, void *(*rx_thread)(void *));
void net_raise_irq(struct net *n);
/* Whether the network needs the in-kernel IOAPIC: with a tap (HERMIT_NETIF), its
 * interrupt is GSI 11 through an irqfd, which KVM routes to IOAPIC pin 11. */
bool net_needs_ioapic(const struct vm *vm);
/* NETINFO / NETWRITE for the RustyHermit ABI. */
void net_register_rusty_ports(struct vm *vm);
/* NETINFO / NETWRITE / NETREAD / NETSTAT for the C HermitCore ABI (net_c.c). */
void net_register_c_ports(struct vm *vm);

#endif
