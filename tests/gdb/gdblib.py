"""gdblib.py: run a real GDB in batch mode against a proxy started with HERMIT_DEBUG=1.

`debug_session(image, commands)` starts proxy (stopped before the first
instruction), runs `gdb -batch` with `target remote` and the given commands, waits
for both to finish and returns a Session with GDB's transcript, proxy's status and
output. Every process is cleaned up, whatever happens.
"""
import os
import signal
import subprocess
import time

import harness
from harness import Failure, Proxy, free_port

GDB_TIMEOUT = float(os.environ.get("GDB_TIMEOUT", "120"))


class Session:
    def __init__(self, transcript, gdb_rc, proxy_rc, stdout, stderr):
        self.transcript = transcript
        self.gdb_rc = gdb_rc
        self.proxy_rc = proxy_rc
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "gdb transcript:\n%s\nproxy rc=%r\nproxy stdout=%r\nproxy stderr=%r" % (
            self.transcript[-6000:], self.proxy_rc, self.stdout[-2000:], self.stderr[-2000:])


def gdb_command(image, port, commands):
    cmd = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
           "-ex", "set width 0", image, "-ex", "target remote 127.0.0.1:%d" % port]
    for c in commands:
        cmd += ["-ex", c]
    return cmd


def start_proxy(image, args=(), env=None, cpus=1):
    port = free_port()
    e = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port), "HERMIT_CPUS": str(cpus)}
    e.update(env or {})
    p = Proxy(image, args, env=e)
    p.wait_stderr(r"waiting for GDB")
    return p, port


def debug_session(image, commands, args=(), env=None, cpus=1, proxy_exit_timeout=60,
                  expect_proxy_exit=True):
    """Run GDB with `commands`; when GDB ends, proxy must end too (unless told)."""
    p, port = start_proxy(image, args, env, cpus)
    try:
        try:
            g = subprocess.run(gdb_command(image, port, commands), capture_output=True, text=True,
                               timeout=GDB_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise Failure("gdb did not finish within %ss: %s\nproxy stderr=%s" % (
                GDB_TIMEOUT, e.stdout, p.stderr_text()))
        rc = p.wait(proxy_exit_timeout) if expect_proxy_exit else None
        return Session(g.stdout + g.stderr, g.returncode, rc, p.stdout_text(), p.stderr_text())
    finally:
        p.close()


def py(code):
    """A one-line gdb command running Python `code` (newlines allowed: run via exec)."""
    return "python exec(%r)" % code


# A Ctrl-C to GDB a moment after the next command starts (GDB in batch mode reads no
# terminal): the same path as a user's Ctrl-C, 0x03 on the wire.
INTERRUPT_SOON = py("import threading, os, signal\n"
                    "threading.Timer(3, os.kill, (os.getpid(), signal.SIGINT)).start()\n")


def require_gdb():
    if subprocess.run(["sh", "-c", "command -v gdb"], capture_output=True).returncode:
        harness.skip("gdb is not installed")
