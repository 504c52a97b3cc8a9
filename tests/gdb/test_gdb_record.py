"""test_gdb_record.py: GDB's `record full` and reverse execution on application code.

GDB 13 records by single-stepping every thread it resumes. Without scheduler locking
it resumes "all threads of the process", which needs the stub's multiprocess thread
ids (pPID.TID): without them GDB 13 aborts in its record target on the second
`stepi` (thread_architecture: Assertion `inf != NULL'). These tests record on the
gdbtarget guest with the default scheduler locking (replay) and check registers and
variables after every reverse step against what the forward steps saw.
"""
from gdblib import debug_session, py, require_gdb
from harness import guest, test

TARGET = "gdbtarget"
STEPS = 8

# Forward STEPS stepi, recording (pc, rsp, rax) after each; then reverse-stepi back,
# comparing every state with the forward one; print one verdict line.
STEP_AND_REVERSE = (
    "import gdb\n"
    "def state():\n"
    "    return tuple(int(gdb.parse_and_eval(r)) for r in ('$pc', '$rsp', '$rax'))\n"
    "fwd = [state()]\n"
    "for i in range(%d):\n"
    "    gdb.execute('stepi', to_string=True)\n"
    "    fwd.append(state())\n"
    "back = []\n"
    "for i in range(%d):\n"
    "    gdb.execute('reverse-stepi', to_string=True)\n"
    "    back.append(state())\n"
    "moved = len(set(s[0] for s in fwd)) > 1\n"
    "same = back == list(reversed(fwd[:-1]))\n"
    "print('REVERSE-STEPI', 'moved' if moved else 'stuck', 'same' if same else\n"
    "      'differs fwd=%%r back=%%r' %% (fwd, back))\n") % (STEPS, STEPS)


FRAME = py("print('FRAME', gdb.selected_frame().name())")


def no_internal_error(t, s):
    t.not_contains(s.transcript, "internal-error", "GDB did not abort")
    t.not_contains(s.transcript, "Assertion", "GDB did not abort")


def record_session(t, cpus):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break compute", "continue", "continue 2", "record full", py(STEP_AND_REVERSE),
        # back to the end of the log: stepi went into leaf
        "record goto end", FRAME,
        # forward over line 57 and back: `doubled` is x * 2 = 4, then again what the
        # same stack slot held before (leaf(1) left 2 there)
        "next", "print doubled", "reverse-next", "print doubled", "print $pc == leaf + 11",
        # live again (replay ends where the log does), out to compute, back into
        # leaf's last line, back out to the call
        "record goto end", "finish", FRAME, "reverse-step", "print doubled", FRAME,
        "reverse-finish", FRAME,
        "reverse-continue", FRAME, "print x",
        "record stop", "delete", "continue"], cpus=cpus)
    no_internal_error(t, s)
    t.match(r"Breakpoint 1, compute \(x=2\)", s.transcript, "stopped in the third compute()")
    t.contains(s.transcript, "REVERSE-STEPI moved same",
               "every reverse-stepi went back to the state its stepi left")
    t.match(r"Go forward to insn number %d\n.*leaf \(x=2\) at .*\n.*\nFRAME leaf\n" % STEPS,
            s.transcript, "the recorded stepi went into leaf")
    t.match(r"\$1 = 4\n", s.transcript, "doubled = 4 after next")
    t.match(r"\$2 = 2\n", s.transcript, "doubled holds the old value after reverse-next")
    t.match(r"\$3 = 1\n", s.transcript, "reverse-next is back at the first line of leaf")
    t.match(r"Value returned is \$4 = 3\nFRAME compute\n", s.transcript,
            "finish: leaf(2) returned 3 to compute")
    t.match(r"\$5 = 4\nFRAME leaf\n", s.transcript, "reverse-step went back into leaf")
    t.match(r"FRAME leaf\n(.*\n)*?FRAME compute\n", s.transcript,
            "reverse-finish ran back to the call in compute")
    t.contains(s.transcript, "No more reverse-execution history.",
               "reverse-continue ran back to where recording began")
    t.match(r"No more reverse-execution history\.\ncompute \(x=2\).*\n.*\nFRAME compute\n"
            r"\$6 = 2\n", s.transcript, "at compute's breakpoint again, x = 2")
    t.contains(s.transcript, "exited normally", "the guest ran to its end after record stop")
    t.eq(s.proxy_rc, 0, "proxy exit status")
    t.contains(s.stdout, "gdbtarget: counter=3", "the guest computed what it should")
    return s


@test
def record_full_reverse_steps_without_scheduler_locking(t):
    record_session(t, cpus=1)


@test
def record_full_with_two_vcpus(t):
    """The other vCPU runs on (or halts) while the recorded one steps: GDB names both
    as threads of process 1."""
    s = record_session(t, cpus=2)
    t.not_contains(s.transcript, "Remote failure reply", "every resume was accepted")
