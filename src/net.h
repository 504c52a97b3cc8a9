/* net.h: the guest NIC: a host tap device and the shared rings of section 6. */
#ifndef PROXY_NET_H
#define PROXY_NET_H

#include "vm.h"

/* Open the tap named by HERMIT_NETIF (host set-up: dies with a message on failure). */
void net_open(struct vm *vm);
/* NETINFO / NETWRITE for the RustyHermit ABI. */
void net_register_rusty_ports(struct vm *vm);

#endif
