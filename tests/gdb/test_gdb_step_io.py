"""test_gdb_step_io.py: stepi over the hypercall `out` moves exactly one instruction.

The port-I/O exit comes before the `out` retires on hardware KVM (VT-x/SVM: KVM
finishes it on the next KVM_RUN, then the single-step trap comes) and after it
retired on software KVM (PVM: RIP is already past it, and another KVM_RUN with
single-step on would run one instruction more). proxy completes the I/O there
without entering the guest. Which path this host takes is named in the output
of each test (`proxy --host-info`); both must land on the same instructions.
"""
import re
import subprocess

from gdblib import debug_session, require_gdb
from harness import guest, host_info, test

TARGET = "gdbtarget"


def out_and_next(image):
    """The first `out` in rt_hypercall (rt_write's hypercall) and the two
    instructions after it, from the image's disassembly."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", image], capture_output=True,
                          text=True, check=True).stdout
    body = text.split("<rt_hypercall>:", 1)[1].split("\n\n", 1)[0]
    addrs = [(int(m.group(1), 16), m.group(2)) for m in
             re.finditer(r"^\s*([0-9a-f]+):\s+(\S+)", body, re.M)]
    i = next(i for i, (_, op) in enumerate(addrs) if op == "out")
    return addrs[i][0], addrs[i + 1][0], addrs[i + 2][0]


def path():
    return "software KVM (PVM): exit after the out retired" if host_info()["kvm"] == "pvm" \
        else "hardware KVM: exit before the out retires"


@test
def stepi_on_the_hypercall_out_moves_one_instruction(t):
    require_gdb()
    image = guest(TARGET)
    out, after, second = out_and_next(image)
    s = debug_session(image, ["break *0x%x" % out, "continue", "p/x $pc", "stepi",
                              "p/x $pc", "delete", "continue"])
    t.contains(s.transcript, "$1 = 0x%x" % out, "stopped on the out")
    t.contains(s.transcript, "$2 = 0x%x" % after, "stepi lands on the next instruction (%s)"
               % path())
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def stepi_2_on_the_hypercall_out_moves_two_instructions(t):
    require_gdb()
    image = guest(TARGET)
    out, after, second = out_and_next(image)
    s = debug_session(image, ["break *0x%x" % out, "continue", "stepi 2", "p/x $pc", "delete",
                              "continue"])
    t.contains(s.transcript, "$1 = 0x%x" % second, "stepi 2 lands two instructions on (%s)"
               % path())
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def nexti_on_the_hypercall_out_moves_one_instruction(t):
    require_gdb()
    image = guest(TARGET)
    out, after, second = out_and_next(image)
    s = debug_session(image, ["break *0x%x" % out, "continue", "nexti", "p/x $pc", "delete",
                              "continue"])
    t.contains(s.transcript, "$1 = 0x%x" % after, "nexti lands on the next instruction (%s)"
               % path())
    t.eq(s.proxy_rc, 0)
