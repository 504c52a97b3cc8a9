"""abi_cases.py: the integration cases every guest ABI must pass, written once.

Each case takes (t, fl) with fl a flavours.Flavour; the RustyHermit suites,
test_c_abi.py and test_hermit_entry.py instantiate them (flavours.instantiate).
Groups follow the suite file that runs them for RustyHermit: core, files,
smp_memory, fatal.
"""
import os
import signal
import tempfile

import harness
import guestrun
from flavours import case
from guestrun import expect_status, expect_stderr, wait_stdout

# ---- core: output, arguments, environment, exit codes, UART, CPU features ----


@case("core")
def hello_prints_greeting_and_exits_0(t, fl):
    r = fl.run("hello")
    t.ok(r)
    t.eq(r.stdout, "Hello from a HermitCore test guest\n", "stdout")


@case("core")
def args_reach_the_guest_with_argv0_the_image(t, fl):
    image = fl.guest("args")
    r = fl.run("args", ["a", "b c", "", "\u00fcn\u00efcode"], env={"FOO": "bar", "HERMIT_CPUS": "1"},
               extra=["--env-host"])
    t.ok(r)
    lines = r.stdout.splitlines()
    t.contains(lines, "argc=5")
    t.contains(lines, "argv[0]=" + image)
    t.contains(lines, "argv[1]=a")
    t.contains(lines, "argv[2]=b c")
    t.contains(lines, "argv[3]=")
    t.contains(lines, "argv[4]=\u00fcn\u00efcode")
    t.contains(lines, "env=FOO=bar", "host environment forwarded under --env-host")
    t.contains(lines, "env=HERMIT_CPUS=1", "HERMIT_* variables forwarded too")


def _env_lines(stdout):
    return [l[4:] for l in stdout.splitlines() if l.startswith("env=")]


@case("core")
def args_environment_is_exactly_the_hosts(t, fl):
    # Insertion order is environ order: LAST is the last variable, the one a C
    # guest loses if the hypervisor does not count the NULL slot for it.
    env = {"A": "1", "B": "two words", "EMPTY": "", "LAST": "x=y"}
    r = fl.run_exact_env("args", [], env, extra=["--env-host"])
    t.ok(r)
    got = _env_lines(r.stdout)
    t.eq(sorted(got), sorted("%s=%s" % kv for kv in env.items()), "guest environment")
    t.eq(got[-1], "LAST=x=y", "the last host variable arrives (and arrives last)")


@case("core")
def args_empty_environment(t, fl):
    r = fl.run_exact_env("args", ["x"], {})
    t.ok(r)
    t.eq(_env_lines(r.stdout), fl.empty_env, "guest environment")
    t.contains(r.stdout.splitlines(), "argv[1]=x")


@case("core")
def args_127_arguments_and_127_environment_entries(t, fl):
    args = ["arg%03d" % i for i in range(127)]  # + argv[0] = 128, the ABI maximum
    env = {"V%03d" % i: "value%d" % i for i in range(127)}
    r = fl.run_exact_env("args", args, env, extra=["--env-host"])
    t.ok(r)
    lines = r.stdout.splitlines()
    t.contains(lines, "argc=128")
    t.contains(lines, "argv[127]=arg126")
    t.eq(sum(1 for l in lines if l.startswith("env=")), 127, "environment entries")
    t.contains(lines, "env=V126=value126", "the last variable")


@case("core")
def args_long_argument_arrives_whole(t, fl):
    long_arg = "".join(chr(ord("a") + i % 26) for i in range(20000))
    r = fl.run("args", [long_arg])
    t.ok(r)
    t.contains(r.stdout.splitlines(), "argv[1]=" + long_arg)


def _exitcode(t, fl, code, want):
    r = fl.run("exitcode", [code])
    expect_status(t, r, want, "exitcode %s" % code)


@case("core")
def exitcode_0(t, fl):
    _exitcode(t, fl, 0, 0)


@case("core")
def exitcode_1(t, fl):
    _exitcode(t, fl, 1, 1)


@case("core")
def exitcode_42(t, fl):
    _exitcode(t, fl, 42, 42)


@case("core")
def exitcode_255(t, fl):
    _exitcode(t, fl, 255, 255)


@case("core")
def exitcode_256_is_truncated_to_0(t, fl):
    _exitcode(t, fl, 256, 0)


@case("core")
def exitcode_minus_1_is_255(t, fl):
    _exitcode(t, fl, -1, 255)


@case("core")
def exitcode_from_last_ap_ends_the_vm(t, fl):
    r = fl.run("exitcode", ["7", "ap"], env={"HERMIT_CPUS": "4"})
    expect_status(t, r, 7, "exit from vCPU 3 while vCPU 0 halts")
    t.contains(r.stdout, "exiting with 7 from vCPU 3")


@case("core")
def uart_log_goes_to_stderr_when_verbose(t, fl):
    r = fl.run("uart", env={"HERMIT_VERBOSE": "1"})
    t.ok(r)
    t.contains(r.stderr, "uart: kernel log line\n", "kernel log on stderr")
    t.contains(r.stdout, "uart: stdout line\n")
    t.contains(r.stdout, "uartport=0x800")
    t.not_contains(r.stdout, "kernel log line", "stdout")


@case("core")
def uart_log_absent_without_verbose(t, fl):
    r = fl.run("uart")
    t.ok(r)
    t.not_contains(r.stderr, "kernel log line", "stderr")
    t.contains(r.stdout, "uart: stdout line\n")
    t.contains(r.stdout, "uartport=0x%x\n" % fl.quiet_uartport)


@case("core")
def verbose_names_the_detected_abi(t, fl):
    r = fl.run("hello", env={"HERMIT_VERBOSE": "1"})
    t.ok(r)
    t.contains(r.stderr, "%s ABI (detected)" % fl.label, "proxy says which ABI it chose")
    t.contains(r.stderr, "entry 0x%x" % fl.base, "and the entry")


@case("core")
def forcing_the_right_abi_changes_nothing(t, fl):
    for how in ({"env": {"HERMIT_ABI": fl.name, "HERMIT_VERBOSE": "1"}},
                {"env": {"HERMIT_VERBOSE": "1"}, "extra": ["--abi", fl.name]}):
        r = fl.run("smp", **dict(how, env=dict(how["env"], HERMIT_CPUS="2")))
        t.ok(r, "smp with %r" % how)
        t.contains(r.stdout, "smp: 2 cpus online\n")
        t.contains(r.stderr, "%s ABI (forced by" % fl.label)


@case("core")
def xgetbv_reports_x87_state(t, fl):
    r = fl.run("xgetbv")
    t.ok(r, "xgetbv: " + r.stdout)
    t.match(r"xgetbv: xcr0=0x[0-9a-f]*[13579bdf]\n", r.stdout, "XCR0 with bit 0 set")


@case("core")
def int3_reaches_the_guest_handler(t, fl):
    r = fl.run("int3")
    t.ok(r, "int3: " + r.stdout)
    t.contains(r.stdout, "int3: handled 2")


@case("core")
def gdbtarget_runs_without_a_debugger(t, fl):
    r = fl.run("gdbtarget", ["4", "timer", "int3"])
    t.ok(r, "gdbtarget: " + r.stdout)
    t.contains(r.stdout, "gdbtarget: counter=4 origin=(3,4)\n")
    t.contains(r.stdout, "gdbtarget: bp_hits=1\n")
    t.match(r"gdbtarget: timer_ticks=[1-9]", r.stdout, "LAPIC timer ticked")


@case("core")
def gdbtarget_aps_run_ap_work(t, fl):
    r = fl.run("gdbtarget", env={"HERMIT_CPUS": "3"})
    t.ok(r, "gdbtarget: " + r.stdout)
    for cpu in (1, 2):
        t.contains(r.stdout, "gdbtarget: ap_counter[%d]=1000\n" % cpu)


# ---- files: file hypercalls, wild pointers ----

GUEST_TEXT = "written by the files guest\n"
APPENDED = "appended\n"
BIG = bytes((i * 7 + 3) & 0xFF for i in range(3 * 4096 + 123))


@case("files")
def files_open_read_write_lseek_close_unlink(t, fl):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "input.txt"), "w") as f:
            f.write("input from the host\n")
        open(os.path.join(d, "remove-me"), "w").close()
        r = fl.run("files", [d], extra=["--mount", d])
        t.ok(r, "files guest: " + r.stdout)
        t.contains(r.stdout, "files: ok")
        t.contains(r.stdout, "input: input from the host\n", "input.txt echoed")
        t.contains(r.stdout, "stdout still works after close(1)")
        with open(os.path.join(d, "guest.txt")) as f:
            t.eq(f.read(), GUEST_TEXT + APPENDED, "guest.txt on the host")
        mode = os.stat(os.path.join(d, "guest.txt")).st_mode & 0o777
        t.eq(mode & ~0o022, 0o644 & ~0o022, "guest.txt mode (0644 under the umask)")
        with open(os.path.join(d, "big.bin"), "rb") as f:
            t.true(f.read() == BIG, "big.bin holds the page-crossing writes")
        removed = not os.path.exists(os.path.join(d, "remove-me"))
        if fl.has_unlink:
            t.true(removed, "remove-me was unlinked")
        else:
            t.contains(r.stdout, "files: no UNLINK in the %s ABI" % fl.name)
            t.true(not removed, "remove-me stays: the ABI has no UNLINK")


@case("files")
def badptr_every_wild_pointer_gets_efault(t, fl):
    r = fl.run("badptr", stdin=b"", extra=["--mount", fl.guest("badptr") + ":ro"])
    t.ok(r, "badptr: " + r.stdout)
    t.contains(r.stdout, "badptr: ok")
    t.not_contains(r.stdout, "FAIL")


@case("files")
def badptr_with_small_ram(t, fl):
    r = fl.run("badptr", env={"HERMIT_MEM": "32M"}, stdin=b"",
               extra=["--mount", fl.guest("badptr") + ":ro"])
    t.ok(r, "badptr: " + r.stdout)
    t.contains(r.stdout, "badptr: ok")


# ---- smp_memory: the start gate with several vCPUs, RAM layouts ----


def _smp(t, fl, n):
    r = fl.run("smp", env={"HERMIT_CPUS": str(n)})
    t.ok(r, "smp guest with %d cpus" % n)
    t.contains(r.stdout, "smp: %d cpus online\n" % n)


@case("smp_memory")
def smp_1_cpu(t, fl):
    _smp(t, fl, 1)


@case("smp_memory")
def smp_2_cpus(t, fl):
    _smp(t, fl, 2)


@case("smp_memory")
def smp_4_cpus(t, fl):
    _smp(t, fl, 4)


@case("smp_memory")
def smp_8_cpus(t, fl):
    _smp(t, fl, 8)


@case("smp_memory", is_slow=True)
def smp_16_cpus(t, fl):
    _smp(t, fl, 16)


def _memory(t, fl, mem, size):
    hole = 768 << 20
    limit = size if size <= 0xD0000000 else size + hole
    r = fl.run("memory", [size], env={"HERMIT_MEM": mem})
    t.ok(r, "memory guest with HERMIT_MEM=%s" % mem)
    t.contains(r.stdout, "memory: limit=0x%x ok\n" % limit)


@case("smp_memory")
def memory_32m(t, fl):
    _memory(t, fl, "32M", 32 << 20)


@case("smp_memory")
def memory_512m_default(t, fl):
    _memory(t, fl, "512M", 512 << 20)


@case("smp_memory")
def memory_1g(t, fl):
    _memory(t, fl, "1G", 1 << 30)


@case("smp_memory", is_slow=True)
def memory_4g_spans_the_pci_hole(t, fl):
    _memory(t, fl, "4G", 4 << 30)


@case("smp_memory", is_slow=True)
def memory_6g_above_4g(t, fl):
    _memory(t, fl, "6g", 6 << 30)


# ---- fatal: guests that crash the VM on purpose ----

RIP = r"rip[ =:]*(0x)?[0-9a-f]{4,}"


def _fatal(t, fl, mode, status, pattern, env=None):
    r = fl.run("fatal", [mode], env=env)
    t.contains(r.stdout, "fatal: %s\n" % mode, "the guest reached the fault")
    t.not_contains(r.stdout, "survived", "stdout")
    expect_status(t, r, status, "fatal %s" % mode)
    expect_stderr(t, r, pattern, "fatal %s" % mode)
    return r


@case("fatal")
def fatal_triple_fault_exits_120(t, fl):
    r = _fatal(t, fl, "triplefault", guestrun.STATUS_TRIPLE_FAULT, r"triple fault")
    expect_stderr(t, r, r"cpu\s*0", "names the vCPU")


@case("fatal")
def fatal_unhandled_port_exits_121(t, fl):
    r = _fatal(t, fl, "badport", guestrun.STATUS_UNHANDLED_IO, r"port 0x1234")
    expect_stderr(t, r, RIP, "names RIP")
    expect_stderr(t, r, r"cpu\s*0", "names the vCPU")


@case("fatal")
def fatal_exit_with_argument_outside_ram_exits_123(t, fl):
    r = _fatal(t, fl, "badexit", guestrun.STATUS_BAD_EXIT, r"exit hypercall.*0xfffff000.*not guest RAM")
    expect_stderr(t, r, r"cpu\s*0", "names the vCPU")


@case("fatal")
def fatal_unhandled_mmio_write_exits_121(t, fl):
    r = _fatal(t, fl, "mmio", guestrun.STATUS_UNHANDLED_IO, r"mmio.*0x0*3ff00000")
    expect_stderr(t, r, RIP, "names RIP")


@case("fatal")
def fatal_unhandled_mmio_read_exits_121(t, fl):
    _fatal(t, fl, "mmioread", guestrun.STATUS_UNHANDLED_IO, r"mmio.*0x0*3ff00000")


@case("fatal", is_slow=True)
def fatal_unhandled_mmio_in_pci_hole_exits_121(t, fl):
    _fatal(t, fl, "mmio", guestrun.STATUS_UNHANDLED_IO, r"mmio.*0x0*d0001000",
           env={"HERMIT_MEM": "4G"})


@case("fatal")
def fatal_guest_exception_exits_99(t, fl):
    r = fl.run("fatal", ["exception"])
    expect_status(t, r, guestrun.GUEST_EXCEPTION, "divide by zero")
    t.match(r"guest exception 0 \(#DE", r.stdout, "the guest's own report")


def _signal(t, fl, mode, sig, status, env=None):
    with harness.Proxy(fl.guest("fatal"), [mode], env=env) as p:
        wait_stdout(p, "fatal: %s\n" % mode)
        p.signal(sig)
        rc = p.wait(timeout=10)
        t.eq(rc, status, "exit status after %s (stderr %r)" % (sig.name, p.stderr_text()))
        t.contains(p.stderr_text(), "proxy: %s received, stopping the VM" % sig.name, "message")


@case("fatal")
def signal_sighup_spinning_guest_exits_129(t, fl):
    # No debugger, no console: the signal handler path (vm_end_on_signals).
    _signal(t, fl, "hang", signal.SIGHUP, guestrun.STATUS_SIGHUP)


@case("fatal")
def signal_sigquit_halted_guest_exits_131(t, fl):
    _signal(t, fl, "halt", signal.SIGQUIT, guestrun.STATUS_SIGQUIT)


@case("fatal")
def signal_sighup_and_sigquit_with_a_debug_port_listening(t, fl):
    # A debug port registers an end notifier: the signal thread path (main.c).
    for sig, status in ((signal.SIGHUP, guestrun.STATUS_SIGHUP),
                        (signal.SIGQUIT, guestrun.STATUS_SIGQUIT)):
        _signal(t, fl, "hang", sig, status,
                env={"HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": "0"})


@case("fatal")
def signal_sigterm_spinning_guest_exits_143(t, fl):
    _signal(t, fl, "hang", signal.SIGTERM, guestrun.STATUS_SIGTERM)


@case("fatal")
def signal_sigint_spinning_guest_exits_130(t, fl):
    _signal(t, fl, "hang", signal.SIGINT, guestrun.STATUS_SIGINT)


@case("fatal")
def signal_sigterm_halted_guest_exits_143(t, fl):
    _signal(t, fl, "halt", signal.SIGTERM, guestrun.STATUS_SIGTERM)


@case("fatal")
def signal_sigint_halted_multicpu_guest_exits_130(t, fl):
    _signal(t, fl, "halt", signal.SIGINT, guestrun.STATUS_SIGINT, env={"HERMIT_CPUS": "4"})
