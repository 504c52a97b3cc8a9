"""test_gdb_packets_off.py: GDB with some of its packets turned off.

Without target.xml: with `set remote target-features-packet off` (or a client that never asks for
qXfer:features) GDB uses its built-in amd64 register layout; the `g` reply must
fit it (rax..mxcsr; GDB fetches orig_rax, fs_base and gs_base with `p` under its
own numbers, 57-59), or GDB drops the connection with "Remote 'g' packet reply is too long".

Breakpoints by memory write: with `set remote software-breakpoint-packet off` (as
some clients always do) GDB reads the byte, writes 0xCC with M/X and writes the
byte back to remove it. The 0xCC is a debugger breakpoint: a SIGTRAP stop, never
a #BP for the guest (software KVM ends KVM_RUN with an emulation failure on it,
hardware KVM with a #BP exit: the test names the path this host takes).
"""
import subprocess

from gdblib import GDB_TIMEOUT, require_gdb, start_proxy
from harness import Proxy, free_port, guest, host_info, test
from rspclient import Client, symbol_address

TARGET = "gdbtarget"


def session_with_packet_off(image, packet, commands):
    p, port = start_proxy(image)
    try:
        cmd = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
               "-ex", "set remote %s-packet off" % packet, image,
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
    out, rc = session_with_packet_off(guest(TARGET), "target-features", [
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


def bp_path():
    return "int3 as an emulation failure (software KVM)" if host_info()["kvm"] == "pvm" \
        else "int3 as a #BP exit (hardware KVM)"


@test
def breakpoints_planted_by_memory_writes_stop_with_sigtrap(t):
    require_gdb()
    out, rc = session_with_packet_off(guest(TARGET), "software-breakpoint", [
        "break compute", "continue", "continue", "info breakpoints", "delete", "continue"])
    t.match(r"Breakpoint 1, compute \(x=0\)", out, "first hit (%s)" % bp_path())
    t.match(r"Breakpoint 1, compute \(x=1\)", out, "hit again after stepping over it")
    t.match(r"breakpoint already hit 2 times", out, "GDB counted both")
    t.contains(out, "exited normally", "the guest never saw a #BP")
    t.eq(rc, 0)


@test
def a_written_int3_reads_back_and_ends_when_overwritten(t):
    """Raw RSP: M writes 0xCC (a read shows it, as gdbserver's do), the vCPU stops
    there with SIGTRAP; writing the original byte back removes it."""
    image = guest(TARGET)
    leaf = symbol_address(image, "leaf")
    port = free_port()
    with Proxy(image, env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
        p.wait_stderr(r"target remote")
        c = Client(port)
        orig = c.ask(b"m%x,1" % leaf)
        t.eq(c.ask(b"M%x,1:cc" % leaf), b"OK", "0xCC written")
        t.eq(c.ask(b"m%x,1" % leaf), b"cc", "a read shows what the debugger wrote")
        reply = c.resume(b"vCont;c")
        t.true(reply.startswith(b"T05"), "a SIGTRAP stop (%s): %r" % (bp_path(), reply))
        pc = int.from_bytes(bytes.fromhex(c.ask(b"p10").decode()), "little")
        t.eq(pc, leaf, "stopped on the int3")
        t.eq(c.ask(b"M%x,1:%s" % (leaf, orig)), b"OK", "original byte back")
        reply = c.resume(b"vCont;c")
        t.true(reply.startswith(b"W00"), "then the guest runs to its end: %r" % reply)
        c.close()
        t.eq(p.wait(60), 0)
