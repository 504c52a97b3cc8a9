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

LIVE_STATUS = 5
START = "live: start\nlive: fd 3\nlive: waiting\n"


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
