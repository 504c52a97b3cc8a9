"""tag.py: sourced by GDB (-x) in every conformance session, on both sides.

Prints the facts the runner compares as tagged lines `@@ KEY VALUE`, relative to
the program (function:line in twin.c, function:shim in the shims, offsets, values),
never absolute addresses:
  every stop        @@ stop KIND DETAIL FUNCTION:LINE   (breakpoint N / watchpoint N /
                                                       end-stepping), or
                    @@ stop signal SIGNAME FUNCTION   (where a signal stops is chance)
  the exit          @@ exited CODE
  tag KEY EXPR      @@ KEY <EXPR's value: an integer, or GDB's text for the rest>
  tag-where KEY     @@ KEY FUNCTION:LINE of the selected frame
  tag-func KEY      @@ KEY FUNCTION of the selected frame
  tag-bt KEY        @@ KEY the frames' functions, innermost first, up to main
  tag-out KEY /RE/ COMMAND   @@ KEY <RE's first group in COMMAND's output, or nomatch>
  tag-type KEY EXPR @@ KEY <the type code of EXPR: void, union, int, ...>
  tag-events        start reporting stops and the exit (the runner sends it)
  interrupt-soon    a SIGINT to GDB 3 s later: the user's Ctrl-C during the next command
"""
import os
import re
import signal
import threading

import gdb

TYPE_NAMES = {getattr(gdb, n): n[len("TYPE_CODE_"):].lower() for n in dir(gdb)
              if n.startswith("TYPE_CODE_")}
BP_KINDS = {gdb.BP_BREAKPOINT: "breakpoint", gdb.BP_HARDWARE_BREAKPOINT: "hbreakpoint",
            gdb.BP_WATCHPOINT: "watchpoint", gdb.BP_HARDWARE_WATCHPOINT: "watchpoint",
            gdb.BP_READ_WATCHPOINT: "rwatchpoint", gdb.BP_ACCESS_WATCHPOINT: "awatchpoint"}


def emit(key, value):
    gdb.write("@@ %s %s\n" % (key, value))
    gdb.flush()


def where(frame=None):
    try:
        f = frame or gdb.selected_frame()
        sal = f.find_sal()
        if sal.symtab and not sal.symtab.filename.endswith("twin.c"):
            return "%s:shim" % (f.name() or "??")  # the shims' lines differ on purpose
        return "%s:%d" % (f.name() or "??", sal.line if sal.symtab else 0)
    except gdb.error:
        return "??:0"


def value_text(v):
    code = v.type.strip_typedefs().code
    if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_ENUM,
                gdb.TYPE_CODE_PTR):
        return str(int(v))
    return str(v)


def on_stop(ev):
    if isinstance(ev, gdb.BreakpointEvent):
        what = " ".join("%s %d" % (BP_KINDS.get(b.type, "bp"), b.number) for b in ev.breakpoints)
    elif isinstance(ev, gdb.SignalEvent):
        # A signal (Ctrl-C) stops the program wherever it happens to be: the function
        # is a fact, the line within it is not.
        emit("stop", "signal %s %s" % (ev.stop_signal, where().split(":")[0]))
        return
    else:
        what = "end-stepping"
    emit("stop", "%s %s" % (what, where()))


def on_exit(ev):
    emit("exited", ev.exit_code if hasattr(ev, "exit_code") else "?")


class Tag(gdb.Command):
    """tag KEY EXPR"""

    def __init__(self):
        super().__init__("tag", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        key, expr = arg.split(None, 1)
        try:
            emit(key, value_text(gdb.parse_and_eval(expr)))
        except gdb.error as e:
            emit(key, "error")
            gdb.write("tag %s: %s\n" % (key, e))


class TagType(gdb.Command):
    """tag-type KEY EXPR"""

    def __init__(self):
        super().__init__("tag-type", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        key, expr = arg.split(None, 1)
        try:
            emit(key, TYPE_NAMES.get(gdb.parse_and_eval(expr).type.strip_typedefs().code, "?"))
        except gdb.error as e:
            emit(key, "error")
            gdb.write("tag-type %s: %s\n" % (key, e))


class TagWhere(gdb.Command):
    """tag-where KEY"""

    def __init__(self):
        super().__init__("tag-where", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        emit(arg.strip(), where())


class TagFunc(gdb.Command):
    """tag-func KEY"""

    def __init__(self):
        super().__init__("tag-func", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        try:
            emit(arg.strip(), gdb.selected_frame().name() or "??")
        except gdb.error as e:
            emit(arg.strip(), "error")
            gdb.write("tag-func: %s\n" % e)


class TagBt(gdb.Command):
    """tag-bt KEY"""

    def __init__(self):
        super().__init__("tag-bt", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        names = []
        try:
            f = gdb.selected_frame()
            while f is not None and len(names) < 16:
                names.append(f.name() or "??")
                if names[-1] == "main":
                    break
                f = f.older()
        except gdb.error as e:
            names.append("error")
            gdb.write("tag-bt: %s\n" % e)
        emit(arg.strip(), "<".join(names))


class TagOut(gdb.Command):
    """tag-out KEY /REGEX/ COMMAND"""

    def __init__(self):
        super().__init__("tag-out", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        m = re.match(r"(\S+)\s+/(.*?)/\s+(.*)", arg)
        key, pattern, command = m.groups()
        try:
            out = gdb.execute(command, to_string=True)
        except gdb.error as e:
            out = "error: %s" % e
        gdb.write(out)
        found = re.search(pattern, out)
        emit(key, found.group(1) if found else "nomatch")


class InterruptSoon(gdb.Command):
    """interrupt-soon: SIGINT to GDB itself 3 s later (GDB in batch mode reads no
    terminal): the same path as a user's Ctrl-C, 0x03 on the wire."""

    def __init__(self):
        super().__init__("interrupt-soon", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        threading.Timer(3, os.kill, (os.getpid(), signal.SIGINT)).start()


class TagEvents(gdb.Command):
    """tag-events: report stops and the exit from now on (the runner sends it right
    after connecting: the two sides' first stops, at their entry points, differ)."""

    def __init__(self):
        super().__init__("tag-events", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        gdb.events.stop.connect(on_stop)
        gdb.events.exited.connect(on_exit)


for cls in (Tag, TagType, TagWhere, TagFunc, TagBt, TagOut, InterruptSoon, TagEvents):
    cls()
