"""GDB's `monitor` command (qRcmd) reaching proxy's command interpreter."""
import os
import re
import subprocess
import tempfile

import harness
from harness import test


def gdb_session(image, *cmds, env=None):
    """Start proxy under HERMIT_DEBUG, run `gdb -batch` with cmds against it."""
    port = harness.free_port()
    e = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}
    e.update(env or {})
    with harness.Proxy(image, env=e) as p:
        p.wait_stderr(r"waiting for GDB")
        cmd = ["gdb", "-batch", "-nx", image, "-ex", "target remote :%d" % port]
        for c in cmds:
            cmd += ["-ex", c]
        cmd += ["-ex", "kill"]
        g = subprocess.run(cmd, capture_output=True, text=True, timeout=harness.TIMEOUT)
        p.wait()
        return g.stdout + g.stderr


def needs_gdb():
    if subprocess.run(["which", "gdb"], capture_output=True).returncode:
        harness.skip("gdb is not installed")


@test
def monitor_info_commands(t):
    needs_gdb()
    out = gdb_session(harness.guest("hello"), "monitor info cpus", "monitor info registers 0",
                      "monitor info vm", "monitor info mem", "monitor translate 0x200000",
                      "monitor info tlb $rip", "monitor xp/xw 0x9000", "monitor x/2xg $rip",
                      "monitor info hypercalls")
    t.contains(out, "vCPU 0: stopped, RIP 0x200000, 64-bit mode", "info cpus at the entry")
    t.match(r"rip  0x0000000000200000  rflags 0x00000002", out, "info registers")
    t.match(r"rdi  0x0000000000009000", out, "RDI holds the boot info address")
    t.match(r"image: \S+hello\.elf \(rusty ABI\)", out, "info vm")
    t.match(r"0x0000000000000000-0x000000003fffffff -> 0x0000000000000000 +1 GiB  rwx-", out,
            "info mem")
    t.contains(out, "0x200000 -> physical 0x200000 (2 MiB page)", "translate")
    t.match(r"PML4\[0\] +at 0x00010000", out, "info tlb walks from the PML4")
    t.contains(out, "0x9000:\t0xc0decafe", "xp")
    t.match(r"0x200000:\t0x[0-9a-f]{16}\t0x[0-9a-f]{16}", out, "x through $rip")
    t.match(r"write +0x0400 +0 ", out, "info hypercalls before any call")


@test
def monitor_help_and_errors(t):
    needs_gdb()
    out = gdb_session(harness.guest("hello"), "monitor help", "monitor bogus",
                      "monitor x/2x 0x7fffffffffff", "monitor info cpus")
    t.contains(out, "proxy monitor commands:", "help")
    t.contains(out, "dump-guest-core [-f] FILE", "help lists dump-guest-core")
    t.contains(out, "unknown command 'bogus'", "unknown command")
    t.contains(out, "Cannot access memory at address 0x7fffffffffff", "bad address")
    t.contains(out, "vCPU 0: stopped", "the session goes on after errors")


@test
def monitor_execution_belongs_to_gdb(t):
    needs_gdb()
    out = gdb_session(harness.guest("hello"), "monitor stop", "monitor cont", "monitor step",
                      "monitor quit", "monitor info cpus")
    t.eq(len(re.findall(r"GDB controls execution here", out)), 4,
         "stop, cont, step, quit are refused: %r" % out)
    t.contains(out, "vCPU 0: stopped", "the VM is still there")


@test
def monitor_dump_guest_core_at_breakpoint(t):
    needs_gdb()
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "bp.core")
        image = harness.guest("crash")
        out = gdb_session(image, "break crash_inner", "continue",
                          "monitor dump-guest-core " + core)
        t.match(r"Breakpoint 1, crash_inner", out, "stopped in crash_inner")
        t.match(r"wrote \S+bp\.core: 1 vCPUs", out, "dump-guest-core")
        g = subprocess.run(["gdb", "-batch", "-nx", image, core, "-ex", "bt",
                            "-ex", "p/x crash_marker"], capture_output=True, text=True,
                           timeout=harness.TIMEOUT)
        text = g.stdout + g.stderr
        t.match(r"#0 +crash_inner", text, "the core shows the breakpoint's frame")
        t.match(r"#1 +0x[0-9a-f]+ in crash_middle", text, "and its caller")
        t.contains(text, "= 0xfeedf00d", "crash_marker")


@test
def monitor_console_beside_gdb_refuses_execution(t):
    """HERMIT_DEBUG and HERMIT_MONITOR together: GDB owns execution."""
    needs_gdb()
    port = harness.free_port()
    env = {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port), "HERMIT_MONITOR": "1",
           "HERMIT_MONITOR_HISTORY": ""}
    with harness.Proxy(harness.guest("hello"), env=env, stdin=subprocess.PIPE) as p:
        p.wait_stderr(r"waiting for GDB")
        p.p.stdin.write(b"stop\ninfo cpus\n")
        p.p.stdin.flush()
        # The console pauses the vCPUs for `info cpus` (they may not have parked for GDB
        # yet: "running" then), or says GDB runs the VM.
        p.wait_stderr(r"\(proxy\) info cpus\n(vCPU 0: (stopped|running)|the VM is running under GDB)")
        t.contains(p.stderr_text(), "the VM is under GDB's control", "stop refused")
        p.p.stdin.close()
        g = subprocess.run(["gdb", "-batch", "-nx", harness.guest("hello"), "-ex",
                            "target remote :%d" % port, "-ex", "kill"],
                           capture_output=True, text=True, timeout=harness.TIMEOUT)
        p.wait()


@test
def overlong_monitor_command_is_an_error_not_a_crash(t):
    """A command line longer than the interpreter's buffer is refused; the session goes on."""
    from gdblib import debug_session
    s = debug_session(harness.guest("gdbtarget"), ["monitor " + "a" * 3000, "monitor info vm",
                                           "continue"])
    t.contains(s.transcript, "cannot parse")
    t.match(r"image: .*gdbtarget.elf", s.transcript, "the next command still works")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)
