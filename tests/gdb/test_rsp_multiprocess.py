"""test_rsp_multiprocess.py: the protocol extensions a client must ask for, raw.

Speaks RSP over a socket to proxy on the gdbtarget guest (stopped before its first
instruction) and checks each extension's two sides: multiprocess thread ids
(pPID.TID, process 1) in every packet and reply that carries one, only after
`multiprocess+` in qSupported; `swbreak:`/`hwbreak:` stop reasons only after
`swbreak+`/`hwbreak+`; the exit reply to `k` (LLDB waits for it); and a second
client told why it is turned away instead of a bare reset.
"""
import struct

from harness import Proxy, free_port, guest, test
from rspclient import Client, symbol_address

KILLED = 119  # proxy's status for a VM a debugger killed (README)


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


def rip(c):
    return struct.unpack("<Q", bytes.fromhex(c.ask(b"p10").decode()))[0]


@test
def multiprocess_thread_ids_everywhere(t):
    p, c, _ = start(cpus=2)
    leaf = symbol_address(guest("gdbtarget"), "leaf")
    with p:
        r = c.ask(b"qSupported:multiprocess+;swbreak+;hwbreak+")
        t.contains(r.decode(), ";multiprocess+", "multiprocess+ offered back")
        t.eq(c.ask(b"qfThreadInfo"), b"mp1.1,p1.2", "thread list")
        t.eq(c.ask(b"qsThreadInfo"), b"l", "end of the thread list")
        t.eq(c.ask(b"qC"), b"QCp1.1", "current thread")
        t.eq(c.ask(b"?"), b"T05thread:p1.01;", "stop reply")
        t.eq(c.ask(b"Tp1.2"), b"OK", "thread p1.2 is alive")
        t.eq(c.ask(b"Tp2.1"), b"E01", "process 2 does not exist")
        t.eq(c.ask(b"Tp1.3"), b"E01", "thread p1.3 does not exist")
        t.eq(c.ask(b"Hgp1.2"), b"OK", "select thread p1.2")
        t.eq(c.ask(b"qC"), b"QCp1.2", "p1.2 is current")
        t.eq(c.ask(b"Hgp2.1"), b"E01", "a thread of another process")
        t.eq(c.ask(b"Hgp1.1"), b"OK", "back to p1.1")
        t.eq(rip(c), 0x200000, "p1.1 stands at the entry point")
        t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK", "breakpoint on leaf")
        t.eq(c.ask(b"vCont;c:p2.-1"), b"E01", "resuming another process is refused")
        r = c.ask(b"vCont;c:p1.-1")
        t.match(r"^T05thread:p1\.0[12];swbreak:;$", r.decode(), "stop at the breakpoint")
        t.eq(c.ask(b"Hg" + r[len(b"T05thread:"):-len(b";swbreak:;")]), b"OK", "its thread")
        t.eq(rip(c), leaf, "stopped at leaf")
        t.eq(c.ask(b"z0,%x,1" % leaf), b"OK", "breakpoint removed")
        t.eq(c.ask(b"D;2"), b"E01", "detaching another process is refused")
        t.eq(c.ask(b"vKill;2"), b"E03", "killing another process is refused")
        t.eq(c.ask(b"D;1"), b"OK", "detach process 1")
        c.close()
        t.eq(p.wait(), 0, "the guest ran to its end")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")


@test
def plain_thread_ids_without_multiprocess(t):
    p, c, _ = start(cpus=2)
    with p:
        r = c.ask(b"qSupported:swbreak+;hwbreak+")
        t.not_contains(r.decode(), "multiprocess", "multiprocess not offered unasked")
        t.eq(c.ask(b"qfThreadInfo"), b"m1,2", "thread list")
        t.eq(c.ask(b"qC"), b"QC1", "current thread")
        t.eq(c.ask(b"?"), b"T05thread:01;", "stop reply")
        t.eq(c.ask(b"vCont;c"), b"W00", "exit reply")
        t.eq(p.wait(), 0)


@test
def exit_reply_names_the_process(t):
    p, c, _ = start()
    with p:
        c.ask(b"qSupported:multiprocess+")
        t.eq(c.ask(b"vCont;c"), b"W00;process:1", "exit reply")
        t.eq(p.wait(), 0)


@test
def vkill_ends_the_vm(t):
    p, c, _ = start()
    with p:
        c.ask(b"qSupported:multiprocess+")
        t.eq(c.ask(b"vKill;1"), b"OK", "vKill")
        t.eq(p.wait(), KILLED)
        t.not_contains(p.stdout_text(), "counter=", "the guest did not run on")


@test
def k_gets_an_exit_reply(t):
    for offer, want in ((b"qSupported:swbreak+", b"X09"),
                        (b"qSupported:multiprocess+", b"X09;process:1")):
        p, c, _ = start()
        with p:
            c.ask(offer)
            t.eq(c.ask(b"k"), want, "reply to k after %r" % offer)
            t.eq(p.wait(), KILLED)


@test
def stop_reasons_only_when_offered(t):
    image = guest("gdbtarget")
    leaf, compute = symbol_address(image, "leaf"), symbol_address(image, "compute")
    p, c, _ = start()
    with p:
        c.ask(b"qSupported:multiprocess+")  # neither swbreak+ nor hwbreak+
        t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK")
        t.eq(c.ask(b"vCont;c"), b"T05thread:p1.01;", "software breakpoint, no swbreak:")
        t.eq(rip(c), leaf, "stopped at the breakpoint's address")
        t.eq(c.ask(b"z0,%x,1" % leaf), b"OK")
        t.eq(c.ask(b"Z1,%x,1" % compute), b"OK")
        t.eq(c.ask(b"vCont;c"), b"T05thread:p1.01;", "hardware breakpoint, no hwbreak:")
        t.eq(rip(c), compute, "stopped at the hardware breakpoint")
        c.ask(b"qSupported:multiprocess+;hwbreak+")
        t.eq(c.ask(b"vCont;c"), b"T05thread:p1.01;hwbreak:;", "hwbreak: once offered")
        t.eq(c.ask(b"z1,%x,1" % compute), b"OK")
        t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK")
        t.eq(c.ask(b"vCont;c"), b"T05thread:p1.01;", "still no swbreak:")
        c.ask(b"qSupported:multiprocess+;swbreak+")
        t.eq(c.ask(b"vCont;c"), b"T05thread:p1.01;swbreak:;", "swbreak: once offered")
        t.eq(c.ask(b"z0,%x,1" % leaf), b"OK")
        t.eq(c.ask(b"D"), b"OK")
        t.eq(p.wait(), 0)


@test
def second_client_is_told_why(t):
    p, c, port = start()
    with p:
        t.eq(c.ask(b"qC"), b"QC1", "the first client is served")
        other = Client(port)
        r = other.ask(b"qSupported:multiprocess+;swbreak+")
        t.eq(r, b"E.proxy: another debugger is attached to this VM; only one at a time (it "
             b"must detach first)", "the second client's first packet gets the reason")
        t.true(other.closed_by_peer(), "then it is hung up on")
        other.close()
        t.eq(c.ask(b"qC"), b"QC1", "the first client goes on")
        p.wait_stderr(r"turned away a debugger from 127\.0\.0\.1:\d+: another one is attached")
        t.eq(c.ask(b"D"), b"OK")
        t.eq(p.wait(), 0)
