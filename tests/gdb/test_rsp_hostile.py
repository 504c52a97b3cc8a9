"""test_rsp_hostile.py: hostile packets for what issue 23 added, against a real proxy.

Raw RSP over a socket to proxy on the gdbtarget guest (stopped before its first
instruction): watchpoint ranges of any length, malformed multiprocess thread ids,
D;PID and vKill;PID, vRun outside extended mode, qXfer:siginfo:read bounds, and many
turned-away clients (silent ones, one flooding an endless packet). Each bad packet
must get an error (or empty) reply and the session go on; the test ends with `D`,
after which the guest runs to its end and proxy exits 0: nothing was left broken.
"""
import socket

from harness import Proxy, free_port, guest, test
from rspclient import Client


def start(cpus=1):
    port = free_port()
    p = Proxy(guest("gdbtarget"), env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port),
                                       "HERMIT_CPUS": str(cpus)})
    try:
        p.wait_stderr(r"target remote")
        return p, Client(port), port
    except Exception:
        p.close()
        raise


def finish(t, p, c):
    t.eq(c.ask(b"qC")[:2], b"QC", "the session still answers")
    t.eq(c.ask(b"D"), b"OK", "reply to D")
    c.close()
    t.eq(p.wait(), 0, "proxy exit code after detach")


def is_error(r):
    return r.startswith(b"E")


@test
def watchpoint_ranges_of_any_length_are_refused_or_taken(t):
    """Z2/Z4 take a 64-bit length: one of 2^63 bytes used to be split piece by piece
    (hours of work, then a write before the pieces' array)."""
    p, c, _ = start()
    with p:
        for z in (b"Z2", b"Z4"):
            r = c.ask(z + b",1000,7fffffffffffffff")
            t.true(is_error(r), "%s over 2^63 bytes refused: %r" % (z, r))
            r = c.ask(z + b",0,ffffffffffffffff")
            t.true(is_error(r), "%s over the whole address space refused: %r" % (z, r))
            r = c.ask(z + b",fffffffffffffff8,10")
            t.true(is_error(r), "%s wrapping past 2^64 refused: %r" % (z, r))
            r = c.ask(z + b",1000,0")
            t.true(is_error(r), "%s of 0 bytes refused: %r" % (z, r))
        # The last 8 bytes of the address space are a valid range (one slot).
        t.eq(c.ask(b"Z4,fffffffffffffff8,8"), b"OK", "the top 8 bytes")
        t.eq(c.ask(b"z4,fffffffffffffff8,8"), b"OK", "removed")
        p.wait_stderr(r"needs more than 2147483647 debug register\(s\)")
        finish(t, p, c)


@test
def malformed_multiprocess_ids_get_errors(t):
    p, c, _ = start(cpus=2)
    with p:
        c.ask(b"qSupported:multiprocess+")
        for pkt in (b"Hgp", b"Hgp1.", b"Hgpz.1", b"Hgp.1", b"Hg-p1.1", b"Hgp2.1", b"Hgp1.3",
                    b"Hcp1.9", b"Tp", b"Tp1.", b"Tp-1.0", b"D;", b"D;zz", b"D;2",
                    b"D;11111111111111111", b"vCont;c:p", b"vCont;s:p1.", b"vCont;s:p2.1",
                    b"vCont;c:p1.2;c:p", b"vKill;2"):
            r = c.ask(pkt)
            t.true(is_error(r), "%r refused: %r" % (pkt, r))
        for pkt in (b"vKill;", b"vKill;zz", b"vKill;-1", b"qThreadExtraInfo,p"):
            r = c.ask(pkt)
            t.true(r == b"" or is_error(r), "%r refused or unknown: %r" % (pkt, r))
        t.eq(c.ask(b"Hgp1.2"), b"OK", "a valid id still works")
        t.eq(c.ask(b"Hgp1.1"), b"OK")
        finish(t, p, c)


@test
def extended_packets_outside_extended_mode(t):
    p, c, _ = start()
    with p:
        t.eq(c.ask(b"vRun;"), b"", "vRun needs extended-remote: empty reply")
        t.eq(c.ask(b"vRun;" + b"61" * 2000), b"", "a long file name changes nothing")
        t.eq(c.ask(b"!x"), b"E01", "`!` takes no argument")
        finish(t, p, c)


@test
def siginfo_without_a_fault_and_at_any_offset(t):
    p, c, _ = start()
    with p:
        for pkt in (b"qXfer:siginfo:read::0,80", b"qXfer:siginfo:read::ffffffffffffffff,1",
                    b"qXfer:siginfo:read::7f,ffffffffffffffff", b"qXfer:siginfo:read:x:0,80"):
            t.eq(c.ask(pkt), b"E01", "%r: no fault, no siginfo" % pkt)
        for pkt in (b"qXfer:siginfo:read::", b"qXfer:siginfo:read::0", b"qXfer:siginfo:read::,"):
            r = c.ask(pkt)
            t.true(r == b"" or is_error(r), "%r malformed: %r" % (pkt, r))
        finish(t, p, c)


@test
def many_refused_clients_hold_nothing_up(t):
    """Silent clients, one that floods a packet that never ends and one that only
    acks: each newer refusal drops the older; the first session goes on and proxy
    still ends once the debugger detaches."""
    p, c, port = start()
    with p:
        t.eq(c.ask(b"qC"), b"QC1", "the first client is served")
        silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
        flood = socket.create_connection(("127.0.0.1", port), timeout=5)
        flood.sendall(b"$" + b"m" * 300000)
        acker = socket.create_connection(("127.0.0.1", port), timeout=5)
        acker.sendall(b"+" * 1000)
        for _ in range(3):
            t.eq(c.ask(b"qC"), b"QC1", "the first client goes on")
        last = Client(port)
        r = last.ask(b"qSupported")
        t.true(r.startswith(b"E.proxy: another debugger"), "the newest is told why: %r" % r)
        t.eq(c.ask(b"qC"), b"QC1", "still served")
        finish(t, p, c)
        for s in silent + [flood, acker]:
            s.close()
        last.close()
