"""The hermit-entry start gate and the kernel-panic message (hermit-entry-abi.md 16).

Hermit 0.6 SMP kernels let CPU i+1 through _start before CPU i has registered its
scheduler queue, and CPU i+1 then panics. proxy holds vCPU i until the kernel's own
hermit::synch_all_cores::CORE_COUNTER, found by symbol, is >= i; without the symbol it
starts vCPU i i * 50 ms late, as the uhyve of those kernels did.

entry-coregate.elf (tests/guest/hermit/coregate.c) imitates the race: CPU 0 waits for
another CPU to cut in before it registers, so without the gate it loses nearly always
(status 1, a kernel-style panic on the log), with the gate never. The panic line is
named on stderr whenever a guest exits non-zero after one, HERMIT_VERBOSE or not.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import test  # noqa: E402
from flavours import HERMIT_ENTRY as PIE, HERMIT_ENTRY_EXEC as EXEC  # noqa: E402
from guestrun import expect_status  # noqa: E402

# realkvm: the gate against a guest whose CPUs really run in parallel, and its end
# when the kernel dies; the rest is the same on every host.
REALKVM_SUBSET = ("entry_start_gate_holds_each_cpu", "entry_gated_cpus_do_not_outlive")

COUNTER_PREFIX = "_ZN6hermit15synch_all_cores12CORE_COUNTER17h"
PIE_LOAD_BIAS = 0x400000
DEAD_KERNEL_PANIC = ("proxy: the guest kernel panicked: [0][PANIC] panicked at "
                     "src/arch/x86_64/kernel/mod.rs:193:5: CPU 0 died before it registered\n")


def counter_address(fl):
    """CORE_COUNTER's address in the image's symbol table, as `nm` reads it."""
    out = subprocess.run(["nm", fl.guest("coregate")], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"^([0-9a-f]+) B %s[0-9a-f]{16}E$" % COUNTER_PREFIX, out, re.M)
    if not m:
        raise AssertionError("no CORE_COUNTER symbol in %s" % fl.guest("coregate"))
    return int(m.group(1), 16)


@test
def entry_start_gate_holds_each_cpu_until_the_previous_registered(t):
    for fl, n in ((PIE, 2), (PIE, 3), (EXEC, 2), (EXEC, 4)):
        r = fl.run("coregate", env={"HERMIT_CPUS": str(n)})
        t.ok(r, "%scoregate with %d cpus" % (fl.prefix, n))
        t.eq(r.stdout, "coregate: %d cpus registered in order\n" % n, "stdout")
        t.not_contains(r.stderr, "panicked", "no panic")


@test
def entry_start_gate_names_the_relocated_counter(t):
    for fl, bias in ((PIE, PIE_LOAD_BIAS), (EXEC, 0)):
        r = fl.run("coregate", env={"HERMIT_CPUS": "2", "HERMIT_VERBOSE": "1"})
        t.ok(r, fl.prefix + "coregate")
        t.contains(r.stderr, "proxy: start gate: vCPU i starts once the kernel's CORE_COUNTER "
                   "(0x%x) reaches i\n" % (counter_address(fl) + bias), "the address, relocated")


@test
def entry_start_gate_is_not_set_up_for_one_cpu(t):
    r = PIE.run("coregate", env={"HERMIT_CPUS": "1", "HERMIT_VERBOSE": "1"})
    t.ok(r)
    t.eq(r.stdout, "coregate: 1 cpus registered in order\n")
    t.not_contains(r.stderr, "start gate", "nothing to gate")


@test
def entry_without_the_counter_symbol_starts_staggered(t):
    r = PIE.run("smp", env={"HERMIT_CPUS": "3", "HERMIT_VERBOSE": "1"})
    t.ok(r, "entry-smp with 3 cpus")
    t.contains(r.stdout, "smp: 3 cpus online\n")
    t.contains(r.stderr, "proxy: start gate: no CORE_COUNTER symbol (a stripped or non-SMP "
               "kernel); vCPU i starts i * 50 ms after vCPU 0, as the uhyve of these kernels "
               "did\n", "the fallback, named")


@test
def entry_gated_cpus_do_not_outlive_a_dead_kernel(t):
    """CPU 0 panics before CORE_COUNTER moves: the held vCPUs never start, and the
    kernel's exit still ends the VM, with its panic named though not verbose."""
    for fl in (PIE, EXEC):
        r = fl.run("coregate", ["die"], env={"HERMIT_CPUS": "3"}, timeout=60)
        expect_status(t, r, 1, fl.prefix + "coregate die")
        t.eq(r.stderr, DEAD_KERNEL_PANIC, "stderr: the panic line and its message, once")


@test
def kernel_panic_is_named_under_verbose_too(t):
    r = PIE.run("coregate", ["die"], env={"HERMIT_CPUS": "2", "HERMIT_VERBOSE": "1"}, timeout=60)
    expect_status(t, r, 1, "entry-coregate die")
    t.contains(r.stderr, "\n[0][PANIC] panicked at src/arch/x86_64/kernel/mod.rs:193:5:\n"
               "CPU 0 died before it registered\n", "the kernel log, as it came")
    t.contains(r.stderr, DEAD_KERNEL_PANIC, "and the summary")


@test
def kernel_panic_line_without_a_failing_exit_is_not_reported(t):
    r = PIE.run("coregate", ["logpanic"], env={"HERMIT_CPUS": "2"})
    t.ok(r, "entry-coregate logpanic")
    t.eq(r.stderr, "", "exit 0: nothing to explain")


@test
def failing_exit_without_a_panic_line_is_not_called_a_panic(t):
    r = PIE.run("exitcode", ["3"])
    expect_status(t, r, 3, "entry-exitcode 3")
    t.not_contains(r.stderr, "panicked", "no panic was logged")
