"""test_gdb_crash.py: crash forensics: a guest failure stops in GDB, and $_siginfo
(qXfer:siginfo:read) tells the signal, the exception vector (si_code), its error code
(si_errno) and the address (si_addr: CR2, the MMIO address or RIP); whatever ends the
session then (continue, kill, detach), the VM ends with the failure's status.

The page-fault guest (fatal pagefault) loads an empty IDT and writes to the unmapped
0xbadc0de0008. On KVM-PVM, as on hardware KVM, that ends as a triple fault
(KVM_EXIT_SHUTDOWN) with CR2 holding the address and no exception held by KVM, so
si_code is 128 there (no vector known); a host whose KVM reports the exception gives
its vector (14) instead, and one that reports a failed event delivery ends it as an
internal error (status 122): the tests accept those and check the same address.
"""
import re
import subprocess
import time

from gdblib import GDB_TIMEOUT, debug_session, gdb_command, require_gdb
from harness import Proxy, free_port, guest, kvm_resets_at_triple_fault, needs_pvm, test

# Hardware KVM on AMD resets the vCPU at a triple fault: CR2 (and the IDT) are gone.
CR2 = "0x0" if kvm_resets_at_triple_fault() else "0xbadc0de0008"

SIGINFO = ["p $_siginfo.si_signo", "p $_siginfo.si_code", "p $_siginfo.si_errno",
           "p/x $_siginfo._sifields._sigfault.si_addr"]


def printed(t, transcript, index, what):
    """The value of GDB's `$index = value` line."""
    m = re.search(r"(?m)^\$%d = (.*)$" % index, transcript)
    t.true(m is not None, "%s printed ($%d)" % (what, index))
    return m.group(1) if m else None


@test
def page_fault_the_guest_cannot_handle_shows_cr2_in_siginfo(t):
    require_gdb()
    s = debug_session(guest("fatal"), ["continue"] + SIGINFO + ["monitor info registers", "kill"],
                      args=["pagefault"])
    t.contains(s.transcript, "Program received signal SIGSEGV")
    t.eq(printed(t, s.transcript, 1, "si_signo"), "11", "si_signo: SIGSEGV")
    code = printed(t, s.transcript, 2, "si_code")
    t.true(code in ("128", "14"), "si_code: no vector known (128) or #PF (14): %r" % code)
    if code == "14":
        t.eq(printed(t, s.transcript, 3, "si_errno"), "2", "error code: a write, not present")
    t.eq(printed(t, s.transcript, 4, "si_addr"), CR2, "si_addr: CR2")
    t.true(s.proxy_rc in (120, 122), "kill after the fault ends the VM with the failure's "
            "status (triple fault 120, or 122 where KVM reports a failed delivery): %r" %
            s.proxy_rc)
    t.contains(s.transcript, "[Inferior 1 (process 1) killed]")
    if CR2 == "0x0":
        t.match(r"fault: status 12[02] at RIP 0xfff0, cr2 0x0, ", s.transcript,
                "monitor: the reset vCPU the core found at the failure")
        return
    t.match(r"idt base 0x0000000000000000 limit 0x0000", s.transcript, "monitor: the empty IDT")
    t.match(r"fault: status 12[02] at RIP 0x[0-9a-f]+, cr2 0xbadc0de0008, ", s.transcript,
            "monitor: what the core recorded at the failure")


@test
def triple_fault_siginfo_then_detach_ends_with_120(t):
    require_gdb()
    s = debug_session(guest("fatal"), ["continue"] + SIGINFO + [
        "p $_siginfo._sifields._sigfault.si_addr == $cr2",
        "p $_siginfo._sifields._sigfault.si_addr == $pc", "detach"], args=["triplefault"])
    t.contains(s.transcript, "Program received signal")
    signo, code = printed(t, s.transcript, 1, "si_signo"), printed(t, s.transcript, 2, "si_code")
    if code == "128":
        t.eq(signo, "11", "a triple fault of unknown cause is SIGSEGV")
        t.eq(printed(t, s.transcript, 5, "si_addr == $cr2"), "1", "si_addr is CR2")
    else:  # the host's KVM named the exception: ud2's #UD, or what followed it
        t.true(code in ("6", "8", "13"), "si_code is the vector: %r" % code)
        t.eq(printed(t, s.transcript, 6, "si_addr == $pc"), "1", "si_addr is RIP")
    t.eq(s.proxy_rc, 120, "detach after the fault ends the VM with status 120")
    t.contains(s.stderr, "triple fault")


@test
def unhandled_port_siginfo_is_sigbus_at_the_instruction(t):
    require_gdb()
    s = debug_session(guest("fatal"), ["continue", "p $_siginfo.si_signo",
                                       "p $_siginfo.si_code",
                                       "p $_siginfo._sifields._sigfault.si_addr == $pc",
                                       "continue"], args=["badport"])
    t.contains(s.transcript, "Program received signal SIGBUS")
    t.eq(printed(t, s.transcript, 1, "si_signo"), "7", "si_signo: Linux's SIGBUS")
    t.eq(printed(t, s.transcript, 2, "si_code"), "128", "no exception: SI_KERNEL")
    t.eq(printed(t, s.transcript, 3, "si_addr == $pc"), "1", "si_addr: the out instruction")
    t.eq(s.proxy_rc, 121)


@test
def a_stop_that_is_no_fault_has_no_siginfo(t):
    require_gdb()
    s = debug_session(guest("fatal"), ["p $_siginfo", "kill"], args=["pagefault"])
    t.contains(s.transcript, "Unable to read siginfo")
    t.eq(s.proxy_rc, 119, "kill without a fault: the debugger's status")


@test
def listen_mode_fault_after_attaching_stops_in_gdb(t):
    """In listen mode a GDB that attached sees the failure as it would under -d."""
    require_gdb()
    port = free_port()
    env = {"HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": str(port), "HERMIT_CPUS": "1"}
    with Proxy(guest("fatal"), ["waitfault"], env=env) as p:
        p.wait_stderr(r"listening for GDB on 127\.0\.0\.1:%d " % port)
        deadline = time.monotonic() + 60
        while "fatal: waitfault\n" not in p.stdout_text():
            t.true(time.monotonic() < deadline and p.p.poll() is None,
                   "the guest reached its wait: %r" % p.stderr_text())
            time.sleep(0.05)
        g = subprocess.run(gdb_command(guest("fatal"), port, ["set var fatal_go = 1", "continue"]
                                       + SIGINFO + ["detach"]),
                           capture_output=True, text=True, timeout=GDB_TIMEOUT)
        s = g.stdout + g.stderr
        t.contains(s, "Program received signal SIGSEGV")
        t.eq(printed(t, s, 4, "si_addr"), CR2, "si_addr: CR2")
        t.eq(p.wait(60), 120, "detach after the fault ends the VM with status 120")
        t.match(r"debugger from 127\.0\.0\.1:\d+ left after the guest's failure; the VM ends "
                r"\(exit status 120\)", p.stderr_text())


@test
def undeliverable_int3_proxy_injected_names_vector_3(t):
    """Software KVM: proxy delivers the guest's own int3 as #BP itself; with an empty
    IDT the next exit is a triple fault, and $_siginfo names the #BP proxy injected
    (still SIGSEGV: a crash, not a breakpoint of GDB's)."""
    require_gdb()
    needs_pvm()
    s = debug_session(guest("fatal"), ["continue"] + SIGINFO + ["continue"], args=["int3noidt"])
    t.contains(s.transcript, "Program received signal SIGSEGV")
    t.eq(printed(t, s.transcript, 1, "si_signo"), "11", "si_signo: SIGSEGV")
    t.eq(printed(t, s.transcript, 2, "si_code"), "3", "si_code: #BP")
    t.eq(s.proxy_rc, 120)
