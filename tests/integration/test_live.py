"""QEMU-style monitor behaviour (issue 23, items 11 and 12): the console's commands
answer while the guest runs beside a listening GDB stub (the vCPUs pause for the
command and run on), and system_reset starts the guest again from a fresh image load
with its files closed. The live guest (tests/guest/live.c) spins until a gate file
exists, so nothing here depends on timing."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from test_checkpoint import wait_until  # noqa: E402  (a library here: no tests registered)

LIVE_STATUS = 5
START = "live: start\nlive: fd 3\nlive: waiting\n"


def waits_on_fifo(pid):
    """Whether a thread of process pid sleeps in a FIFO's open (as
    test_checkpoint_blocking looks)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                if f.read().strip() == "wait_for_partner":
                    return True
        except OSError:
            pass
    return False


class Live:
    """live.elf with the console on stdin, `extra_env` added; the gate and a file to
    open live in a mounted temporary directory."""

    def __init__(self, extra_env=None):
        self.dir = tempfile.TemporaryDirectory()
        self.gate = os.path.join(self.dir.name, "gate")
        data = os.path.join(self.dir.name, "data")
        with open(data, "w") as f:
            f.write("x")
        env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
        env.update(extra_env or {})
        self.p = harness.Proxy(harness.guest("live"), [self.gate, data], env=env,
                               extra=["--mount", self.dir.name], stdin=subprocess.PIPE)

    def command(self, line):
        self.p.p.stdin.write((line + "\n").encode())
        self.p.p.stdin.flush()

    def finish(self):
        open(self.gate, "w").close()
        self.p.p.stdin.close()
        rc = self.p.wait()
        self.dir.cleanup()
        return rc


@test
def console_inspects_a_running_guest_beside_a_listening_stub(t):
    """Listen mode, no GDB attached: info cpus/registers and x pause the vCPUs, answer,
    and the guest runs on to its own end."""
    live = Live({"HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": "0"})
    guestrun.wait_stdout(live.p, "live: waiting\n")
    live.command("info cpus")
    live.command("info registers")
    live.command("x/2i $rip")
    live.command("info cpus")
    live.p.wait_stderr(r"x/2i \$rip\n0x[0-9a-f]+: [^\n]+\n0x[0-9a-f]+: [^\n]+\n\(proxy\) info cpus"
                       r"\nvCPU 0: running")
    err = live.p.stderr_text()
    t.match(r"\(proxy\) info cpus\nvCPU 0: running, RIP 0x[0-9a-f]+, 64-bit mode", err,
            "info cpus answers while the guest runs")
    t.match(r"vCPU 0 \(running, 64-bit mode\)\nrax  0x[0-9a-f]{16}", err, "info registers")
    t.not_contains(err, "interrupt it in GDB first", "no refusal")
    t.eq(live.finish(), LIVE_STATUS, "the guest finished with its own status")
    t.eq(live.p.stdout_text(), START + "live: done\n", "and its whole output")


def wait_starts(live, n):
    """Wait until the guest has started (and is waiting) n times."""
    guestrun.wait_stdout(live.p, START * n)


@test
def console_system_reset_twice_starts_the_guest_again(t):
    """system_reset (QEMU's name) twice: the guest's output from the start each time,
    its open file closed (fd 3 again, not 4), and its own end after the gate."""
    live = Live()
    wait_starts(live, 1)
    live.command("system_reset")
    wait_starts(live, 2)
    live.command("system_reset")
    wait_starts(live, 3)
    t.eq(live.finish(), LIVE_STATUS, "the guest finished with its own status")
    t.eq(live.p.stdout_text(), START * 3 + "live: done\n", "three starts, one end")
    t.eq(live.p.stderr_text().count("system_reset: the guest starts again at 0x"), 2,
         "each reset says so: %r" % live.p.stderr_text())


@test
def console_system_reset_smp_beside_a_listening_stub(t):
    """Two vCPUs, listen mode: the second goes back to its start gate and comes up
    again with the new boot."""
    live = Live({"HERMIT_CPUS": "2", "HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": "0"})
    wait_starts(live, 1)
    live.command("system_reset")
    wait_starts(live, 2)
    t.eq(live.finish(), LIVE_STATUS, "the guest finished with its own status")
    t.eq(live.p.stdout_text(), START * 2 + "live: done\n", "two starts, one end")


@test
def console_system_reset_refused_while_a_vcpu_blocks(t):
    """A vCPU waiting in a blocking hypercall (a FIFO's open) refuses the reset with a
    message and nothing changes: the guest goes on when the FIFO opens."""
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
        with harness.Proxy(harness.guest("catfile"), [fifo], env=env, extra=["--mount", d],
                           stdin=subprocess.PIPE) as p:
            guestrun.wait_stdout(p, "catfile: opening\n")
            wait_until(p, lambda: waits_on_fifo(p.p.pid), "proxy waiting in the FIFO's open")
            p.p.stdin.write(b"system_reset\n")
            p.p.stdin.flush()
            p.wait_stderr(r"system_reset: vCPU 0 waits in a blocking hypercall")
            with open(fifo, "w") as w:
                w.write("data\n")
            p.p.stdin.close()
            rc = p.wait()
            out = p.stdout_text()
        t.eq(rc, 0, "the guest's own status")
        t.eq(out, "catfile: opening\ncatfile: reading\ndata\n", "no restart")


@test
def console_system_reset_of_a_stopped_vm_stays_stopped(t):
    """After the console's `stop`, system_reset leaves the VM stopped at the first
    instruction (vCPU 1 back at its start gate) until `cont`."""
    live = Live({"HERMIT_CPUS": "2"})
    wait_starts(live, 1)
    live.command("stop")
    live.command("system_reset")
    live.command("info cpus")
    live.p.wait_stderr(r"system_reset: the guest starts again[^\n]*\n\(proxy\) info cpus\n"
                       r"vCPU 0: stopped, RIP 0x200000, 64-bit mode \(current\)\n"
                       r"vCPU 1: not started")
    t.eq(live.p.stdout_text(), START, "nothing ran meanwhile")
    live.command("cont")
    wait_starts(live, 2)
    t.eq(live.finish(), LIVE_STATUS, "the guest finished with its own status")
    t.eq(live.p.stdout_text(), START * 2 + "live: done\n", "two starts, one end")
