"""harness.py: the test helpers shared by every Python test in tests/.

A test is a function decorated with @test that receives a `T` object and
asserts real outcomes through it (exit codes, bytes, register values).
Tests are independent: each starts its own proxy and must clean it up, which
`run_proxy` / `Proxy` do for you (kill on timeout, never leave a process).
"""
import fcntl
import os
import re
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROXY = os.environ.get("PROXY", os.path.join(ROOT, "proxy"))
# The test build with faults to inject (make fault; src/tools/monitor_cmds_fault.c).
FAULT_PROXY = os.environ.get("FAULT_PROXY", os.path.join(ROOT, "build", "fault", "proxy"))
GUEST_DIR = os.path.join(ROOT, "build", "guests")
TIMEOUT = float(os.environ.get("TEST_TIMEOUT", "60"))

_registry = []


class Skip(Exception):
    pass


class Failure(AssertionError):
    pass


def test(fn):
    """Register a test function; its name is module.function."""
    _registry.append(fn)
    return fn


def registered():
    return list(_registry)


def skip(reason):
    raise Skip(reason)


_host_info = None


def host_info():
    """What this host's KVM can do, as proxy itself detects it (`proxy --host-info`).

    Keys: 'kvm' ('pvm', 'hardware' or 'none', with 'kvm_error' saying why), 'sw_breakpoints' ('exit-debug' or
    'emulation-failure'), 'watchpoints' ('debug-registers' or 'single-step').
    """
    global _host_info
    if _host_info is None:
        out = subprocess.run([PROXY, "--host-info"], capture_output=True, text=True, timeout=30).stdout
        # Exit status 1 with "kvm: none" is an answer too (no usable /dev/kvm).
        _host_info = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
    return _host_info


def host_has_kvm():
    """False on a host whose /dev/kvm cannot be opened (`kvm: none`): there the suites
    that boot guests run only under `make check-realkvm` (nested KVM in QEMU)."""
    return host_info().get("kvm", "none") != "none"


def no_kvm_reason():
    return ("this host has no KVM (%s): tests that boot a guest run under "
            "`make check-realkvm`" % host_info().get("kvm_error", "no /dev/kvm"))


def needs_hardware_kvm():
    if host_info().get("kvm") != "hardware":
        skip("needs hardware KVM")


def needs_pvm():
    if host_info().get("kvm") != "pvm":
        skip("needs software KVM (PVM)")


def kvm_resets_at_triple_fault():
    """Hardware KVM on AMD (SVM) reinitialises a vCPU at a triple fault, so its
    registers there (RIP, CR2) are gone; VT-x and software KVM keep them."""
    if host_info().get("kvm") != "hardware":
        return False
    with open("/proc/cpuinfo") as f:
        return " svm" in f.read()


def guest(name):
    path = os.path.join(GUEST_DIR, name + ".elf")
    if not os.path.exists(path):
        raise Failure("test guest %s not built (run make)" % path)
    return path


def c_guest(name):
    return guest("c-" + name)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "rc=%r stdout=%r stderr=%r" % (self.returncode, self.stdout[-2000:], self.stderr[-2000:])


def proxy_env(env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("HERMIT_")}
    e.update(env or {})
    return e


def run_proxy(image, args=(), env=None, timeout=None, stdin=None, cwd=None, extra=()):
    """Run proxy to completion; returns Result. A timeout is a test failure."""
    cmd = [PROXY] + list(extra) + [image] + list(args)
    try:
        p = subprocess.run(cmd, env=proxy_env(env), capture_output=True, timeout=timeout or TIMEOUT,
                           input=stdin, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise Failure("proxy did not finish within %ss: %s\nstdout=%r\nstderr=%r" % (
            timeout or TIMEOUT, cmd, e.stdout, e.stderr))
    return Result(p.returncode, p.stdout, p.stderr)


def output_file():
    """A temporary file to give a child process as its stdout or stderr, readable while
    the child writes. The file description (and so its offset) is shared with the
    child: without O_APPEND, our seek(0) before a read would make the child's next
    write land at offset 0, over its earlier output. With O_APPEND every write of the
    child goes to the end, wherever our offset is."""
    f = tempfile.TemporaryFile()
    fcntl.fcntl(f.fileno(), fcntl.F_SETFL, fcntl.fcntl(f.fileno(), fcntl.F_GETFL) | os.O_APPEND)
    return f


class Proxy:
    """A proxy running in the background (for debugger and signal tests)."""

    def __init__(self, image, args=(), env=None, extra=(), stdin=subprocess.DEVNULL, binary=None):
        self.cmd = [binary or PROXY] + list(extra) + [image] + list(args)
        self.out = output_file()
        self.err = output_file()
        self.p = subprocess.Popen(self.cmd, env=proxy_env(env), stdout=self.out, stderr=self.err, stdin=stdin)

    def wait_stderr(self, pattern, timeout=None):
        """Wait until stderr matches regex `pattern`; returns the match."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while time.monotonic() < deadline:
            m = re.search(pattern, self.stderr_text())
            if m:
                return m
            if self.p.poll() is not None:
                m = re.search(pattern, self.stderr_text())
                if m:
                    return m
                raise Failure("proxy exited (%d) before printing %r: %s" % (self.p.returncode, pattern, self.stderr_text()))
            time.sleep(0.02)
        raise Failure("proxy never printed %r: %s" % (pattern, self.stderr_text()))

    def stdout_text(self):
        self.out.seek(0)
        return self.out.read().decode(errors="replace")

    def stderr_text(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def wait(self, timeout=None):
        try:
            return self.p.wait(timeout=timeout or TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure("proxy did not exit within %ss: %s" % (timeout or TIMEOUT, self.stderr_text()))

    def signal(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.out.close()
        self.err.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class T:
    """Assertions; each failure message shows what was expected and what came."""

    def eq(self, got, want, what=""):
        if got != want:
            raise Failure("%s: expected %r, got %r" % (what or "value", want, got))

    def true(self, cond, what):
        if not cond:
            raise Failure(what)

    def contains(self, haystack, needle, what=""):
        if needle not in haystack:
            raise Failure("%s: %r not found in %r" % (what or "output", needle, haystack[-3000:]))

    def not_contains(self, haystack, needle, what=""):
        if needle in haystack:
            raise Failure("%s: %r unexpectedly found in %r" % (what or "output", needle, haystack[-3000:]))

    def match(self, pattern, text, what=""):
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        m = re.search(pattern, text)
        if not m:
            raise Failure("%s: /%s/ not found in %r" % (what or "output", pattern, text[-3000:]))
        return m

    def ok(self, result, what="proxy"):
        """The run succeeded (exit 0)."""
        if result.returncode != 0:
            raise Failure("%s failed: %r" % (what, result))


def readme_config_variables():
    """The HERMIT_* variables of the README's configuration table."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    table = text[text.index("### Configuration"):text.index("### Exit status")]
    return sorted(set(re.findall(r"`(HERMIT_[A-Z_]+)`", table)))


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
