"""Guests that crash the VM on purpose: each fatal reason has its own status and message.

Statuses (guestrun.py): 120 triple fault, 121 unhandled port or MMIO, 123 an EXIT
whose argument is not RAM, 99 an exception the guest runtime reported itself,
130/143 SIGINT/SIGTERM. The cases
are in abi_cases.py (group "fatal"), run here against the RustyHermit guests.
"""
import os
import signal
import subprocess
import sys
import time

import harness

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["fatal"])


@harness.test
def sigterm_while_the_guest_waits_in_a_read_hypercall(t):
    """A READ on a pipe that never gets data must not keep proxy from ending."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        w = os.open(fifo, os.O_RDWR)  # a writer that never writes: the READ waits
        try:
            with harness.Proxy(harness.guest("bench_file"), args=["in=" + fifo, "out=/dev/null"],
                               extra=["--mount", d, "--mount", "/dev/null"]) as p:
                time.sleep(0.5)  # any moment works: before or during the read
                p.signal(signal.SIGTERM)
                t.eq(p.wait(30), 143, "status after SIGTERM")
                t.contains(p.stderr_text(), "SIGTERM received")
        finally:
            os.close(w)


@harness.test
def closed_standard_descriptors_get_dev_null(t):
    """Started with fds 0-2 closed, proxy opens /dev/null there before anything else:
    the guest's console writes then succeed into nothing, instead of reaching
    /dev/kvm, the VM or an eventfd that took those numbers (the audit: a spin)."""
    import shlex
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "trace")
        for closed in ("0<&- 1>&- 2>&-", "1>&-"):
            cmd = "exec %s --trace=%s %s %s" % (shlex.quote(harness.PROXY), shlex.quote(trace),
                                               shlex.quote(harness.guest("hello")), closed)
            r = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=harness.TIMEOUT,
                               env=harness.proxy_env())
            t.eq(r.returncode, 0, "%s: the guest ran to its end (stderr %r)" % (closed, r.stderr))
            if "2>&-" not in closed:
                t.eq(r.stderr, b"", "%s: nothing went wrong" % closed)
            with open(trace) as f:
                t.contains(f.read(), 'write(1, "Hello from a HermitCore test gue"..., 35) = 35',
                           "%s: the console write went to /dev/null, whole" % closed)


@harness.test
def verbose_crash_dump_has_idtr_gdtr_tr_and_the_exception(t):
    """HERMIT_VERBOSE=1: the register dump of a failure shows CR2, the descriptor
    tables, the task register and the exception KVM held (none on a triple fault
    here: KVM_EXIT_SHUTDOWN comes without one on PVM and on VT-x/SVM)."""
    r = harness.run_proxy(harness.guest("fatal"), ["pagefault"], env={"HERMIT_VERBOSE": "1"})
    t.eq(r.returncode, 120, "a page fault without an IDT is a triple fault: %r" % r)
    err = r.stderr.decode(errors="replace")
    if harness.kvm_resets_at_triple_fault():
        # Hardware KVM on AMD: the vCPU stands at the reset vector; proxy says so.
        t.contains(err, "this host's KVM reset the vCPU at the fault (AMD SVM does)")
        t.match(r"(?m)^  idtr base [0-9a-f]{16} limit [0-9a-f]{4}  gdtr base [0-9a-f]{16} "
                r"limit [0-9a-f]{4}$", err, "IDTR and GDTR (of the reset vCPU)")
    else:
        t.match(r"cr2 00000badc0de0008", err, "CR2 holds the faulting address")
        t.match(r"(?m)^  idtr base 0000000000000000 limit 0000  gdtr base [0-9a-f]{16} limit "
                r"[0-9a-f]{4}$", err, "IDTR (the empty IDT the guest loaded) and GDTR")
    t.match(r"(?m)^  tr [0-9a-f]{4} base [0-9a-f]{16} limit [0-9a-f]{8}$", err, "TR")
    t.match(r"(?m)^  exception: (none held by KVM|vector \d+ \(#\w+\).*)$", err,
            "the exception KVM held")


@harness.test
def verbose_dump_names_the_breakpoint_proxy_could_not_deliver(t):
    """Software KVM: the guest's int3 is delivered as #BP by proxy (emulate.c); with an
    empty IDT that ends in a triple fault, and the dump names the #BP."""
    harness.needs_pvm()
    r = harness.run_proxy(harness.guest("fatal"), ["int3noidt"], env={"HERMIT_VERBOSE": "1"})
    t.eq(r.returncode, 120, "triple fault: %r" % r)
    t.match(r"(?m)^  exception: vector 3 \(#BP\)$", r.stderr, "the injected #BP")
