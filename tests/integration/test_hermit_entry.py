"""The Hermit 0.6 ABI (hermit-entry protocol v4): the shared cases on entry-v4 guests,
plus what only this ABI has (the 128-byte boot info, every vCPU started at once
with RSI = its index, relocation of a static PIE, the environment placeholder).

entry-<name>.elf is a static PIE linked at 0 that proxy places at 0x400000 and
relocates; entry-exec-<name>.elf is the same program as an ET_EXEC at 0x800000.
Both carry the HERMIT 0x5A00 note (tests/guest/rt/entry_hermit.S) that selects the
ABI. The guest runtime gates its own CPUs and refuses to run (status 98) when its
relocations were not applied (tests/guest/rt/abi_hermit.c).
"""
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import flavours  # noqa: E402
import guestrun  # noqa: E402
from flavours import HERMIT_ENTRY as PIE, HERMIT_ENTRY_EXEC as EXEC  # noqa: E402
from guestrun import expect_status  # noqa: E402

# The realkvm lane (nested, slow) runs what this ABI does differently on a hardware
# KVM host; the rest takes the same host paths as the RustyHermit suites there.
REALKVM_SUBSET = ("entry_hello", "entry_smp_", "entry_bootinfo_defaults",
                  "entry_bootinfo_16_cpus", "entry_xgetbv", "entry_int3", "entry_cpuid",
                  "entry_exec_smp_4")

flavours.instantiate(globals(), PIE, prefix="entry_")
flavours.instantiate(globals(), EXEC, groups=["core", "smp_memory"], prefix="entry_exec_")

STATUS_RT_SETUP = 98  # the guest runtime could not start (tests/guest/rt/rt.h)
HOLE = 768 << 20

# ---- the images themselves: what the tests above rely on -------------------

PT_LOAD, PT_DYNAMIC, PT_NOTE = 1, 2, 4
ET_EXEC, ET_DYN = 2, 3
DT_NULL, DT_RELA, DT_RELASZ, DT_RELAENT, DT_NEEDED = 0, 7, 8, 9, 1
R_X86_64_RELATIVE = 8
PHDR = struct.Struct("<IIQQQQQQ")  # type flags offset vaddr paddr filesz memsz align
# the whole 24-byte note of the spec's section 1
HERMIT_NOTE = struct.pack("<III", 7, 1, 0x5A00) + b"HERMIT\0\0" + b"\x04\0\0\0"


def _read(fl, prog):
    with open(fl.guest(prog), "rb") as f:
        return bytearray(f.read())


def _phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [(phoff + i * phentsize, PHDR.unpack_from(data, phoff + i * phentsize))
            for i in range(phnum)]


def _of_type(data, p_type):
    return [ph for _, ph in _phdrs(data) if ph[0] == p_type]


def _dynamic(data):
    """(file offset of each entry, tag, value) of PT_DYNAMIC."""
    dyn, = _of_type(data, PT_DYNAMIC)
    out = []
    for off in range(dyn[2], dyn[2] + dyn[5], 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        out.append((off, tag, val))
        if tag == DT_NULL:
            break
    return out


def _images(t, fl, e_type, entry):
    """(program, image bytes) of a few guests of `fl`, after the checks every
    entry-v4 image must pass: e_type, e_entry, OSABI, exactly the spec's note."""
    for prog in ("hello", "bootinfo", "smp"):
        d = _read(fl, prog)
        t.eq(struct.unpack_from("<H", d, 16)[0], e_type, "%s: e_type" % prog)
        t.eq(struct.unpack_from("<Q", d, 24)[0], entry, "%s: e_entry" % prog)
        t.eq(d[7], 0xFF, "%s: EI_OSABI (HermitCore)" % prog)
        notes = _of_type(d, PT_NOTE)
        t.eq(len(notes), 1, "%s: one PT_NOTE" % prog)
        off, size, align = notes[0][2], notes[0][5], notes[0][7]
        t.eq(bytes(d[off:off + size]), HERMIT_NOTE, "%s: the HERMIT entry-version note" % prog)
        t.eq(align, 4, "%s: PT_NOTE p_align" % prog)
        yield prog, d


@test
def entry_pie_image_is_a_relocatable_static_pie(t):
    for prog, d in _images(t, PIE, ET_DYN, PIE.base - 0x400000):
        loads = _of_type(d, PT_LOAD)
        t.eq((loads[0][2], loads[0][3]), (0, 0), "%s: first PT_LOAD at offset 0 / vaddr 0" % prog)
        dyn, = _of_type(d, PT_DYNAMIC)
        t.true(any(l[3] <= dyn[3] and dyn[3] + dyn[6] <= l[3] + l[6] for l in loads),
               "%s: PT_DYNAMIC inside a PT_LOAD" % prog)
        tags = {tag: val for _, tag, val in _dynamic(d)}
        t.true(DT_NEEDED not in tags, "%s: no DT_NEEDED" % prog)
        t.eq(tags.get(DT_RELAENT), 24, "%s: DT_RELAENT" % prog)
        rela, size = tags[DT_RELA], tags[DT_RELASZ]
        t.true(any(l[3] <= rela and rela + size <= l[3] + l[5] for l in loads),
               "%s: .rela.dyn inside a PT_LOAD's file bytes" % prog)
        types = {struct.unpack_from("<QQ", d, rela + i)[1] & 0xFFFFFFFF
                 for i in range(0, size, 24)}
        t.eq(types, {R_X86_64_RELATIVE}, "%s: relocation types" % prog)
        t.true(size // 24 >= 20, "%s: %d relocations (pointer tables)" % (prog, size // 24))


@test
def entry_exec_image_is_an_et_exec_at_0x800000(t):
    for prog, d in _images(t, EXEC, ET_EXEC, EXEC.base):
        t.eq(_of_type(d, PT_LOAD)[0][3], 0x800000, "%s: first PT_LOAD vaddr" % prog)
        t.eq(_of_type(d, PT_DYNAMIC), [], "%s: no PT_DYNAMIC" % prog)


def _patched_run(t, data, args=(), env=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "patched.elf")
        with open(path, "wb") as f:
            f.write(data)
        r = harness.run_proxy(path, list(args), env=env)
        return harness.Result(r.returncode, guestrun.text(r.stdout), guestrun.text(r.stderr))


@test
def entry_pie_unrelocated_image_stops_in_its_own_check(t):
    # DT_RELASZ = 0: a valid image whose relocations nobody applies, i.e. what a
    # hypervisor that forgets to relocate would run. The runtime must notice.
    d = _read(PIE, "hello")
    for off, tag, _ in _dynamic(d):
        if tag == DT_RELASZ:
            struct.pack_into("<qQ", d, off, DT_RELASZ, 0)
    r = _patched_run(t, d)
    expect_status(t, r, STATUS_RT_SETUP, "unrelocated static PIE")
    t.match(r"rt: relocations not applied: a pointer to 0x40[0-9a-f]{4} reads 0x[0-9a-f]{1,4}\b",
            r.stdout, "the runtime's message")
    t.not_contains(r.stdout, "Hello")


# ---- the boot info and the entry registers (entry-bootinfo) ----------------


def _bootinfo(t, fl, cpus=1, mem=None, env=None):
    args = ["cpus=%d" % cpus, "now=%d" % int(time.time())]
    env = dict(env or {}, HERMIT_CPUS=str(cpus))
    if mem is not None:
        env["HERMIT_MEM"] = mem[0]
        args.append("mem=%d" % mem[1])
    r = fl.run("bootinfo", args, env=env)
    t.ok(r, "%sbootinfo %s: %s" % (fl.prefix, " ".join(args), r.stdout))
    t.contains(r.stdout, "bootinfo: ok")
    t.contains(r.stdout, " cpus=%d\n" % cpus)
    return r


@test
def entry_bootinfo_defaults_match_the_abi(t):
    for fl in (PIE, EXEC):
        r = _bootinfo(t, fl, mem=("512M", 512 << 20))
        t.contains(r.stdout, "phys_addr_end=0x20000000 ")
        start = fl.base & ~0xFFFFF
        t.match(r"image=0x%x-0x[0-9a-f]+ " % start, r.stdout, "kernel_image_addr_start")
    r = PIE.run("bootinfo")
    t.match(r"bootinfo: ([2-9]\d|\d{3,}) relocations applied", r.stdout, "relocations checked")


@test
def entry_bootinfo_verbose_changes_nothing(t):
    for fl in (PIE, EXEC):
        r = _bootinfo(t, fl, env={"HERMIT_VERBOSE": "1"})
        t.contains(r.stderr, "%s ABI (detected)" % fl.label)


@test
def entry_bootinfo_2_cpus(t):
    for fl in (PIE, EXEC):
        _bootinfo(t, fl, cpus=2)


@test
def entry_bootinfo_4_cpus(t):
    for fl in (PIE, EXEC):
        _bootinfo(t, fl, cpus=4)


@test
def entry_bootinfo_16_cpus(t):
    for fl in (PIE, EXEC):
        _bootinfo(t, fl, cpus=16)


@test
@guestrun.slow
def entry_bootinfo_every_cpu_count_1_to_16(t):
    # All vCPUs start at once: the guest's own gate must order every count.
    for n in range(1, 17):
        _bootinfo(t, PIE, cpus=n)


@test
def entry_bootinfo_64m(t):
    for fl in (PIE, EXEC):
        r = _bootinfo(t, fl, cpus=2, mem=("64M", 64 << 20))
        t.contains(r.stdout, "phys_addr_end=0x4000000 ")


@test
@guestrun.slow
def entry_bootinfo_phys_addr_end_counts_the_pci_hole(t):
    for fl in (PIE, EXEC):
        r = _bootinfo(t, fl, mem=("6G", 6 << 30))
        t.contains(r.stdout, "phys_addr_end=0x%x " % ((6 << 30) + HOLE))


# ---- the environment placeholder, and the CPU counts the smp cases skip -----


def _env_lines(stdout):
    return [l[4:] for l in stdout.splitlines() if l.startswith("env=")]


@test
def entry_short_environment_is_padded_to_four_variables(t):
    for fl in (PIE, EXEC):
        r = fl.run_exact_env("args", [], {})
        t.ok(r, "%sargs with no host environment" % fl.prefix)
        t.eq(_env_lines(r.stdout), ["HERMIT_ENV_PLACEHOLDER%s=1" % n for n in ("", 2, 3, 4)],
             "four placeholder variables")
        r = fl.run_exact_env("args", [], {}, extra=["--env", "A=1", "--env", "B=2"])
        t.ok(r)
        t.eq(_env_lines(r.stdout), ["A=1", "B=2", "HERMIT_ENV_PLACEHOLDER=1",
                                    "HERMIT_ENV_PLACEHOLDER2=1"], "two of its own, two added")
        r = fl.run_exact_env("args", [], {}, extra=["--env", "A=1", "--env", "B=2", "--env",
                                                    "C=3", "--env", "D=4"])
        t.eq(_env_lines(r.stdout), ["A=1", "B=2", "C=3", "D=4"], "four: nothing added")
        r = fl.run_exact_env("hello", [], {})
        t.ok(r)
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "stdout")


@test
def entry_placeholders_only_fill_up_to_four_variables(t):
    r = PIE.run_exact_env("args", [], {"ONLY": "one"}, extra=["--env-host"])
    t.ok(r)
    t.eq(_env_lines(r.stdout), ["ONLY=one", "HERMIT_ENV_PLACEHOLDER=1",
                                "HERMIT_ENV_PLACEHOLDER2=1", "HERMIT_ENV_PLACEHOLDER3=1"],
         "the host's variable first, then three placeholders")
    five = {"V%d" % i: str(i) for i in range(5)}
    r = PIE.run_exact_env("args", [], five, extra=["--env-host"])
    t.ok(r)
    t.eq(_env_lines(r.stdout), ["V%d=%d" % (i, i) for i in range(5)], "five: none added")


@test
def entry_smp_3_5_and_12_cpus(t):
    for fl, n in ((PIE, 3), (PIE, 5), (EXEC, 12)):
        r = fl.run("smp", env={"HERMIT_CPUS": str(n)})
        t.ok(r, "%ssmp with %d cpus" % (fl.prefix, n))
        t.contains(r.stdout, "smp: %d cpus online\n" % n)


@test
def entry_cpuid_apic_ids_with_4_cpus(t):
    r = PIE.run("cpuid", env={"HERMIT_CPUS": "4"})
    t.ok(r, "entry-cpuid: " + r.stdout)


@test
def entry_net_says_the_abi_has_no_network(t):
    r = PIE.run("net")
    expect_status(t, r, 3, "entry-net")
    t.contains(r.stdout, "net: the hermit-entry ABI has no network hypercalls")


@test
def entry_pci_configuration_reads_answer_no_device(t):
    """A kernel with has_pci set scans the bus through 0xCF8/0xCFC: every read must
    answer all ones (tests/guest/hermit/pci.c), not end the VM as an unknown port."""
    for fl in (PIE, EXEC):
        r = fl.run("pci")
        t.ok(r, "%s-pci: %s" % (fl.prefix, r.stderr))
        t.contains(r.stdout, "pci: no device")
