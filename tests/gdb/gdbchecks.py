"""gdbchecks.py: GDB scenarios shared by the RustyHermit and C HermitCore suites.

The stub must not care which boot contract the guest speaks, so the same
scenario runs against gdbtarget.elf and c-gdbtarget.elf; each function takes
the image and asserts on the transcript and the guest's own output.
"""
from gdblib import debug_session, require_gdb


def break_continue_backtrace_finish(t, image):
    require_gdb()
    s = debug_session(image, ["break leaf", "continue", "bt", "finish", "delete", "continue"])
    t.match(r"Breakpoint 1, leaf \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript, "hit leaf")
    t.match(r"#0\s+leaf \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript, "frame 0")
    t.match(r"#1\s+0x[0-9a-f]+ in compute \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript,
            "frame 1")
    t.match(r"#2\s+0x[0-9a-f]+ in main \(.*\) at tests/guest/gdbtarget.c:\d+", s.transcript,
            "frame 2")
    t.match(r"0x[0-9a-f]+ in compute \(x=0\) at tests/guest/gdbtarget.c:\d+", s.transcript,
            "finish returned to compute")
    t.match(r"Value returned is \$\d+ = 1", s.transcript, "leaf(0) returns 1")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "gdbtarget: counter=3")


def print_and_set_guest_variables(t, image):
    """Returns the session, for checks that depend on where the image lives."""
    require_gdb()
    s = debug_session(image, ["break compute", "continue", "p origin", "p counter",
                              "set var origin.x = 7", "p origin", "p/x &origin", "delete",
                              "continue"])
    t.match(r"\$1 = \{x = 3, y = 4\}", s.transcript, "struct read")
    t.match(r"\$2 = 0", s.transcript, "int read")
    t.match(r"\$3 = \{x = 7, y = 4\}", s.transcript, "struct written")
    t.contains(s.stdout, "origin=(7,4)", "the guest saw the written variable")
    t.eq(s.proxy_rc, 0)
    return s


def watch_reports_old_and_new_value(t, image):
    require_gdb()
    s = debug_session(image, ["break main", "continue", "watch counter", "continue", "continue",
                              "delete", "continue"])
    t.match(r"Hardware watchpoint 2: counter", s.transcript, "watchpoint set")
    t.match(r"Old value = 0\s+New value = 1", s.transcript, "first change")
    t.match(r"Old value = 1\s+New value = 2", s.transcript, "second change")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "counter=3", "the guest ran on correctly")
