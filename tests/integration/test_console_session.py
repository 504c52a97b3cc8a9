"""The readline console from its second session on: the history file exists then, and
saving it over the old one makes readline chown it. Every way a session ends keeps
its documented exit status (the sandbox used to end proxy with 159 there)."""
import os
import pty
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402

STATUS_QUIT = 119
STATUS_SIGTERM = 143
OLD_HISTORY = ["info cpus", "info vm"]  # what an earlier session left


class PtyProxy:
    """proxy with the console on a pseudo-terminal (stdin), stdout and stderr to files."""

    def __init__(self, argv, history, env=None):
        self.master, slave = pty.openpty()
        self.err = harness.output_file()
        self.out = harness.output_file()
        e = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": history, "TERM": "dumb"}
        e.update(env or {})
        self.p = subprocess.Popen([harness.PROXY] + [str(a) for a in argv], stdin=slave,
                                  stdout=self.out, stderr=self.err, env=harness.proxy_env(e))
        os.close(slave)
        self.deadline = time.monotonic() + harness.TIMEOUT

    def text(self, f):
        f.seek(0)
        return f.read().decode(errors="replace")

    def stderr(self):
        return self.text(self.err)

    def stdout(self):
        return self.text(self.out)

    def wait_for(self, cond, what):
        while not cond():
            if self.p.poll() is not None or time.monotonic() > self.deadline:
                raise harness.Failure("%s never came (status %r): stderr=%r" % (
                    what, self.p.poll(), self.stderr()))
            time.sleep(0.02)

    def type_lines(self, keys):
        """Type each of `keys` once readline shows its prompt (keys typed earlier would
        meet the line discipline, not readline)."""
        for i, k in enumerate(keys):
            self.wait_for(lambda: self.stderr().count("(proxy) ") > i, "prompt %d" % (i + 1))
            os.write(self.master, k.encode())

    def wait(self):
        try:
            return self.p.wait(timeout=max(1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise harness.Failure("proxy did not end: stderr=%r" % self.stderr())

    def __enter__(self):
        return self

    def __exit__(self, *a):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        os.close(self.master)


def old_history(d):
    """A history file an earlier session wrote: this session is the second one."""
    hist = os.path.join(d, "history")
    with open(hist, "w") as f:
        f.write("".join(line + "\n" for line in OLD_HISTORY))
    return hist


def check_history(t, hist, typed):
    with open(hist) as f:
        t.eq(f.read().splitlines(), OLD_HISTORY + typed, "the history file after the session")


def no_sandbox_kill(t, err):
    t.not_contains(err, "forbidden system call", "the sandbox stopped nothing")


@test
def console_second_session_quit(t):
    with tempfile.TemporaryDirectory() as d:
        hist = old_history(d)
        with PtyProxy([harness.guest("fatal"), "hang"], hist) as p:
            p.type_lines(["info vm\r", "quit\r"])
            rc = p.wait()
            no_sandbox_kill(t, p.stderr())
            t.eq(rc, STATUS_QUIT, "quit: %r" % p.stderr())
        check_history(t, hist, ["info vm", "quit"])


@test
def console_second_session_ctrl_d(t):
    """Ctrl-D closes the console (history saved) and the guest runs on, until SIGTERM."""
    with tempfile.TemporaryDirectory() as d:
        hist = old_history(d)
        with PtyProxy([harness.guest("fatal"), "hang"], hist) as p:
            p.type_lines(["info vm\r", "\x04"])
            p.wait_for(lambda: "console closed" in p.stderr(), "the console's goodbye")
            # The history is saved when the console closes, before the signal.
            p.wait_for(lambda: os.path.exists(hist) and "info vm\ninfo vm\n" in
                       open(hist).read(), "the saved history")
            t.true(p.p.poll() is None, "the guest runs on after Ctrl-D: %r" % p.stderr())
            p.p.send_signal(signal.SIGTERM)
            rc = p.wait()
            no_sandbox_kill(t, p.stderr())
            t.eq(rc, STATUS_SIGTERM, "SIGTERM after Ctrl-D: %r" % p.stderr())
        check_history(t, hist, ["info vm"])


@test
def console_second_session_guest_exits(t):
    """The guest ends by itself while the console waits for a line: its own status."""
    with tempfile.TemporaryDirectory() as d:
        hist = old_history(d)
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        with PtyProxy([harness.guest("catfile"), fifo], hist,
                      env={"HERMIT_MOUNT": d}) as p:
            p.type_lines(["info vm\r"])
            p.wait_for(lambda: p.stderr().count("(proxy) ") >= 2, "the prompt after info vm")
            p.wait_for(lambda: "catfile: opening\n" in p.stdout(), "the guest's open")
            with open(fifo, "wb") as w:  # the guest's open returns, it reads and exits 0
                w.write(b"from the fifo\n")
            rc = p.wait()
            no_sandbox_kill(t, p.stderr())
            t.eq(rc, 0, "the guest's exit status: %r" % p.stderr())
            t.contains(p.stdout(), "from the fifo\n", "the guest's output")
        check_history(t, hist, ["info vm"])


@test
def console_second_session_migrate(t):
    """`migrate` on the console: the source exits 0 once the target runs the guest."""
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as d:
        hist = old_history(d)
        terr = harness.output_file()
        target = subprocess.Popen([harness.PROXY, "--incoming", addr],
                                  stdout=subprocess.DEVNULL, stderr=terr,
                                  stdin=subprocess.DEVNULL, env=harness.proxy_env({}))
        try:

            def target_said():
                terr.seek(0)
                return terr.read().decode(errors="replace")
            deadline = time.monotonic() + harness.TIMEOUT
            while "waiting for a migrating guest" not in target_said():
                if target.poll() is not None or time.monotonic() > deadline:
                    raise harness.Failure("the target never listened: %r" % target_said())
                time.sleep(0.02)
            with PtyProxy([harness.guest("fatal"), "hang"], hist,
                          env={"HERMIT_MIGRATION_SUPPORT": addr}) as p:
                p.wait_for(lambda: "fatal: hang\n" in p.stdout(), "the guest's start")
                p.type_lines(["migrate\r"])
                rc = p.wait()
                no_sandbox_kill(t, p.stderr())
                t.eq(rc, 0, "the source after migrate: %r; target: %r" % (
                    p.stderr(), target_said()))
                t.contains(p.stderr(), "migrated to %s" % addr, "the source's message")
            t.true(target.poll() is None, "the target runs the guest: %r" % target_said())
        finally:
            if target.poll() is None:
                target.send_signal(signal.SIGTERM)
            t.eq(target.wait(timeout=harness.TIMEOUT), STATUS_SIGTERM, "the target's end")
        check_history(t, hist, ["migrate"])
