"""The FDT-booted Hermit generations (issue 27; shared/spec/hermit-fdt-abi.md): test
guests imitating Hermit 0.10.0, 0.11.0, 0.13.2 and main with uhyve-interface 2 and 3
(tests/guest/rt/abi_fdt.c, entry_<gen>.S), booted with 1-4 vCPUs, arguments,
variables, mounts, scratch files, stdin and exit codes, and the spec's conformance
checklist (section 8) as one test per item, check_NN_<what>.

<gen>-<prog>.elf is a static PIE (ET_DYN at 0) carrying its generation's notes: the
GNU ABI tag (6, 0, minor, patch), the HERMIT entry-version note and, from 0.12, the
big-endian UHYVEIF note. The guest checks the boot info, walks the FDT from boot
info offset 24, splits /chosen/bootargs as its kernel does (shell-words; shlex on
main/3) and speaks its generation's hypercalls. tests/guest/fdt/conform.c prints
"check N ok|FAIL|skip" for the items it can see from inside.

Every item is a test here: 1 and 2 with patched images (UHYVEIF 0/4, the note moved
into the spare PT_NOTE of tests/guest/fdt-pie.ld), 19 and 25 with the exitcode guest,
the others with the conform guest (item 29 only on request: it reads outside RAM).
The host side has its own tests of the same points (tests/unit/test_abi_fdt.c,
test_uhyve_if.c, tests/integration/test_fdt_boot.py); the FDT is also read back
through --dumpdtb and dtc here.

sse-<gen>-<prog>.elf are the same guests compiled with SSE allowed, as the real
kernels are: on PVM they must end with status 122 naming the instruction and the
generation; under hardware KVM (the realkvm lane, REALKVM_SUBSET) they must pass.
"""
import fcntl
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import expect_status  # noqa: E402

# The realkvm lane (nested hardware KVM, slow) runs the SSE builds and the tests
# whose outcome depends on the host's KVM (vCPU start, registers, irqchip, CPUID).
REALKVM_SUBSET = ("fdt_sse_", "fdt_hello_every_generation", "fdt_smp_1_to_4_cpus",
                  "fdt_conform_nothing_fails", "check_03_", "check_28_", "check_30_",
                  "check_31_")

GIB = 1 << 30
MEM = 64 << 20


class Gen:
    def __init__(self, prefix, version, ifv, shlex=False):
        self.prefix = prefix    # image name prefix: build/guests/<prefix>-<prog>.elf
        self.version = version  # the ABI tag's kernel version
        self.ifv = ifv          # uhyve interface (the UHYVEIF note, 1 without)
        self.shlex = shlex      # bootargs split with shlex (else shell-words)

    def image(self, prog):
        return harness.guest("%s-%s" % (self.prefix, prog))

    def base(self):
        """Default guest base G (spec 2.1, uhyve --no-aslr)."""
        return 0 if self.ifv == 1 else 4 * GIB

    def __repr__(self):
        return self.prefix


FDT10 = Gen("fdt10", "0.10.0", 1)
FDT11 = Gen("fdt11", "0.11.0", 1)
FDT13 = Gen("fdt13", "0.13.2", 1)
M2 = Gen("m2", "0.13.0", 2)
M3 = Gen("m3", "0.13.0", 3, shlex=True)
GENS = (FDT10, FDT11, FDT13, M2, M3)
V1 = (FDT10, FDT11, FDT13)
MAIN = (M2, M3)


def run(gen, prog, args=(), env=None, extra=(), stdin=None, image=None, sse=False):
    env = dict({"HERMIT_MEM": "64M"}, **(env or {}))
    if stdin is None:
        stdin = b""  # host stdin at EOF unless a test pipes something
    image = image or (harness.guest("sse-%s-%s" % (gen.prefix, prog)) if sse else gen.image(prog))
    r = harness.run_proxy(image, [str(a) for a in args], env=env, extra=list(extra), stdin=stdin)
    return harness.Result(r.returncode, guestrun.text(r.stdout), guestrun.text(r.stderr))


def ok(t, r, what):
    if r.returncode != 0:
        raise harness.Failure("%s: exit status %d\nstdout=%s\nstderr=%s" % (
            what, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))


# ---- the conform guest ------------------------------------------------------

CHECK_LINE = re.compile(r"^check (\d+) (ok|FAIL|skip)\b(.*)$")
SERIAL_LINE = re.compile(r"^check (15|21) serial buffer$")  # if the log shares stdout


def conform(t, gen, args=(), env=None, extra=(), stdin=None, cpus=1, sse=False):
    """Boot <gen>-conform; returns ({item: (state, detail)}, info lines, Result).
    Every line of its stdout must be a check, info or conform line."""
    env = dict(env or {}, HERMIT_CPUS=str(cpus))
    words = ["cpus=%d" % cpus, "mem=%d" % MEM, "now=%d" % int(time.time())] + list(args)
    r = run(gen, "conform", words, env=env, extra=extra, stdin=stdin, sse=sse)
    items, info = {}, []
    # the serial-buffer lines (items 15/21) may go to either stream
    for line in r.stdout.splitlines():
        m = CHECK_LINE.match(line)
        if m:
            items.setdefault(int(m.group(1)), []).append((m.group(2), m.group(3).strip()))
        elif line.startswith("info "):
            info.append(line[5:])
        elif not (line.startswith("conform: ") or SERIAL_LINE.match(line)):
            raise harness.Failure("%s-conform: unexpected line %r\n%r" % (gen, line, r))
    return items, info, r


def expect_items(t, gen, items, r, numbers):
    """Each of `numbers` must be reported ok (once per line) and never FAIL."""
    for n in numbers:
        states = items.get(n)
        if not states:
            raise harness.Failure("%s-conform: no line for check %d\n%r" % (gen, n, r))
        bad = [d for s, d in states if s != "ok"]
        if bad:
            raise harness.Failure("%s-conform: check %d: %s\n%r" % (gen, n, bad, r))


def conform_item(t, n, gens=GENS, args=(), **kw):
    """Run the conform guest of every generation in gens; item n must be ok."""
    for gen in gens:
        items, info, r = conform(t, gen, args, **kw)
        expect_items(t, gen, items, r, [n])


def host_tsc_khz():
    """KVM_GET_TSC_KHZ of a throwaway vCPU (what the FDT must carry), None if KVM
    refuses it."""
    KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_GET_TSC_KHZ = 0xAE01, 0xAE41, 0xAEA3
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        try:
            vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
            try:
                khz = fcntl.ioctl(vcpu, KVM_GET_TSC_KHZ, 0)
                return khz if khz > 0 else None
            finally:
                os.close(vcpu)
        finally:
            os.close(vm)
    except OSError:
        return None
    finally:
        os.close(kvm)


# ---- image patching (items 1, 2) --------------------------------------------

PHDR = struct.Struct("<IIQQQQQQ")
PT_NULL, PT_NOTE = 0, 4
UHYVEIF_NOTE = struct.pack("<III", 8, 4, 0x5B00) + b"UHYVEIF\0"


def read_image(gen, prog):
    with open(gen.image(prog), "rb") as f:
        return bytearray(f.read())


def phdrs(d):
    phoff, = struct.unpack_from("<Q", d, 32)
    phentsize, phnum = struct.unpack_from("<HH", d, 54)
    return [(phoff + i * phentsize, list(PHDR.unpack_from(d, phoff + i * phentsize)))
            for i in range(phnum)]


def uhyveif_desc_offset(d):
    off = bytes(d).find(UHYVEIF_NOTE)
    if off < 0:
        raise harness.Failure("no UHYVEIF note in the image")
    return off + len(UHYVEIF_NOTE)


def run_patched(t, d, args=(), env=None, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "patched.elf")
        with open(path, "wb") as f:
            f.write(d)
        return run(None, None, args, env=env, extra=extra, image=path)


def note_split_image(gen, prog):
    """The image with its UHYVEIF note moved into a second PT_NOTE (the spare
    PT_NULL of tests/guest/fdt-pie.ld): uhyve reads only the first."""
    d = read_image(gen, prog)
    notes = [(o, p) for o, p in phdrs(d) if p[0] == PT_NOTE]
    spare = [(o, p) for o, p in phdrs(d) if p[0] == PT_NULL]
    (noff, note), = notes
    soff, _ = spare[-1]
    desc = uhyveif_desc_offset(d)
    start = desc - len(UHYVEIF_NOTE)  # the UHYVEIF note is the last in the segment
    if start + 24 != note[2] + note[5]:
        raise harness.Failure("UHYVEIF is not the last note of the PT_NOTE")
    first = note[5] - 24
    PHDR.pack_into(d, noff, PT_NOTE, note[1], note[2], note[3], note[4], first, first, 4)
    PHDR.pack_into(d, soff, PT_NOTE, 4, start, note[3] + first, note[4] + first, 24, 24, 4)
    return d


# ---- every generation boots the shared programs -----------------------------


@test
def fdt_images_carry_their_notes(t):
    want = {FDT10: (10, 0, None), FDT11: (11, 0, None), FDT13: (13, 2, 1), M2: (13, 0, 2),
            M3: (13, 0, 3)}
    for gen, (minor, patch, ifv) in want.items():
        d = bytes(read_image(gen, "hello"))
        t.eq(struct.unpack_from("<H", d, 16)[0], 3, "%s: ET_DYN" % gen)
        t.eq(struct.unpack_from("<Q", d, 24)[0], 0x1000, "%s: e_entry" % gen)
        (_, note), = [(o, p) for o, p in phdrs(d) if p[0] == PT_NOTE]
        blob = d[note[2]:note[2] + note[5]]
        tag = struct.pack("<III", 4, 16, 1) + b"GNU\0" + struct.pack("<IIII", 6, 0, minor, patch)
        hermit = struct.pack("<III", 7, 1, 0x5A00) + b"HERMIT\0\0" + b"\x04\0\0\0"
        uhyve = b"" if ifv is None else UHYVEIF_NOTE + struct.pack(">I", ifv)
        t.eq(blob, tag + hermit + uhyve, "%s: the notes, in one PT_NOTE" % gen)


@test
def fdt_hello_every_generation(t):
    for gen in GENS:
        r = run(gen, "hello")
        ok(t, r, "%s-hello" % gen)
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "%s-hello stdout" % gen)


@test
def fdt_verbose_names_generation_interface_and_base(t):
    for gen in GENS:
        r = run(gen, "hello", env={"HERMIT_VERBOSE": "1"})
        ok(t, r, "%s-hello verbose" % gen)
        version = "Hermit main (tag %s)" if gen in MAIN else "Hermit %s"
        t.contains(r.stderr, version % gen.version, "%s: the kernel version" % gen)
        t.contains(r.stderr, "uhyve-interface %d" % gen.ifv, "%s: the interface" % gen)
        t.match(r"guest base 0x0*%x\b" % gen.base(), r.stderr, "%s: the guest base" % gen)


@test
def fdt_abi_named_explicitly(t):
    """--abi / HERMIT_ABI hermit-fdtN boots the generation of interface N as detection
    would; naming another interface is the user's choice and the guest's ports then
    go unanswered (status 121), never a crash."""
    for gen in GENS:
        for extra, env in ((["--abi", "hermit-fdt%d" % gen.ifv], {}),
                           ([], {"HERMIT_ABI": "hermit-fdt%d" % gen.ifv})):
            r = run(gen, "hello", extra=extra, env=env)
            ok(t, r, "%s-hello %s %s" % (gen, extra, env))
            t.eq(r.stdout, "Hello from a HermitCore test guest\n", "%s stdout" % gen)
    r = run(M2, "hello", extra=["--abi", "hermit-fdt1"])
    expect_status(t, r, guestrun.STATUS_UNHANDLED_IO, "m2 image run as interface 1")
    t.contains(r.stderr, "port 0x1100", "the interface-2 write is named")


def args_lines(argv, env=()):
    out = "argc=%d\n" % len(argv) + "".join("argv[%d]=%s\n" % (i, a) for i, a in enumerate(argv))
    return out + "".join("env=%s\n" % e for e in env)


@test
def fdt_arguments_with_spaces_and_quotes(t):
    for gen in GENS:
        r = run(gen, "args", ["a", "b c", "d'e"])
        ok(t, r, "%s-args" % gen)
        t.eq(r.stdout, args_lines(["bin", "a", "b c", "d'e"]), "%s-args stdout" % gen)


@test
def fdt_awkward_arguments_round_trip(t):
    awkward = ["#x", "--", "", "a\\b", '"q"', "it's", "$HOME", "tab\there", "x=y", "env=A=1",
               "-freq", "'", "\\", "new\nline", "ü"]
    for gen in GENS:
        r = run(gen, "args", awkward)
        ok(t, r, "%s-args (awkward)" % gen)
        t.eq(r.stdout, args_lines(["bin"] + awkward), "%s-args stdout" % gen)


@test
def fdt_no_arguments(t):
    for gen in GENS:
        r = run(gen, "args")
        ok(t, r, "%s-args" % gen)
        t.eq(r.stdout, args_lines(["bin"]), "%s-args stdout (no env: none)" % gen)


@test
def fdt_environment_variables(t):
    variables = ["FOO=x y", "E=", "Q=it's \"quoted\"", "EQ=a=b", "HASH=#c"]
    extra = sum((["--env", v] for v in variables), [])
    for gen in GENS:
        r = run(gen, "args", ["p"], extra=extra)
        ok(t, r, "%s-args --env" % gen)
        lines = r.stdout.splitlines()
        t.eq(lines[:3], ["argc=2", "argv[0]=bin", "argv[1]=p"], "%s: argv" % gen)
        # the kernel keeps a hash map: order is not part of the contract
        t.eq(sorted(l[4:] for l in lines[3:]), sorted(variables), "%s: env lines" % gen)
        t.true(all(l.startswith("env=") for l in lines[3:]), "%s: only env lines" % gen)


@test
def fdt_exit_codes(t):
    for gen in GENS:
        for code, status in (("42", 42), ("-1", 255), ("0", 0)):
            r = run(gen, "exitcode", [code])
            expect_status(t, r, status, "%s-exitcode %s" % (gen, code))
            t.eq(r.stdout, "exitcode: exiting with %s from vCPU 0\n" % code, "%s stdout" % gen)


@test
def fdt_kernel_panic_is_named_without_verbose(t):
    """A kernel that panics logs its panic line through the serial-buffer hypercall
    and exits 1: proxy names the panic on stderr although the log itself is shown
    only with HERMIT_VERBOSE."""
    for gen in GENS:
        r = run(gen, "panic")
        expect_status(t, r, 1, "%s-panic" % gen)
        t.contains(r.stderr, "proxy: the guest kernel panicked: [0][PANIC] panicked at "
                   "src/fs/uhyve.rs:42:9: called `Result::unwrap()` on an `Err` value: EIO",
                   "%s: the panic named" % gen)
        t.not_contains(r.stderr, "\n[0][PANIC]", "%s: the log itself stays quiet" % gen)


@test
def fdt_ports_of_older_contracts_are_not_served(t):
    """A Hermit 0.10+ guest gets its own interface's ports and nothing else: CMDSIZE
    (0x740) of the older contracts ends every generation as an unhandled port, and the
    classic EXIT (0x540), which interface 1 shares, is not served to interfaces 2/3."""
    for gen in GENS:
        r = run(gen, "oldport", ["0x740"])
        expect_status(t, r, guestrun.STATUS_UNHANDLED_IO, "%s: out 0x740" % gen)
        t.contains(r.stderr, "unhandled port I/O: write of 4 byte(s) on port 0x740",
                   "%s: named" % gen)
        r = run(gen, "oldport", ["0x540"])
        if gen.ifv == 1:
            expect_status(t, r, 7, "%s: 0x540 is interface 1's own EXIT" % gen)
        else:
            expect_status(t, r, guestrun.STATUS_UNHANDLED_IO, "%s: out 0x540" % gen)
        t.not_contains(r.stdout, "the port was served", "%s: nothing served" % gen)


@test
def fdt_exit_from_the_last_vcpu(t):
    for gen in GENS:
        r = run(gen, "exitcode", ["7", "ap"], env={"HERMIT_CPUS": "3"})
        expect_status(t, r, 7, "%s-exitcode 7 ap" % gen)
        t.eq(r.stdout, "exitcode: exiting with 7 from vCPU 2\n", "%s stdout" % gen)


@test
def fdt_smp_1_to_4_cpus(t):
    for gen in GENS:
        for n in range(1, 5):
            r = run(gen, "smp", env={"HERMIT_CPUS": str(n)})
            ok(t, r, "%s-smp %d" % (gen, n))
            t.eq(r.stdout, "smp: %d cpus online\n" % n, "%s-smp %d stdout" % (gen, n))


@test
def fdt_mounted_file_is_read(t):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "input.txt"), "w") as f:
            f.write("line one\nline two\n")
        for gen in GENS:
            r = run(gen, "catfile", ["/data/input.txt"], extra=["--mount", d + ":/data"])
            ok(t, r, "%s-catfile" % gen)
            t.eq(r.stdout, "catfile: opening\ncatfile: reading\nline one\nline two\n",
                 "%s-catfile stdout" % gen)


@test
def fdt_files_program_on_interface_2_and_3(t):
    """The shared files guest (tests/guest/files.c): every file call with -errno
    results. Interface 1 is left out: its WRITE has no result field, so the errors
    that program expects cannot come back (conform covers interface 1)."""
    for gen in MAIN:
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "input.txt"), "w") as f:
                f.write("input from the host\n")
            open(os.path.join(d, "remove-me"), "w").close()
            r = run(gen, "files", [d], extra=["--mount", d])
            ok(t, r, "%s-files" % gen)
            t.eq(r.stdout, "files: stdout still works after close(1)\n"
                 "input: input from the host\nfiles: ok\n", "%s-files stdout" % gen)
            with open(os.path.join(d, "guest.txt")) as f:
                t.eq(f.read(), "written by the files guest\nappended\n", "%s: guest.txt" % gen)
            t.eq(os.path.getsize(os.path.join(d, "big.bin")), 3 * 4096 + 123, "%s: big.bin" % gen)
            t.true(not os.path.exists(os.path.join(d, "remove-me")), "%s: unlinked" % gen)


def files_under(top):
    return [os.path.join(p, f) for p, _, fs in os.walk(top) for f in fs]


SCRATCH = b"scratch written by conform\n"


@test
def fdt_scratch_file_goes_to_a_private_temp_dir_removed_at_exit(t):
    for gen in GENS:
        with tempfile.TemporaryDirectory() as tmpdir:
            items, _, r = conform(t, gen, ["tmp=/scratch/f.txt"], env={"TMPDIR": tmpdir})
            expect_items(t, gen, items, r, [17 if gen.ifv == 1 else 23])
            ok(t, r, "%s-conform tmp=" % gen)
            t.eq(files_under(tmpdir), [], "%s: the per-run temp dir is gone" % gen)


@test
def fdt_scratch_dir_is_private_while_the_guest_runs(t):
    """While the guest waits on stdin (main reads fd 0), its scratch file sits in a
    mode-0700 directory under $TMPDIR; once it exits, nothing is left there."""
    for gen in MAIN:
        with tempfile.TemporaryDirectory() as tmpdir:
            words = ["cpus=1", "mem=%d" % MEM, "tmp=/scratch/live", "stdin=line"]
            with harness.Proxy(gen.image("conform"), words, extra=[], stdin=subprocess.PIPE,
                               env={"TMPDIR": tmpdir, "HERMIT_MEM": "64M"}) as p:
                guestrun.wait_stdout(p, "check 20 ok\n")  # files done, stdin next
                found = [f for f in files_under(tmpdir) if open(f, "rb").read() == SCRATCH]
                t.eq(len(found), 1, "%s: the scratch file while the guest runs" % gen)
                mode = os.stat(os.path.dirname(found[0])).st_mode & 0o777
                t.eq(oct(mode), oct(0o700), "%s: its directory's mode" % gen)
                p.p.stdin.write(b"go\n")
                p.p.stdin.close()
                t.eq(p.wait(), 0, "%s: exit status\n%s" % (gen, p.stdout_text()))
                t.contains(p.stdout_text(), "info stdin 3 bytes: go\n")
            t.eq(files_under(tmpdir), [], "%s: removed at exit" % gen)


@test
def fdt_scratch_file_kept_with_tempdir(t):
    for gen in (FDT13, M3):
        for how in ("option", "variable"):
            with tempfile.TemporaryDirectory() as keep:
                extra = ["--tempdir", keep] if how == "option" else []
                env = {"HERMIT_TEMPDIR": keep} if how == "variable" else {}
                items, _, r = conform(t, gen, ["tmp=/scratch/f.txt"], env=env, extra=extra)
                ok(t, r, "%s-conform --tempdir (%s)" % (gen, how))
                found = [p for p in files_under(keep) if open(p, "rb").read() == SCRATCH]
                t.eq(len(found), 1, "%s: the scratch file kept in %s (%s)" % (gen, keep, how))


@test
def fdt_stdin_at_eof_and_piped(t):
    for gen in MAIN:
        items, _, r = conform(t, gen, ["stdin=eof"], stdin=b"")
        expect_items(t, gen, items, r, [24])
        items, info, r = conform(t, gen, ["stdin=line"], stdin=b"a line from the host\n")
        ok(t, r, "%s-conform stdin=line" % gen)
        t.true("stdin 21 bytes: a line from the host" in info, "%s: the piped line: %r" % (gen, info))


# ---- the FDT as a file (--dumpdtb) ------------------------------------------


def dts(path):
    if not shutil.which("dtc"):
        harness.skip("dtc not installed (Debian device-tree-compiler; scripts/setup)")
    p = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise harness.Failure("dtc cannot read %s: %s" % (path, p.stderr))
    return p.stdout


@test
def fdt_dumpdtb_writes_the_guest_fdt_and_exits_0(t):
    with tempfile.TemporaryDirectory() as d:
        for gen in GENS:
            for how in ("option", "variable"):
                out = os.path.join(d, "%s-%s.dtb" % (gen, how))
                extra = ["--dumpdtb", out] if how == "option" else []
                env = {"HERMIT_DUMPDTB": out} if how == "variable" else {}
                r = run(gen, "hello", ["a", "b c"], env=dict(env, HERMIT_CPUS="2"),
                        extra=extra + ["--env", "FOO=x y", "--mount", d + ":/data"])
                ok(t, r, "%s --dumpdtb (%s)" % (gen, how))
                t.not_contains(r.stdout, "Hello", "%s: the guest did not run" % gen)
                s = dts(out)
                t.contains(s, 'compatible = "hermit,uhyve";', "%s: root compatible" % gen)
                t.contains(s, "#address-cells = <0x02>;", "%s: address cells" % gen)
                t.contains(s, "#size-cells = <0x02>;", "%s: size cells" % gen)
                g = gen.base()
                t.match(r"memory@%x \{[^}]*reg = <0x%02x 0x%02x 0x00 0x%02x>;" % (
                    g, g >> 32, g & 0xFFFFFFFF, MEM), s, "%s: memory node" % gen)
                t.match(r"chosen \{[^}]*bootargs = \"[^\"]*--\s+'?a'?\s+'b c'\";", s,
                        "%s: bootargs" % gen)
                t.match(r"env=(FOO='x y'|'FOO=x y')", s, "%s: the env word" % gen)
                t.match(r"hermit,tsc \{[^}]*khz = <0x[0-9a-f]+>;", s, "%s: tsc" % gen)
                t.match(r"uhyve,mounts \{[^}]*mounts = \"/data\";", s, "%s: mounts" % gen)


@test
def fdt_argument_the_kernel_cannot_carry_is_refused(t):
    for gen in (FDT10, M3):
        p = subprocess.run([harness.PROXY, gen.image("args"), b"ok", b"\xff\xfe"],
                           capture_output=True, env=harness.proxy_env(), timeout=harness.TIMEOUT)
        r = harness.Result(p.returncode, guestrun.text(p.stdout), guestrun.text(p.stderr))
        expect_status(t, r, guestrun.STATUS_SETUP, "%s: a non-UTF-8 argument" % gen)
        t.eq(r.stdout, "", "%s: the guest never ran" % gen)
        t.contains(r.stderr, "UTF-8", "%s: the message says why" % gen)
        r = run(gen, "args", ["x" * 4000] * 5)
        expect_status(t, r, guestrun.STATUS_SETUP, "%s: 20000 bytes of arguments" % gen)
        t.eq(r.stdout, "", "%s: the guest never ran" % gen)
        t.match(r"16384", r.stderr, "%s: the message names the limit" % gen)


# ---- refused interfaces ------------------------------------------------------


def refused_interface(t, value):
    d = read_image(M3, "hello")
    struct.pack_into(">I", d, uhyveif_desc_offset(d), value)
    r = run_patched(t, d)
    expect_status(t, r, guestrun.STATUS_SETUP, "UHYVEIF %d" % value)
    t.not_contains(r.stdout, "Hello", "the guest never ran")
    t.match(r"(?i)uhyve.?interface[^\n]*\b%d\b" % value, r.stderr, "the message names %d" % value)


@test
def fdt_uhyveif_0_is_refused(t):
    refused_interface(t, 0)


# ---- the checklist of spec section 8 -------------------------------------------
# Loader / recognition


@test
def check_01_uhyveif_3_gets_v2_ports_4_is_refused(t):
    r = run(M3, "hello", env={"HERMIT_VERBOSE": "1"})
    ok(t, r, "m3-hello")
    t.eq(r.stdout, "Hello from a HermitCore test guest\n", "written through 0x1100")
    t.contains(r.stderr, "uhyve-interface 3")
    refused_interface(t, 4)


@test
def check_02_no_uhyveif_is_interface_1_and_a_second_pt_note_is_read(t):
    for gen in (FDT10, FDT11):
        r = run(gen, "hello", env={"HERMIT_VERBOSE": "1"})
        ok(t, r, "%s-hello" % gen)
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "written through 0x400")
        t.contains(r.stderr, "uhyve-interface 1")
    for gen in (FDT13, M2, M3):
        r = run_patched(t, note_split_image(gen, "hello"), env={"HERMIT_VERBOSE": "1"})
        ok(t, r, "%s-hello with UHYVEIF in a second PT_NOTE" % gen)
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "%s stdout" % gen)
        t.contains(r.stderr, "uhyve-interface %d" % gen.ifv)


@test
def check_03_entry_registers(t):
    conform_item(t, 3)
    conform_item(t, 3, gens=(FDT10, M3), cpus=4)


@test
def check_04_guest_base_placement(t):
    for gen in GENS:
        seen = set()
        for _ in range(2):  # the default placement is fixed
            items, info, r = conform(t, gen)
            expect_items(t, gen, items, r, [4])
            seen.add(next(l for l in info if l.startswith("G=")))
        t.eq(seen, {"G=0x%x ram=0x%x" % (gen.base(), MEM)}, "%s: default G" % gen)
        items, info, r = conform(t, gen, extra=["--aslr"])
        expect_items(t, gen, items, r, [4])
        items, info, r = conform(t, gen, env={"HERMIT_ASLR": "1"})
        expect_items(t, gen, items, r, [4])


@test
def check_05_recursive_pml4_slot(t):
    conform_item(t, 5)


@test
def check_06_identity_map_ends_at_the_kernel(t):
    conform_item(t, 6)


# Boot info


@test
def check_07_boot_info(t):
    # has_pci 1 as uhyve on Linux: the PCI ports are answered (no device, item 20)
    conform_item(t, 7, args=["pci=1"])
    conform_item(t, 7, gens=(FDT11, M2), cpus=3, args=["pci=1"])


# FDT


@test
def check_08_fdt_header(t):
    conform_item(t, 8)


@test
def check_09_compatible_and_cells(t):
    conform_item(t, 9)


@test
def check_10_memory_node(t):
    conform_item(t, 10)


@test
def check_11_bootargs(t):
    conform_item(t, 11)
    conform_item(t, 11, args=["ü", "#c"])


@test
def check_12_tsc_khz(t):
    khz = host_tsc_khz()
    conform_item(t, 12, args=["khz=%d" % khz] if khz else [])


@test
def check_13_mounts(t):
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "x")
        open(f, "w").close()
        for gen in GENS:
            items, _, r = conform(t, gen, ["mounts=/data"], extra=["--mount", f + ":/data/x"])
            expect_items(t, gen, items, r, [13])
            items, _, r = conform(t, gen, ["mounts=/data"], extra=["--mount", d + ":/data"])
            expect_items(t, gen, items, r, [13])
            items, _, r = conform(t, gen, ["mounts=none"])
            expect_items(t, gen, items, r, [13])


@test
def check_14_argv_and_environment(t):
    for gen in GENS:
        items, info, r = conform(t, gen, ["b c"], extra=["--env", "FOO=x y"])
        expect_items(t, gen, items, r, [14])
        argv = [l.split("=", 1)[1] for l in info if l.startswith("argv[")]
        t.eq(argv[-1], "b c", "%s: the quoted argument" % gen)
        t.true("env=FOO=x y" in info, "%s: FOO: %r" % (gen, info))
        items, info, r = conform(t, gen)
        t.true("envp=NULL" in info, "%s: no variables, envp NULL: %r" % (gen, info))
        # bootargs "-- a b": argc 3 (the words after --)
        r = run(gen, "args", ["a", "b"])
        t.eq(r.stdout, args_lines(["bin", "a", "b"]), "%s: argc 3" % gen)


# Hypercalls v1 (G10-G13)


def serial_check(t, gens, n):
    """The kernel log goes where proxy's UART log goes: stderr with HERMIT_VERBOSE,
    nowhere without; never into the application's stdout."""
    for gen in gens:
        items, _, r = conform(t, gen, env={"HERMIT_VERBOSE": "1"})
        t.contains(r.stderr, "check %d serial buffer\n" % n, "%s: the serial buffer's bytes" % gen)
        t.not_contains(r.stderr, "NOT-PRINTED-%d" % n, "%s: only len bytes" % gen)
        t.not_contains(r.stdout, "serial buffer", "%s: not on stdout" % gen)
        items, _, r = conform(t, gen)
        t.not_contains(r.stdout + r.stderr, "serial buffer", "%s: quiet without verbose" % gen)


@test
def check_15_v1_serial_buffer(t):
    serial_check(t, V1, 15)


@test
def check_16_v1_write_buffer_across_pages(t):
    conform_item(t, 16, gens=V1)
    # then with the second page unmapped: nothing from beyond it, no crash, and the
    # VM goes on (WRITE has no result field in interface 1: len 0, or -EFAULT)
    # READ into the split buffer puts each byte on its own page; an unmapped page
    # gives -EFAULT or a short count, never a crash
    for gen in V1:
        items, info, r = conform(t, gen, ["tmp=/scratch/f16"])
        t.true(any(re.match(r"check 16 unmapped: write returned (0|-14)$", l) for l in info),
               "%s: the unmapped write: %r" % (gen, info))
        t.true(any(re.match(r"check 16 unmapped: read returned (-14|[0-8])$", l) for l in info),
               "%s: the unmapped read: %r" % (gen, info))
        t.eq(r.stdout.count("check 16 ok\n"), 1, "%s: printed once" % gen)
        t.eq(items.get(16), [("ok", ""), ("ok", "(READ into the split buffer)")],
             "%s: write and read ok" % gen)
        expect_items(t, gen, items, r, [17, 20, 28])


@test
def check_17_v1_open_create_write_read_back(t):
    conform_item(t, 17, gens=V1, args=["tmp=/scratch/f17"])


@test
def check_18_v1_close(t):
    conform_item(t, 18, gens=V1, args=["tmp=/scratch/f18"])


@test
def check_19_v1_exit_status(t):
    for gen in V1:
        expect_status(t, run(gen, "exitcode", ["42"]), 42, "%s exit 42" % gen)
        expect_status(t, run(gen, "exitcode", ["-1"]), 255, "%s exit -1" % gen)


@test
def check_20_pci_no_device(t):
    conform_item(t, 20)


# Hypercalls v2/v3 (main)


@test
def check_21_v2_serial_buffer(t):
    serial_check(t, MAIN, 21)


@test
def check_22_v2_write_ret_and_bad_fd(t):
    conform_item(t, 22, gens=MAIN, args=["tmp=/scratch/f22"])


@test
def check_23_v2_open_errors(t):
    conform_item(t, 23, gens=MAIN, args=["tmp=/scratch/f23"])


@test
def check_24_v2_stdin_eof_and_lseek_end(t):
    conform_item(t, 24, gens=MAIN, args=["tmp=/scratch/f24", "stdin=eof"])


@test
def check_25_v2_exit_0xffffffff(t):
    for gen in MAIN:
        expect_status(t, run(gen, "exitcode", ["-1"]), 255, "%s exit -1" % gen)
        expect_status(t, run(gen, "exitcode", ["42"]), 42, "%s exit 42" % gen)


def mapped_tree(d):
    os.makedirs(os.path.join(d, "dir"))
    for name in ("alpha", "a-much-longer-file-name.txt", "b"):
        with open(os.path.join(d, "dir", name), "w") as f:
            f.write(name)
    with open(os.path.join(d, "file"), "wb") as f:
        f.write(b"x" * 1234)


@test
def check_26_v3_getdents(t):
    with tempfile.TemporaryDirectory() as d:
        mapped_tree(d)
        conform_item(t, 26, gens=(M3,), extra=["--mount", d + ":/data"],
                     args=["dir=/data/dir", "names=alpha,a-much-longer-file-name.txt,b"])


@test
def check_27_v3_stat_fstat_mkdir(t):
    with tempfile.TemporaryDirectory() as d:
        mapped_tree(d)
        conform_item(t, 27, gens=(M3,), extra=["--mount", d + ":/data"],
                     args=["file=/data/file", "size=1234", "mkdir=/data/newdir"])
        t.true(os.path.isdir(os.path.join(d, "newdir")), "mkdir reached the mapped directory")


# Platform


@test
def check_28_all_vcpus_start(t):
    for n in (2, 4):
        conform_item(t, 28, cpus=n)


@test
def check_29_low_mmio_outside_ram_reads_zero(t):
    # main: RAM starts at 4 GiB. Interface 1: RAM starts at G = 0 by default, so the
    # areas are RAM; --aslr moves G (a draw of 0 skips the item: draw again).
    conform_item(t, 29, gens=MAIN, args=["lowmmio"])
    for gen in V1:
        for _ in range(3):
            items, _, r = conform(t, gen, ["lowmmio"], extra=["--aslr"])
            if items.get(29, [("skip", "")])[0][0] != "skip":
                break
        expect_items(t, gen, items, r, [29])


@test
def check_30_ioapic_is_in_kernel(t):
    conform_item(t, 30)


@test
def check_31_fsgsbase_in_cpuid(t):
    conform_item(t, 31)


@test
def fdt_conform_nothing_fails(t):
    """The whole list, every generation, 2 vCPUs: no FAIL line anywhere."""
    with tempfile.TemporaryDirectory() as d:
        mapped_tree(d)
        for gen in GENS:
            args = ["tmp=/scratch/all", "mounts=/data", "dir=/data/dir", "names=alpha,b",
                    "file=/data/file", "size=1234", "mkdir=/data/made"]
            if gen.ifv > 1:
                args.append("stdin=eof")
            items, _, r = conform(t, gen, args, cpus=2, extra=["--mount", d + ":/data"])
            ok(t, r, "%s-conform" % gen)
            fails = {n: s for n, s in items.items() if any(x[0] == "FAIL" for x in s)}
            t.eq(fails, {}, "%s: failed items" % gen)


@test
def fdt_guest_tokenisers_follow_the_spec_table(t):
    """The guests' shell-words and shlex (tests/guest/rt/fdt.c) against spec 3.3:
    what the round-trip tests above rely on."""
    for gen in (FDT10, M3):
        r = run(gen, "split")
        ok(t, r, "%s-split" % gen)
        t.match(r"^split: \d+ cases ok\n$", r.stdout, "%s-split stdout" % gen)


# ---- SSE in ring 0, as the real kernels of these generations use it -----------


def label(gen):
    return ("Hermit main (tag %s)" if gen in MAIN else "Hermit %s") % gen.version


@test
def fdt_sse_on_pvm_ends_with_122_naming_instruction_and_generation(t):
    """Issue 27 item 7: on KVM-PVM an SSE instruction in ring 0 ends the VM with
    status 122, naming the instruction and the generation; never a hang."""
    harness.needs_pvm()
    for gen in GENS:
        for image in (gen.image("sse"), harness.guest("sse-%s-hello" % gen.prefix)):
            r = run(gen, None, image=image)
            expect_status(t, r, guestrun.STATUS_INTERNAL, "%s on PVM" % image)
            t.match(r"could not execute `[a-z]+ [^`]*%%xmm\d[^`]*` at RIP 0x[0-9a-f]+ .* in the "
                    r"%s \(generation [^)]*uhyve-interface %d\) guest \(an SSE/AVX instruction"
                    % (re.escape(label(gen)), gen.ifv), r.stderr, "%s: the message" % image)
            t.not_contains(r.stdout, "Hello", "%s: did not run on" % image)


@test
def fdt_sse_builds_boot_on_hardware_kvm(t):
    """The guests compiled with SSE allowed (sse-<gen>-*.elf), as real kernels are:
    everything of the general-register builds holds for them under hardware KVM."""
    harness.needs_hardware_kvm()
    for gen in GENS:
        r = run(gen, "hello", sse=True)
        ok(t, r, "sse-%s-hello" % gen)
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "sse-%s-hello stdout" % gen)
        r = run(gen, "args", ["a", "b c", "d'e"], sse=True)
        t.eq(r.stdout, args_lines(["bin", "a", "b c", "d'e"]), "sse-%s-args stdout" % gen)
        r = run(gen, "smp", env={"HERMIT_CPUS": "4"}, sse=True)
        t.eq(r.stdout, "smp: 4 cpus online\n", "sse-%s-smp 4" % gen)
        items, _, r = conform(t, gen, ["tmp=/scratch/sse"], cpus=2, sse=True)
        ok(t, r, "sse-%s-conform" % gen)
        fails = {n: s for n, s in items.items() if any(x[0] == "FAIL" for x in s)}
        t.eq(fails, {}, "sse-%s: failed items" % gen)
