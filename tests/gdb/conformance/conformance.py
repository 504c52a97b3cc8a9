#!/usr/bin/env python3
"""conformance.py: the GDB conformance suite's runner (issue 23).

Every case in cases/*.gdb is one GDB script run twice: against proxy debugging the
test guest build/conformance/twin.elf, and against gdbserver debugging the native
twin build/conformance/twin-native (both from twin.c, built by twin.mk). tag.py makes
GDB print tagged facts (`@@ KEY VALUE`: stops, exit code, values, frames) relative to
the program; the program's own `twin: X` lines count as facts too (`out X`), and so do
GDB's reports of values (`Old value = V`, `New value = V`, `Value = V`, `Value
returned is $N = V`: `old V`, `new V`, `value V`, `returned V`). A case passes when
both sides give the same facts in the same order AND each side holds the case's
expectations.

A case file is GDB commands, one a line, with `#` directives before them:
  # title: what it checks                 # args: spin      (the program's arguments)
  # expect: KEY VALUE    a fact both sides must show (listed twice: shown twice);
                         `@name` is the line of twin.c marked `L:name`
  # differs: KEY: why    facts with that KEY are not compared (a documented difference)
  # proxy-skip-if: HOSTKEY=VALUE: why   (`proxy --host-info`) the proxy side cannot run
  # needs-cpu: FLAG      skip the case where /proc/cpuinfo lacks FLAG
and in the script `@connect` (where `target remote` goes, so `set remote ...` can
come first; default: before the first line) and `@reattach` (the session detached:
a new GDB attaches to the same program: proxy's port again, gdbserver --attach).

PENDING names the cases of issue 23's items that fail on proxy until their fixes are
merged: they report XFAIL (a skip saying why) on proxy, and a FAIL saying XPASS once
they pass, so the entry is removed. The lead empties the set as the fixes land.

tests/gdb/test_gdb_conformance.py hands every case to tests/run-tests (suite gdb);
run standalone, `conformance.py [-k REGEX] [-v]` prints one line per case.
"""
import argparse
import collections
import fcntl
import glob
import os
import re
import signal
import subprocess
import sys
import time

# Cases of issue 23 that proxy does not pass yet (name: item). Empty it as fixes merge.
PENDING = {
}

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
from gdblib import start_proxy  # noqa: E402

GUEST = os.path.join(ROOT, "build", "conformance", "twin.elf")
NATIVE = os.path.join(ROOT, "build", "conformance", "twin-native")
SESSION_TIMEOUT = float(os.environ.get("CONFORMANCE_GDB_TIMEOUT", "60"))


class Case:
    def __init__(self, path):
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.title, self.args, self.expect, self.differs = "", [], [], {}
        self.proxy_skip, self.needs_cpu, self.lines = [], [], []
        with open(path) as f:
            text = f.read()
        for raw in text.splitlines():
            line = raw.strip()
            m = re.match(r"#\s*([a-z-]+):\s*(.*)", line)
            if m and not self.lines:
                key, val = m.groups()
                if key == "title":
                    self.title = val
                elif key == "args":
                    self.args = val.split()
                elif key == "expect":
                    self.expect.append(val)
                elif key == "differs":
                    k, why = val.split(":", 1)
                    self.differs[k.strip()] = why.strip()
                elif key == "proxy-skip-if":
                    cond, why = val.split(":", 1)
                    self.proxy_skip.append((cond.strip().split("=", 1), why.strip()))
                elif key == "needs-cpu":
                    self.needs_cpu.append(val)
                else:
                    raise ValueError("%s: unknown directive %r" % (path, key))
            elif line and not line.startswith("#"):
                self.lines.append(line)

    def sessions(self):
        """The script cut at @reattach; each part split into (before, after) @connect."""
        parts, cur = [], []
        for line in self.lines + ["@reattach"]:
            if line == "@reattach":
                before, after = ([], cur) if "@connect" not in cur else (
                    cur[:cur.index("@connect")], cur[cur.index("@connect") + 1:])
                parts.append((before, after))
                cur = []
            else:
                cur.append(line)
        return parts


def all_cases():
    return [Case(p) for p in sorted(glob.glob(os.path.join(HERE, "cases", "*.gdb")))]


def line_markers():
    marks = {}
    with open(os.path.join(HERE, "twin.c")) as f:
        for n, line in enumerate(f, 1):
            for name in re.findall(r"\bL:(\w+)", line):
                marks[name] = n
    return marks


def resolve(text, marks):
    return re.sub(r"@(\w+)", lambda m: str(marks[m.group(1)]), text)


def build_twins():
    """Both builds of twin.c, once for all the test processes running at the same time."""
    out = os.path.join(ROOT, "build", "conformance")
    if not os.access(os.path.join(ROOT, "build"), os.W_OK) and all(
            os.path.exists(os.path.join(out, f)) for f in ("twin.elf", "twin-native")):
        return  # the realkvm lane's read-only tree: `make check-realkvm` built them
    os.makedirs(os.path.join(ROOT, "build", "conformance"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "conformance", ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile", "-f",
                            os.path.join(HERE, "twin.mk"), "conformance-twins"],
                           cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise harness.Failure("building the twins failed:\n%s%s" % (r.stdout, r.stderr))


def have_gdbserver():
    return subprocess.run(["sh", "-c", "command -v gdbserver"], capture_output=True).returncode == 0


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"(?m)^flags\s*:(.*)$", f.read())
        return set(m.group(1).split()) if m else set()
    except OSError:
        return set()


class Side:
    """One side's run: facts, transcript, program output, and what went wrong."""

    def __init__(self, name):
        self.name, self.facts, self.transcript, self.output, self.problems = name, [], "", "", []
        self.skipped = None

    def add_transcript(self, text):
        self.transcript += text
        self.facts += [l[3:].strip() for l in text.splitlines() if l.startswith("@@ ")]
        # GDB's own reports of values: watchpoint hits and `finish`.
        for m in re.finditer(r"(?m)^(Old value|New value|Value) = (.*)$", text):
            self.facts.append("%s %s" % (m.group(1).split()[0].lower(), m.group(2).strip()))
        for m in re.finditer(r"(?m)^Value returned is \$\d+ = (.*)$", text):
            self.facts.append("returned " + m.group(1).strip())
        if "internal-error" in text:
            self.problems.append("GDB internal error")

    def finish(self, output):
        self.output = output
        self.facts += ["out " + l[len("twin: "):] for l in output.splitlines()
                       if l.startswith("twin: ")]


def gdb_session(side, image, port, before, after):
    cmd = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
           "-ex", "set width 0", "-ex", "set sysroot /",
           # issue 23 item 1 trips an internal error in GDB: no core file of GDB, please
           "-ex", "maint set internal-error corefile no", "-ex", "maint set internal-error quit yes",
           "-x", os.path.join(HERE, "tag.py"), image]
    marks = line_markers()
    for c in before + ["target remote 127.0.0.1:%d" % port, "tag-events"] + after:
        c = resolve(c, marks)
        cmd += ["-ex", c]
    try:
        g = subprocess.run(cmd, capture_output=True, text=True, timeout=SESSION_TIMEOUT, cwd=ROOT)
        side.add_transcript(g.stdout + g.stderr)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        side.add_transcript(out)
        side.problems.append("GDB did not finish within %ss" % SESSION_TIMEOUT)


def run_proxy_side(case):
    side = Side("proxy")
    p, port = start_proxy(GUEST, case.args)
    try:
        for before, after in case.sessions():
            gdb_session(side, GUEST, port, before, after)
        try:
            p.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            side.problems.append("proxy still running after the script")
        side.finish(p.stdout_text())
        side.transcript += "\n[proxy stderr]\n" + p.stderr_text()
    finally:
        p.close()
    return side


def wait_text(f, pattern, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        f.seek(0)
        m = re.search(pattern, f.read().decode(errors="replace"))
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    f.seek(0)
    raise harness.Failure("gdbserver never printed %r: %s" % (pattern, f.read()))


def run_native_side(case):
    side = Side("gdbserver")
    out, err = harness.output_file(), harness.output_file()
    procs, pid = [], None
    try:
        for i, (before, after) in enumerate(case.sessions()):
            port = harness.free_port()
            if i == 0:
                argv = ["gdbserver", "--once", "127.0.0.1:%d" % port, NATIVE] + case.args
            else:
                argv = ["gdbserver", "--once", "--attach", "127.0.0.1:%d" % port, str(pid)]
            gs = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            procs.append(gs)
            wait_text(err, r"Listening on port %d" % port, gs)
            if i == 0:
                pid = int(wait_text(err, r"pid = (\d+)", gs).group(1))
            gdb_session(side, NATIVE, port, before, after)
        try:  # after a detach the first gdbserver may linger: the last one ends the run
            procs[-1].wait(timeout=30)
        except subprocess.TimeoutExpired:
            side.problems.append("gdbserver still running after the script")
        out.seek(0)
        side.finish(out.read().decode(errors="replace"))
        err.seek(0)
        side.transcript += "\n[gdbserver stderr]\n" + err.read().decode(errors="replace")
    finally:
        for gs in procs:
            if gs.poll() is None:
                gs.kill()
                gs.wait()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        out.close()
        err.close()
    return side


def check_side(side, case, marks):
    """The side's problems: an expectation listed twice must be there twice."""
    have = collections.Counter(side.facts)
    missing = []
    for e in (resolve(x, marks) for x in case.expect):
        if have[e]:
            have[e] -= 1
        else:
            missing.append(e)
    return side.problems + ["expected fact missing: %r" % m for m in missing]


def compared(side, case):
    return [f for f in side.facts if f.split(" ", 1)[0] not in case.differs]


def first_difference(a, b):
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "(none)"
        y = b[i] if i < len(b) else "(none)"
        if x != y:
            return "fact %d: gdbserver %r, proxy %r" % (i + 1, x, y)
    return None


class Outcome:
    """verdict: PASS, FAIL, SKIP, XFAIL (a PENDING case failing on proxy) or XPASS."""

    def __init__(self, verdict, native, proxy, detail):
        self.verdict, self.native, self.proxy, self.detail = verdict, native, proxy, detail


def run_case(case):
    if not have_gdbserver():
        return Outcome("SKIP", "absent", "-", "gdbserver is not installed (scripts/setup "
                       "installs it: apt-get install gdbserver)")
    flags = cpu_flags()
    for flag in case.needs_cpu:
        if flag not in flags:
            return Outcome("SKIP", "-", "-", "this host's CPU lacks %s" % flag)
    build_twins()
    marks = line_markers()
    native = run_native_side(case)
    native_problems = check_side(native, case, marks)
    if native_problems:
        return Outcome("FAIL", "fail", "-", "the gdbserver side (the reference) failed: %s\n%s"
                       % ("; ".join(native_problems), native.transcript))
    info = harness.host_info()
    for (key, val), why in case.proxy_skip:
        if info.get(key) == val:
            return Outcome("SKIP", "ok", "skipped", "proxy side skipped (%s=%s): %s"
                           % (key, val, why))
    proxy = run_proxy_side(case)
    problems = check_side(proxy, case, marks)
    diff = first_difference(compared(native, case), compared(proxy, case))
    if diff:
        problems.append("outcomes differ: " + diff)
    pending = PENDING.get(case.name)
    if not problems:
        if pending:
            return Outcome("XPASS", "ok", "ok", "passes on proxy now: remove %r from PENDING in "
                           "tests/gdb/conformance/conformance.py (%s)" % (case.name, pending))
        return Outcome("PASS", "ok", "ok", "")
    detail = "; ".join(problems)
    full = "%s\n--- gdbserver facts: %s\n--- proxy facts: %s\n--- proxy transcript:\n%s" % (
        detail, native.facts, proxy.facts, proxy.transcript[-6000:])
    if pending:
        return Outcome("XFAIL", "ok", "fail", "expected failure on proxy (issue 23 %s): %s"
                       % (pending, (diff or problems[0])[:200]))
    return Outcome("FAIL", "ok", "fail", full)


def as_test(case):
    """A tests/run-tests test for `case` (PASS, FAIL, XPASS fails, SKIP and XFAIL skip)."""
    def fn(t):
        o = run_case(case)
        if o.verdict in ("SKIP", "XFAIL"):
            harness.skip(("XFAIL " if o.verdict == "XFAIL" else "") + o.detail)
        if o.verdict != "PASS":
            raise harness.Failure("%s %s: %s" % (o.verdict, case.name, o.detail))
    fn.__name__ = case.name
    return fn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("-v", dest="verbose", action="store_true")
    a = ap.parse_args()
    if not harness.host_has_kvm():
        print("skipped: " + harness.no_kvm_reason())
        return 0
    counts = {}
    for case in all_cases():
        if not re.search(a.pattern, case.name):
            continue
        t0 = time.monotonic()
        o = run_case(case)
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
        print("%-5s %-26s gdbserver %-6s proxy %-7s (%.1fs) %s" % (
            o.verdict, case.name, o.native, o.proxy, time.monotonic() - t0,
            (o.detail if a.verbose or o.verdict in ("SKIP", "XFAIL") else o.detail[:200])
            .replace("\n", "\n    ")), flush=True)
    print(", ".join("%d %s" % (n, v) for v, n in sorted(counts.items())))
    return 1 if counts.get("FAIL") or counts.get("XPASS") else 0


if __name__ == "__main__":
    sys.exit(main())
