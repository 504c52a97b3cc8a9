"""test_rsp_reset.py: what a debugger holds across `monitor system_reset` and `vRun`.

Raw RSP to proxy on the gdbtarget guest: watchpoints compare with the reloaded bytes
(no stop without a write), breakpoints stay planted through repeated runs, proxy's
descriptors do not grow, and a 0xCC the debugger wrote is gone with the old RAM.
"""
import os
import struct

from harness import Proxy, free_port, guest, test
from rspclient import Client, symbol_address

IMAGE = "gdbtarget"


def start():
    port = free_port()
    p = Proxy(guest(IMAGE), env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)})
    try:
        p.wait_stderr(r"target remote")
        c = Client(port)
        c.ask(b"qSupported:multiprocess+;swbreak+")
        return p, c
    except Exception:
        p.close()
        raise


def rip(c):
    return struct.unpack("<Q", bytes.fromhex(c.ask(b"p10").decode()))[0]


def system_reset(t, c):
    r = c.ask(b"qRcmd," + b"system_reset".hex().encode())
    t.contains(bytes.fromhex(r[1:].decode()).decode(), "the guest starts again", "reset said")
    t.eq(c.recv(), b"OK", "qRcmd done")


@test
def watchpoint_after_system_reset_fires_on_a_real_write(t):
    """counter is 2 when the reset clears it to 0: the watchpoint must not take the
    reload for a write (single-step watchpoints used to stop at the first
    instruction, `Old value = 2, New value = 0`)."""
    counter = symbol_address(guest(IMAGE), "counter")
    p, c = start()
    with p:
        t.eq(c.ask(b"Z2,%x,4" % counter), b"OK", "watch counter")
        for _ in range(2):
            t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;watch:%x;" % counter, "fired")
        t.eq(c.ask(b"m%x,4" % counter), b"02000000", "counter is 2")
        system_reset(t, c)
        t.eq(c.ask(b"m%x,4" % counter), b"00000000", "counter is 0 again")
        t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;", "the stop after a reset")
        t.eq(rip(c), 0x200000, "at the first instruction")
        t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;watch:%x;" % counter, "fired again")
        t.eq(c.ask(b"m%x,4" % counter), b"01000000", "on the guest's first write")
        t.true(rip(c) != 0x200003, "not one instruction after the start")
        t.eq(c.ask(b"z2,%x,4" % counter), b"OK")
        t.eq(c.ask(b"D"), b"OK")
        t.eq(p.wait(), 0)


@test
def repeated_runs_keep_breakpoints_and_descriptors(t):
    leaf = symbol_address(guest(IMAGE), "leaf")
    p, c = start()
    with p:
        t.eq(c.ask(b"!"), b"OK", "extended mode")
        t.eq(c.resume(b"vCont;c"), b"W00;process:1", "the guest exits")
        t.eq(c.ask(b"vCont;c")[:1], b"E", "nothing to continue")
        fds = len(os.listdir("/proc/%d/fd" % p.p.pid))
        t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK", "breakpoint on leaf")
        for i in range(4):
            t.eq(c.ask(b"vRun;"), b"T05thread:p1.01;", "run %d" % i)
            t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;swbreak:;", "leaf, run %d" % i)
            t.eq(rip(c), leaf)
        t.eq(len(os.listdir("/proc/%d/fd" % p.p.pid)), fds, "no descriptor leaked")
        t.eq(c.ask(b"z0,%x,1" % leaf), b"OK")
        # A breakpoint written as memory (software-breakpoint-packet off), then a reset:
        # the reloaded RAM has the guest's own byte again.
        orig = c.ask(b"m%x,1" % leaf)
        t.eq(c.ask(b"M%x,1:cc" % leaf), b"OK")
        t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;swbreak:;", "the written int3 stops")
        system_reset(t, c)
        t.eq(c.ask(b"m%x,1" % leaf), orig, "the guest's byte is back")
        t.eq(c.resume(b"vCont;c"), b"T05thread:p1.01;", "the stop after a reset")
        t.eq(c.resume(b"vCont;c"), b"W00;process:1", "runs to its end: no int3 left")
        t.eq(c.ask(b"D"), b"OK")
        t.eq(p.wait(), 0)
        t.eq(p.stdout_text().count("gdbtarget: counter="), 2, "two complete runs")
