/* net.c: end-to-end network test guest (HERMIT_NETIF), RustyHermit and C ABIs (the
 * Hermit 0.6 flavour has no network ports: it says so and exits 3).
 *
 * Gets the MAC (RustyHermit: NETINFO writes 6 raw bytes; C: NETSTAT must say 1,
 * then NETINFO writes an 18-byte "xx:xx:xx:xx:xx:xx" string), prints
 * `net: mac=...` and the boot info's IP configuration, then answers
 * `frames=K` (default 1) PING frames from the host: each is checked and sent
 * back with the MACs swapped and "PING" changed to "PONG". Last it sends one
 * full-size 1514-byte "BIG!" frame to the host that sent the pings.
 *
 * Frames (ethertype 0x88b5, the test's own): bytes 14..17 "PING", byte 18 the
 * frame's sequence number i (0..K-1), byte 19+j = (j*31 + i) & 0xff. The BIG
 * frame: "BIG!" then byte 18+j = (j*13 + 7) & 0xff up to 1514 bytes. Frames of
 * other types (IPv6 noise from the host kernel) are skipped and counted.
 *
 * Waiting is bounded: at most `polls=N` (default 200000) polling iterations
 * per frame, without interrupts (the runtime runs with IF=0): RustyHermit
 * watches rx.written != rx.read in guest memory, C loops on NETREAD.
 * Exit 0 = every check passed; 1 = a check failed; 2 = timed out waiting.
 */
#include "rt.h"

#include "c_hermit_abi.h"

#define ETH_FULL  1514
#define ETHERTYPE 0x88b5
#define BUF_CAP	  2048

static uint8_t mac[6];
static uint8_t rxbuf[BUF_CAP];
static uint8_t txbuf[BUF_CAP];
static int64_t polls = 200000;
static uint64_t skipped;

/* ---- RustyHermit: the rings at 0x80000 (RX) and 0x83080 (TX) ---- */

static volatile struct hermit_net_ring *const rx_ring =
	(volatile struct hermit_net_ring *)(uintptr_t)HERMIT_NET_RX_RING;
static volatile struct hermit_net_ring *const tx_ring =
	(volatile struct hermit_net_ring *)(uintptr_t)HERMIT_NET_TX_RING;

static int rusty_get_mac(void)
{
	static uint8_t buf[8] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
	rt_outl(HERMIT_PORT_NETINFO, (uint32_t)(uintptr_t)buf);
	if (buf[6] != 0xee || buf[7] != 0xee) {
		rt_printf("net: FAIL NETINFO wrote beyond the 6-byte MAC\n");
		return -1;
	}
	memcpy(mac, buf, 6);
	return 0;
}

/* One frame from the RX ring into rxbuf; returns its length, 0 on timeout, -1 on error. */
static int rusty_recv(void)
{
	uint64_t r = __atomic_load_n(&rx_ring->read, __ATOMIC_ACQUIRE);
	uint64_t w = 0;
	for (int64_t i = 0; i < polls; i++) {
		w = __atomic_load_n(&rx_ring->written, __ATOMIC_ACQUIRE);
		if (w != r)
			break;
		rt_pause();
	}
	if (w == r)
		return 0;
	if (w - r > HERMIT_NET_SLOTS) {
		rt_printf("net: FAIL rx ring indices: read=%lu written=%lu (more than %d apart)\n",
			  (unsigned long)r, (unsigned long)w, HERMIT_NET_SLOTS);
		return -1;
	}
	volatile struct hermit_net_slot *s = &rx_ring->slot[r % HERMIT_NET_SLOTS];
	uint16_t len = s->len;
	if (len == 0 || len > HERMIT_NET_SLOT_DATA) {
		rt_printf("net: FAIL rx slot %lu has len %u\n",
			  (unsigned long)(r % HERMIT_NET_SLOTS), len);
		return -1;
	}
	for (uint16_t i = 0; i < len; i++)
		rxbuf[i] = s->data[i];
	__atomic_store_n(&rx_ring->read, r + 1, __ATOMIC_RELEASE);
	return len;
}

static int rusty_send(const uint8_t *frame, uint16_t len)
{
	uint64_t w = __atomic_load_n(&tx_ring->written, __ATOMIC_ACQUIRE);
	uint64_t r = __atomic_load_n(&tx_ring->read, __ATOMIC_ACQUIRE);
	if (w != r) {
		rt_printf("net: FAIL tx ring not drained before a send: read=%lu written=%lu\n",
			  (unsigned long)r, (unsigned long)w);
		return -1;
	}
	volatile struct hermit_net_slot *s = &tx_ring->slot[w % HERMIT_NET_SLOTS];
	for (uint16_t i = 0; i < len; i++)
		s->data[i] = frame[i];
	s->len = len;
	__atomic_store_n(&tx_ring->written, w + 1, __ATOMIC_RELEASE);
	rt_outl(HERMIT_PORT_NETWRITE, 0);
	r = __atomic_load_n(&tx_ring->read, __ATOMIC_ACQUIRE);
	if (r != w + 1) {
		rt_printf("net: FAIL tx.read=%lu after the kick, expected %lu\n", (unsigned long)r,
			  (unsigned long)(w + 1));
		return -1;
	}
	return 0;
}

/* ---- C HermitCore: NETSTAT / NETINFO / NETREAD / NETWRITE ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int c_get_mac(void)
{
	volatile struct c_hermit_netstat st = {.status = -38};
	rt_hypercall(C_HERMIT_PORT_NETSTAT, &st);
	if (st.status != 1) {
		rt_printf("net: FAIL NETSTAT status=%d, expected 1\n", st.status);
		return -1;
	}
	static struct {
		struct c_hermit_netinfo info;
		char guard[6];
	} __attribute__((packed)) ni;
	memset(&ni, 'Z', sizeof(ni));
	rt_hypercall(C_HERMIT_PORT_NETINFO, &ni);
	const char *s = ni.info.mac_str;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		char sep = s[3 * i + 2];
		if (hi < 0 || lo < 0 || sep != (i == 5 ? '\0' : ':')) {
			rt_printf(
				"net: FAIL NETINFO string is not xx:xx:xx:xx:xx:xx\\0 (byte %d)\n",
				3 * i);
			return -1;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	for (unsigned i = 0; i < sizeof(ni.guard); i++)
		if (ni.guard[i] != 'Z') {
			rt_printf("net: FAIL NETINFO wrote beyond its 18 bytes\n");
			return -1;
		}
	return 0;
}

static int c_recv(void)
{
	volatile struct c_hermit_netio io;
	for (int64_t i = 0; i < polls; i++) {
		io.data = (uint64_t)(uintptr_t)rxbuf;
		io.len = BUF_CAP;
		io.ret = -38;
		rt_hypercall(C_HERMIT_PORT_NETREAD, &io);
		if (io.ret == 0)
			break;
		if (io.ret != -1) {
			rt_printf("net: FAIL NETREAD ret=%d, expected 0 or -1\n", io.ret);
			return -1;
		}
		rt_pause();
	}
	if (io.ret != 0)
		return 0;
	if (io.len == 0 || io.len > BUF_CAP) {
		rt_printf("net: FAIL NETREAD len=%lu (capacity %d)\n", (unsigned long)io.len,
			  BUF_CAP);
		return -1;
	}
	return (int)io.len;
}

static int c_send(const uint8_t *frame, uint16_t len)
{
	volatile struct c_hermit_netio io = {
		.data = (uint64_t)(uintptr_t)frame, .len = len, .ret = -38};
	rt_hypercall(C_HERMIT_PORT_NETWRITE, &io);
	if (io.ret != 0 || io.len != len) {
		rt_printf("net: FAIL NETWRITE ret=%d len=%lu, expected 0 and %u\n", io.ret,
			  (unsigned long)io.len, len);
		return -1;
	}
	return 0;
}

/* ---- shared ---- */

static int get_mac(void)
{
	return rt_abi_kind == RT_ABI_RUSTY ? rusty_get_mac() : c_get_mac();
}

static int recv_frame(void)
{
	return rt_abi_kind == RT_ABI_RUSTY ? rusty_recv() : c_recv();
}

static int send_frame(const uint8_t *frame, uint16_t len)
{
	return rt_abi_kind == RT_ABI_RUSTY ? rusty_send(frame, len) : c_send(frame, len);
}

static void print_ip(void)
{
	const volatile uint8_t *ip, *gw, *mask;
	/* Fixed addresses, not rt_boot_info / rt_c_header: each exists in one flavour only. */
	if (rt_abi_kind == RT_ABI_RUSTY) {
		const volatile struct hermit_boot_info *bi =
			(const volatile struct hermit_boot_info *)(uintptr_t)HERMIT_BOOT_INFO_ADDR;
		ip = bi->hcip, gw = bi->hcgateway, mask = bi->hcmask;
	} else {
		const volatile struct c_hermit_header *h =
			(const volatile struct c_hermit_header *)__image_start;
		ip = h->hcip, gw = h->hcgateway, mask = h->hcmask;
	}
	rt_printf("net: ip=%u.%u.%u.%u gw=%u.%u.%u.%u mask=%u.%u.%u.%u\n", ip[0], ip[1], ip[2],
		  ip[3], gw[0], gw[1], gw[2], gw[3], mask[0], mask[1], mask[2], mask[3]);
}

/* Wait for PING number `seq` (skipping foreign frames); returns its length, or exits. */
static int recv_ping(int seq)
{
	for (;;) {
		int len = recv_frame();
		if (len < 0)
			rt_exit(1);
		if (len == 0) {
			rt_printf(
				"net: FAIL no frame %d from the host within %ld polls (%lu others "
				"skipped)\n",
				seq, (long)polls, (unsigned long)skipped);
			rt_exit(2);
		}
		if (len < 18 || ((rxbuf[12] << 8) | rxbuf[13]) != ETHERTYPE) {
			skipped++;
			continue;
		}
		if (memcmp(rxbuf, mac, 6)) {
			rt_printf("net: FAIL frame %d: destination is not our MAC\n", seq);
			rt_exit(1);
		}
		if (memcmp(rxbuf + 14, "PING", 4) || len < 19 || rxbuf[18] != (uint8_t)seq) {
			rt_printf("net: FAIL frame %d: not PING %d (len %d, seq byte %u)\n", seq,
				  seq, len, len > 18 ? rxbuf[18] : 0);
			rt_exit(1);
		}
		for (int j = 0; 19 + j < len; j++)
			if (rxbuf[19 + j] != (uint8_t)(j * 31 + seq)) {
				rt_printf(
					"net: FAIL frame %d: payload byte %d is %u, expected %u\n",
					seq, 19 + j, rxbuf[19 + j], (uint8_t)(j * 31 + seq));
				rt_exit(1);
			}
		return len;
	}
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	int64_t frames = 1;
	const char *v;
	if (rt_abi_kind == RT_ABI_HERMIT) {
		rt_printf("net: the %s ABI has no network hypercalls\n", rt_abi_name);
		return 3;
	}
	if ((v = rt_arg_value("polls")) && (rt_parse_int(v, &polls) || polls <= 0)) {
		rt_printf("net: bad polls=%s\n", v);
		return 1;
	}
	if ((v = rt_arg_value("frames")) &&
	    (rt_parse_int(v, &frames) || frames < 0 || frames > 255)) {
		rt_printf("net: bad frames=%s\n", v);
		return 1;
	}
	if (get_mac())
		return 1;
	rt_printf("net: abi=%s mac=%02x:%02x:%02x:%02x:%02x:%02x\n", rt_abi_name, mac[0], mac[1],
		  mac[2], mac[3], mac[4], mac[5]);
	print_ip();

	uint8_t peer[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	for (int seq = 0; seq < frames; seq++) {
		int len = recv_ping(seq);
		memcpy(peer, rxbuf + 6, 6);
		memcpy(txbuf, rxbuf + 6, 6); /* reply: to the sender, from us */
		memcpy(txbuf + 6, mac, 6);
		memcpy(txbuf + 12, rxbuf + 12, (size_t)len - 12);
		memcpy(txbuf + 14, "PONG", 4);
		if (send_frame(txbuf, (uint16_t)len))
			return 1;
		rt_printf("net: frame %d len=%d answered\n", seq, len);
	}

	memcpy(txbuf, peer, 6);
	memcpy(txbuf + 6, mac, 6);
	txbuf[12] = ETHERTYPE >> 8;
	txbuf[13] = ETHERTYPE & 0xff;
	memcpy(txbuf + 14, "BIG!", 4);
	for (int j = 0; 18 + j < ETH_FULL; j++)
		txbuf[18 + j] = (uint8_t)(j * 13 + 7);
	if (send_frame(txbuf, ETH_FULL))
		return 1;
	rt_printf("net: sent %d-byte frame\n", ETH_FULL);
	rt_printf("net: done (%lu other frames skipped)\n", (unsigned long)skipped);
	return 0;
}
