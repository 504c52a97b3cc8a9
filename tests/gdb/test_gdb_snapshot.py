"""Snapshots while debugging: the monitor's savevm / loadvm / info snapshots / delvm from
GDB and from the console, and GDB on a guest restored from a checkpoint
(HERMIT_DEBUG=1 proxy --restore DIR).

The guest is tests/guest/ckpt.c: ckpt_round_done(r, state) runs after round r with the
global ckpt_round == r, ckpt_at_gate() after round ITERATIONS/2. Every run's output is
predicted by test_checkpoint.model() (tests/integration/test_checkpoint.py), so a
rewound guest must print exactly the predicted lines again from where it was rewound,
and end with the predicted result: memory and registers both came back.

Values are read through GDB's Python (gdb.execute(..., to_string=True) for monitor
commands, whose output GDB writes to its stderr) and printed as `@@TAG value` lines, so
the checks do not depend on how GDB interleaves stdout and stderr.
"""
import ast
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
import test_checkpoint as ck  # noqa: E402  (imported as a library: registers no tests here)
from gdblib import GDB_TIMEOUT, debug_session, gdb_command, py, require_gdb  # noqa: E402
from guestrun import wait_stdout  # noqa: E402
from harness import Failure, free_port, test  # noqa: E402

# loadvm and a restore set every vCPU's state through the host's KVM, and GDB must then
# see the new registers: host-dependent. The listing and the console are not.
REALKVM_SUBSET = ("snapshot_gdb_savevm_loadvm", "snapshot_debug_restored")

HALF = ck.ITERATIONS // 2


def record(tag, expr):
    """A GDB command printing `@@TAG <value of expr as a number>`."""
    return py("print('@@%s %%d' %% int(gdb.parse_and_eval(%r)))" % (tag, expr))


def monitor(tag, command):
    """A GDB command running `monitor COMMAND` and printing `@@TAG <repr of its output>`."""
    return py("try:\n"
              "    w = gdb.execute(%r, to_string=True)\n"
              "except gdb.error as e:\n"
              "    w = 'gdb error: %%s' %% e\n"
              "print('@@%s ' + repr(w))" % ("monitor " + command, tag))


def recorded(t, transcript, tag):
    m = re.search(r"^@@%s (.*)$" % re.escape(tag), transcript, re.M)
    if not m:
        raise Failure("GDB never got to %s: %s" % (tag, transcript[-6000:]))
    v = m.group(1)
    return ast.literal_eval(v) if v[:1] in "'\"" else int(v)


def ckpt_session(commands):
    return debug_session(harness.guest("ckpt"), commands, args=[str(ck.ITERATIONS)],
                         env={"HERMIT_MEM": ck.MEM})


def exited_with(t, s, status, what):
    t.contains(s.transcript, "exited with code 0%o" % status, "%s: GDB saw the exit" % what)
    t.eq(s.proxy_rc, status, "%s: proxy's status (%r)" % (what, s))


@test
def snapshot_gdb_savevm_loadvm_rewinds_variable_and_pc(t):
    """savevm at round 1, on to the gate, loadvm: the next stepi reports the stop at
    once, with round 1's PC and ckpt_round; continuing runs rounds 1.. again and ends
    with the result of an undisturbed run."""
    require_gdb()
    e = ck.model()
    s = ckpt_session([
        "break ckpt_round_done", "continue",
        record("round1_round", "ckpt_round"), record("round1_pc", "$pc"),
        monitor("savevm", "savevm snap_round1"),
        "delete", "break ckpt_at_gate", "continue",
        record("gate_round", "ckpt_round"), record("gate_pc", "$pc"),
        monitor("loadvm", "loadvm snap_round1"),
        "stepi",
        record("after_round", "ckpt_round"), record("after_pc", "$pc"),
        "delete", "continue", "continue"])
    t.eq(recorded(t, s.transcript, "round1_round"), 1, "ckpt_round at the first stop")
    t.eq(recorded(t, s.transcript, "gate_round"), HALF, "ckpt_round at the gate")
    pc1, pc_gate = recorded(t, s.transcript, "round1_pc"), recorded(t, s.transcript, "gate_pc")
    t.true(pc1 != pc_gate, "two different stops (%#x, %#x)" % (pc1, pc_gate))
    t.not_contains(recorded(t, s.transcript, "loadvm"), "no snapshot", "loadvm found it")
    t.eq(recorded(t, s.transcript, "after_round"), 1, "ckpt_round after loadvm + stepi")
    t.eq(recorded(t, s.transcript, "after_pc"), pc1,
         "$pc after loadvm + stepi: round 1's (the step did not run)")
    exited_with(t, s, e.status, "the rewound guest")
    t.eq(s.stdout, e.before_gate + e.from_round(1),
         "the guest's output: up to the stop on entry to ckpt_at_gate, then again from round 1")


@test
def snapshot_gdb_info_snapshots_delvm_and_register_cache_flush(t):
    """info snapshots lists what savevm made, delvm removes one (and an unknown name
    says "no snapshot"); loadvm then `maint flush register-cache` shows the snapshot's
    PC without a step."""
    require_gdb()
    e = ck.model()
    s = ckpt_session([
        "break ckpt_round_done", "continue", record("round1_pc", "$pc"),
        monitor("save_a", "savevm snap_a"), monitor("save_b", "savevm snap_b"),
        monitor("info1", "info snapshots"),
        monitor("del_a", "delvm snap_a"),
        monitor("info2", "info snapshots"),
        monitor("del_a_again", "delvm snap_a"),
        monitor("load_a", "loadvm snap_a"),
        "delete", "break ckpt_at_gate", "continue", record("gate_pc", "$pc"),
        monitor("load_b", "loadvm snap_b"),
        "maint flush register-cache", "maint flush dcache",
        record("flushed_round", "ckpt_round"), record("flushed_pc", "$pc"),
        # loadvm makes the next resume report a stop at once: the second continue runs on
        "delete", "continue", "continue"])
    info1, info2 = recorded(t, s.transcript, "info1"), recorded(t, s.transcript, "info2")
    t.contains(info1, "snap_a", "info snapshots after two savevm")
    t.contains(info1, "snap_b", "info snapshots after two savevm")
    t.not_contains(recorded(t, s.transcript, "del_a"), "no snapshot", "delvm of snap_a")
    t.not_contains(info2, "snap_a", "info snapshots after delvm snap_a")
    t.contains(info2, "snap_b", "info snapshots after delvm snap_a")
    t.contains(recorded(t, s.transcript, "del_a_again"), "no snapshot", "delvm of a deleted name")
    t.true(recorded(t, s.transcript, "load_a").strip() != "",
           "loadvm of a deleted name says something")
    t.true(recorded(t, s.transcript, "gate_pc") != recorded(t, s.transcript, "round1_pc"),
           "the gate is another stop")
    t.eq(recorded(t, s.transcript, "flushed_round"), 1, "ckpt_round after loadvm snap_b")
    t.eq(recorded(t, s.transcript, "flushed_pc"), recorded(t, s.transcript, "round1_pc"),
         "$pc after loadvm and maint flush register-cache")
    exited_with(t, s, e.status, "the rewound guest")
    t.eq(s.stdout, e.before_gate + e.from_round(1),
         "the guest's output: up to the stop on entry to ckpt_at_gate, then again from round 1")


@test
def snapshot_debug_restored_guest_stops_before_its_next_instruction(t):
    """HERMIT_DEBUG=1 proxy --restore DIR: GDB finds the guest where the checkpoint left
    it (in ckpt_wait_gate, not at the entry, nothing run since), and continue runs it to
    the result of an undisturbed run."""
    require_gdb()
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        ck.run_to_checkpoints(t, g, g.checkpoint_env())
        g.open_gate()
        port = free_port()
        env = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}
        with ck.Background(["--restore", g.ckdir] + g.mount(), env=env) as p:
            p.wait_stderr(r"waiting for GDB", timeout=ck.WAIT)
            cmds = [record("pc", "$pc"), record("round", "ckpt_round"),
                    record("image_start", "(unsigned long)&__image_start"),
                    record("image_end", "(unsigned long)&__image_end"),
                    py("import os\nprint('@@outlen %%d' %% os.path.getsize(%r))" % g.out),
                    "echo @@bt\\n", "bt", "echo @@bt-end\\n", "continue"]
            try:
                gdb = subprocess.run(gdb_command(g.image, port, cmds), capture_output=True,
                                     text=True, timeout=GDB_TIMEOUT)
            except subprocess.TimeoutExpired as e:
                raise Failure("gdb did not finish within %ss: %s\nproxy stderr=%s" % (
                    GDB_TIMEOUT, e.stdout, p.stderr_text()))
            rc = p.wait(timeout=ck.WAIT)
            stdout, stderr = p.stdout_text(), p.stderr_text()
        transcript = gdb.stdout + gdb.stderr
        where = "GDB: %s\nproxy stderr: %s" % (transcript[-6000:], stderr[-2000:])
        pc = recorded(t, transcript, "pc")
        t.true(pc != g.flavour.base, "the restored guest is not at its entry: %s" % where)
        t.true(recorded(t, transcript, "image_start") <= pc < recorded(t, transcript, "image_end"),
               "PC %#x inside the guest image: %s" % (pc, where))
        t.eq(recorded(t, transcript, "round"), HALF, "ckpt_round as at the checkpoint")
        t.eq(recorded(t, transcript, "outlen"), len(g.expected.out_through_gate),
             "the out file as at the checkpoint: the guest has not run on")
        bt = gdb.stdout[gdb.stdout.find("@@bt\n"):gdb.stdout.find("@@bt-end")]
        t.contains(bt, "ckpt_wait_gate", "the backtrace shows the gate's wait")
        t.contains(transcript, "exited with code 0%o" % g.expected.status, "GDB saw the exit")
        t.eq(rc, g.expected.status, "proxy's status: %s" % where)
        t.eq(stdout, g.expected.after_gate, "the guest's output after the gate")
        t.eq(g.out_text(), g.expected.out, "the out file")


def _console_segments(stderr, command):
    """The console's output for each run of `command` (its echo "(proxy) COMMAND" up to
    the next prompt)."""
    return [seg[len(command) + 1:] for seg in stderr.split("(proxy) ")
            if seg.startswith(command + "\n")]


@test
def snapshot_console_savevm_loadvm_at_the_gate(t):
    """From the console (no debugger): savevm while the guest waits at the gate, let it
    look for the gate file on, loadvm, then open the gate. The guest checks its scratch
    pages against its count of looks, both rewound together, and ends with the
    undisturbed result; the listing and delvm work as from GDB."""
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        env = g.env(HERMIT_MONITOR="1", HERMIT_MONITOR_HISTORY="")
        with ck.Background(g.argv(), env=env, stdin=subprocess.PIPE) as p:
            def send(text):
                p.p.stdin.write(text.encode())
                p.p.stdin.flush()

            def resumed(n):
                ck.wait_until(p, lambda: p.stderr_text().count("VM resumed") >= n,
                              "the console's VM resumed number %d" % n)

            wait_stdout(p, "gate\n", timeout=ck.WAIT)
            send("stop\nsavevm console_snap\ninfo snapshots\ncont\n")
            resumed(1)
            time.sleep(1)  # the guest looks for the gate file on, writing scratch pages
            # (loadvm may leave the VM stopped or resume it: cont then resumes or says so)
            send("stop\nloadvm console_snap\ncont\ndelvm console_snap\ninfo snapshots\n"
                 "delvm console_snap\n")
            ck.wait_until(p, lambda: len(_console_segments(p.stderr_text(),
                                                           "delvm console_snap")) == 2 and
                          "no snapshot" in p.stderr_text().rsplit("(proxy) ", 1)[-1],
                          "the answer to the second delvm")
            g.open_gate()
            p.p.stdin.close()  # Ctrl-D: the console closes, the guest runs on
            rc = p.wait(timeout=ck.WAIT)
            stdout, stderr = p.stdout_text(), p.stderr_text()
        where = "stderr: %s" % stderr[-3000:]
        infos = _console_segments(stderr, "info snapshots")
        t.eq(len(infos), 2, "two listings: %s" % where)
        t.contains(infos[0], "console_snap", "info snapshots after savevm")
        t.not_contains(infos[1], "console_snap", "info snapshots after delvm")
        loads = _console_segments(stderr, "loadvm console_snap")
        t.eq(len(loads), 1, "one loadvm: %s" % where)
        t.not_contains(loads[0], "no snapshot", "loadvm found the snapshot")
        dels = _console_segments(stderr, "delvm console_snap")
        t.not_contains(dels[0], "no snapshot", "the first delvm")
        t.contains(dels[1], "no snapshot", "delvm of a deleted name")
        t.eq(rc, g.expected.status, "exit status after loadvm: %s" % where)
        t.eq(stdout, g.expected.stdout, "the guest's output (nothing printed between savevm "
             "and loadvm; scratch consistent)")
        t.eq(g.out_text(), g.expected.out, "the out file")


@test
def snapshot_gdb_loadvm_with_a_removed_file_fails_and_changes_nothing(t):
    """savevm while the guest holds its out file open, remove that file on the host, run
    on to the next round, loadvm: the file cannot be reopened, so GDB gets an error
    (after the message) and the VM is as it was: the next stepi runs from round 2, not
    round 1, and the guest ends with the result of an undisturbed run."""
    require_gdb()
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        e = g.expected
        s = debug_session(g.image, [
            "break ckpt_round_done", "continue",
            record("round1_round", "ckpt_round"),
            monitor("savevm", "savevm with_file"),
            py("import os\nos.unlink(%r)" % g.out),
            "continue",
            record("round2_round", "ckpt_round"), record("round2_pc", "$pc"),
            monitor("loadvm", "loadvm with_file"),
            "monitor loadvm with_file",  # GDB prints the message (stderr), then the error
            "stepi",
            record("after_round", "ckpt_round"),
            "echo @@regs\\n", "info registers rip", "echo @@regs-end\\n",
            py("open(%r, 'w').write('open\\n')" % g.gate),
            "delete", "continue"],
            args=[str(g.iterations), g.gate, g.out], env=g.env(HERMIT_MOUNT=g.files))
    t.eq(recorded(t, s.transcript, "round1_round"), 1, "ckpt_round at the savevm")
    t.eq(recorded(t, s.transcript, "round2_round"), 2, "ckpt_round at the loadvm")
    t.contains(recorded(t, s.transcript, "loadvm"), "gdb error",
               "monitor loadvm fails in GDB: %r" % s)
    t.contains(s.transcript, "loadvm with_file: with_file: cannot reopen the guest's file %s "
               "(guest fd 3): No such file or directory; the VM is as it was" % g.out,
               "loadvm says which file and that nothing changed: %r" % s)
    t.contains(s.transcript, "Protocol error with Rcmd", "GDB shows an error")
    t.eq(recorded(t, s.transcript, "after_round"), 2,
         "ckpt_round after the failed loadvm and a stepi: still round 2's")
    regs = s.transcript[s.transcript.find("@@regs\n"):s.transcript.find("@@regs-end")]
    t.contains(regs, "rip", "info registers works after the failed loadvm: %r" % s)
    exited_with(t, s, e.status, "the guest after a failed loadvm")
    t.eq(s.stdout, e.stdout, "the guest's output: an undisturbed run")


@test
def snapshot_console_loadvm_with_a_removed_file_fails_and_changes_nothing(t):
    """The same from the console: savevm at the gate, the out file removed, loadvm says
    which file it cannot reopen and that the VM is as it was; the guest runs on to the
    undisturbed result."""
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        env = g.env(HERMIT_MONITOR="1", HERMIT_MONITOR_HISTORY="")
        with ck.Background(g.argv(), env=env, stdin=subprocess.PIPE) as p:
            def send(text):
                p.p.stdin.write(text.encode())
                p.p.stdin.flush()

            wait_stdout(p, "gate\n", timeout=ck.WAIT)
            send("stop\nsavevm with_file\n")
            ck.wait_until(p, lambda: "saved snapshot with_file" in p.stderr_text(),
                          "the answer to savevm")
            os.unlink(g.out)
            send("loadvm with_file\ninfo snapshots\ncont\n")
            ck.wait_until(p, lambda: len(_console_segments(p.stderr_text(),
                                                           "info snapshots")) == 1,
                          "the answer to loadvm")
            g.open_gate()
            p.p.stdin.close()
            rc = p.wait(timeout=ck.WAIT)
            stdout, stderr = p.stdout_text(), p.stderr_text()
        where = "stderr: %s" % stderr[-3000:]
        loads = _console_segments(stderr, "loadvm with_file")
        t.eq(len(loads), 1, "one loadvm: %s" % where)
        t.contains(loads[0], "cannot reopen the guest's file %s" % g.out, where)
        t.contains(loads[0], "the VM is as it was", where)
        t.eq(rc, g.expected.status, "exit status after the failed loadvm: %s" % where)
        t.eq(stdout, g.expected.stdout, "the guest's output: an undisturbed run")
