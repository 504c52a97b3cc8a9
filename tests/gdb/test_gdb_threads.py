"""test_gdb_threads.py: vCPUs as GDB threads; all-stop; scheduler locking; Ctrl-C."""
import os
import signal
import subprocess
import time

from gdblib import (INTERRUPT_SOON, debug_session, gdb_command, py, require_gdb,
                    start_proxy)
from harness import Failure, guest, test

TARGET = "gdbtarget"


@test
def info_threads_lists_every_vcpu(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["info threads", "kill"], cpus=4)
    for n in range(4):
        t.match(r"Thread 1\.%d \(vCPU %d, [a-z ]+\)" % (n + 1, n), s.transcript,
                "thread for vCPU %d" % n)


@test
def breakpoint_on_another_vcpu_stops_all(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break ap_work", "continue", "bt 1", "info threads", "thread 1", "bt 1",
        "info registers rip", "delete", "continue"], cpus=4)
    m = t.match(r"\[Switching to Thread 1\.(\d+)\]", s.transcript, "stop on an AP thread")
    t.true(m.group(1) in ("2", "3", "4"), "the hit was on vCPU 1-3, got thread %s" % m.group(1))
    t.match(r"Breakpoint 1, ap_work \(id=\d\)", s.transcript, "breakpoint in ap_work")
    t.match(r"\[Switching to thread 1 \(Thread 1\.1\)\]", s.transcript, "thread 1 selectable")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def scheduler_locking_steps_only_the_selected_vcpu(t):
    require_gdb()
    check = (
        "import gdb\n"
        "def rip(n):\n"
        "    gdb.execute('thread %d' % n, to_string=True)\n"
        "    return int(gdb.parse_and_eval('$pc'))\n"
        "before = [rip(n) for n in (1, 2)]\n"
        "gdb.execute('thread 1', to_string=True)\n"
        "gdb.execute('stepi', to_string=True)\n"
        "after = [rip(n) for n in (1, 2)]\n"
        "print('LOCKSTEP', 'moved' if after[0] != before[0] else 'stuck',\n"
        "      'other-same' if after[1] == before[1] else 'other-moved')\n")
    s = debug_session(guest(TARGET), ["break ap_work", "continue", "set scheduler-locking on",
                                      py(check), "set scheduler-locking off", "delete",
                                      "continue"], cpus=2)
    t.contains(s.transcript, "LOCKSTEP moved other-same",
               "stepi moved vCPU 0 and left vCPU 1 where it was")
    t.eq(s.proxy_rc, 0)


@test
def ctrl_c_stops_a_spinning_guest(t):
    """Ctrl-C in GDB during `continue` (0x03 on the wire) stops a guest in a loop."""
    require_gdb()
    p, port = start_proxy(guest(TARGET), args=["spin"])
    try:
        g = subprocess.Popen(gdb_command(guest(TARGET), port, [
            "continue", "bt 1", "set var release_flag = 1", "continue"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # The guest prints its start line just before it enters the loop (GDB's own
        # output is block-buffered on a pipe, so it cannot tell us).
        deadline = time.monotonic() + 60
        while "gdbtarget: start" not in p.stdout_text():
            if time.monotonic() > deadline or g.poll() is not None:
                raise Failure("the guest never started: %s" % p.stderr_text())
            time.sleep(0.05)
        time.sleep(0.3)
        g.send_signal(signal.SIGINT)
        out, _ = g.communicate(timeout=120)
        transcript = out.decode(errors="replace")
        t.match(r"(Program|Thread \d+ .*) received signal SIGINT", transcript,
                "stopped by Ctrl-C")
        t.match(r"#0\s+.*(spin_until_flag|rt_pause)", transcript, "stopped inside the loop")
        t.contains(transcript, "exited normally", "continue resumed it to its end")
        t.eq(p.wait(60), 0)
    finally:
        p.close()


@test
def stepping_does_not_enter_the_timer_handler(t):
    """With a LAPIC timer firing, stepi stays in the code being stepped."""
    require_gdb()
    check = (
        "import gdb\n"
        "bad = []\n"
        "for i in range(60):\n"
        "    gdb.execute('stepi', to_string=True)\n"
        "    f = gdb.selected_frame().name() or '?'\n"
        "    if 'timer' in f or 'trap' in f or 'isr' in f: bad.append(f)\n"
        "ticks = int(gdb.parse_and_eval('timer_ticks'))\n"
        "print('STEPPED', 'clean' if not bad else 'entered ' + ','.join(sorted(set(bad))), ticks)\n")
    s = debug_session(guest(TARGET), ["break compute", "continue", py(check), "delete",
                                      "continue"], args=["timer", "20"])
    m = t.match(r"STEPPED (\S+)", s.transcript, "stepping ran")
    t.eq(m.group(1), "clean", "no single step landed in an interrupt handler")
    t.match(r"gdbtarget: timer_ticks=[1-9]", s.stdout, "the timer really was running")
    t.eq(s.proxy_rc, 0)


@test
def guests_own_int3_reaches_its_handler(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["continue"], args=["int3"])
    t.not_contains(s.transcript, "SIGTRAP", "the guest's int3 is not a debugger stop")
    t.contains(s.transcript, "exited normally")
    t.contains(s.stdout, "bp_hits=1", "the guest's #BP handler ran")
    t.eq(s.proxy_rc, 0)




@test
def ctrl_c_with_scheduler_locking_names_the_resumed_thread(t):
    """Only thread 2 runs (vCont;c:2); the stop after Ctrl-C must name it: a stop on
    thread 1, which GDB did not resume, made GDB 13 abort in inline-frame.c."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "set scheduler-locking on", "thread 2", INTERRUPT_SOON,
        "continue", "info threads", "bt 1", "set scheduler-locking off",
        "set var release_flag = 1", "delete", "continue"], args=["spin"], cpus=2)
    t.not_contains(s.transcript, "internal-error", "GDB kept its footing")
    t.match(r"Thread 2 received signal SIGINT", s.transcript, "the stop names thread 2")
    t.match(r"\* 2\s+Thread 1\.2 \(vCPU 1", s.transcript, "thread 2 is the current one")
    t.match(r"#0 .*(spin_until_flag|rt_pause|ap_work)", s.transcript, "vCPU 1's own frame")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def stepping_a_vcpu_the_guest_has_not_started_is_an_error(t):
    """At the first instruction vCPU 1 waits at the start gate: stepping it (or running
    nothing else) can never stop. GDB shows why, and the session goes on."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "info threads", "thread 2", "stepi", "set scheduler-locking on", "continue",
        "set scheduler-locking off", "thread 1", "stepi", "continue"], cpus=2)
    t.contains(s.transcript, "Thread 1.2 (vCPU 1, not started)", "thread 2 is shown not started")
    t.match(r"Remote failure reply: E\.cannot step Thread 2 \(vCPU 1, not started\): it has "
            r"not started running yet", s.transcript, "stepi of thread 2 explained")
    t.match(r"Remote failure reply: E\.cannot continue Thread 2 \(vCPU 1, not started\)",
            s.transcript, "continuing only thread 2 explained")
    t.contains(s.transcript, "exited normally", "thread 1 then ran the guest to its end")
    t.eq(s.proxy_rc, 0)
