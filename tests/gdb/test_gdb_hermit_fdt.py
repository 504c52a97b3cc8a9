"""test_gdb_hermit_fdt.py: the debugger against Hermit 0.10 - main guests (FDT boot).

The fdt*/m* guests are tests/guest's imitations of each generation, static PIEs
that proxy loads at G + 0x40000: G = 0 for interface 1 (fdt10, fdt13), G = 4 GiB
for interfaces 2 and 3 (m2, m3). So a main image runs above 4 GiB and GDB finds
its symbols only through qOffsets; the page tables it reads memory through live
at G; the core file holds RAM at G; every vCPU is a thread from the start.
"""
import os
import re
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
    t.match(r"Thread 1\.2 .*vCPU 1", s.transcript, "vCPU 1 is a thread")
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



# tests/guest/fdt/tables.c: before_tables() on the boot tables; then all RAM mapped
# into the live tables, a fresh copy with an alias window at 0x7e0000000000 (a data
# page, then the code pages of alias_code) loaded into CR3 by switch_cr3 (cr3_loaded
# follows the load); after_tables() and later_work() on the new tables.
TABLES_COMMANDS = [
    "break before_tables", "break after_tables", "break switch_cr3",
    "continue", "p/x $cr3", "finish", "p tables_state",
    "continue", "p/x $cr3", "stepi", "p $pc == (long)&cr3_loaded", "p $cr3 == fresh_cr3",
    "x/2xw alias_data_ptr", "hbreak later_work", "hbreak *alias_fn",
    "continue", "p $pc == (long)alias_fn", "x/2xw alias_data_ptr", "x/2xw &alias_data",
    "continue", "finish", "p tables_state",
    "continue", "delete", "continue",
]


def breakpoints_across_the_table_rebuild(t, prefix, g):
    require_gdb()
    s = debug_session(guest("%s-tables" % prefix), TABLES_COMMANDS)
    src = r"at tests/guest/fdt/tables.c:\d+"
    t.match(r"Breakpoint 1, before_tables \(\) " + src, s.transcript, "stop before the rebuild")
    t.match(r"\$1 = 0x%x\n" % (g + 0x10000), s.transcript, "the boot PML4 at G + 0x10000")
    t.match(r"main \(.*\) " + src + r"\n\d+\t\tmap_all_ram", s.transcript,
            "finish returns to main, before the rebuild")
    t.match(r"\$2 = 1\n", s.transcript, "tables_state before the rebuild")
    entry = r"0x0*%x[0-9a-f]{4}" % ((g + 0x40000) >> 16)
    t.match(r"Breakpoint 3, %s in switch_cr3 \(\)" % entry, s.transcript,
            "stop at the CR3 load")
    t.match(r"\$3 = 0x%x\n" % (g + 0x10000), s.transcript,
            "CR3 still the boot PML4 (all RAM mapped into the live tables)")
    t.match(r"\n%s in switch_cr3 \(\)\n\$4 = 1\n" % entry, s.transcript,
            "stepi: one instruction, the pc at cr3_loaded")
    t.match(r"\$5 = 1\n", s.transcript, "CR3 = the fresh copy after the step")
    t.match(r"0x7e0000000000:\s+0x007ab1e5\s+0x00000001\n", s.transcript,
            "memory through the alias window of the new CR3")
    t.match(r"Hardware assisted breakpoint 4 at %s: file tests/guest/fdt/tables.c" % entry,
            s.transcript, "hbreak later_work")
    t.contains(s.transcript, "Hardware assisted breakpoint 5 at 0x7e0000001", "hbreak *alias_fn")
    t.match(r"Breakpoint 5, 0x00007e0000001[0-9a-f]{3} in \?\? \(\)\n\$6 = 1\n",
            s.transcript, "the hardware breakpoint stops code running from the alias")
    t.match(r"0x7e0000000000:\s+0x007ab1e5\s+0x000a11a5\n", s.transcript,
            "the guest's write through the alias, read through the alias")
    t.match(r"<alias_data>:\s+0x007ab1e5\s+0x000a11a5\n", s.transcript,
            "and at the page's own address")
    t.match(r"Breakpoint 2, after_tables \(\) " + src, s.transcript, "stop after the rebuild")
    t.match(r"Value returned is \$7 = 2\n", s.transcript, "finish from after_tables")
    t.match(r"\$8 = 2\n", s.transcript, "tables_state after the rebuild")
    t.match(r"Breakpoint 4, later_work \(x=(x@entry=)?2\) " + src, s.transcript,
            "the hardware breakpoint at a function reached only on the new tables")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.match(r"tables: ok frames_added=[1-9]\d* state=2 alias=0xa11a5 work=3 last=3", s.stdout,
            "the guest's own checks")


@test
def fdt_main_breakpoints_before_and_after_the_table_rebuild(t):
    """main, G = 4 GiB: the tables edited through the recursive slot, then replaced."""
    breakpoints_across_the_table_rebuild(t, "m2", 0x100000000)


@test
def fdt_g10_breakpoints_before_and_after_the_table_rebuild(t):
    """Hermit 0.10, G = 0: the tables edited through the recursive slot, then replaced."""
    breakpoints_across_the_table_rebuild(t, "fdt10", 0)


def breakpoints_on_two_mappings_of_one_byte(t, prefix):
    """Once the alias is live, alias_code's first byte has two virtual addresses. An
    int3 planted through one is hidden from reads through the other, and planting and
    removing both leaves the guest's byte intact (the stub keys them by the physical
    byte: before, the second took the first's 0xCC for the original and put it back
    on removal, and the guest ran into it)."""
    require_gdb()
    s = debug_session(guest("%s-tables" % prefix), [
        "x/2xb alias_code", "break switch_cr3", "continue", "stepi",
        "set breakpoint always-inserted on", "break *alias_fn", "x/2xb alias_code",
        "break *alias_code", "continue", "p $pc == (long)alias_fn", "delete",
        "x/2xb alias_code", "x/2xb alias_fn", "continue"])
    code = re.findall(r"<alias_code>:\s+(0x[0-9a-f]{2}\s+0x[0-9a-f]{2})\n", s.transcript)
    alias = re.findall(r"0x7e0000001[0-9a-f]{3}:\s+(0x[0-9a-f]{2}\s+0x[0-9a-f]{2})\n",
                       s.transcript)
    t.eq(len(code), 3, "three reads of alias_code: %r" % code)
    t.eq(len(set(code + alias)), 1, "the original bytes every time, through both addresses: %r" % (code + alias))
    t.true(not code[0].startswith("0xcc"), "alias_code does not start with an int3")
    t.match(r"Breakpoint 2, 0x00007e0000001[0-9a-f]{3} in \?\? \(\)\n\$1 = 1\n", s.transcript,
            "the breakpoint at the alias stops the guest there")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "tables: ok")


@test
def fdt_main_breakpoints_on_two_mappings_of_one_byte(t):
    breakpoints_on_two_mappings_of_one_byte(t, "m2")


@test
def fdt_g10_breakpoints_on_two_mappings_of_one_byte(t):
    breakpoints_on_two_mappings_of_one_byte(t, "fdt10")


def breakpoint_removed_after_its_address_moved(t, prefix):
    """0x7e0000003000 is old_page on the boot tables and new_page on the copy the
    guest loads into CR3. An int3 planted there before the switch and removed after
    it must come out of old_page, where it was planted (before, the removal went
    through the new tables: new_page got old_page's byte, old_page kept the 0xCC)."""
    require_gdb()
    s = debug_session(guest("%s-tables" % prefix), [
        "break switch_cr3", "continue", "set breakpoint always-inserted on",
        "break *0x7e0000003000", "x/xb 0x7e0000003000", "break after_tables", "continue",
        "p $cr3 == fresh_cr3", "delete 2", "x/xb &old_page", "x/xb &new_page",
        "x/xb 0x7e0000003000", "delete", "continue"])
    t.contains(s.transcript, "Breakpoint 2 at 0x7e0000003000", "planted on the boot tables")
    t.match(r"0x7e0000003000:\s+0x11\n", s.transcript, "old_page there, int3 hidden")
    t.match(r"Breakpoint 3, after_tables \(\) at tests/guest/fdt/tables.c:\d+", s.transcript,
            "stopped on the new tables")
    t.match(r"\$1 = 1\n", s.transcript, "CR3 is the copy")
    t.match(r"<old_page>:\s+0x11\n", s.transcript, "old_page got its byte back")
    t.match(r"<new_page>:\s+0x22\n", s.transcript, "new_page untouched")
    t.match(r"0x7e0000003000:\s+0x22\n", s.transcript, "the address now shows new_page")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "tables: ok")


@test
def fdt_main_breakpoint_removed_after_its_address_moved(t):
    breakpoint_removed_after_its_address_moved(t, "m2")


@test
def fdt_g10_breakpoint_removed_after_its_address_moved(t):
    breakpoint_removed_after_its_address_moved(t, "fdt10")
