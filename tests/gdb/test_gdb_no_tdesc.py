"""test_gdb_no_tdesc.py: GDB connects without target.xml.

With `set remote target-features-packet off` (or a client that never asks for
qXfer:features) GDB uses its built-in amd64 register layout; the `g` reply must
fit it (rax..mxcsr; GDB fetches orig_rax, fs_base and gs_base with `p` under its
own numbers, 57-59), or GDB drops the connection with "Remote 'g' packet reply is too long".
"""
import subprocess

from gdblib import GDB_TIMEOUT, require_gdb, start_proxy
from harness import guest, test

TARGET = "gdbtarget"


def session_without_tdesc(image, commands):
    p, port = start_proxy(image)
    try:
        cmd = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
               "-ex", "set remote target-features-packet off", image,
               "-ex", "target remote 127.0.0.1:%d" % port]
        for c in commands:
            cmd += ["-ex", c]
        g = subprocess.run(cmd, capture_output=True, text=True, timeout=GDB_TIMEOUT)
        return g.stdout + g.stderr, p.wait(60)
    finally:
        p.close()


@test
def gdb_connects_steps_and_reads_registers_without_target_xml(t):
    require_gdb()
    out, rc = session_without_tdesc(guest(TARGET), [
        "break compute", "continue", "info registers rip", "p $fs_base", "p $orig_rax", "stepi",
        "next", "set var $rax = 0x1234", "p/x $rax",
        "info registers eflags", "info registers", "delete", "continue"])
    t.true("too long" not in out, "GDB accepted the g reply: %s" % out[-3000:])
    t.match(r"Breakpoint 1, compute \(x=0\)", out, "breakpoint hit")
    t.match(r"rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <compute\+\d+>", out, "info registers rip")
    t.match(r"\$1 = 0\n", out, "fs_base fetched with p")
    t.match(r"\$2 = -1\n", out, "orig_rax fetched with p")
    t.match(r"\n64\t\treturn y;", out, "stepi and next went on in the source")
    t.match(r"\$3 = 0x1234", out, "a register written and read back")
    t.true("Could not fetch" not in out, "every register of the layout answered")
    t.match(r"\ngs\s+0x10\s+16\n", out, "info registers lists them")
    t.contains(out, "exited normally")
    t.eq(rc, 0)
