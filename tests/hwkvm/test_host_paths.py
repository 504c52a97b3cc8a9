"""test_host_paths.py: one test per host-dependent code path, named for the path.

proxy takes a different road on hardware KVM (VT-x/SVM) than on software KVM (PVM)
exactly where the debugger and the guest's ring 0 meet the host: how int3 arrives,
how the guest's own int3 gets back to the guest, where watchpoints live, whether
SSE runs in ring 0. Each path has its own test here. A test either runs on the
host that takes its path, or says why not and counts as skipped
("skipped: needs hardware KVM" / "...(PVM)"): none passes without checking
anything. `make check` covers the PVM paths; `make check-realkvm` (nested kvm_amd)
covers the hardware ones. CPUID filtering is checked on both.
"""
import os
import re
import subprocess
import tempfile

import gdbchecks
from gdblib import debug_session, py, require_gdb
from harness import (c_guest, guest, host_info, needs_hardware_kvm, needs_pvm, run_proxy, skip,
                     test)

TARGET = "gdbtarget"
STATUS_INTERNAL_ERROR = 122


# ---- helpers ----

def expect_host(t, key, value):
    """The path this test covers is the one proxy says this host takes."""
    t.eq(host_info().get(key), value, "proxy --host-info %s" % key)


def check_break_leaf_session(t, s):
    t.match(r"Breakpoint 1, leaf \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript, "hit leaf")
    t.match(r"#0\s+leaf \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript, "frame 0")
    t.match(r"#1\s+0x[0-9a-f]+ in compute \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript,
            "frame 1")
    t.match(r"#2\s+0x[0-9a-f]+ in main \(.*\) at tests/guest/gdbtarget.c:\d+", s.transcript,
            "frame 2")
    t.not_contains(s.transcript, "SIGTRAP", "the planted int3 is a breakpoint stop, not a signal")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0, "proxy status")
    t.contains(s.stdout, "gdbtarget: counter=3", "the guest ran on correctly after the breakpoint")


def break_leaf_session():
    """HERMIT_VERBOSE: the listening message names the breakpoint path only then."""
    return debug_session(guest(TARGET), ["break leaf", "continue", "bt", "delete", "continue"],
                         env={"HERMIT_VERBOSE": "1"})


def symbol_range(image, name):
    """[start, end) of function `name` in `image`, from nm -S."""
    out = subprocess.run(["nm", "-S", image], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(?m)^([0-9a-f]+) ([0-9a-f]+) [Tt] %s$" % re.escape(name), out)
    if not m:
        raise AssertionError("no symbol %s with a size in %s" % (name, image))
    start = int(m.group(1), 16)
    return start, start + int(m.group(2), 16)


def int3_addresses(image, function):
    """Addresses of the int3 instructions in `function` (objdump)."""
    start, end = symbol_range(image, function)
    out = subprocess.run(["objdump", "-d", "--start-address=%#x" % start,
                          "--stop-address=%#x" % end, image],
                         capture_output=True, text=True, check=True).stdout
    return [int(a, 16) for a in re.findall(r"(?m)^\s*([0-9a-f]+):\s+cc\s+int3\s*$", out)]


# Under GDB: stop in the guest's own #BP handler and check the trap frame it got:
# RIP just past the guest's int3 (a trap), so the guest resumes after it.
HANDLER_CHECK = py(
    "import gdb\n"
    "rip = int(gdb.parse_and_eval('f->rip'))\n"
    "byte = bytes(gdb.selected_inferior().read_memory(rip - 1, 1))[0]\n"
    "print('HANDLER_RIP %#x BYTE_BEFORE %#x' % (rip, byte))\n")


def guest_int3_under_gdb(t):
    """gdbtarget `int3` under GDB with one breakpoint of GDB's own (in leaf): GDB's
    stops at leaf, the guest's int3 goes to the guest's handler, never to GDB."""
    s = debug_session(guest(TARGET), ["break on_breakpoint", "break leaf", "continue",
                                      HANDLER_CHECK, "continue", "bt 1", "delete", "continue"],
                      args=["int3"])
    t.match(r"Breakpoint 1, on_breakpoint \(", s.transcript, "the guest's #BP handler ran")
    m = t.match(r"HANDLER_RIP (0x[0-9a-f]+) BYTE_BEFORE (0x[0-9a-f]+)", s.transcript,
                "trap frame read")
    t.eq(m.group(2), "0xcc", "the trap frame's RIP follows the guest's int3")
    want = int3_addresses(guest(TARGET), "hit_int3")
    t.eq([int(m.group(1), 16) - 1], want, "the int3 the guest's handler saw")
    t.match(r"Breakpoint 2, leaf \(x=0\)", s.transcript, "GDB's own breakpoint still works")
    t.not_contains(s.transcript, "SIGTRAP", "the guest's int3 is not a debugger stop")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "gdbtarget: bp_hits=1", "the guest counted exactly one #BP")


def guest_int3_without_debugger(t):
    img = guest("int3")
    r = run_proxy(img)
    t.ok(r, "int3: " + r.stdout.decode(errors="replace"))
    out = r.stdout.decode(errors="replace")
    m = t.match(r"int3: handled 2 \(last RIP (0x[0-9a-f]+)\)", out, "both int3s handled")
    want = int3_addresses(img, "main")
    t.eq(len(want), 2, "int3 instructions in int3.elf's main")
    t.eq(int(m.group(1), 16), want[-1] + 1, "the handler's RIP is just past the second int3")


# ---- (a) software breakpoints: two paths ----

@test
def sw_breakpoint_via_kvm_exit_debug(t):
    """Hardware KVM: GDB's planted int3 comes back as KVM_EXIT_DEBUG (#BP)."""
    needs_hardware_kvm()
    require_gdb()
    expect_host(t, "sw_breakpoints", "exit-debug")
    s = break_leaf_session()
    t.contains(s.stderr, "breakpoints: int3 via KVM_EXIT_DEBUG", "proxy names its path")
    check_break_leaf_session(t, s)


@test
def sw_breakpoint_via_pvm_emulation_failure(t):
    """PVM: GDB's planted int3 ends KVM_RUN as an emulation failure at its address."""
    needs_pvm()
    require_gdb()
    expect_host(t, "sw_breakpoints", "emulation-failure")
    s = break_leaf_session()
    t.contains(s.stderr, "breakpoints: int3 via emulation failure", "proxy names its path")
    check_break_leaf_session(t, s)


# ---- (b) the guest's own int3 ----

@test
def guest_int3_reinjected_with_inject_bp_under_gdb(t):
    """Hardware KVM with GDB attached: the guest's int3 exits as #BP (USE_SW_BP), is
    not GDB's, and goes back to the guest with KVM_GUESTDBG_INJECT_BP."""
    needs_hardware_kvm()
    require_gdb()
    expect_host(t, "sw_breakpoints", "exit-debug")
    guest_int3_under_gdb(t)


@test
def guest_int3_injected_by_proxy_under_gdb(t):
    """PVM with GDB attached: the guest's int3 is an emulation failure that is not a
    planted breakpoint; proxy injects #BP itself (src/core/emulate.c)."""
    needs_pvm()
    require_gdb()
    guest_int3_under_gdb(t)


@test
def guest_int3_native_without_debugger_on_hardware(t):
    """Hardware KVM without a debugger: KVM does not intercept int3 at all, the CPU
    delivers #BP to the guest's IDT."""
    needs_hardware_kvm()
    guest_int3_without_debugger(t)


@test
def guest_int3_injected_by_proxy_without_debugger_on_pvm(t):
    """PVM without a debugger: ring-0 int3 is an emulation failure, proxy injects #BP."""
    needs_pvm()
    guest_int3_without_debugger(t)


# ---- (c) watchpoints ----

def watch_sessions_host_check(t, want_mode, want_message):
    expect_host(t, "watchpoints", want_mode)
    s = debug_session(guest(TARGET), ["kill"], env={"HERMIT_VERBOSE": "1"})
    t.contains(s.stderr, want_message, "proxy's verbose listening message names the path")


def check_write_watch(t):
    gdbchecks.watch_reports_old_and_new_value(t, guest(TARGET))


def check_access_watch(t):
    s = debug_session(guest(TARGET), ["break main", "continue", "awatch counter", "continue",
                                      "continue", "delete", "continue"])
    t.match(r"Hardware access \(read/write\) watchpoint 2: counter", s.transcript,
            "access watchpoint set")
    hits = re.findall(r"Hardware access \(read/write\) watchpoint 2: counter\s+"
                      r"(Value = \d+|Old value = \d+\s+New value = \d+)", s.transcript)
    t.eq(len(hits), 2, "two access stops reported (%r)" % hits)
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "counter=3", "the guest ran on correctly")


@test
def write_watchpoint_via_debug_registers(t):
    """Hardware KVM: `watch` lives in DR0-3 and fires as #DB after the store."""
    needs_hardware_kvm()
    require_gdb()
    watch_sessions_host_check(t, "debug-registers", "watchpoints: debug registers)")
    check_write_watch(t)


@test
def access_watchpoint_via_debug_registers(t):
    """Hardware KVM: `awatch` (Z4) is an RW=11 debug-register slot."""
    needs_hardware_kvm()
    require_gdb()
    expect_host(t, "watchpoints", "debug-registers")
    check_access_watch(t)


@test
def read_watchpoint_via_debug_register_access_slot(t):
    """Hardware KVM: x86 has no read-only watchpoint; proxy answers Z3 "unsupported"
    and GDB falls back to an access slot, reporting reads as "Value ="."""
    needs_hardware_kvm()
    require_gdb()
    expect_host(t, "watchpoints", "debug-registers")
    s = debug_session(guest(TARGET), ["break main", "continue", "rwatch counter", "continue",
                                      "delete", "continue"])
    t.match(r"Hardware read watchpoint 2: counter\s+Value = \d+", s.transcript,
            "read watchpoint reported")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def write_and_access_watchpoints_via_single_step_on_pvm(t):
    """PVM: data breakpoints never fire; proxy single-steps and compares the bytes."""
    needs_pvm()
    require_gdb()
    watch_sessions_host_check(t, "single-step", "watchpoints: single-step emulation")
    check_write_watch(t)
    check_access_watch(t)


# ---- (d) SSE in guest ring 0 ----

@test
def sse_in_ring0_runs_on_hardware_kvm(t):
    """Hardware KVM runs the guest's SSE natively (every real HermitCore kernel uses it)."""
    needs_hardware_kvm()
    for img in (guest("sse"), c_guest("sse")):
        r = run_proxy(img)
        t.ok(r, img)
        t.contains(r.stdout.decode(errors="replace"), "sse: ok\n", img)


@test
def sse_in_ring0_is_reported_with_status_122_on_pvm(t):
    """PVM cannot execute SSE in guest ring 0: proxy must end the VM with status 122
    and a message naming the instruction, its RIP (inside the guest's main) and bytes."""
    needs_pvm()
    img = guest("sse")
    r = run_proxy(img)
    err = r.stderr.decode(errors="replace")
    t.eq(r.returncode, STATUS_INTERNAL_ERROR, "proxy status (stderr %r)" % err)
    t.contains(r.stdout.decode(errors="replace"), "sse: SSE enabled", "the guest got that far")
    m = t.match(r"vCPU 0: the host's KVM could not execute `paddq %xmm1, %xmm0` at RIP "
                r"(0x[0-9a-f]+) \(bytes ((?:[0-9a-f]{2} ?)+)\) in the RustyHermit guest "
                r"\(an SSE/AVX instruction",
                err, "the message names the instruction (tests/guest/sse.c adds with paddq)")
    start, end = symbol_range(img, "main")
    rip = int(m.group(1), 16)
    t.true(start <= rip < end, "RIP %#x lies in main [%#x, %#x)" % (rip, start, end))
    t.match(r"^(66 )?0f ", m.group(2), "the bytes are an SSE (0F-map) instruction")
    t.not_contains(r.stdout.decode(errors="replace"), "sse: ok", "SSE did not silently run")


# ---- (e) CPUID ----

@test
def cpuid_set_by_proxy_is_what_the_guest_sees(t):
    """Both hosts: KVM_SET_CPUID2's values reach every vCPU (hypervisor bit, MSR bit,
    APIC id = vCPU id, no PMU). On hardware KVM, CPUID is intercepted and answered
    from that table; on PVM too, but through a different emulator."""
    if host_info().get("kvm") not in ("hardware", "pvm"):
        skip("proxy --host-info did not name the host's KVM: %r" % host_info())
    for img in (guest("cpuid"), c_guest("cpuid")):
        r = run_proxy(img, env={"HERMIT_CPUS": "4"})
        out = r.stdout.decode(errors="replace")
        t.ok(r, img + ": " + out)
        for cpu in range(4):
            t.match(r"cpuid: cpu %d: hypervisor=yes msr=yes apic_id=%d pmu_eax=0x0\n" % (cpu, cpu),
                    out, img)
        t.contains(out, "cpuid: ok\n", img)


# ---- (f) the crash site of a failed port access ----
# Hardware KVM exits before an `out` retires (RIP is on it); PVM exits after it.
# Either way the report, GDB's stop and the core file must name the `out` itself.

def insn_at(image, addr):
    """objdump's text of the instruction at `addr` in `image`."""
    out = subprocess.run(["objdump", "-d", "--start-address=%#x" % addr,
                          "--stop-address=%#x" % (addr + 1), image],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*%x:\s+(?:[0-9a-f]{2} )+\s*(.*)$" % addr, out, re.M)
    return m.group(1).strip() if m else ""


def check_io_crash_site(t):
    img = guest("fatal")
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "badport.core")
        r = run_proxy(img, ["badport"], extra=["--coredump", core])
        err = r.stderr.decode(errors="replace")
        t.eq(r.returncode, 121, "status: unhandled port I/O")
        m = t.match(r"on port 0x1234 at RIP (0x[0-9a-f]+)", err, "the report")
        rip = int(m.group(1), 16)
        t.match(r"^out\s+%eax,\(%dx\)", insn_at(img, rip), "the reported RIP is the out")
        g = subprocess.run(["gdb", "-batch", "-nx", img, core, "-ex", "x/i $pc"],
                           capture_output=True, text=True, timeout=60)
        t.match(r"=> %#x <main\+\d+>:\s+out\s+%%eax,\(%%dx\)" % rip, g.stdout + g.stderr,
                "the core file's RIP")
    s = debug_session(img, ["continue", "x/i $pc", "continue"], args=["badport"])
    t.match(r"=> %#x <main\+\d+>:\s+out\s+%%eax,\(%%dx\)" % rip, s.transcript, "GDB's stop")
    t.eq(s.proxy_rc, 121)


@test
def io_crash_site_rewound_on_pvm(t):
    """PVM: RIP is past the out at the exit; proxy moves it back onto it."""
    needs_pvm()
    require_gdb()
    expect_host(t, "kvm", "pvm")
    check_io_crash_site(t)


@test
def io_crash_site_as_hardware_kvm_reports_it(t):
    """Hardware KVM: RIP is still on the out at the exit; proxy leaves it there."""
    needs_hardware_kvm()
    require_gdb()
    expect_host(t, "kvm", "hardware")
    check_io_crash_site(t)
