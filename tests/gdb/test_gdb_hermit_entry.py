"""test_gdb_hermit_entry.py: the debugger against Hermit 0.6 (hermit-entry v4) guests.

entry-gdbtarget.elf is a static-PIE linked at 0 and placed at 0x400000, so
everything GDB shows must go through the load bias: the stub answers qOffsets,
the core file carries AT_ENTRY, `monitor info vm` names the bias. The ET_EXEC
build (entry-exec-*.elf) must get offset 0. Every vCPU exists from the start with
RSI = its index, which `info threads` sees before the guest has run; proxy's start
gate (the kernel's CORE_COUNTER, else a 50 ms stagger) decides when each runs.
"""
import os
import subprocess
import tempfile

import gdbchecks
from gdblib import debug_session, require_gdb, start_proxy
from harness import Failure, guest, run_proxy, skip, test, TIMEOUT

# realkvm: a breakpoint and a crash core in the relocated image (hardware KVM's int3
# and fatal-exit paths); the rest is the stub's side, the same on every host.
REALKVM_SUBSET = ("entry_pie_break_continue", "entry_pie_core_file")

PIE = "entry-gdbtarget"
EXEC = "entry-exec-gdbtarget"


@test
def entry_pie_attach_stops_at_the_relocated_entry(t):
    require_gdb()
    s = debug_session(guest(PIE), ["info registers rip", "p/x $rsi", "p/x $rdi", "p/x $rsp",
                                   "continue"])
    t.match(r"rip\s+0x40[0-9a-f]{4}\s+0x40[0-9a-f]{4} <_start>", s.transcript,
            "the symbol of the relocated entry")
    t.match(r"\$1 = 0x0\b", s.transcript, "RSI: vCPU 0")
    t.match(r"\$2 = 0x9000\b", s.transcript, "RDI: the boot info")
    t.match(r"\$3 = 0x3f8000\b", s.transcript, "RSP: the bottom of the boot stack")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def entry_pie_break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, guest(PIE))


@test
def entry_exec_break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, guest(EXEC))


@test
def entry_pie_variables_live_at_their_relocated_address(t):
    s = gdbchecks.print_and_set_guest_variables(t, guest(PIE))
    t.match(r"\$4 = 0x4[0-9a-f]{5}\b", s.transcript, "&origin is inside the image at 0x400000")


@test
def entry_pie_all_vcpus_are_threads_from_the_start(t):
    require_gdb()
    s = debug_session(guest(PIE), ["info threads", "thread 2", "p/x $rsi", "p/x $rip",
                                   "continue"], cpus=2, env={"HERMIT_CPUS": "2"})
    t.match(r"Thread 1\.2 .*vCPU 1", s.transcript, "vCPU 1 is a thread")
    t.match(r"\$1 = 0x1\b", s.transcript, "vCPU 1 starts with RSI = 1")
    t.match(r"\$2 = 0x40[0-9a-f]{4}\b", s.transcript, "at the same entry")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def entry_qoffsets_is_the_load_bias(t):
    require_gdb()
    for image, bias in ((guest(PIE), "400000"), (guest(EXEC), "0")):
        s = debug_session(image, ["maint packet qOffsets", "monitor info vm", "continue"])
        t.contains(s.transcript, "received: \"Text=%s;Data=%s;Bss=%s\"" % (bias, bias, bias),
                   "qOffsets of %s" % image)
        if bias != "0":
            t.contains(s.transcript, "static-PIE: load bias 0x400000", "monitor info vm")
        else:
            t.not_contains(s.transcript, "static-PIE", "an ET_EXEC is not relocated")
        t.eq(s.proxy_rc, 0)


@test
def entry_pie_core_file_knows_the_load_bias(t):
    """A crash core: `gdb image core` relocates the static-PIE through AT_ENTRY."""
    require_gdb()
    image = guest("entry-crash")
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "crash.core")
        r = run_proxy(image, extra=["--coredump", core])
        if not os.path.exists(core):
            raise Failure("no core file (proxy rc %d, stderr %r)" % (r.returncode, r.stderr))
        g = subprocess.run(["gdb", "-batch", "-nx", image, core, "-ex", "bt",
                            "-ex", "p/x crash_marker"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        text = g.stdout + g.stderr
        # rt_outl is inlined into crash_inner: GDB may show it as its own frame.
        t.match(r"#0 +(0x[0-9a-f]+ in )?(rt_outl|crash_inner)", text, "the crash frame")
        t.match(r"#[12] +0x[0-9a-f]+ in crash_middle", text, "its caller, through the bias")
        t.contains(text, "= 0xfeedf00d", "a global at its relocated address")


@test
def entry_pie_lldb_slides_the_image_by_qoffsets(t):
    if subprocess.run(["sh", "-c", "command -v lldb"], capture_output=True).returncode:
        skip("lldb is not installed")
    image = guest(PIE)
    p, port = start_proxy(image)
    try:
        r = subprocess.run(["lldb", "-b", image, "-o", "gdb-remote 127.0.0.1:%d" % port,
                            "-o", "b leaf", "-o", "c", "-o", "bt", "-o", "kill"],
                           capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr
        t.match(r"Breakpoint 1: where = entry-gdbtarget.elf`leaf .* address = 0x0*40[0-9a-f]{4}",
                out, "LLDB resolves leaf at its relocated address")
        t.match(r"stop reason = breakpoint 1\.1", out, "and stops there")
        t.match(r"frame #1: 0x0*40[0-9a-f]{4} entry-gdbtarget.elf`compute", out, "bt")
    finally:
        p.close()


@test
def entry_start_gate_under_the_debugger(t):
    """entry-coregate carries the kernel's CORE_COUNTER: vCPU 1 waits at proxy's start
    gate until CPU 0 registered. Stopped by GDB, the gate holds (thread 2 is shown not
    started); a breakpoint in the code vCPU 1 runs once through it is hit."""
    require_gdb()
    s = debug_session(guest("entry-coregate"), [
        "info threads", "break boot_cpu_online", "continue", "info threads", "delete",
        "break ap_main", "continue", "info threads", "delete", "continue"],
        cpus=2, env={"HERMIT_CPUS": "2"})
    t.contains(s.transcript, "Thread 1.2 (vCPU 1, not started)", "held at the gate at first")
    t.match(r"Thread 1 hit Breakpoint 1(\.\d+)?, boot_cpu_online \(\) at "
            r"tests/guest/hermit/coregate\.c:\d+\n", s.transcript, "CPU 0 before it registers")
    at_bp1 = s.transcript.split("hit Breakpoint 1", 1)[-1].split("Breakpoint 2 at", 1)[0]
    t.contains(at_bp1, "Thread 1.2 (vCPU 1, not started)", "vCPU 1 still held there")
    t.match(r"Thread 2 hit Breakpoint 2(\.\d+)?, ap_main \(id=1\) at", s.transcript,
            "vCPU 1 ran once CPU 0 had registered")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.eq(s.stdout, "coregate: 2 cpus registered in order\n")
