"""GDB's extended-remote (issue 23, item 12): `run` (vRun) starts the guest again from
its first instruction with a fresh image load, also after it exited, and GDB sees the
new exit status; `monitor system_reset` does the same under GDB."""
import os
import subprocess
import tempfile

import harness
from harness import test

LIVE_STATUS, ALT_STATUS = 5, 6
RUN_OUTPUT = "live: start\nlive: fd 3\nlive: waiting\nlive: done\n"


def needs_gdb():
    if subprocess.run(["which", "gdb"], capture_output=True).returncode:
        harness.skip("gdb is not installed")


def extended_session(d, *cmds):
    """live.elf under HERMIT_DEBUG=1 with its gate open (it runs to its end at once) and
    a `gdb -batch` on `target extended-remote` running cmds: GDB's transcript, the
    guest's output and proxy's status."""
    port = harness.free_port()
    gate, data, alt = (os.path.join(d, n) for n in ("gate", "data", "alt"))
    for path in (gate, data):
        open(path, "w").close()
    env = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}
    with harness.Proxy(harness.guest("live"), [gate, data, alt], env=env,
                       extra=["--mount", d]) as p:
        p.wait_stderr(r"waiting for GDB")
        cmd = ["gdb", "-batch", "-nx", harness.guest("live"),
               "-ex", "target extended-remote :%d" % port]
        for c in cmds:
            cmd += ["-ex", c]
        g = subprocess.run(cmd, capture_output=True, text=True, timeout=harness.TIMEOUT)
        rc = p.wait()
        return g.stdout + g.stderr, p.stdout_text(), rc


@test
def extended_remote_run_after_exit(t):
    """continue to the guest's exit, `run` again (the session and the VM stay after W),
    with a new exit status the second time."""
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        out, stdout, rc = extended_session(
            d, "continue", "shell touch %s" % os.path.join(d, "alt"), "run")
    t.contains(out, "exited with code 05", "the first exit: %r" % out)
    t.contains(out, "exited with code 06", "GDB sees the new exit code after run")
    t.eq(stdout, RUN_OUTPUT * 2, "the guest's output again, with fd 3 again")
    t.eq(rc, ALT_STATUS, "proxy ends with the last run's status once GDB leaves")


@test
def extended_remote_run_restarts_a_live_guest(t):
    """`run` while the guest is stopped at a breakpoint: GDB kills (k keeps the VM in
    extended mode) and runs it again from its first instruction; `run` after its exit
    too."""
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        out, stdout, rc = extended_session(
            d, "break main", "continue", "run", "p $pc == main", "continue", "run")
    t.eq(out.count("Breakpoint 1, main"), 3, "main reached on each start: %r" % out)
    t.contains(out, "$1 = 1", "stopped at main again")
    t.contains(out, "exited with code 05", "the guest ran to its end")
    t.eq(stdout, RUN_OUTPUT, "only the run that was let go printed its output")
    # A guest GDB ran itself is not attached (qAttached 0): quitting GDB kills it.
    t.eq(rc, 119, "GDB's kill at its end ends the VM as killed")


@test
def monitor_system_reset_under_gdb(t):
    """monitor system_reset: GDB's next stepi stops at once at the entry point with the
    reloaded state; the guest then runs to its end."""
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        out, stdout, rc = extended_session(
            d, "break main", "continue", "monitor system_reset", "stepi", "p/x $pc",
            "p $pc == _start", "delete", "continue")
    t.contains(out, "system_reset: the guest starts again at 0x", "the monitor's answer")
    t.contains(out, "$2 = 1", "back at _start: %r" % out)
    t.contains(out, "exited with code 05", "then the guest ran to its end")
    t.eq(stdout, RUN_OUTPUT, "its output once, from the start")
    t.eq(rc, LIVE_STATUS, "and its status")


@test
def extended_remote_run_after_a_guest_failure(t):
    """A guest failure stops in GDB (SIGBUS at the bad port); continuing reports its end
    with proxy's status for it (121) and `run` starts it again."""
    needs_gdb()
    port = harness.free_port()
    image = harness.guest("fatal")
    env = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}
    with harness.Proxy(image, ["badport"], env=env) as p:
        p.wait_stderr(r"waiting for GDB")
        g = subprocess.run(["gdb", "-batch", "-nx", image, "-ex",
                            "target extended-remote :%d" % port, "-ex", "continue", "-ex",
                            "continue", "-ex", "run", "-ex", "continue"],
                           capture_output=True, text=True, timeout=harness.TIMEOUT)
        rc = p.wait()
        out, stdout = g.stdout + g.stderr, p.stdout_text()
    t.eq(out.count("Program received signal SIGBUS"), 2, "the failure each run: %r" % out)
    t.eq(out.count("exited with code 0171"), 2, "its end, status 121 (octal 0171)")
    t.eq(stdout, "fatal: badport\n" * 2, "the guest ran twice")
    t.eq(rc, 121, "proxy ends with the failure's status when GDB leaves")
