"""guestrun.py: helpers for the integration tests that boot the test guests.

Imported by tests/integration/test_*.py (run-tests puts tests/lib on sys.path;
each test file adds this directory). Keeps the status numbers proxy documents in
one place so every test asserts the same contract.
"""
import os
import re
import subprocess
import time

import harness

# proxy's exit statuses (guest EXIT codes are reported as code & 0xff).
STATUS_SETUP = 1          # host set-up failure or invalid configuration / image
STATUS_USAGE = 2          # bad command line
STATUS_TRIPLE_FAULT = 120  # KVM_EXIT_SHUTDOWN
STATUS_UNHANDLED_IO = 121  # unknown port I/O or MMIO outside RAM
STATUS_INTERNAL = 122      # KVM internal error, entry failure, emulation failure
STATUS_BAD_EXIT = 123      # EXIT hypercall whose argument is not guest RAM
STATUS_KILLED = 119        # ended by the debugger's kill (or the console's quit)
STATUS_SIGHUP = 129
STATUS_SIGINT = 130
STATUS_SIGQUIT = 131
STATUS_SIGTERM = 143
# statuses the test runtime (tests/guest/rt) uses itself
GUEST_EXCEPTION = 99       # unhandled exception in the guest

SLOW = os.environ.get("PROXY_SKIP_SLOW", "") not in ("", "0")


def slow(fn):
    """Mark a test that needs seconds or lots of guest RAM; PROXY_SKIP_SLOW=1 skips it."""
    def wrapper(t):
        if SLOW:
            harness.skip("slow test (PROXY_SKIP_SLOW is set)")
        return fn(t)
    wrapper.__name__ = fn.__name__
    return wrapper


def text(b):
    return b.decode(errors="replace") if isinstance(b, (bytes, bytearray)) else b


def run(name, args=(), env=None, **kw):
    """Run guest `name`; returns harness.Result with stdout/stderr decoded to str."""
    r = harness.run_proxy(harness.guest(name), [str(a) for a in args], env=env, **kw)
    return harness.Result(r.returncode, text(r.stdout), text(r.stderr))


def run_exact_env(image, args, env, timeout=None, extra=()):
    """Run proxy with exactly `env` as its environment (run_proxy adds the caller's)."""
    p = subprocess.run([harness.PROXY] + list(extra) + [image] + list(args), env=env,
                       capture_output=True,
                       timeout=timeout or harness.TIMEOUT)
    return harness.Result(p.returncode, text(p.stdout), text(p.stderr))


def expect_status(t, r, status, what):
    if r.returncode != status:
        raise harness.Failure("%s: expected exit status %d, got %r" % (what, status, r))


def expect_stderr(t, r, pattern, what):
    if not re.search(pattern, r.stderr, re.I | re.S):
        raise harness.Failure("%s: stderr does not match /%s/: %r" % (what, pattern, r))


def wait_stdout(p, needle, timeout=None):
    """Wait until a background harness.Proxy has printed `needle` on stdout."""
    deadline = time.monotonic() + (timeout or harness.TIMEOUT)
    while time.monotonic() < deadline:
        if needle in p.stdout_text():
            return
        if p.p.poll() is not None:
            break
        time.sleep(0.02)
    raise harness.Failure("guest never printed %r: rc=%r stdout=%r stderr=%r" % (
        needle, p.p.poll(), p.stdout_text(), p.stderr_text()))
