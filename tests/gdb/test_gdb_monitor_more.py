"""GDB's `monitor` from scripts, disassembly, the current vCPU, the local APIC, and the
control-register flags of the target description (issue 12, items 5, 6 and 8)."""
import os
import re
import subprocess
import tempfile

import harness
from gdblib import GDB_TIMEOUT, debug_session, gdb_command, py, require_gdb, start_proxy
from harness import Failure, guest, test

# Nothing here depends on the host's KVM kind: the realkvm lane runs none of it.
REALKVM_SUBSET = ()

TARGET = "gdbtarget"


def gdb_script(image, script, cpus=1):
    """Run `gdb -batch -x FILE` (an error in FILE ends FILE, unlike -ex); the transcript."""
    p, port = start_proxy(image, cpus=cpus)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
            f.write(script)
            f.flush()
            cmd = gdb_command(image, port, []) + ["-x", f.name]
            try:
                g = subprocess.run(cmd, capture_output=True, text=True, timeout=GDB_TIMEOUT)
            except subprocess.TimeoutExpired as e:
                raise Failure("gdb did not finish: %s\nproxy stderr=%s" % (e.stdout,
                                                                          p.stderr_text()))
        p.wait(60)
        return g.stdout + g.stderr
    finally:
        p.close()


# GDB prints monitor output on stderr and its own on stdout, so a transcript does not
# keep their order: the two formats are told apart by their shape instead.
def monitor_insns(text):
    """(address, mnemonic) of each `0xADDR:  bytes  mnemonic ...` line of monitor x/i."""
    return [(int(a, 16), m) for a, m in
            re.findall(r"^0x([0-9a-f]+):  (?:[0-9a-f]{2} ?)+ +(\S+)", text, re.M)]


def gdb_insns(text):
    """(address, mnemonic) of each line of GDB's own x/i."""
    return [(int(a, 16), m) for a, m in
            re.findall(r"^(?:=>)? +0x([0-9a-f]+) <[^>]*>:\t(\S+)", text, re.M)]


def same_instructions(t, mine, gdbs, what):
    t.eq([a for a, _ in mine], [a for a, _ in gdbs], what + ": the same addresses as GDB")
    for (a, m), (_, g) in zip(mine, gdbs):
        # capstone spells the operand size (movl, callq) where GDB leaves it out
        t.true(m.startswith(g), "%s: 0x%x is %s in GDB, %s here" % (what, a, g, m))


@test
def monitor_errors_do_not_end_a_script(t):
    """QEMU-style: a failing command prints its error and answers OK, so `gdb -x` goes on."""
    require_gdb()
    out = gdb_script(guest(TARGET), "monitor info bogus\n"
                                    "monitor x/2x 0x7fffffffffff\n"
                                    "monitor bogus\n"
                                    "monitor x/1x $nosuchreg\n"
                                    "echo after-the-errors\\n\n"
                                    "monitor info vm\n"
                                    "kill\n")
    t.not_contains(out, "Protocol error with Rcmd")
    t.match(r"unknown info command 'bogus'; info commands: cpus, registers, mem, tlb, lapic",
            out, "info bogus names the word and lists the info commands")
    t.contains(out, "Cannot access memory at address 0x7fffffffffff")
    t.contains(out, "unknown command 'bogus'")
    t.match(r"unknown register '\$nosuchreg' \(rax", out, "an unknown register is named")
    t.contains(out, "after-the-errors", "the script went on after the failed commands")
    t.match(r"image: \S+gdbtarget\.elf", out, "and its monitor commands still work")


@test
def monitor_knows_pc_sp_fp_and_sums(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break compute", "continue",
        py("f = gdb.selected_frame(); print('REGS pc=%x sp=%x fp=%x' % (int(f.pc()), "
           "int(gdb.parse_and_eval('$sp')), int(gdb.parse_and_eval('$rbp'))))"),
        py("sp = int(gdb.parse_and_eval('$sp')); inf = gdb.selected_inferior(); "
           "print('WORDS ' + ' '.join('%x' % int.from_bytes(bytes(inf.read_memory(sp + i, 8)), "
           "'little') for i in (0, 8, 16)))"),
        "monitor x/2xg $sp", "monitor x/1xg $sp+8", "monitor x/1xg $sp+0x18-8",
        "monitor x/1xb $pc", "monitor x/1xg $fp", "kill"])
    out = s.transcript
    m = t.match(r"REGS pc=([0-9a-f]+) sp=([0-9a-f]+) fp=([0-9a-f]+)", out, "GDB's registers")
    pc, sp, fp = m.groups()
    w = t.match(r"WORDS ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)", out, "GDB's stack words").groups()
    t.match(r"0x%s:\t0x0*%s\t0x0*%s\n" % (sp, w[0], w[1]), out, "x/2xg $sp")
    t.match(r"0x%x:\t0x0*%s\n" % (int(sp, 16) + 8, w[1]), out, "x/1xg $sp+8")
    t.match(r"0x%x:\t0x0*%s\n" % (int(sp, 16) + 16, w[2]), out, "x/1xg $sp+0x18-8")
    t.match(r"0x%s:\t0x[0-9a-f]{2}\n" % pc, out, "x/1xb $pc")
    t.match(r"0x%s:\t0x[0-9a-f]{16}\n" % fp, out, "x/1xg $fp")


@test
def monitor_disassembles_like_gdb(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break compute", "continue", "x/3i $pc", "monitor x/3i $pc", "kill"])
    out = s.transcript
    gdbs = gdb_insns(out)
    mine = monitor_insns(out)
    t.eq(len(gdbs), 3, "GDB's x/3i: %r" % out)
    t.eq(len(mine), 3, "monitor x/3i $pc shows three instructions: %r" % out)
    same_instructions(t, mine, gdbs, "x/3i $pc")


@test
def monitor_disassembles_physical_memory(t):
    """xp/Ni at the physical address that `translate` gives for $pc shows the same code."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break leaf", "continue", "x/2i $pc",
        py("import re\n"
           "w = gdb.execute('monitor translate $pc', to_string=True)\n"
           "phys = re.search(r'-> physical (0x[0-9a-f]+)', w).group(1)\n"
           "print('PHYS ' + phys)\n"
           "gdb.execute('monitor xp/2i ' + phys)"),
        "monitor xp/1i 0x7fffffffff", "kill"])
    out = s.transcript
    phys = int(t.match(r"PHYS (0x[0-9a-f]+)", out, "translate $pc").group(1), 16)
    gdbs = gdb_insns(out)
    mine = monitor_insns(out)
    t.eq(len(mine), 2, "xp/2i shows two instructions: %r" % out)
    t.eq(mine[0][0], phys, "starting at the physical address")
    t.eq(mine[1][0] - mine[0][0], gdbs[1][0] - gdbs[0][0], "the first is as long as GDB's")
    for (_, m), (_, g) in zip(mine, gdbs):
        t.true(m.startswith(g), "physical %s is GDB's virtual %s" % (m, g))
    t.contains(out, "Cannot access memory at address 0x7fffffffff", "outside guest RAM")


@test
def monitor_cpu_selects_the_vcpu(t):
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "thread 2",
        py("print('VCPU1 rip=%x' % int(gdb.parse_and_eval('$pc')))"), "thread 1",
        "monitor cpu", "monitor cpu 1", "monitor info cpus", "monitor info registers",
        "monitor x/1i $pc", "monitor cpu 2", "monitor cpu 0",
        "monitor info cpus", "kill"], cpus=2)
    out = s.transcript
    rip = t.match(r"VCPU1 rip=([0-9a-f]+)", out, "GDB's vCPU 1 pc").group(1)
    t.contains(out, "current vCPU: 0 (of 2)", "cpu alone shows the current one")
    t.contains(out, "current vCPU: 1 (of 2)", "cpu 1")
    t.match(r"vCPU 1: [a-z ]+, RIP 0x%s, 64-bit mode \(current\)" % rip, out,
            "info cpus marks vCPU 1")
    t.match(r"vCPU 1 \([a-z ]+, 64-bit mode\)\nrax ", out, "info registers shows vCPU 1")
    t.match(r"rip  0x0*%s  rflags" % rip, out, "with vCPU 1's rip")
    mine = monitor_insns(out)
    t.eq([a for a, _ in mine], [int(rip, 16)], "x/1i $pc reads vCPU 1's pc")
    t.contains(out, "no vCPU 2 (this VM has 2)", "a vCPU that does not exist")
    t.match(r"vCPU 0: stopped, RIP 0x[0-9a-f]+, 64-bit mode \(current\)", out,
            "cpu 0 selects vCPU 0 again")


@test
def monitor_info_lapic_shows_the_timer(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["break compute", "continue", "monitor info lapic",
                                      "monitor info lapic 1", "monitor info lapic 0", "kill"],
                      args=["timer"])
    out = s.transcript
    t.contains(out, "vCPU 0 local APIC: base 0xfee00000, enabled, xAPIC mode, software enabled")
    t.match(r"ID 0  version 0x[0-9a-f]{2} \(\d+ LVT entries\)  TPR 0x00", out, "id, version")
    t.match(r"SVR 0x0000013f \(spurious vector 0x3f\)", out, "SVR as the guest set it")
    t.match(r"highest vector: ISR \(in service\) (none|0x30), IRR \(pending\) (none|0x30), "
            r"TMR \(level\) none", out, "ISR/IRR/TMR")
    t.contains(out, "LVT timer 0x00020030: vector 0x30, periodic\n", "the periodic timer")
    t.match(r"LVT LINT0 0x[0-9a-f]{8}: vector 0x[0-9a-f]{2}, ExtINT, edge", out, "LINT0")
    t.match(r"LVT LINT1 0x[0-9a-f]{8}: ", out, "LINT1")
    t.match(r"LVT error 0x[0-9a-f]{8}: ", out, "error")
    t.match(r"timer: initial count 62500, current count \d+, divide by 16", out, "timer")
    t.contains(out, "no vCPU 1 (this VM has 1)")
    t.eq(len(re.findall(r"vCPU 0 local APIC", out)), 2, "info lapic and info lapic 0")


@test
def control_registers_show_their_flags(t):
    require_gdb()
    s = debug_session(guest(TARGET), ["break main", "continue",
                                      "info registers efer cr0 cr4 eflags", "kill"])
    out = s.transcript
    t.match(r"efer +0xd00 +\[ LME LMA NXE \]", out, "efer")
    t.match(r"cr0 +0x[0-9a-f]+ +\[ PE (\w+ )*PG \]", out, "cr0 with PE and PG")
    t.match(r"cr4 +0x[0-9a-f]+ +\[ (\w+ )*PAE (\w+ )*\]", out, "cr4 with PAE")
    t.match(r"eflags +0x[0-9a-f]+ +\[ (\w+ )*\]", out, "eflags")


@test
def lldb_reads_the_flag_registers(t):
    if subprocess.run(["sh", "-c", "command -v lldb"], capture_output=True).returncode:
        harness.skip("lldb is not installed")
    p, port = start_proxy(guest(TARGET))
    try:
        r = subprocess.run(["lldb", "-b", "-o", "gdb-remote 127.0.0.1:%d" % port,
                            "-o", "register read efer cr0 cr4 eflags rip", "-o", "kill"],
                           capture_output=True, text=True, timeout=GDB_TIMEOUT)
        out = r.stdout + r.stderr
        t.match(r"efer = 0x0*d00", out, "LLDB reads efer")
        t.match(r"cr0 = 0x0*8000003[0-9a-f]", out, "cr0")
        t.match(r"cr4 = 0x[0-9a-f]+", out, "cr4")
        t.match(r"eflags = 0x0*2", out, "eflags")
        t.match(r"rip = 0x0*200000", out, "and the registers after them")
    finally:
        p.close()


@test
def console_cpu_selects_the_vcpu(t):
    """The console keeps its own current vCPU, as each QEMU monitor does."""
    env = {"HERMIT_MONITOR": "1", "HERMIT_MONITOR_HISTORY": "", "HERMIT_CPUS": "2"}
    r = harness.run_proxy(guest("fatal"), ["hang"], env=env,
                          stdin=b"cpu 1\ninfo cpus\ninfo registers\nx/2i $pc\nquit\n")
    err = r.stderr.decode()
    t.eq(r.returncode, 119, "quit: %r" % err)
    t.contains(err, "current vCPU: 1 (of 2)")
    t.match(r"vCPU 1: [a-z ]+, RIP 0x[0-9a-f]+, 64-bit mode \(current\)", err, "info cpus")
    t.match(r"vCPU 1 \([a-z ]+, 64-bit mode\)\nrax ", err, "info registers shows vCPU 1")
    t.eq(len(monitor_insns(err)), 2, "x/2i: %r" % err)
