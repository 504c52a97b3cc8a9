"""Network (HERMIT_NETIF): frames between a host tap device and the net guest, both ABIs.

Each test creates its own tap device (`ip tuntap add dev ptap<pid> mode tap`),
always deleted afterwards, and talks to the guest through an AF_PACKET socket
bound to it: a frame sent on the interface goes to the tap's reader (proxy),
and what proxy writes to the tap arrives on the interface. The guest
(tests/guest/net.c) answers each PING frame with a PONG frame (MACs swapped)
and then sends one full-size 1514-byte BIG! frame; frames carry the test's own
ethertype 0x88b5 so the host kernel's own traffic is ignored on both sides.
Needs root, /dev/net/tun and iproute2; otherwise the tests are skipped.
No timing is asserted: the guest waits a bounded number of polls per frame
(exit 2 when they run out) and the host side has the harness timeout.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import expect_status, wait_stdout  # noqa: E402
from flavours import RUSTY, C  # noqa: E402

GUEST_MAC = "02:00:00:00:00:01"
ETHERTYPE = 0x88B5
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
FULL = 1514
# Polls per frame the guest may spend waiting (each a few µs; generous on purpose).
POLLS = 4000000
NET_ENV = {"HERMIT_NETIF_MAC": GUEST_MAC, "HERMIT_IP": "10.0.5.2",
           "HERMIT_GATEWAY": "10.0.5.1", "HERMIT_MASK": "255.255.255.0"}


def _mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def _ip(args):
    return subprocess.run(["ip"] + args, capture_output=True, text=True, timeout=30, check=False)


def _need_tap_support():
    if os.geteuid() != 0:
        harness.skip("needs root to create a tap device")
    if not os.path.exists("/dev/net/tun"):
        harness.skip("needs /dev/net/tun")
    if shutil.which("ip") is None:
        harness.skip("needs iproute2's ip command (Debian package iproute2)")


class Tap:
    """A fresh, up tap device with a unique name; deleted on exit."""

    def __init__(self):
        _need_tap_support()
        self.name = None
        for _ in range(5):
            name = "ptap%d" % random.randrange(10000, 100000)
            if os.path.exists("/sys/class/net/" + name):
                continue
            r = _ip(["tuntap", "add", "dev", name, "mode", "tap"])
            if r.returncode == 0:
                self.name = name
                break
            if not os.path.exists("/sys/class/net/" + name):
                harness.skip("cannot create a tap device: ip tuntap add: %s" % r.stderr.strip())
        if self.name is None:
            raise harness.Failure("no free ptapNNNNN name found")
        try:
            # No IPv6 on the tap: keeps the kernel's router solicitations and
            # MLD reports away from the guest (the guest skips them anyway).
            try:
                with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % self.name, "w") as f:
                    f.write("1")
            except OSError:
                pass
            r = _ip(["link", "set", self.name, "up"])
            if r.returncode != 0:
                raise harness.Failure("ip link set %s up: %s" % (self.name, r.stderr.strip()))
            with open("/sys/class/net/%s/address" % self.name) as f:
                self.mac = _mac_bytes(f.read().strip())
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.name:
            _ip(["link", "del", self.name])
            self.name = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def _ping(seq, length, dst, src):
    head = dst + src + ETHERTYPE.to_bytes(2, "big") + b"PING" + bytes([seq])
    return head + bytes((j * 31 + seq) & 0xFF for j in range(length - len(head)))


def _pong(ping):
    return ping[6:12] + ping[0:6] + ping[12:14] + b"PONG" + ping[18:]


def _big(dst, src):
    head = dst + src + ETHERTYPE.to_bytes(2, "big") + b"BIG!"
    return head + bytes((j * 13 + 7) & 0xFF for j in range(FULL - len(head)))


def _receive(sock, guest_mac, count, p):
    """The next `count` 0x88b5 frames from the guest (in arrival order)."""
    got = []
    deadline = time.monotonic() + harness.TIMEOUT
    while len(got) < count:
        if time.monotonic() > deadline:
            raise harness.Failure("got %d of %d frames from the guest: %r\nstdout=%r\nstderr=%r" % (
                len(got), count, [g[:20] for g in got], p.stdout_text(), p.stderr_text()))
        try:
            frame, addr = sock.recvfrom(65536)
        except socket.timeout:
            if p.p.poll() is not None and len(got) < count:
                # proxy is gone; drain whatever is still queued, then give up.
                sock.settimeout(0.2)
                try:
                    frame, addr = sock.recvfrom(65536)
                except socket.timeout:
                    raise harness.Failure(
                        "proxy exited (%r) after %d of %d frames: %r\nstdout=%r\nstderr=%r" % (
                            p.p.returncode, len(got), count, [g[:20] for g in got],
                            p.stdout_text(), p.stderr_text()))
            else:
                continue
        if addr[2] == PACKET_OUTGOING:
            continue  # our own pings on their way to the tap
        if frame[12:14] != ETHERTYPE.to_bytes(2, "big") or frame[6:12] != guest_mac:
            continue
        got.append(frame)
    return got


def _echo(t, fl, sizes):
    """Send PINGs of `sizes` to fl's net guest; assert the PONGs and the BIG frame exactly."""
    with Tap() as tap:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((tap.name, 0))
            sock.settimeout(0.5)
            env = dict(NET_ENV, HERMIT_NETIF=tap.name)
            args = ["frames=%d" % len(sizes), "polls=%d" % POLLS]
            with harness.Proxy(fl.guest("net"), args, env=env) as p:
                wait_stdout(p, "net: ip=")
                mac_line = "net: abi=%s mac=%s" % (fl.name, GUEST_MAC)
                t.contains(p.stdout_text().splitlines(), mac_line, "guest MAC (HERMIT_NETIF_MAC)")
                t.contains(p.stdout_text().splitlines(),
                           "net: ip=10.0.5.2 gw=10.0.5.1 mask=255.255.255.0", "boot info")
                guest_mac = _mac_bytes(GUEST_MAC)
                pings = [_ping(i, n, guest_mac, tap.mac) for i, n in enumerate(sizes)]
                for f in pings:
                    sent = sock.send(f)
                    t.eq(sent, len(f), "bytes sent on %s" % tap.name)
                got = _receive(sock, guest_mac, len(sizes) + 1, p)
                rc = p.wait()
                out = p.stdout_text()
                if rc != 0:
                    raise harness.Failure("net guest failed (%d): stdout=%r stderr=%r" % (
                        rc, out, p.stderr_text()))
        finally:
            sock.close()
    lines = out.splitlines()
    for i, n in enumerate(sizes):
        t.contains(lines, "net: frame %d len=%d answered" % (i, n), "guest log")
    t.contains(lines, "net: sent %d-byte frame" % FULL, "guest log")
    for i, (ping, frame) in enumerate(zip(pings, got)):
        t.eq(len(frame), len(ping), "length of reply %d" % i)
        t.eq(frame, _pong(ping), "reply %d" % i)
    t.eq(len(got[-1]), FULL, "length of the full-size frame")
    t.eq(got[-1], _big(tap.mac, guest_mac), "full-size frame")


# Enough frames to wrap both 8-slot rings twice; minimum, odd and full sizes.
MANY_SIZES = [60, FULL, 98, 1000, 61, FULL - 1, 200, 64, FULL, 300,
              60, 777, FULL, 128, 1499, 1500, 1501, 90, FULL, 60]


def _suite(fl, prefix):
    def echo_one_frame(t):
        _echo(t, fl, [98])

    def echo_full_size_frame(t):
        _echo(t, fl, [FULL])

    def echo_20_frames_wraps_the_rings(t):
        _echo(t, fl, MANY_SIZES)

    for fn in (echo_one_frame, echo_full_size_frame, echo_20_frames_wraps_the_rings):
        fn.__name__ = prefix + fn.__name__
        globals()[fn.__name__] = test(fn)


_suite(RUSTY, "net_")
_suite(C, "c_net_")


# ---- configuration refusals ----

def _refused(t, fl, env, var):
    r = fl.run("hello", env=env)
    expect_status(t, r, guestrun.STATUS_SETUP, "%r" % env)
    t.contains(r.stderr, var, "stderr names the variable")
    t.not_contains(r.stdout, "Hello", "the guest must not run")


def _nonexistent_netif(t, fl):
    name = "pnone%d" % random.randrange(10000, 100000)
    while os.path.exists("/sys/class/net/" + name):
        name = "pnone%d" % random.randrange(10000, 100000)
    _refused(t, fl, {"HERMIT_NETIF": name}, "HERMIT_NETIF")
    t.true(not os.path.exists("/sys/class/net/" + name),
           "proxy must not leave a device %s behind" % name)


@test
def net_nonexistent_netif_refused(t):
    _nonexistent_netif(t, RUSTY)


@test
def c_net_nonexistent_netif_refused(t):
    _nonexistent_netif(t, C)


@test
def net_netif_not_a_tap_refused(t):
    _refused(t, RUSTY, {"HERMIT_NETIF": "lo"}, "HERMIT_NETIF")


@test
def net_netif_bad_fd_refused(t):
    _refused(t, RUSTY, {"HERMIT_NETIF": "@999"}, "HERMIT_NETIF")


@test
def net_bad_mac_refused(t):
    for mac in ("02:00:00:00:00", "02:00:00:00:00:01:02", "zz:00:00:00:00:01",
                "02-00-00-00-00-01", "0200.0000.0001", "2:0:0:0:0:1"):
        for fl in (RUSTY, C):
            _refused(t, fl, {"HERMIT_NETIF_MAC": mac}, "HERMIT_NETIF_MAC")
