"""test_gdb_watch.py: hardware breakpoints and watchpoints, on either kind of host.

On hardware KVM they live in DR0-3; on software KVM (PVM) data breakpoints never
fire, so proxy single-steps and compares the watched bytes. GDB must see the same
stops either way; `proxy --host-info` says which path this host takes.
"""
import gdbchecks
from gdblib import debug_session, require_gdb
from harness import guest, host_info, needs_hardware_kvm, skip, test

TARGET = "gdbtarget"


@test
def hbreak_stops_on_a_function(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["hbreak compute", "continue", "bt 1", "delete", "continue"])
    t.match(r"Hardware assisted breakpoint 1 at 0x[0-9a-f]+: file tests/guest/gdbtarget.c",
            s.transcript, "hbreak accepted")
    t.match(r"Breakpoint 1, compute \(x=0\)", s.transcript, "hbreak hit")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def watch_reports_old_and_new_value(t):
    gdbchecks.watch_reports_old_and_new_value(t, guest(TARGET))

@test
def awatch_reports_an_access(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["break main", "continue", "awatch counter", "continue",
                                      "delete", "continue"])
    t.match(r"Hardware access \(read/write\) watchpoint 2: counter", s.transcript,
            "access watchpoint set")
    t.match(r"Hardware access \(read/write\) watchpoint 2: counter\s+(Value = |Old value = )",
            s.transcript, "access watchpoint fired")
    t.eq(s.proxy_rc, 0)


@test
def rwatch_uses_an_access_slot_on_hardware_kvm(t):
    """Hardware KVM path: Z3 is answered "unsupported", GDB uses an access slot."""
    needs_hardware_kvm()
    s = debug_session(guest(TARGET), ["break main", "continue", "rwatch counter", "continue",
                                      "delete", "continue"])
    t.match(r"Hardware read watchpoint 2: counter\s+Value = ", s.transcript,
            "read watchpoint reported")
    t.eq(s.proxy_rc, 0)


@test
def rwatch_is_refused_with_single_step_watchpoints(t):
    """Software KVM path: only changes can be seen, so a read watchpoint is refused
    when GDB inserts it, instead of silently never firing."""
    if host_info()["watchpoints"] != "single-step":
        skip("needs a host without data breakpoints (single-step watchpoints)")
    s = debug_session(guest(TARGET), ["break main", "continue", "rwatch counter", "continue",
                                      "delete", "continue"])
    t.match(r"Could not insert hardware watchpoint 2", s.transcript, "refused cleanly")
    t.contains(s.transcript, "exited normally", "the session went on")
    t.eq(s.proxy_rc, 0)


@test
def fifth_hardware_slot_is_refused(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "watch counter", "watch origin.x", "watch origin.y",
        "watch release_flag", "watch bp_hits", "continue", "delete", "continue"])
    t.match(r"Could not insert hardware watchpoint|Could not insert hardware breakpoints",
            s.transcript, "the fifth watchpoint is refused")
    t.contains(s.transcript, "exited normally", "the session went on")
    t.eq(s.proxy_rc, 0)


@test
def watchpoint_mode_matches_the_host(t):
    info = host_info()
    s = debug_session(guest(TARGET), ["kill"], env={"HERMIT_VERBOSE": "1"})
    if info["watchpoints"] == "debug-registers":
        t.contains(s.stderr, "watchpoints: debug registers")
    else:
        t.contains(s.stderr, "watchpoints: single-step emulation")
