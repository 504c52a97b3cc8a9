"""Boot-time arrangements that must not change what the guest sees (issue 16).

Guest RAM beyond what boot needs is registered with KVM by a background thread
(src/core/ram_slots.c); a guest that touches it first waits for its slot and its
access is completed in RAM. The memory guest writes and reads back words just above
its image, below and above the PCI hole and at the top of RAM, at once, long before
any background registration of 64 GiB could have got there. The interrupt
controllers are the ones the contract needs (src/core/irqchip.c): a split irqchip
(LAPIC only) unless the guest is a C HermitCore kernel or has a network device,
each path with timers and several vCPUs. No timing is asserted here.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
from guestrun import STATUS_SIGTERM, wait_stdout  # noqa: E402
from flavours import RUSTY, C, HERMIT_ENTRY, HERMIT_ENTRY_EXEC  # noqa: E402

GiB = 1 << 30
HOLE = 768 << 20
SPLIT = "interrupt controllers: the LAPIC in the kernel (split irqchip"
FULL = "interrupt controllers: LAPIC, IOAPIC and PIC in the kernel"


def _memory(t, fl, gib, cpus=1):
    size = gib * GiB
    r = fl.run("memory", [size], env={"HERMIT_MEM": "%dG" % gib, "HERMIT_CPUS": str(cpus)})
    t.ok(r, "%s memory guest with %d GiB: %s" % (fl, gib, r.stdout))
    t.contains(r.stdout, "memory: limit=0x%x ok\n" % (size + HOLE))


@test
def memory_64g_touched_above_4g_at_once(t):
    for fl in (RUSTY, C, HERMIT_ENTRY, HERMIT_ENTRY_EXEC):
        _memory(t, fl, 64)


@test
def memory_256g_with_several_vcpus(t):
    for fl in (RUSTY, C):
        _memory(t, fl, 256, cpus=4)


@test
def smp_guest_with_64g(t):
    for fl in (RUSTY, C, HERMIT_ENTRY):
        r = fl.run("smp", env={"HERMIT_MEM": "64G", "HERMIT_CPUS": "4"})
        t.ok(r, "%s smp guest with 64 GiB" % fl)
        t.contains(r.stdout, "smp: 4 cpus online\n")


@test
def bootinfo_with_64g_is_the_same_layout(t):
    for fl in (RUSTY, C, HERMIT_ENTRY):
        r = fl.run("bootinfo", env={"HERMIT_MEM": "64G"})
        t.contains(r.stdout, "bootinfo: ok", "%s bootinfo with 64 GiB: %s" % (fl, r.stdout))


@test
def sigterm_while_ram_is_still_being_registered(t):
    """A VM ending early stops the background registration (512 GiB of slots would
    keep a software KVM busy for most of a second) and proxy exits at once."""
    with harness.Proxy(RUSTY.guest("fatal"), ["hang"], env={"HERMIT_MEM": "512G"}) as p:
        wait_stdout(p, "fatal: hang")
        p.signal(signal.SIGTERM)
        rc = p.wait()
    t.eq(rc, STATUS_SIGTERM, "SIGTERM ends the VM (status 143)")


def _irqchip(fl, prog="hello", env=None):
    return fl.run(prog, env=dict(env or {}, HERMIT_VERBOSE="1"))


@test
def irqchip_split_for_guests_without_ioapic(t):
    for fl in (RUSTY, HERMIT_ENTRY, HERMIT_ENTRY_EXEC):
        r = _irqchip(fl)
        t.ok(r, "%s hello" % fl)
        t.contains(r.stderr, SPLIT, "%s: the LAPIC alone" % fl)


@test
def irqchip_full_for_c_hermitcore(t):
    r = _irqchip(C)
    t.ok(r, "C hello")
    t.contains(r.stderr, FULL, "C HermitCore: proxy programs its IOAPIC")


@test
def irqchip_full_for_a_network_device(t):
    """The RX interrupt is IOAPIC pin 11 (an irqfd): chosen before the tap is opened,
    so a tap that does not exist still shows the choice."""
    r = _irqchip(RUSTY, env={"HERMIT_NETIF": "ptapnone%d" % os.getpid()})
    t.contains(r.stderr, FULL, "a network device needs the IOAPIC")
    t.contains(r.stderr, "no such network interface", "then the missing tap is refused")


@test
def split_irqchip_ioapic_and_pic_read_as_masked(t):
    """bootinfo reads the IOAPIC (24 pins, all masked unless proxy programs it); the
    split irqchip of these ABIs (irqchip_split_for_guests_without_ioapic) answers."""
    for fl in (RUSTY, HERMIT_ENTRY, HERMIT_ENTRY_EXEC):
        r = fl.run("bootinfo")
        t.contains(r.stdout, "bootinfo: ok", "%s bootinfo: %s" % (fl, r.stdout))


@test
def split_irqchip_timer_and_smp(t):
    """The LAPIC (IPIs, the start gate) works the same with and without the IOAPIC."""
    for fl in (RUSTY, HERMIT_ENTRY, C):
        r = fl.run("smp", env={"HERMIT_CPUS": "8", "HERMIT_VERBOSE": "1"})
        t.ok(r, "%s smp guest with 8 vCPUs" % fl)
        t.contains(r.stdout, "smp: 8 cpus online\n")
        t.contains(r.stderr, FULL if fl is C else SPLIT, "%s irqchip" % fl)
