"""test_sandbox.py: proxy confines itself after set-up (src/sandbox).

The faults are injected through the test build (build/fault/proxy, `make fault`),
whose monitor has two extra commands standing for a bug in proxy that a debugger
or a guest drives: `x-forbidden-syscall` (an execve) and `x-open-host PATH` (an
open(2) of a host path by proxy itself). The seccomp filter must end proxy with
status 159 and a message naming the call; Landlock must refuse paths outside what
the guest was given. Every other suite runs with the sandbox on, which is the
proof that the allow-list is wide enough.
"""
import os
import re
import subprocess
import tempfile

import harness
from harness import Proxy, free_port, guest, test
from rspclient import Client

STATUS_SANDBOX = 159


def info(binary):
    out = subprocess.run([binary, "--host-info"], capture_output=True, text=True, timeout=30).stdout
    return dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)


def needs_fault_build():
    if not os.access(harness.FAULT_PROXY, os.X_OK):
        harness.skip("no test build at %s (make fault)" % harness.FAULT_PROXY)
    if info(harness.PROXY).get("sandbox", "").startswith("off (sanitizer"):
        harness.skip("the sanitizer build does not confine itself; the normal build's pass covers this")


def start(extra=(), env=None):
    """The fault build, stopped before the guest's first instruction, and a client."""
    port = free_port()
    e = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}
    e.update(env or {})
    p = Proxy(guest("hello"), env=e, extra=extra, binary=harness.FAULT_PROXY)
    try:
        p.wait_stderr(r"target remote")
        return p, Client(port)
    except Exception:
        p.close()
        raise


def monitor(c, command):
    """qRcmd: the console output it produced, until OK or an E reply."""
    c.send(b"qRcmd," + command.encode().hex().encode())
    out = ""
    while True:
        reply = c.recv()
        if reply.startswith(b"O") and reply != b"OK":
            out += bytes.fromhex(reply[1:].decode()).decode(errors="replace")
            continue
        return out, reply


@test
def host_info_says_what_the_sandbox_does(t):
    i = info(harness.PROXY)
    if i["sandbox"].startswith("off (sanitizer"):
        t.match(r"not used", i["seccomp"], "the sanitizer build says the filter is not used")
        return
    t.eq(i["sandbox"], "on", "the default")
    t.match(r"^libseccomp \d+\.\d+\.\d+ \(allow-list, SIGSYS on anything else\)$", i["seccomp"],
            "seccomp line")
    t.match(r"^(ABI \d+|unavailable in this kernel)$", i["landlock"], "landlock line")
    off = subprocess.run([harness.PROXY, "--no-sandbox", "--host-info"], capture_output=True,
                         text=True, timeout=30).stdout
    t.contains(off, "sandbox: off (--no-sandbox or HERMIT_SANDBOX=0)", "--no-sandbox")
    t.contains(off, "(not used)", "--no-sandbox: the filter is not used")
    env = dict(os.environ, HERMIT_SANDBOX="0")
    off = subprocess.run([harness.PROXY, "--host-info"], capture_output=True, text=True,
                         timeout=30, env=env).stdout
    t.contains(off, "sandbox: off", "HERMIT_SANDBOX=0")


@test
def a_forbidden_system_call_ends_proxy_with_its_name(t):
    needs_fault_build()
    p, c = start()
    with p:
        c.send(b"qRcmd," + b"x-forbidden-syscall".hex().encode())
        t.eq(p.wait(), STATUS_SANDBOX, "exit status of a forbidden call")
        t.match(r"proxy: the sandbox stopped a forbidden system call: execve \(number 59\)",
                p.stderr_text(), "the message names the call")
        t.not_contains(p.stderr_text(), "execve returned", "the call never ran")


@test
def without_the_sandbox_the_same_call_runs_and_fails_harmlessly(t):
    needs_fault_build()
    for extra, env in ((["--no-sandbox"], None), ([], {"HERMIT_SANDBOX": "0"})):
        p, c = start(extra=extra, env=env)
        with p:
            out, reply = monitor(c, "x-forbidden-syscall")
            t.eq(reply, b"OK", "the command's reply")
            t.contains(out, "execve returned -1: No such file or directory", "the call ran")
            t.eq(c.ask(b"D"), b"OK", "detach")
            t.eq(p.wait(), 0, "the guest ran to its end")


@test
def verbose_says_what_confines_proxy(t):
    needs_fault_build()
    p, c = start(env={"HERMIT_VERBOSE": "1"})
    with p:
        # The line comes after "target remote" (proxy confines itself once the stub
        # listens): wait for it rather than read stderr once, which raced under load.
        p.wait_stderr(r"sandbox: (Landlock ABI \d+ \(\d+ paths\)|no Landlock \(.+\)), "
                      r"seccomp allow-list")
        t.eq(c.ask(b"D"), b"OK", "detach")
        t.eq(p.wait(), 0, "exit status")


@test
def landlock_keeps_proxy_itself_to_what_the_guest_was_given(t):
    needs_fault_build()
    landlock = info(harness.FAULT_PROXY)["landlock"]
    if not landlock.startswith("ABI"):
        harness.skip("this kernel has no Landlock (%s): proxy runs with seccomp only" % landlock)
    d = tempfile.mkdtemp(prefix="proxy-sandbox-")
    mapped = os.path.join(d, "mapped.txt")
    with open(mapped, "w") as f:
        f.write("x")
    outside = "/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd"
    p, c = start(extra=["--mount", d + ":/data"])
    with p:
        out, reply = monitor(c, "x-open-host " + mapped)
        t.eq(reply, b"OK", "reply")
        t.contains(out, "open %s: ok" % mapped, "a mapped file stays reachable")
        out, _ = monitor(c, "x-open-host " + outside)
        t.contains(out, "open %s: Permission denied" % outside, "a host file outside is not")
        out, _ = monitor(c, "x-open-host /proc/self/environ")
        t.contains(out, "Permission denied", "nor is proxy's own procfs")
        t.eq(c.ask(b"D"), b"OK", "detach")
        t.eq(p.wait(), 0, "the guest ran to its end")
    p, c = start(extra=["--mount", d + ":/data", "--no-sandbox"])
    with p:
        out, _ = monitor(c, "x-open-host " + outside)
        t.contains(out, "open %s: ok" % outside, "without the sandbox the same open works")
        t.eq(c.ask(b"D"), b"OK", "detach")
        t.eq(p.wait(), 0, "exit status")
    os.unlink(mapped)
    os.rmdir(d)
