"""What proxy says about its listeners and limits, as a user reads it: the real port of
`--incoming 0`, IPv6 addresses in brackets, migration ports refused above 65535, the
monitor's x/i at the top of the address space, `--version`'s ABI list."""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import run, expect_status  # noqa: E402


def _first_stderr_line(argv, env, pattern):
    """Start proxy ARGV, wait for a stderr line matching pattern, end proxy; the match."""
    err = harness.output_file()
    p = subprocess.Popen([harness.PROXY] + argv, stdout=subprocess.DEVNULL, stderr=err,
                         stdin=subprocess.DEVNULL, env=harness.proxy_env(env))
    deadline = time.monotonic() + harness.TIMEOUT
    try:
        while True:
            err.seek(0)
            text = err.read().decode(errors="replace")
            m = re.search(pattern, text)
            if m:
                return m
            if p.poll() is not None or time.monotonic() > deadline:
                raise harness.Failure("no line matching %r (status %r): %r" % (
                    pattern, p.poll(), text))
            time.sleep(0.02)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _can_connect(family, host, port):
    with socket.socket(family) as s:
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


@test
def cli_incoming_port_0_shows_the_real_port(t):
    m = _first_stderr_line(["--incoming", "0"], {},
                           r"waiting for a migrating guest on 127\.0\.0\.1:(\d+)\n")
    t.true(int(m.group(1)) != 0, "the port the kernel chose, not 0: %r" % m.group(0))


@test
def cli_incoming_ipv6_in_brackets_with_the_real_port(t):
    if not _has_ipv6_loopback():
        harness.skip("no IPv6 loopback here")
    m = _first_stderr_line(["--incoming", "[::1]:0"], {},
                           r"waiting for a migrating guest on (\S+)\n")
    t.match(r"^\[::1\]:[1-9]\d*$", m.group(1), "[::1]:PORT")


@test
def cli_migration_ports_above_65535_refused(t):
    for argv, env, what in ((["--incoming", "65536"], {}, "--incoming"),
                            (["--incoming", "127.0.0.1:99999"], {}, "--incoming"),
                            ([], {"HERMIT_MIGRATION_SERVER": "70000"}, "HERMIT_MIGRATION_SERVER"),
                            ([harness.guest("hello")],
                             {"HERMIT_MIGRATION_SUPPORT": "127.0.0.1:65536"},
                             "HERMIT_MIGRATION_SUPPORT"),
                            (["--migrate-to", "127.0.0.1:99999", harness.guest("hello")], {},
                             "--migrate-to")):
        p = subprocess.run([harness.PROXY] + argv, capture_output=True, text=True,
                           env=harness.proxy_env(env), timeout=harness.TIMEOUT,
                           stdin=subprocess.DEVNULL)
        t.eq(p.returncode, guestrun.STATUS_SETUP, "%r %r: %r" % (argv, env, p.stderr))
        t.contains(p.stderr, what, "the message names %s" % what)
        t.contains(p.stderr, "65535", "the message gives the range")
        t.not_contains(p.stderr, "waiting for a migrating guest", "nothing listened")
        t.not_contains(p.stdout, "Hello", "nothing ran")


@test
def cli_console_migrate_to_a_port_above_65535_refused(t):
    e = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    r = run("fatal", ["hang"], env=e, stdin=b"migrate 127.0.0.1:70000\nquit\n")
    expect_status(t, r, 119, "quit after the refused migrate")
    t.match(r"migrate: 127\.0\.0\.1:70000 is not HOST:PORT \(PORT from 1 to 65535\); "
            r"the guest goes on here", r.stderr, "the console's message")


@test
def cli_gdb_addr_ipv6_in_brackets(t):
    if not _has_ipv6_loopback():
        harness.skip("no IPv6 loopback here")
    m = _first_stderr_line([harness.guest("hello")],
                           {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_ADDR": "::1",
                            "HERMIT_DEBUG_PORT": "0"},
                           r"waiting for GDB on (\S+) \(")
    t.match(r"^\[::1\]:[1-9]\d*$", m.group(1), "[::1]:PORT, as GDB's target remote takes it")


@test
def cli_monitor_x_i_at_the_top_of_the_address_space(t):
    e = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    r = run("fatal", ["hang"], env=e, stdin=b"x/i 0xffffffffffffffff\nquit\n")
    expect_status(t, r, 119, "quit")
    line = r.stderr.split("(proxy) x/i 0xffffffffffffffff\n", 1)[-1].split("\n", 1)[0]
    t.not_contains(line, "address 0x0", "x/i must not blame address 0")
    t.contains(line, "0xffffffffffffffff", "the message names the top of the address space")
    t.contains(line, "Cannot access memory", "it is an error")


@test
def cli_version_lists_every_abi(t):
    p = subprocess.run([harness.PROXY, "--version"], capture_output=True, text=True,
                       timeout=harness.TIMEOUT)
    t.eq(p.returncode, 0, "--version")
    m = re.search(r"\babi=(\S+)", p.stdout)
    t.true(m is not None, "an ABI list: %r" % p.stdout)
    help_abis = re.search(r"--abi ([a-z0-9|\\-]+)", open(os.path.join(
        harness.ROOT, "README.md")).read()).group(1).replace("\\", "").split("|")
    t.eq(sorted(m.group(1).split(",")), sorted(a for a in help_abis if a != "auto"),
         "--version's ABIs are those --abi accepts")


# ---- what the README claims about the command line -------------------------------

def _readme():
    with open(os.path.join(harness.ROOT, "README.md")) as f:
        return f.read()


def _readme_row(first_cell):
    m = re.search(r"(?m)^\| %s \|(.*)$" % re.escape(first_cell), _readme())
    if not m:
        raise harness.Failure("README has no table row for %s" % first_cell)
    return m.group(1)


@test
def readme_cpus_range_is_proxys(t):
    r = run("hello", env={"HERMIT_CPUS": "100000"})
    expect_status(t, r, guestrun.STATUS_SETUP, "HERMIT_CPUS=100000")
    limit = re.search(r"from 1 to (\d+)", r.stderr)
    t.true(limit is not None, "the refusal gives the range: %r" % r.stderr)
    t.contains(_readme_row("`HERMIT_CPUS`"), "1 to %s" % limit.group(1),
               "README's HERMIT_CPUS row states proxy's limit")


@test
def readme_exit_status_2_as_described(t):
    row = _readme_row("2")
    t.contains(row, "one message names it", "README: one message")
    t.contains(row, "only a missing image also prints the usage", "README: when the usage shows")
    for argv, named in ((["--bogus", "x"], "--bogus"), (["--verbose=1", "x"], "--verbose"),
                        (["-c"], "-c"), (["--restore", "a", "--incoming", "1"], "--incoming")):
        p = subprocess.run([harness.PROXY] + argv, capture_output=True, text=True,
                           timeout=harness.TIMEOUT, stdin=subprocess.DEVNULL)
        t.eq(p.returncode, 2, "%r" % argv)
        t.eq(len(p.stderr.splitlines()), 1, "one line for %r: %r" % (argv, p.stderr))
        t.contains(p.stderr, named, "the message names %s" % named)
    p = subprocess.run([harness.PROXY], capture_output=True, text=True, timeout=harness.TIMEOUT,
                       stdin=subprocess.DEVNULL)
    t.eq(p.returncode, 2, "no image")
    t.contains(p.stderr, "usage: proxy", "no image: the usage follows")


@test
def readme_trace_example_is_a_real_run(t):
    block = re.search(r"```\n\$ HERMIT_TRACE=1 proxy --mount \. files\.elf d\n(.*?)```",
                      _readme(), re.S)
    t.true(block is not None, "README's trace example")
    shown = block.group(1).splitlines()
    t.true(len(shown) > 5, "an example of some length: %r" % shown)
    with tempfile.TemporaryDirectory() as top:
        d = os.path.join(top, "d")
        os.mkdir(d)
        with open(os.path.join(d, "input.txt"), "w") as f:
            f.write("input from the host\n")
        open(os.path.join(d, "remove-me"), "w").close()
        r = run("files", ["d"], env={"HERMIT_TRACE": "1"}, cwd=top, extra=["--mount", "."])
        t.ok(r, "the example's command")

    def addresses(line):
        return re.sub(r"0x[0-9a-f]+", "0xADDR", line)
    real = [addresses(line) for line in r.stderr.splitlines() if line.startswith("[vCPU")]
    i = 0
    follows = True  # without a "..." before it, a line comes right after the previous one
    for line in shown:
        if line == "...":
            follows = False
            continue
        want = addresses(line)
        if follows:
            t.true(i < len(real) and real[i] == want,
                   "README line %r is the run's line %d: %r" % (line, i, real[i:i + 1]))
        else:
            while i < len(real) and real[i] != want:
                i += 1
            t.true(i < len(real), "README line %r in the run, in order:\n%s" % (
                line, "\n".join(real)))
        i += 1
        follows = True
    t.eq(i, len(real), "the example ends where the run does")
