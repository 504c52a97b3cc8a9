"""test_gdb_c_abi.py: the debugger against a C HermitCore guest (c-gdbtarget.elf).

The stub must not care which boot contract the guest speaks: a representative
subset of test_gdb_basic.py / test_gdb_watch.py / test_gdb_session.py against the
C-contract build of the same program (linked at 0x800000; the entry is the
`jmp start64` over the kernel header, RDI and RDX are 0).
"""
import gdbchecks
from gdblib import debug_session, require_gdb
from harness import c_guest, test

TARGET = "gdbtarget"


@test
def c_attach_stops_at_the_c_entry(t):
    require_gdb()
    s = debug_session(c_guest(TARGET), ["info registers rip", "p/x $rsp", "p/x $rdi", "p/x $rdx",
                                        "x/1xb $pc", "p/x $cs", "continue"])
    t.match(r"rip\s+0x800000\s+0x800000 <_start>", s.transcript, "rip at the image's first byte")
    t.match(r"\$1 = 0x0\b", s.transcript, "RSP is 0 at entry")
    t.match(r"\$2 = 0x0\b", s.transcript, "RDI is 0: C images get no pointer")
    t.match(r"\$3 = 0x0\b", s.transcript, "RDX is 0 (the C kernel's mb_info)")
    t.match(r"0x800000 <_start>:\s+0xe9", s.transcript, "the entry is a jmp rel32")
    t.match(r"\$4 = 0x8\b", s.transcript, "CS = 0x08")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0, "proxy status")


@test
def c_stepi_over_the_header_jump(t):
    require_gdb()
    s = debug_session(c_guest(TARGET), ["stepi", "info registers rip", "continue"])
    t.match(r"rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <start64>", s.transcript, "one step lands on start64")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def c_break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, c_guest(TARGET))

@test
def c_print_and_set_guest_variables(t):
    s = gdbchecks.print_and_set_guest_variables(t, c_guest(TARGET))
    t.match(r"\$4 = 0x8[0-9a-f]{5}\b", s.transcript, "data lives in the 0x800000 image")

@test
def c_watch_counter(t):
    gdbchecks.watch_reports_old_and_new_value(t, c_guest(TARGET))

@test
def c_detach_lets_the_guest_finish(t):
    require_gdb()
    s = debug_session(c_guest(TARGET), ["break compute", "continue", "detach"], cpus=2)
    t.contains(s.transcript, "[Inferior 1 (process 1) detached]")
    t.eq(s.proxy_rc, 0, "guest ran to its end")
    t.contains(s.stdout, "gdbtarget: counter=3")
    t.contains(s.stdout, "gdbtarget: ap_counter[1]=1000", "the AP came up through the C gate")
