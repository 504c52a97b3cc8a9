"""test_gdb_basic.py: attach, source-level breakpoints and stepping, registers, memory.

Each test runs stock GDB in batch mode against proxy and asserts on its transcript
and on what the guest did afterwards (proxy's exit status and output).
"""
import gdbchecks
from gdblib import debug_session, py, require_gdb
from harness import guest, test

TARGET = "gdbtarget"


@test
def attach_stops_at_the_first_instruction(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["info registers rip", "p/x $rsp", "p/x $rdi", "continue"])
    t.match(r"rip\s+0x200000\s+0x200000 <_start>", s.transcript, "rip at the entry")
    t.match(r"\$1 = 0x0\b", s.transcript, "RSP is 0 at entry")
    t.match(r"\$2 = 0x9000\b", s.transcript, "RDI points at the boot info")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0, "proxy status")


@test
def break_continue_backtrace_finish(t):
    gdbchecks.break_continue_backtrace_finish(t, guest(TARGET))

@test
def next_step_stepi_until(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break compute", "continue", "next", "p y", "step", "info frame", "stepi", "p $pc",
        "delete", "until", "continue"])
    t.match(r"Breakpoint 1, compute \(x=0\)", s.transcript, "stopped in compute")
    t.match(r"\$1 = 1\b", s.transcript, "`next` ran leaf(): y == 1")
    t.match(r"main \(.*\) at tests/guest/gdbtarget.c", s.transcript, "`step` left compute")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def set_register_takes_effect_in_the_guest(t):
    require_gdb()
    # Stop on leaf's first instruction, before it reads x from RDI: x=41 gives 42.
    s = debug_session(guest(TARGET), ["break *leaf", "continue", "set $rdi = 41", "p $rdi",
                                      "finish", "delete", "continue"], args=["1"])
    t.match(r"\$1 = 41", s.transcript, "register written")
    t.match(r"Value returned is \$\d+ = 42", s.transcript, "leaf used the new RDI")
    t.contains(s.stdout, "gdbtarget: counter=42", "the guest saw the changed register")
    t.eq(s.proxy_rc, 0)


@test
def info_registers_shows_system_registers(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["info registers", "info all-registers", "p $cr3",
                                      "p/x $efer", "p/x $cr0", "info registers system", "kill"])
    # fs_base and gs_base: GDB's GNU/Linux amd64 support (which gcore needs) lists them
    # under `info registers system`, as it does for Linux processes.
    for reg in ["rax", "r15", "rip", "eflags", "cs", "gs", "fs_base", "gs_base", "k_gs_base",
                "cr0", "cr2", "cr3", "cr4", "cr8", "efer"]:
        t.match(r"(?m)^%s\s+0x" % reg, s.transcript, "info registers lists " + reg)
    # With AVX GDB lists ymm15 in place of xmm15 (the ymm register holds it).
    for reg in ["st0", "(xmm15|ymm15)", "mxcsr", "fctrl"]:
        t.match(r"(?m)^%s\s" % reg, s.transcript, "info all-registers lists " + reg)
    t.match(r"\$1 = \(void \*\) 0x10000|\$1 = 65536", s.transcript, "CR3 = the boot PML4")
    t.match(r"\$2 = 0xd00", s.transcript, "EFER = LME|LMA|NXE")
    t.match(r"\$3 = 0x80000031", s.transcript, "CR0")


@test
def print_and_set_guest_variables(t):
    s = gdbchecks.print_and_set_guest_variables(t, guest(TARGET))
    t.match(r"\$4 = 0x2[0-9a-f]{5}\b", s.transcript, "data lives in the 0x200000 image")

@test
def memory_across_a_page_boundary_and_unmapped(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["x/4xb &page_span[4094]", "x/2xg 0x700000000000",
                                      "p page_span[8191]", "kill"])
    t.match(r"0x11\s+0x22\s+0x33\s+0x44", s.transcript, "bytes on both sides of the boundary")
    t.contains(s.transcript, "Cannot access memory at address 0x700000000000",
               "unmapped address")
    t.match(r"\$1 = 90 'Z'", s.transcript, "last byte of the second page")
