"""Command line and HERMIT_* configuration errors: refused at start, naming the culprit."""

# Refused before any VM exists: the host's kind of KVM cannot matter (see run-tests).
HOST_INDEPENDENT = True
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import run, expect_status, expect_stderr  # noqa: E402


def _refused(t, var, value):
    r = run("hello", env={var: value})
    expect_status(t, r, guestrun.STATUS_SETUP, "%s=%s" % (var, value))
    t.contains(r.stderr, var, "stderr names the variable")
    t.not_contains(r.stdout, "Hello", "the guest must not run")


@test
def config_cpus_zero_refused(t):
    _refused(t, "HERMIT_CPUS", "0")


@test
def config_cpus_not_a_number_refused(t):
    _refused(t, "HERMIT_CPUS", "abc")


@test
def config_cpus_negative_refused(t):
    _refused(t, "HERMIT_CPUS", "-1")


@test
def config_cpus_beyond_kvm_refused(t):
    _refused(t, "HERMIT_CPUS", "100000")


@test
def config_mem_bad_suffix_refused(t):
    _refused(t, "HERMIT_MEM", "12Q")


@test
def config_mem_zero_refused(t):
    _refused(t, "HERMIT_MEM", "0")


@test
def config_mem_1k_refused(t):
    _refused(t, "HERMIT_MEM", "1K")  # below a page, and far below what the image needs


@test
def config_mem_below_image_refused(t):
    _refused(t, "HERMIT_MEM", "1M")  # hello ends above 2 MiB


@test
def config_verbose_not_boolean_refused(t):
    _refused(t, "HERMIT_VERBOSE", "2")


@test
def config_mem_suffixes_accepted(t):
    for value in ("64M", "64m", "65536K", "67108864"):
        r = run("memory", [64 << 20], env={"HERMIT_MEM": value})
        t.ok(r, "HERMIT_MEM=%s" % value)


@test
def config_missing_image_refused(t):
    path = "/nonexistent/dir/kernel.elf"
    r = harness.run_proxy(path)
    expect_status(t, harness.Result(r.returncode, r.stdout, guestrun.text(r.stderr)),
                  guestrun.STATUS_SETUP, "missing image")
    t.contains(guestrun.text(r.stderr), path, "stderr names the path")


@test
def config_no_arguments_prints_usage(t):
    import subprocess
    p = subprocess.run([harness.PROXY], env=harness.proxy_env(), capture_output=True,
                       timeout=harness.TIMEOUT)
    r = harness.Result(p.returncode, guestrun.text(p.stdout), guestrun.text(p.stderr))
    expect_status(t, r, guestrun.STATUS_USAGE, "no arguments")
    expect_stderr(t, r, r"usage", "usage text")


# ---- command-line behaviour that must never surprise ----

def _usage_error(t, r, pattern, what):
    expect_status(t, r, guestrun.STATUS_USAGE, what)
    expect_stderr(t, r, pattern, what)
    t.not_contains(r.stdout, "Hello", "the guest must not run")


@test
def config_more_than_128_guest_arguments_refused(t):
    r = run("hello", ["a%d" % i for i in range(128)])  # + argv[0] = 129
    _usage_error(t, r, r"129 guest arguments.*at most 128", "129 arguments")


@test
def config_more_than_127_environment_variables_refused(t):
    env = {"V%03d" % i: "x" for i in range(128)}
    r = guestrun.run_exact_env(harness.guest("hello"), [], env, extra=["--env-host"])
    expect_status(t, r, guestrun.STATUS_SETUP, "128 variables")
    expect_stderr(t, r, r"128 variables.*at most 127", "128 variables")
    t.not_contains(r.stdout, "Hello", "the guest must not run")


@test
def config_gdb_addr_takes_a_host_name(t):
    import socket
    port = harness.free_port()
    with harness.Proxy(harness.guest("hello"),
                       extra=["-d", "--gdb-addr", "localhost", "-s", str(port)]) as p:
        p.wait_stderr(r"waiting for GDB on localhost:%d" % port)
        with socket.create_connection(("localhost", port), timeout=harness.TIMEOUT) as s:
            s.sendall(b"$?#3f")
            reply = b""
            while b"#" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        t.match(r"\$[TS]05", reply, "the stub answers '?' on localhost")


@test
def config_gdb_addr_errors_name_gdb_addr(t):
    r = run("hello", extra=["-d", "--gdb-addr", "no-such-host.invalid"])
    expect_status(t, r, guestrun.STATUS_SETUP, "unresolvable --gdb-addr")
    expect_stderr(t, r, r"--gdb-addr no-such-host\.invalid: cannot resolve", "names the flag")
    t.not_contains(r.stderr, "HERMIT_DEBUG_PORT", "not the port's variable")
    r = run("hello", env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_ADDR": "no-such-host.invalid"})
    expect_status(t, r, guestrun.STATUS_SETUP, "unresolvable HERMIT_DEBUG_ADDR")
    expect_stderr(t, r, r"HERMIT_DEBUG_ADDR=no-such-host\.invalid", "names the variable")


@test
def config_gdb_addr_refused_without_a_debugging_mode(t):
    r = run("hello", extra=["--gdb-addr", "127.0.0.1"])
    _usage_error(t, r, r"--gdb-addr needs a debugging mode", "--gdb-addr without -d")
    r = run("hello", env={"HERMIT_DEBUG_RECORD": "1"})
    expect_status(t, r, guestrun.STATUS_SETUP, "HERMIT_DEBUG_RECORD without HERMIT_DEBUG")
    expect_stderr(t, r, r"HERMIT_DEBUG_RECORD=1 needs HERMIT_DEBUG=1", "says what it needs")
    r = run("hello", env={"HERMIT_DEBUG_ADDR": "127.0.0.1"})
    expect_status(t, r, guestrun.STATUS_SETUP, "HERMIT_DEBUG_ADDR without HERMIT_DEBUG")
    expect_stderr(t, r, r"HERMIT_DEBUG_ADDR=127\.0\.0\.1 is set but no debugging mode", "message")


@test
def config_debug_listen_and_gdb_port_flag_run_at_once(t):
    """HERMIT_DEBUG=listen, and -s PORT without -d (with --gdb-addr, which now needs
    either of them): the stub listens, the guest does not wait for it."""
    port = harness.free_port()
    for extra, env in (([], {"HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": str(port)}),
                       (["-s", str(port), "--gdb-addr", "127.0.0.1"], {})):
        r = run("hello", extra=extra, env=env)
        t.ok(r, "%r %r" % (extra, env))
        t.contains(r.stdout, "Hello", "the guest ran without a debugger")
        t.match(r"listening for GDB on 127\.0\.0\.1:%d" % port, r.stderr, "the stub listened")
    r = run("hello", env={"HERMIT_DEBUG_PORT": str(port)})
    t.ok(r, "HERMIT_DEBUG_PORT alone")
    t.not_contains(r.stderr, "GDB", "the port's variable alone starts no stub")


@test
def config_debug_refuses_other_values_naming_listen(t):
    _refused(t, "HERMIT_DEBUG", "later")
    r = run("hello", env={"HERMIT_DEBUG": "later"})
    expect_stderr(t, r, r"HERMIT_DEBUG=later is invalid: expected 1, true, yes or on .*listen",
                  "the accepted values, listen among them")


def _trace_run(t, tmp, extra=(), env=None):
    r = run("hello", extra=list(extra), env=env, cwd=tmp)
    t.ok(r, "trace run %r %r" % (extra, env))
    return r


@test
def config_trace_1_means_stderr_as_the_variable_does(t):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        by_flag = _trace_run(t, tmp, ["--trace=1"])
        by_var = _trace_run(t, tmp, env={"HERMIT_TRACE": "1"})
        t.eq(os.listdir(tmp), [], "no file named '1' was created")
    for r, what in ((by_flag, "--trace=1"), (by_var, "HERMIT_TRACE=1")):
        t.match(r"\[vCPU 0\] write\(1, \"Hello", r.stderr, what + " traces to stderr")


@test
def config_trace_with_a_space_is_refused_not_taken_as_the_image(t):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        r = harness.run_proxy("out.txt", [harness.guest("hello")], extra=["--trace"], cwd=tmp)
        r = harness.Result(r.returncode, guestrun.text(r.stdout), guestrun.text(r.stderr))
        _usage_error(t, r, r"write --trace=out\.txt", "--trace FILE")
        t.not_contains(r.stderr, "cannot open the image", "out.txt was not taken as the image")
        t.eq(os.listdir(tmp), [], "nothing written")
        _trace_run(t, tmp, ["--trace=out.txt"])
        with open(os.path.join(tmp, "out.txt")) as f:
            t.match(r"\[vCPU 0\] write\(1, \"Hello", f.read(), "--trace=FILE writes the file")


@test
def config_long_options_without_value_named_by_long_name(t):
    for opt in ("verbose", "debug", "monitor", "stats", "host-info", "help", "version"):
        r = run("hello", extra=["--%s=1" % opt])
        _usage_error(t, r, r"option --%s takes no value" % opt, "--%s=1" % opt)


@test
def config_coredump_directory_checked_at_start(t):
    r = run("fatal", ["triplefault"], extra=["--coredump", "/nonexistent-dir/core"])
    expect_status(t, r, guestrun.STATUS_SETUP, "core dump into a missing directory")
    expect_stderr(t, r, r"--coredump /nonexistent-dir/core: the directory /nonexistent-dir "
                  r"does not exist", "message")
    t.not_contains(r.stdout, "fatal:", "the guest must not run")
    r = run("fatal", ["triplefault"], env={"HERMIT_COREDUMP": "/nonexistent-dir/core"})
    expect_stderr(t, r, r"HERMIT_COREDUMP=/nonexistent-dir/core: the directory", "variable")
    r = run("fatal", ["triplefault"], env={"HERMIT_COREDUMP": "/tmp"})
    expect_stderr(t, r, r"HERMIT_COREDUMP=/tmp: is a directory", "a directory as the file")


def _bool_words(message):
    """'expected 1, true, yes or on; 0, false, no, off or empty' -> the words."""
    m = re.search(r"expected (.*)$", message.strip().splitlines()[-1])
    words = re.split(r",\s*|\s+or\s+|;\s*", m.group(1))
    return [("" if w == "empty" else w) for w in (w.strip() for w in words) if w]


@test
def config_booleans_accept_exactly_what_the_message_lists(t):
    r = run("hello", env={"HERMIT_STATS": "2"})
    expect_status(t, r, guestrun.STATUS_SETUP, "HERMIT_STATS=2")
    words = _bool_words(r.stderr)
    t.eq(sorted(words), sorted(["1", "true", "yes", "on", "0", "false", "no", "off", ""]),
         "the accepted values the message lists")
    for w in words:
        r = run("hello", env={"HERMIT_STATS": w})
        t.ok(r, "HERMIT_STATS=%r, listed as accepted" % w)
        t.eq("exits" in r.stderr, w in ("1", "true", "yes", "on"), "HERMIT_STATS=%r" % w)
    for w in ("2", "y", "enable", "10"):
        expect_status(t, run("hello", env={"HERMIT_STATS": w}), guestrun.STATUS_SETUP,
                      "HERMIT_STATS=%r, not listed" % w)
    t.contains(harness.run_proxy("--help", extra=[]).stdout.decode(), "1, true, yes or on",
               "--help lists them too")


@test
def config_memory_beyond_kvm_gets_a_clear_message(t):
    r = run("hello", extra=["-m", "10T"])
    expect_status(t, r, guestrun.STATUS_SETUP, "-m 10T")
    expect_stderr(t, r, r"-m 10T is too large: KVM can map at most 8195 GiB", "message")
    t.not_contains(r.stderr, "KVM_SET_USER_MEMORY_REGION", "no raw ioctl error")


@test
def config_memory_beyond_host_ram_warns_and_runs(t):
    with open("/proc/meminfo") as f:
        total_kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    size = "%dM" % ((total_kib >> 10) + 1024)
    r = run("hello", env={"HERMIT_MEM": size})
    t.ok(r, "HERMIT_MEM=%s (overcommit is the user's choice)" % size)
    t.contains(r.stdout, "Hello", "the guest ran")
    expect_stderr(t, r, r"more than this host's RAM", "a warning")


@test
def config_help_lists_every_abi_value_and_variable(t):
    r = harness.run_proxy("--help")
    out = guestrun.text(r.stdout)
    t.eq(r.returncode, 0, "--help exits 0")
    t.match(r"--abi NAME +guest ABI: rusty \(RustyHermit\), c \(C HermitCore\),\s+"
            r"hermit-entry \(Hermit 0\.6\), hermit-fdt1, hermit-fdt2,\s+hermit-fdt3 "
            r"\(Hermit 0\.10 - main: FDT boot with\s+uhyve-interface 1, 2, 3\), or auto", out,
            "every --abi value")
    variables = harness.readme_config_variables()
    t.true(len(variables) > 15, "README's table parsed: %r" % variables)
    for v in variables:
        t.match(r"\b%s\b" % v, out, "--help names " + v)


@test
def config_version_prints_version_and_features(t):
    r = harness.run_proxy("--version")
    out = guestrun.text(r.stdout)
    t.eq(r.returncode, 0, "--version exits 0")
    t.match(r"^proxy \d+\.\d+\.\d+\n", out, "the version")
    t.match(r"features: .*gdb-stub.*abi=rusty,c", out, "the build's features")


@test
def config_long_flags_debug_and_monitor_and_short_help(t):
    """The flags of the README's table that no other test spells out."""
    import subprocess
    port = harness.free_port()
    with harness.Proxy(harness.guest("hello"), extra=["--debug", "--gdb-port", str(port)]) as p:
        p.wait_stderr(r"waiting for GDB on 127\.0\.0\.1:%d" % port)
        t.eq(p.p.poll(), None, "--debug waits for GDB before the first instruction")
    with harness.Proxy(harness.guest("fatal"), ["hang"], extra=["--monitor"],
                       env={"HERMIT_MONITOR_HISTORY": ""}, stdin=subprocess.PIPE) as p:
        guestrun.wait_stdout(p, "fatal: hang\n")
        p.p.stdin.write(b"info cpus\nquit\n")
        p.p.stdin.close()
        t.eq(p.wait(), guestrun.STATUS_KILLED, "--monitor: the console's quit ends the VM")
        t.contains(p.stderr_text(), "(proxy) info cpus", "--monitor runs the console")
    r = harness.run_proxy("-h")
    t.eq(r.returncode, 0, "-h exits 0")
    t.contains(guestrun.text(r.stdout), "usage: proxy", "-h prints the usage")


@test
def config_trace_network_hypercalls_show_their_results(t):
    """Every traced hypercall shows what it returned; NETSTAT used to show nothing."""
    r = harness.run_proxy(harness.c_guest("bootinfo"), extra=["--trace"])
    err = guestrun.text(r.stderr)
    t.eq(r.returncode, 0, "c-bootinfo: %s" % err)
    t.match(r"(?m)^\[vCPU 0\] netstat\(\) = 0$", err, "NETSTAT without a NIC: 0")
    t.match(r'(?m)^\[vCPU 0\] netinfo\(0x[0-9a-f]+\) = "([0-9a-f]{2}:){5}[0-9a-f]{2}"$', err,
            "NETINFO: the MAC string the guest got")


@test
def config_stats_count_emulated_instructions_apart_from_errors(t):
    r = run("xgetbv", extra=["--stats"])
    t.ok(r, "xgetbv --stats")
    t.not_contains(r.stderr, "INTERNAL_ERROR", "an emulated xgetbv is no internal error")
    if harness.host_info().get("kvm") == "pvm":
        t.match(r"stats:   emulated xgetbv +1\n", r.stderr, "counted on a row of its own")


@test
def config_gdb_port_in_use_refused_before_the_guest_runs(t):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        for extra in (["-s", str(port)], ["-d", "-s", str(port)]):
            r = run("hello", extra=extra)
            expect_status(t, r, guestrun.STATUS_SETUP, "%r: the port is taken" % extra)
            expect_stderr(t, r, r"cannot start the GDB stub \(port %d .*in use" % port,
                          "names the port and why")
            t.not_contains(r.stdout, "Hello", "the guest must not run")
