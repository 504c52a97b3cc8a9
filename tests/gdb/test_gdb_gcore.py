"""test_gdb_gcore.py: GDB's own `gcore` on a stopped guest, read back by `gdb app core`.

GDB writes core files only for targets it treats as GNU/Linux; the stub's target
description carries GDB's i386.linux feature (orig_rax, always -1) for that, and
qXfer:auxv gives AT_ENTRY, so a core of a relocated (static-PIE) image finds its
load bias again. Checked for every ABI flavour of the debugger's test guest.
"""
import os
import subprocess
import tempfile

from gdblib import debug_session, require_gdb
from harness import TIMEOUT, guest, test

# realkvm: one core at a breakpoint (hardware KVM's int3 path); the rest is GDB's side.
REALKVM_SUBSET = ("gcore_rusty_guest",)


def gcore_then_read_back(t, image, cpus=1):
    require_gdb()
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "guest.core")
        s = debug_session(image, ["break leaf", "continue", "gcore " + core, "p $orig_rax",
                                  "delete", "continue"], cpus=cpus)
        t.contains(s.transcript, "Saved corefile " + core, "gcore wrote the file")
        t.match(r"\$1 = -1\b", s.transcript, "orig_rax reads -1")
        t.contains(s.transcript, "exited normally", "the guest ran on to its end")
        t.eq(s.proxy_rc, 0)
        g = subprocess.run(["gdb", "-batch", "-nx", image, core, "-ex", "bt", "-ex", "p origin",
                            "-ex", "info threads"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        text = g.stdout + g.stderr
        t.match(r"#0\s+leaf \(x=0\) at tests/guest/gdbtarget.c:\d+", text, "frame 0 in the core")
        t.match(r"#1\s+0x[0-9a-f]+ in compute \(x=0\)", text, "frame 1")
        t.match(r"#2\s+0x[0-9a-f]+ in main \(", text, "frame 2")
        t.match(r"\$1 = \{x = 3, y = 4\}", text, "a global from the core's memory")
        return text


@test
def gcore_rusty_guest(t):
    gcore_then_read_back(t, guest("gdbtarget"))


@test
def gcore_c_guest(t):
    gcore_then_read_back(t, guest("c-gdbtarget"))


@test
def gcore_static_pie_guest_keeps_its_load_bias(t):
    text = gcore_then_read_back(t, guest("entry-gdbtarget"))
    t.match(r"#1\s+0x0*40[0-9a-f]{4} in compute", text, "addresses of the relocated image")


@test
def gcore_two_vcpus_are_two_threads(t):
    text = gcore_then_read_back(t, guest("gdbtarget"), cpus=2)
    t.match(r"\* 1 +(Thread|LWP|process) ", text, "thread 1")
    t.match(r"\n +2 +(Thread|LWP|process) ", text, "thread 2")
