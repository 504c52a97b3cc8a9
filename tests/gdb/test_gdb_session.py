"""test_gdb_session.py: how a debugging session ends, and the monitor plumbing."""
import os
import signal
import subprocess
import time

from gdblib import debug_session, gdb_command, require_gdb, start_proxy
from harness import Failure, guest, test

TARGET = "gdbtarget"


@test
def detach_lets_the_guest_finish(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["break compute", "continue", "detach"])
    t.contains(s.transcript, "[Inferior 1 (process 1) detached]")
    t.eq(s.proxy_rc, 0, "guest ran to its end")
    t.contains(s.stdout, "gdbtarget: counter=3")


@test
def kill_ends_proxy(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["break compute", "continue", "kill"])
    t.eq(s.proxy_rc, 119, "proxy ends with the documented status")
    t.not_contains(s.stdout, "counter=", "the guest did not run on")


@test
def guest_exit_code_reaches_gdb(t):
    require_gdb()
    s = debug_session(guest("exitcode"), ["continue"], args=["42"])
    t.contains(s.transcript, "exited with code 052", "GDB prints the real exit code (octal)")
    t.eq(s.proxy_rc, 42)


@test
def gdb_killed_mid_session_lets_the_guest_finish(t):
    require_gdb()
    p, port = start_proxy(guest(TARGET))
    try:
        g = subprocess.Popen(gdb_command(guest(TARGET), port, ["break compute", "continue",
                                                                "shell sleep 30"]),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Wait until GDB has stopped the guest at the breakpoint, then kill it hard.
        deadline = time.monotonic() + 60
        out = b""
        while b"Breakpoint 1, compute" not in out:
            if time.monotonic() > deadline:
                raise Failure("gdb never hit the breakpoint: %r" % out)
            out += os.read(g.stdout.fileno(), 4096)
        g.kill()
        g.wait()
        t.eq(p.wait(60), 0, "the guest ran on to its end")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")
    finally:
        p.close()


@test
def monitor_help_is_answered(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["monitor help", "monitor info vm", "monitor bogus", "kill"])
    t.contains(s.transcript, "proxy monitor commands:")
    t.match(r"info cpus\s+each vCPU", s.transcript, "help lists commands")
    t.match(r"image: .*gdbtarget.elf \(rusty ABI\)", s.transcript, "info vm")
    t.contains(s.transcript, "unknown command 'bogus'")


@test
def second_port_setting_via_flag(t):
    require_gdb()
    from harness import Proxy, free_port
    port = free_port()
    with Proxy(guest(TARGET), extra=["-d", "-s", str(port)]) as p:
        p.wait_stderr(r"waiting for GDB on 127\.0\.0\.1:%d" % port)
        m = p.wait_stderr(r"connect with: (gdb .*)")
        t.contains(m.group(1), "target remote 127.0.0.1:%d" % port, "the exact gdb command")
        g = subprocess.run(gdb_command(guest(TARGET), port, ["continue"]), capture_output=True,
                           text=True, timeout=120)
        t.contains(g.stdout + g.stderr, "exited normally")
        t.eq(p.wait(), 0)


@test
def lldb_reads_the_target_description(t):
    if subprocess.run(["sh", "-c", "command -v lldb"], capture_output=True).returncode:
        from harness import skip
        skip("lldb is not installed")
    p, port = start_proxy(guest(TARGET))
    try:
        r = subprocess.run(["lldb", "-b", "-o", "gdb-remote 127.0.0.1:%d" % port,
                            "-o", "register read rip rsp cr3 fs_base", "-o", "kill"],
                           capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr
        t.match(r"rip = 0x0*200000", out, "LLDB reads rip")
        t.match(r"cr3 = 0x0*10000", out, "LLDB sees the system registers")
        t.match(r"fs_base = 0x0", out, "LLDB sees fs_base")
    finally:
        p.close()


@test
def unhandled_port_stops_in_gdb_before_the_vm_ends(t):
    """A guest failure under GDB is a signal stop at the crash site; continuing ends
    the VM with the documented status."""
    require_gdb()
    s = debug_session(guest("fatal"), ["continue", "bt", "continue"], args=["badport"])
    t.contains(s.transcript, "Program received signal SIGBUS")
    t.match(r"#\d+\s+.*main \(.*\) at tests/guest/fatal.c:\d+", s.transcript, "bt reaches main")
    t.contains(s.transcript, "exited with code 0171", "then the VM ends with status 121")
    t.eq(s.proxy_rc, 121)
    t.match(r"unhandled port I/O: write of 4 byte\(s\) on port 0x1234", s.stderr)


@test
def triple_fault_stops_in_gdb_before_the_vm_ends(t):
    require_gdb()
    s = debug_session(guest("fatal"), ["continue", "p $pc", "continue"], args=["triplefault"])
    t.contains(s.transcript, "Program received signal SIGSEGV")
    t.contains(s.transcript, "exited with code 0170", "then the VM ends with status 120")
    t.eq(s.proxy_rc, 120)
    t.contains(s.stderr, "triple fault")
