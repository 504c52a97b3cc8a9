"""test_gdb_watch_range.py: watchpoints on unaligned ranges and ranges over 8 bytes.

A debug register watches 1, 2, 4 or 8 aligned bytes; proxy splits a longer or
unaligned range into such pieces (as gdbserver does) and refuses only when the
four slots do not hold them all. On hosts without data breakpoints (PVM) the
same pieces are compared after every single step. Each test names the path
this host takes (`proxy --host-info`).
"""
from gdblib import debug_session, require_gdb
from harness import guest, host_info, test

TARGET = "gdbtarget"


def path():
    return "watchpoints by %s" % host_info()["watchpoints"]


@test
def unaligned_watchpoint_fires(t):
    """4 bytes starting one byte before `counter`: pieces of 1, 2 and 1 bytes."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "watch *(int *)((char *)&counter - 1)", "continue",
        "delete", "continue"])
    t.match(r"Hardware watchpoint 2: \*\(int \*\)\(\(char \*\)&counter - 1\)", s.transcript,
            "accepted as a hardware watchpoint (%s)" % path())
    # The byte before counter is page_span[8191], 0x5A: 0x5A -> 0x15A.
    t.match(r"Old value = 90\s+New value = 346", s.transcript,
            "fired on the write to counter's first byte (%s)" % path())
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def sixteen_byte_watchpoint_fires(t):
    """16 bytes from `counter` (two 8-byte pieces); the write is in the first."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "watch *(char (*)[16])&counter", "continue",
        "p counter", "delete", "continue"])
    t.match(r"Hardware watchpoint 2: \*\(char \(\*\)\[16\]\)&counter", s.transcript,
            "accepted as a hardware watchpoint (%s)" % path())
    t.match(r"Hardware watchpoint 2: \*\(char \(\*\)\[16\]\)&counter\s+Old value = ",
            s.transcript, "fired (%s)" % path())
    t.contains(s.transcript, "$1 = 1", "on the first write to counter")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def range_needing_five_slots_is_refused_and_the_session_goes_on(t):
    """40 aligned bytes need five 8-byte pieces: refused when inserted; proxy says why."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "watch *(char (*)[40])&counter", "continue", "delete",
        "continue"])
    t.contains(s.transcript, "Could not insert hardware watchpoint 2", "refused (%s)" % path())
    t.contains(s.stderr, "needs 5 debug register(s)", "proxy's log says why")
    t.contains(s.transcript, "exited normally", "the session went on")
    t.eq(s.proxy_rc, 0)


NOTICE = "watchpoints are emulated by single-stepping the guest"


@test
def single_step_watchpoints_are_announced_once(t):
    """Where watchpoints are emulated by single-stepping, GDB prints why the guest
    slows down when it first continues with one; where debug registers watch, it
    prints nothing of the sort."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "watch counter", "continue", "watch origin.x", "continue",
        "delete", "continue"])
    t.contains(s.transcript, "Old value = 0", "the watchpoint works")
    if host_info()["watchpoints"] == "single-step":
        t.eq(s.transcript.count(NOTICE), 1, "said once (%s): %s" % (path(), s.transcript))
    else:
        t.eq(s.transcript.count(NOTICE), 0, "nothing to say (%s)" % path())
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
