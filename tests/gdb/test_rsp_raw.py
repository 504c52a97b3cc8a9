"""test_rsp_raw.py: malformed and boundary RSP traffic against a real proxy.

Each test starts proxy with HERMIT_DEBUG=1 on the `gdbtarget` guest (stopped before
its first instruction), speaks the GDB remote protocol over a plain socket, and
checks that the stub refuses what it must, never acts on a corrupt packet, and keeps
the session (and the VM) alive. Most tests end with `D`: the guest then runs to its
end and proxy must exit 0, which proves the bad input left nothing broken behind.
"""
import time

from harness import Failure, Proxy, free_port, guest, test
from rspclient import PACKET_SIZE, Client, symbol_address


def start():
    """A stopped proxy waiting for a debugger, and a connected client."""
    port = free_port()
    p = Proxy(guest("gdbtarget"), env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)})
    try:
        p.wait_stderr(r"target remote")
        return p, Client(port), port
    except Exception:
        p.close()
        raise


def finish(t, p, c):
    """Detach: the guest runs to its end and proxy exits 0."""
    t.eq(c.ask(b"D"), b"OK", "reply to D")
    c.close()
    t.eq(p.wait(), 0, "proxy exit code after detach")


def still_stopped(t, p, c):
    t.eq(c.ask(b"qC"), b"QC1", "qC")
    t.true(p.p.poll() is None, "proxy is still running")


@test
def bad_checksum_is_refused_and_not_acted_on(t):
    p, c, _ = start()
    with p:
        # A continue with a wrong checksum: acting on it would run the guest to its end.
        c.send_raw(b"$vCont;c#00")
        c.expect_ack(b"-", t, "answer to a bad checksum")
        time.sleep(0.3)
        t.eq(c.ask(b"?")[:3], b"T05", "stop reason: still the initial stop")
        t.eq(c.acks, b"+", "ack of the good packet")
        still_stopped(t, p, c)
        finish(t, p, c)


@test
def truncated_packet_then_valid_one(t):
    p, c, _ = start()
    with p:
        c.send_raw(b"$m0,4")  # no `#xx`: the next `$` starts over
        t.eq(c.ask(b"qC"), b"QC1", "packet after a truncated one")
        c.send_raw(b"$qC#")  # cut inside the checksum
        c.send_raw(b"$qC#b4")
        t.eq(c.recv(), b"QC1", "packet after one cut inside its checksum")
        finish(t, p, c)


@test
def oversized_packet_is_refused(t):
    p, c, _ = start()
    with p:
        reply = c.ask(b"qSupported:swbreak+;hwbreak+")
        t.contains(reply.decode(), "PacketSize=%x" % PACKET_SIZE, "qSupported")
        big = b"M0," + b"a" * (PACKET_SIZE + 64)
        r = c.ask(big)
        t.true(r.startswith(b"E"), "oversized packet refused with E.., got %r" % r[:20])
        still_stopped(t, p, c)
        # and a packet of exactly PacketSize is not refused as oversized
        r = c.ask(b"qX" + b"a" * (PACKET_SIZE - 2))
        t.eq(r, b"", "unknown packet of exactly PacketSize")
        finish(t, p, c)


@test
def garbage_between_packets_is_ignored(t):
    p, c, _ = start()
    with p:
        c.send_raw(b"\x00\xffhello\r\n}}**##")
        t.eq(c.ask(b"qC"), b"QC1", "packet after garbage")
        c.send_raw(bytes(range(0x04, 0x20)))  # control bytes (no 0x03: that is Ctrl-C)
        t.eq(c.ask(b"qAttached"), b"1", "packet after control bytes")
        finish(t, p, c)


@test
def unknown_packets_get_empty_replies(t):
    p, c, _ = start()
    with p:
        for pkt in (b"vMustReplyEmpty", b"qNoSuchPacket", b"Q", b"vNope;1", b"qTStatus"):
            t.eq(c.ask(pkt), b"", "reply to %r" % pkt)
        t.eq(c.ask(b"!"), b"OK", "extended-remote is offered (test_gdb_extended)")
        t.eq(c.ask(b"m"), b"E01", "m without arguments")
        t.eq(c.ask(b"p999"), b"E01", "unknown register")
        finish(t, p, c)


@test
def binary_escapes_in_X(t):
    p, c, _ = start()
    with p:
        rip = int.from_bytes(bytes.fromhex(c.ask(b"p10").decode()), "little")
        addr = b"%x" % rip
        orig = c.ask(b"m" + addr + b",4")
        t.eq(len(orig), 8, "4 bytes at rip")
        # every byte that must be escaped, written in binary through X
        data = b"}#$*"
        t.eq(c.ask(b"X" + addr + b",4:" + data), b"OK", "X with escaped bytes")
        t.eq(c.ask(b"m" + addr + b",4"), b"7d23242a", "memory after X")
        t.eq(c.ask(b"X" + addr + b",0:"), b"OK", "X probe")
        t.eq(c.ask(b"M" + addr + b",4:" + orig), b"OK", "restore")
        t.eq(c.ask(b"m" + addr + b",4"), orig, "memory restored")
        finish(t, p, c)


@test
def second_client_is_refused(t):
    p, c, port = start()
    with p:
        t.eq(c.ask(b"qC"), b"QC1", "first client")
        second = Client(port)
        t.true(second.ask(b"qC").startswith(b"E.proxy: another debugger is attached"),
               "the second client's first packet is answered with the reason")
        t.true(second.closed_by_peer(), "then the second connection is closed")
        second.close()
        t.eq(c.ask(b"qC"), b"QC1", "first client still served")
        finish(t, p, c)


@test
def client_closing_mid_packet_lets_guest_run(t):
    p, c, _ = start()
    with p:
        t.eq(c.ask(b"qC"), b"QC1", "session works")
        c.send_raw(b"$m0,")
        c.close()
        t.eq(p.wait(), 0, "proxy exit code after the client vanished")


@test
def interrupt_while_the_guest_waits_in_a_read_hypercall(t):
    """Ctrl-C stops the VM even when a vCPU sits in a blocking READ (not in KVM_RUN)."""
    import os
    import tempfile
    port = free_port()
    d = tempfile.mkdtemp()
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    w = os.open(fifo, os.O_RDWR)  # a writer that never writes: the READ waits
    with Proxy(guest("bench_file"), args=["in=" + fifo, "out=/dev/null"],
               env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)},
               extra=["--mount", d, "--mount", "/dev/null"]) as p:
        p.wait_stderr(r"target remote")
        c = Client(port)
        c.send(b"vCont;c")
        time.sleep(0.5)  # any moment works: before or during the read
        c.send_raw(b"\x03")
        reply = c.recv()
        if not reply.startswith(b"T02"):
            raise Failure("expected a T02 stop reply, got %r" % reply)
        c.send(b"k")
        t.eq(p.wait(30), 119, "proxy ends after k")
    os.close(w)
    os.unlink(fifo)
    os.rmdir(d)


@test
def client_vanishing_while_the_vm_runs_into_a_breakpoint(t):
    """Detach must stop the VM before it removes breakpoints: whether the vCPU hits
    the breakpoint before, during or after the disconnect, the guest runs on to its
    normal end (no stray #BP, no hang). Repeated to meet the race more than once."""
    leaf = symbol_address(guest("gdbtarget"), "leaf")
    for _ in range(5):
        port = free_port()
        with Proxy(guest("gdbtarget"), env={"HERMIT_DEBUG": "1",
                                            "HERMIT_DEBUG_PORT": str(port)}) as p:
            p.wait_stderr(r"target remote")
            c = Client(port)
            t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK", "breakpoint inserted")
            c.send(b"vCont;c")
            c.close()
            t.eq(p.wait(60), 0, "the guest ran to its end")
            t.contains(p.stdout_text(), "gdbtarget: counter=3")


@test
def failed_resume_leaves_the_vm_stopped(t):
    """KVM refuses an impossible CR4; the resume then fails with E.. and the VM must
    stay stopped (GDB believes it is), until a later resume succeeds."""
    port = free_port()
    with Proxy(guest("gdbtarget"), env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
        p.wait_stderr(r"target remote")
        c = Client(port)
        t.eq(c.ask(b"P3f=ffffffffffffffff"), b"OK", "CR4 written to the register cache")
        reply = c.ask(b"vCont;c")
        t.true(reply.startswith(b"E"), "resume refused, got %r" % reply)
        t.eq(c.ask(b"?")[:3], b"T05", "still stopped at the first instruction")
        t.eq(p.stdout_text(), "", "the guest did not run")
        t.eq(c.ask(b"D"), b"OK")
        t.eq(p.wait(60), 0, "after detach the guest runs to its end")
