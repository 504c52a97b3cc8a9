"""test_gdb_hermit_fdt.py: the debugger against Hermit 0.10 - main guests (FDT boot).

The fdt*/m* guests are tests/guest's imitations of each generation, static PIEs
that proxy loads at G + 0x40000: G = 0 for interface 1 (fdt10, fdt13), G = 4 GiB
for interfaces 2 and 3 (m2, m3). So a main image runs above 4 GiB and GDB finds
its symbols only through qOffsets; the page tables it reads memory through live
at G; the core file holds RAM at G; every vCPU is a thread from the start.
"""
import os
import subprocess
import tempfile

import gdbchecks
from gdblib import debug_session, require_gdb
from harness import Failure, guest, run_proxy, test, TIMEOUT

REALKVM_SUBSET = ("fdt_main_break_continue", "fdt_main_core_file")


@test
def fdt_main_attach_stops_at_the_entry_above_4_gib(t):
    require_gdb()
    s = debug_session(guest("m3-gdbtarget"), ["info registers rip", "p/x $rsi", "p/x $rdi",
                                              "p/x $rsp", "p/x $cr3", "continue"])
    t.match(r"rip\s+0x10004[0-9a-f]{4}\s+0x10004[0-9a-f]{4} <_start>", s.transcript,
            "the symbol of the entry at G + 0x40000")
    t.match(r"\$1 = 0x0\b", s.transcript, "RSI: vCPU 0")
    t.match(r"\$2 = 0x100005000\b", s.transcript, "RDI: the boot info at G + 0x5000")
    t.match(r"\$3 = 0x100038000\b", s.transcript, "RSP: G + 0x38000")
    t.match(r"\$4 = 0x100010000\b", s.transcript, "CR3: the PML4 at G + 0x10000")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def fdt_main_break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, guest("m3-gdbtarget"))


@test
def fdt_g10_break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, guest("fdt10-gdbtarget"))


@test
def fdt_main_variables_live_above_4_gib(t):
    s = gdbchecks.print_and_set_guest_variables(t, guest("m2-gdbtarget"))
    t.match(r"\$4 = 0x10004[0-9a-f]{4}\b", s.transcript, "&origin is inside the image at G")


@test
def fdt_qoffsets_and_info_vm_name_g_and_the_generation(t):
    require_gdb()
    for prefix, bias, gen in (("m3", "100040000", "generation main"),
                              ("fdt13", "40000", "generation G13")):
        s = debug_session(guest("%s-gdbtarget" % prefix),
                          ["maint packet qOffsets", "monitor info vm", "continue"])
        t.contains(s.transcript, "received: \"Text=%s;Data=%s;Bss=%s\"" % (bias, bias, bias),
                   "qOffsets of %s" % prefix)
        t.contains(s.transcript, gen, "monitor info vm names the generation")
        t.match(r"guest base 0x(100000000|0)\b", s.transcript, "and G")
        t.eq(s.proxy_rc, 0)


@test
def fdt_main_all_vcpus_are_threads_from_the_start(t):
    require_gdb()
    s = debug_session(guest("m3-gdbtarget"), ["info threads", "thread 2", "p/x $rsi",
                                              "p/x $rip", "continue"],
                      cpus=2, env={"HERMIT_CPUS": "2"})
    t.match(r"Thread 2 .*vCPU 1", s.transcript, "vCPU 1 is a thread")
    t.match(r"\$1 = 0x1\b", s.transcript, "vCPU 1 starts with RSI = 1")
    t.match(r"\$2 = 0x10004[0-9a-f]{4}\b", s.transcript, "at the same entry")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def fdt_main_core_file_knows_g(t):
    """A crash core of an image above 4 GiB: `gdb image core` relocates it."""
    require_gdb()
    image = guest("m3-crash")
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "crash.core")
        r = run_proxy(image, extra=["--coredump", core])
        if not os.path.exists(core):
            raise Failure("no core file (proxy rc %d, stderr %r)" % (r.returncode, r.stderr))
        g = subprocess.run(["gdb", "-batch", "-nx", image, core, "-ex", "bt",
                            "-ex", "p/x crash_marker"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        text = g.stdout + g.stderr
        t.match(r"#0 +(0x[0-9a-f]+ in )?(rt_outl|rt_out|crash_inner|\w+)", text, "the crash frame")
        t.match(r"#\d +0x0*10004[0-9a-f]{4} in crash_middle", text,
                "its caller, above 4 GiB, through the bias")
        t.contains(text, "= 0xfeedf00d", "a global at its relocated address")
