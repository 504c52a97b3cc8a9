"""Developer tools: the monitor console (scripted through stdin, and on a pty),
hypercall tracing, run statistics and guest core dumps loaded in GDB."""
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import run, expect_status  # noqa: E402

STATUS_QUIT = 119  # `quit` ends the VM like GDB's kill


def console(script, guest="fatal", args=("hang",), env=None, **kw):
    """Run `guest` with the console reading `script` from stdin."""
    e = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    e.update(env or {})
    return run(guest, list(args), env=e, stdin=script.encode(), **kw)


def console_after_boot(script, args=("hang",), env=None):
    """Like console(), but the commands go in once fatal.elf has printed (every vCPU
    is up, main is in its loop), so what they see does not depend on timing."""
    e = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    e.update(env or {})
    with harness.Proxy(harness.guest("fatal"), list(args), env=e, stdin=subprocess.PIPE) as p:
        guestrun.wait_stdout(p, "fatal: %s\n" % args[0])
        p.p.stdin.write(script.encode())
        p.p.stdin.close()
        rc = p.wait()
        return harness.Result(rc, p.stdout_text(), p.stderr_text())


def gdb_batch(image, core, *cmds):
    cmd = ["gdb", "-batch", "-nx", image, core]
    for c in cmds:
        cmd += ["-ex", c]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=harness.TIMEOUT)
    return p.stdout + p.stderr


def needs_gdb():
    if subprocess.run(["which", "gdb"], capture_output=True).returncode:
        harness.skip("gdb is not installed")


# ---- console ---------------------------------------------------------------

@test
def console_info_commands(t):
    r = console_after_boot("info vm\ninfo cpus\ninfo registers\nxp/xw 0x9000\n"
                           "translate 0x200000\ninfo mem\ninfo hypercalls\nquit\n")
    expect_status(t, r, STATUS_QUIT, "quit ends the VM")
    err = r.stderr
    t.contains(err, "(proxy) info vm\n", "the transcript echoes each command")
    t.match(r"image: \S+fatal\.elf \(rusty ABI\), entry 0x200000", err, "info vm")
    t.match(r"memory: 512 MiB", err, "info vm memory")
    want_kvm = "software (PVM)" if harness.host_info()["kvm"] == "pvm" else "hardware"
    t.contains(err, "host KVM: %s\n" % want_kvm, "info vm names this host's KVM")
    t.match(r"cpu_online 1 possible_cpus 1", err, "info vm boot info")
    t.match(r"vCPU 0: (running|halted|stopped), RIP 0x[0-9a-f]+, 64-bit mode", err, "info cpus")
    t.match(r"rip  0x[0-9a-f]{16}  rflags", err, "info registers rip")
    t.match(r"cr3 0x0000000000010000", err, "info registers cr3")
    t.match(r"efer 0xd00 \[ LME LMA NXE \]  apic_base 0xfee00", err, "info registers efer")
    t.match(r"events: exception none", err, "info registers events")
    t.contains(err, "0x9000:\t0xc0decafe", "xp reads the boot magic")
    t.match(r"PD\[1\] +at 0x00012008: 0x[0-9a-f]+ P W.* PS", err, "translate: PD level, 2 MiB page")
    t.contains(err, "0x200000 -> physical 0x200000 (2 MiB page)", "translate result")
    t.match(r"0x0000000000000000-0x000000003fffffff -> 0x0000000000000000 +1 GiB  rwx-", err,
            "info mem: the 1 GiB identity map, merged")
    t.match(r"cmdsize +0x0740 +1 ", err, "info hypercalls counts CMDSIZE once")
    t.eq(r.stdout, "fatal: hang\n", "the guest's stdout is untouched by the console")


@test
def console_examine_formats(t):
    r = console("x/2xg 0x9000\nx/4xb 0x9000\nx/2dw 0x9004\nx/3c 0x200000\nx/s $rdi\n"
                "x/xw $rip\nquit\n")
    err = r.stderr
    t.match(r"0x9000:\t0x00000001c0decafe\t0x0000000000200000", err, "x/2xg")
    t.contains(err, "0x9000:\t0xfe\t0xca\t0xde\t0xc0\n", "x/4xb")
    t.contains(err, "0x9004:\t1\t2097152\n", "x/2dw")
    t.match(r"0x200000:\t-?\d+ '[^']+'\t", err, "x/3c")
    t.match(r"\n0x[0-9a-f]+:\t\"", err, "x/s through a register")


@test
def console_errors_are_messages(t):
    r = console("bogus\nx/4q 0\nx/2x 0x7fffffffffff\ninfo registers 9\ntranslate nowhere\n"
                "info cpus extra\nx/s\nhelp nothing\ndump-guest-core /nonexistent/dir/core\n"
                "cont\ninfo vm\nquit\n")
    expect_status(t, r, STATUS_QUIT, "the console survives every error")
    err = r.stderr
    t.contains(err, "unknown command 'bogus'; try 'help'")
    t.contains(err, "unknown format letter 'q'")
    t.contains(err, "Cannot access memory at address 0x7fffffffffff")
    t.contains(err, "no vCPU 9 (this VM has 1)")
    t.contains(err, "'nowhere' is not a number")
    t.match(r"usage:\n  info cpus ", err, "wrong argument count shows the usage")
    t.match(r"usage:\n  x/FMT ADDR", err, "x without an address")
    t.contains(err, "no command 'nothing'")
    t.match(r"dump-guest-core: /nonexistent/dir/core: No such file", err, "unwritable core")
    t.contains(err, "the VM is running", "cont on a running VM")
    t.match(r"image: \S+fatal\.elf", err, "info vm after all the errors")


@test
def console_stop_step_cont(t):
    r = console("stop\nstep\nstep 0\ninfo cpus\ncont\ninfo cpus\nstep 1\nquit\n")
    expect_status(t, r, STATUS_QUIT, "quit")
    err = r.stderr
    t.match(r"VM stopped\nvCPU 0: stopped, RIP 0x[0-9a-f]+", err, "stop")
    steps = re.findall(r"vCPU 0: RIP (0x[0-9a-f]+) -> (0x[0-9a-f]+)", err)
    t.eq(len(steps), 2, "two steps reported: %r" % err)
    t.eq(steps[0][1], steps[1][0], "the second step starts where the first ended")
    t.true(steps[0][0] != steps[0][1], "a step moves RIP")
    t.match(r"\(proxy\) info cpus\nvCPU 0: stopped, RIP " + steps[1][1], err, "still stopped")
    t.match(r"VM resumed\n\(proxy\) info cpus\nvCPU 0: running", err, "running after cont")
    t.contains(err, "no vCPU 1", "step of a vCPU that does not exist")


@test
def console_stop_smp_guest(t):
    r = console_after_boot("info cpus\nstop\nstep 2\ncont\nquit\n", env={"HERMIT_CPUS": "3"})
    expect_status(t, r, STATUS_QUIT, "quit")
    after_stop = r.stderr.split("VM stopped\n", 1)[-1].split("(proxy)")[0]
    t.eq(len(re.findall(r"vCPU [0-2]: (?:stopped|halted)", after_stop)), 3,
         "stop lists three vCPUs: %r" % r.stderr)
    t.match(r"vCPU 2(: RIP 0x[0-9a-f]+ -> 0x[0-9a-f]+| did not complete a step)", r.stderr,
            "step on vCPU 2 (halted with interrupts off cannot step)")


@test
def console_eof_lets_the_guest_run_on(t):
    env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    with harness.Proxy(harness.guest("fatal"), ["hang"], env=env, stdin=subprocess.PIPE) as p:
        p.p.stdin.write(b"info vm\n")
        p.p.stdin.close()
        p.wait_stderr(r"image: \S+fatal\.elf")
        time.sleep(0.3)
        t.eq(p.p.poll(), None, "the VM still runs after the console's EOF")
        p.signal()
        t.eq(p.wait(), guestrun.STATUS_SIGTERM, "SIGTERM still ends it")
        t.eq(p.stdout_text(), "fatal: hang\n", "stdout")


@test
def console_help(t):
    r = console("help\nhelp info\nhelp x\nquit\n")
    for cmd in ("info cpus", "info registers [CPU]", "info mem", "info tlb ADDR", "translate ADDR",
                "x/FMT ADDR", "xp/FMT ADDR", "info hypercalls", "info vm", "stop", "cont",
                "step [CPU]", "dump-guest-core [-f] FILE", "quit"):
        t.contains(r.stderr, "  " + cmd, "help lists " + cmd)
    t.match(r"\(proxy\) help x\n  x/FMT ADDR +guest-virtual[^\n]*\n\(proxy\)", r.stderr,
            "help x shows only x")


def _pty_session(keys, history, timeout=None):
    """Run the console on a pseudo-terminal, typing `keys` (a list of strings, each one
    command line ending in \\r: the i-th is typed at the i-th prompt)."""
    timeout = timeout or harness.TIMEOUT
    master, slave = pty.openpty()
    err = harness.output_file()
    env = harness.proxy_env({"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": history,
                             "TERM": "dumb"})
    p = subprocess.Popen([harness.PROXY, harness.guest("fatal"), "hang"], stdin=slave,
                         stdout=subprocess.PIPE, stderr=err, env=env)
    os.close(slave)

    def prompts():
        err.seek(0)
        return err.read().decode(errors="replace").count("(proxy) ")

    try:
        # Type each line only once readline shows the prompt for it: keys typed before
        # readline owns the terminal would meet the line discipline (no completion, no
        # history). A fixed delay would be a guess at how fast this machine is.
        deadline = time.monotonic() + timeout
        for i, k in enumerate(keys):
            while prompts() <= i:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise harness.Failure("console prompt %d never came (status %r)" %
                                          (i + 1, p.poll()))
                time.sleep(0.02)
            os.write(master, k.encode())
        rc = p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    err.seek(0)
    return rc, err.read().decode(errors="replace")


@test
def console_readline_history_and_completion(t):
    with tempfile.TemporaryDirectory() as d:
        hist = os.path.join(d, "history")
        rc, err = _pty_session(["info cp\t\r", "info v\t\r", "quit\r"], hist)
        t.eq(rc, STATUS_QUIT, "quit on the terminal: %r" % err)
        t.contains(err, "(proxy) ", "the prompt")
        t.match(r"vCPU 0: \w+, RIP 0x", err, "'info cp<TAB>' completed to info cpus")
        t.match(r"image: \S+fatal\.elf", err, "'info v<TAB>' completed to info vm")
        with open(hist) as f:
            lines = f.read().splitlines()
        t.eq(lines, ["info cpus", "info vm", "quit"], "the history file")
        # A second session sees the history: Up-arrow (ESC [ A) repeats the last command.
        rc, err = _pty_session(["\x1b[A\x1b[A\r", "quit\r"], hist)
        t.match(r"image: \S+fatal\.elf", err, "history recalled 'info vm': %r" % err)
        # Saving the history over an existing file makes readline chown it: the
        # sandbox answers EPERM (it used to end proxy with 159 from here on).
        t.eq(rc, STATUS_QUIT, "quit in the second session: %r" % err)


# ---- tracing -----------------------------------------------------------------

FILES_TRACE = [
    '[vCPU 0] close(0) = 0',
    '[vCPU 0] open("d/guest.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3',
    '[vCPU 0] write(3, "written by the files guest\\n", 27) = 27',
    '[vCPU 0] close(3) = 0',
    '[vCPU 0] close(3) = -9 EBADF',
    '[vCPU 0] open("d/guest.txt", O_RDONLY, 0) = 3',
    '[vCPU 0] read(3, "written by the files guest\\n", 4096) = 27',
    '[vCPU 0] read(3, "", 4096) = 0',
    '[vCPU 0] write(3, "x", 1) = -9 EBADF',
    '[vCPU 0] lseek(3, 5, SEEK_SET) = 5',
    '[vCPU 0] lseek(3, 3, SEEK_CUR) = 8',
    '[vCPU 0] read(3, "by t", 4) = 4',
    '[vCPU 0] lseek(3, -100, SEEK_SET) = -22 EINVAL',
    '[vCPU 0] open("d/big.bin", O_RDWR|O_CREAT|O_TRUNC, 0644) = 3',
    '[vCPU 0] write(3, "\\x03\\n\\x11\\x18\\x1f&-4;BIPW^elsz\\x81\\x88\\x8f\\x96\\x9d\\xa4\\xab'
    '\\xb2\\xb9\\xc0\\xc7\\xce\\xd5\\xdc"..., 200) = 200',
    '[vCPU 0] open("d/input.txt", O_RDONLY, 0) = 3',
    '[vCPU 0] read(3, "input from the host\\n", 4095) = 20',
    '[vCPU 0] write(1, "input: input from the host\\n", 27) = 27',
    '[vCPU 0] open("d/does-not-exist", O_RDONLY, 0) = -2 ENOENT',
    '[vCPU 0] unlink("d/remove-me") = 0',
    '[vCPU 0] unlink("d/remove-me") = -2 ENOENT',
    '[vCPU 0] write(1, "files: ok\\n", 10) = 10',
    '[vCPU 0] exit(0) = ?',
]


def _in_order(t, lines, expected):
    """Every expected line appears, in this order."""
    i = 0
    for want in expected:
        while i < len(lines) and lines[i] != want:
            i += 1
        t.true(i < len(lines), "trace line %r missing or out of order in:\n%s" % (
            want, "\n".join(lines)))
        i += 1


@test
def trace_files_guest(t):
    with tempfile.TemporaryDirectory() as top:
        d = os.path.join(top, "d")
        os.mkdir(d)
        with open(os.path.join(d, "input.txt"), "w") as f:
            f.write("input from the host\n")
        open(os.path.join(d, "remove-me"), "w").close()
        r = run("files", ["d"], env={"HERMIT_TRACE": "1"}, cwd=top, extra=["--mount", "."])
        t.ok(r, "files guest with tracing")
        lines = [l for l in r.stderr.splitlines() if l.startswith("[vCPU")]
        t.match(r"^\[vCPU 0\] cmdsize\(\) = \{argc=2, envc=\d+\}$", lines[0], "first: CMDSIZE")
        t.match(r"^\[vCPU 0\] cmdval\(argv=0x[0-9a-f]+, envp=0x[0-9a-f]+\) = 0$", lines[1],
                "CMDVAL")
        _in_order(t, lines, FILES_TRACE)
        t.not_contains(r.stdout, "[vCPU", "the trace stays off the guest's stdout")


@test
def trace_to_file_with_flag(t):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.txt")
        r = run("hello", extra=["--trace=" + path])
        t.ok(r, "hello with --trace=FILE")
        t.not_contains(r.stderr, "[vCPU", "stderr")
        with open(path) as f:
            lines = f.read().splitlines()
        t.eq(len(lines), 4, "four hypercalls: %r" % lines)
        t.eq(lines[2], '[vCPU 0] write(1, "Hello from a HermitCore test gue"..., 35) = 35',
             "the write quotes 32 bytes")
        t.eq(lines[3], "[vCPU 0] exit(0) = ?", "exit")


@test
def trace_off_and_flag_to_stderr(t):
    r = run("hello", env={"HERMIT_TRACE": "0"})
    t.ok(r)
    t.not_contains(r.stderr, "[vCPU", "HERMIT_TRACE=0 traces nothing")
    r = run("hello", extra=["--trace"])
    t.contains(r.stderr, "[vCPU 0] exit(0) = ?", "--trace goes to stderr")


@test
def trace_smp_names_each_vcpu(t):
    r = run("smp", env={"HERMIT_TRACE": "1", "HERMIT_CPUS": "2"})
    t.match(r"\[vCPU 0\] exit\(0\)", r.stderr, "exit traced on vCPU 0")


# ---- statistics ----------------------------------------------------------------

@test
def stats_printed_at_exit(t):
    r = run("hello", extra=["--stats"])
    t.ok(r)
    err = r.stderr
    first = float(t.match(r"stats: start to first guest instruction: ([\d.]+) ms", err).group(1))
    total = float(t.match(r"stats: start to exit: ([\d.]+) ms \(exit status 0\)", err).group(1))
    t.true(0 < first <= total, "first instruction before the exit: %r" % err)
    t.match(r"stats: VM exits: \d+", err, "total exits")
    t.match(r"stats:   IO +[1-9]\d*", err, "IO exits by reason")
    t.match(r"stats:   write +0x0400 +1 calls +[\d.]+ ms", err, "hypercalls by port")
    t.match(r"stats:   exit +0x0540 +1 calls", err, "the exit hypercall")
    t.match(r"stats: vCPU 0: [\d.]+ ms in KVM_RUN, \d+ exits", err, "per-vCPU run time")
    t.eq(r.stdout, "Hello from a HermitCore test guest\n", "stdout untouched")


@test
def stats_env_and_per_vcpu(t):
    r = run("smp", env={"HERMIT_STATS": "1", "HERMIT_CPUS": "2"})
    t.match(r"stats: vCPU 1: [\d.]+ ms in KVM_RUN", r.stderr, "vCPU 1 listed")


# ---- core dumps ----------------------------------------------------------------

def _crash_core(t, d, cpus):
    core = os.path.join(d, "crash.core")
    r = run("crash", env={"HERMIT_COREDUMP": core, "HERMIT_CPUS": str(cpus)})
    expect_status(t, r, guestrun.STATUS_UNHANDLED_IO, "crash guest")
    t.contains(r.stderr, "guest core dumped to " + core)
    t.true(os.path.exists(core), "core file written")
    return core


# Where a vCPU stands when its port write ends the VM depends on the host: hardware
# KVM reports the RIP of the OUT itself (KVM advances RIP only when user space
# completes the I/O), so GDB puts the inlined rt_outl() in frame #0 with crash_inner
# as its caller; PVM reports the RIP after the OUT, inside crash_inner. Both are
# right; the chain below must be crash_inner, crash_middle, crash_outer, main.
CRASH_CHAIN = [("crash_inner", "3"), ("crash_middle", "2"), ("crash_outer", "1"), ("main", None)]


def backtrace_frames(text):
    """[(name, args)] of the frames in a GDB `bt` listing, in order."""
    return re.findall(r"(?m)^#\d+ +(?:0x[0-9a-f]+ in )?(\w+) \(([^)]*)\)", text)


@test
def coredump_on_crash_loads_in_gdb(t):
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        core = _crash_core(t, d, 2)
        out = gdb_batch(harness.guest("crash"), core, "echo @@bt@@\\n", "bt",
                        "echo @@end-bt@@\\n", "info threads", "p/x crash_marker", "p crash_depth",
                        "thread 2", "bt")
        bt, _, rest = out.partition("@@bt@@")[2].partition("@@end-bt@@")
        frames = backtrace_frames(bt)
        t.true(frames, "a backtrace of vCPU 0: %r" % out)
        if frames[0][0] == "rt_outl":  # hardware KVM: stopped on the OUT, inlined
            t.match(r"#0 +(0x[0-9a-f]+ in )?rt_outl \([^)]*port=4660\) at tests/guest/rt/rt\.h",
                    bt, "frame #0: the inlined port write")
            frames = frames[1:]
        t.eq([f[0] for f in frames[:4]], [c[0] for c in CRASH_CHAIN],
             "the call chain (bt: %r)" % bt)
        for (name, args), (_, depth) in zip(frames, CRASH_CHAIN):
            if depth:
                t.match(r"depth=(depth@entry=)?%s$" % depth, args, name + "'s depth")
        t.match(r"#0 +(0x[0-9a-f]+ in )?(rt_outl|crash_inner) \(", bt, "crash site")
        t.match(r"\* 1 +LWP 1 +(0x[0-9a-f]+ in )?(rt_outl|crash_inner) ", rest,
                "thread 1 = vCPU 0, current")
        t.match(r"  2 +LWP 2 ", rest, "thread 2 = vCPU 1")
        t.contains(rest, "= 0xfeedf00d", "crash_marker")
        t.contains(rest, "$2 = 3", "crash_depth")
        t.match(r"#0 +rt_halt_forever", rest, "vCPU 1 sits in its halt loop")


@test
def coredump_elf_layout(t):
    with tempfile.TemporaryDirectory() as d:
        core = _crash_core(t, d, 1)
        out = subprocess.run(["readelf", "-hln", core], capture_output=True, text=True).stdout
        t.match(r"Type:\s+CORE", out, "ET_CORE")
        t.match(r"Machine:\s+Advanced Micro Devices X86-64", out, "EM_X86_64")
        t.match(r"NOTE\s+0x", out, "PT_NOTE")
        t.match(r"LOAD\s+0x[0-9a-f]+ 0x0000000000000000 0x0000000000000000", out, "PT_LOAD at 0")
        t.match(r"CORE\s+0x[0-9a-f]+\s+NT_PRSTATUS", out, "NT_PRSTATUS")
        t.match(r"CORE\s+0x[0-9a-f]+\s+NT_PRPSINFO", out, "NT_PRPSINFO")
        st = os.stat(core)
        t.true(st.st_blocks * 512 < st.st_size // 4, "the core is sparse (%d of %d bytes)" % (
            st.st_blocks * 512, st.st_size))


@test
def coredump_not_written_when_guest_exits(t):
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "core")
        r = run("hello", env={"HERMIT_COREDUMP": core})
        t.ok(r)
        t.true(not os.path.exists(core), "no core for a clean exit")


@test
def coredump_on_triple_fault(t):
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "core")
        r = run("fatal", ["triplefault"], extra=["--coredump", core])
        expect_status(t, r, guestrun.STATUS_TRIPLE_FAULT, "triple fault")
        t.true(os.path.exists(core), "core written for status 120")


@test
def coredump_of_a_page_fault_carries_siginfo(t):
    """The failed vCPU's NT_PRSTATUS has the failure's signal and an NT_SIGINFO follows
    it: GDB's $_siginfo on the core says what it said under the debugger (si_addr =
    CR2); a port failure's core says SIGBUS."""
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "core")
        r = run("fatal", ["pagefault"], extra=["--coredump", core])
        expect_status(t, r, guestrun.STATUS_TRIPLE_FAULT, "a page fault without an IDT")
        out = gdb_batch(harness.guest("fatal"), core, "p $_siginfo.si_signo",
                        "p/x $_siginfo._sifields._sigfault.si_addr")
        t.contains(out, "Program terminated with signal SIGSEGV")
        t.match(r"(?m)^\$1 = 11$", out, "si_signo")
        # Hardware KVM on AMD resets the vCPU at a triple fault: CR2 is gone there.
        cr2 = "0x0" if harness.kvm_resets_at_triple_fault() else "0xbadc0de0008"
        t.match(r"(?m)^\$2 = %s$" % cr2, out, "si_addr: CR2")
        readelf = subprocess.run(["readelf", "-n", core], capture_output=True, text=True).stdout
        t.match(r"CORE\s+0x0+80\s+NT_SIGINFO", readelf, "a 128-byte NT_SIGINFO")
        port = _crash_core(t, d, 1)
        out = gdb_batch(harness.guest("crash"), port, "p $_siginfo.si_signo")
        t.contains(out, "Program terminated with signal SIGBUS")


@test
def dump_guest_core_command(t):
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "live.core")
        env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
        with harness.Proxy(harness.guest("fatal"), ["hang"], env=env,
                           stdin=subprocess.PIPE) as p:
            guestrun.wait_stdout(p, "fatal: hang\n")  # the guest is in main's loop now
            p.p.stdin.write(("dump-guest-core %s\ninfo cpus\nquit\n" % core).encode())
            p.p.stdin.close()
            t.eq(p.wait(), STATUS_QUIT, "quit")
            err = p.stderr_text()
        t.match(r"wrote \S+live\.core: 1 vCPUs, \d+ memory segments", err, "dump message")
        t.match(r"vCPU 0: running", err, "the VM ran on after the dump")
        out = gdb_batch(harness.guest("fatal"), core, "bt")
        t.match(r"#\d+ .*main \(", out, "the live core shows main: %r" % out)


@test
def info_mem_is_capped_on_page_tables_that_map_themselves(t):
    """fatal selfmap points every free PML4 slot at the PML4: the tables map
    themselves over 255 x 512 GiB, and a full listing would run to millions of lines."""
    env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": ""}
    with harness.Proxy(harness.guest("fatal"), ["selfmap"], env=env, stdin=subprocess.PIPE) as p:
        guestrun.wait_stdout(p, "fatal: selfmap\nfatal: mapped\n")
        p.p.stdin.write(b"info mem\ninfo cpus\nquit\n")
        p.p.stdin.close()
        t.eq(p.wait(), STATUS_QUIT, "the console came back and quit")
        err = p.stderr_text()
    ranges = re.findall(r"(?m)^0x[0-9a-f]{16}-0x[0-9a-f]{16} -> ", err)
    t.eq(len(ranges), 4096, "exactly the cap of ranges printed")
    t.match(r"listing cut after 4096 ranges \([^)]+ in them\); for one address: info tlb ADDR "
            r"or translate ADDR", err, "says it was cut, and what to use instead")
    t.match(r"vCPU 0: (running|stopped)", err, "the next command ran")


@test
def tools_config_refused(t):
    for var, value in (("HERMIT_MONITOR", "maybe"), ("HERMIT_STATS", "2"),
                       ("HERMIT_COREDUMP", "1")):
        r = run("hello", env={var: value})
        expect_status(t, r, guestrun.STATUS_SETUP, "%s=%s" % (var, value))
        t.contains(r.stderr, var, "the message names the variable")
    r = run("hello", extra=["--coredump"])
    expect_status(t, r, guestrun.STATUS_USAGE, "--coredump without a file")
