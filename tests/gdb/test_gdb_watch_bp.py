"""test_gdb_watch_bp.py: a software breakpoint inside a watched range is not a write.

On hosts without data breakpoints (PVM) watchpoints work by single-stepping and
comparing the watched bytes; the 0xCC proxy plants for a breakpoint inside that
range, and the original byte it puts back, must not count as the guest writing
there. Raw RSP, so the check sees the stop reply itself (GDB would hide a
`watch:` stop whose value did not change). On hardware KVM the debug registers
watch, and the same stops must come out.
"""
from harness import Proxy, free_port, guest, test
from rspclient import Client, symbol_address


@test
def breakpoint_inside_a_watched_range_is_not_a_write(t):
    image = guest("gdbtarget")
    leaf = symbol_address(image, "leaf")
    watched = leaf & ~7  # 8 bytes of code around leaf's first instruction
    port = free_port()
    with Proxy(image, env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
        p.wait_stderr(r"target remote")
        c = Client(port)
        c.ask(b"qSupported:swbreak+")  # the stop reason below is only sent when offered
        t.eq(c.ask(b"Z2,%x,8" % watched), b"OK", "write watchpoint on the code bytes")
        t.eq(c.ask(b"Z0,%x,1" % leaf), b"OK", "breakpoint inside the watched range")
        reply = c.resume(b"vCont;c")
        t.true(reply.startswith(b"T05") and b"swbreak" in reply and b"watch" not in reply,
               "the first stop is the breakpoint, not a write: %r" % reply)
        t.eq(c.ask(b"z0,%x,1" % leaf), b"OK", "breakpoint removed")
        reply = c.resume(b"vCont;c")
        t.true(reply.startswith(b"W00"), "then the guest runs to its end, no write seen: %r"
               % reply)
        c.close()
        t.eq(p.wait(60), 0)
