"""Host side of the Hermit 0.10 - main boot (hermit-fdt-abi.md sections 1-3): images
recognised by their notes, RAM at the guest base G, the boot registers and boot
info at G, the FDT (--dumpdtb), --aslr, HERMIT_MEM refusal, and the debugger on
an image relocated above 4 GiB (stop at the first instruction, qOffsets,
`monitor info vm`).

The images are made here: a static PIE whose code checks RDI = G + 0x5000 =
RSP - 0x33000, the boot info's device_tree and phys_addr_start, the FDT magic at
G + 0x1000 and RSI = 0, then exits with 42 (or 11-15 naming the failed check)
through its interface's exit call. The full imitations of each generation are
tests/guest's (test_hermit_fdt.py).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gdb"))
import harness  # noqa: E402
from harness import test, run_proxy, Proxy, free_port  # noqa: E402
from rspclient import Client  # noqa: E402

CODE = r"""
.intel_syntax noprefix
.text
start:
    mov rax, rsp
    sub rax, 0x33000
    mov ecx, 11
    cmp rax, rdi
    jne fail
    lea rax, [rdi - 0x4000]
    mov ecx, 12
    cmp [rdi + 24], rax
    jne fail
    mov ecx, 13
    cmp dword ptr [rdi - 0x4000], 0xEDFE0DD0
    jne fail
    lea rax, [rdi - 0x5000]
    mov ecx, 14
    cmp [rdi], rax
    jne fail
    mov ecx, 15
    test rsi, rsi
    jne fail
    mov ecx, 42
fail:
    cmp word ptr [rdi + 16], 0x800
    jne v2
    mov [rsp + 16], ecx      /* v1: EAX = physical address of {i32 code} */
    lea rax, [rsp + 16]
    mov dx, 0x540
    out dx, eax
    jmp fail
v2:
    mov edi, ecx             /* v2/v3: RDI = the code itself */
    mov eax, 0x1234
    mov dx, 0x1010
    out dx, eax
    jmp v2
"""

_CODE_BYTES = None
ENTRY = 0x1000
KERNEL_OFF = 0x40000


def code_bytes():
    global _CODE_BYTES
    if _CODE_BYTES is None:
        d = tempfile.mkdtemp()
        try:
            with open(os.path.join(d, "c.s"), "w") as f:
                f.write(CODE)
            subprocess.run(["as", "--64", "-o", os.path.join(d, "c.o"), os.path.join(d, "c.s")],
                           check=True)
            subprocess.run(["objcopy", "-O", "binary", "-j", ".text", os.path.join(d, "c.o"),
                            os.path.join(d, "c.bin")], check=True)
            with open(os.path.join(d, "c.bin"), "rb") as f:
                _CODE_BYTES = f.read()
        finally:
            shutil.rmtree(d)
    return _CODE_BYTES


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def abi_tag(major, minor, patch):
    return note("GNU", 1, struct.pack("<IIII", 6, major, minor, patch))


def uhyveif(v):
    return note("UHYVEIF", 0x5B00, struct.pack(">I", v))


ENTRY_NOTE = note("HERMIT", 0x5A00, b"\x04")


def make_image(path, notes_per_segment):
    """ET_DYN at 0: one PT_LOAD over the file, one PT_NOTE per list entry."""
    size, memsz = 0x2000, 0x3000
    b = bytearray(size)
    phdrs = [struct.pack("<IIQQQQQQ", 1, 7, 0, 0, 0, size, memsz, 0x1000)]
    at = 0x400
    for seg in notes_per_segment:
        blob = b"".join(seg)
        b[at:at + len(blob)] = blob
        phdrs.append(struct.pack("<IIQQQQQQ", 4, 4, at, at, at, len(blob), len(blob), 4))
        at += (len(blob) + 0xFF) & ~0xFF
    code = code_bytes()
    b[ENTRY:ENTRY + len(code)] = code
    ident = b"\x7fELF" + bytes([2, 1, 1, 0xFF]) + bytes(8)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, ENTRY, 64, 0, 0, 64, 56, len(phdrs),
                             64, 0, 0)
    b[0:64] = eh
    b[64:64 + 56 * len(phdrs)] = b"".join(phdrs)
    with open(path, "wb") as f:
        f.write(bytes(b))
    return path


class Images:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fdt_boot_")

    def get(self, name, segments):
        return make_image(os.path.join(self.dir, name), segments)

    def close(self):
        shutil.rmtree(self.dir)


def with_images(fn):
    def run(t):
        imgs = Images()
        try:
            fn(t, imgs)
        finally:
            imgs.close()
    run.__name__ = fn.__name__
    return test(run)


def G13(imgs):
    return imgs.get("g13.elf", [[abi_tag(0, 13, 2), ENTRY_NOTE, uhyveif(1)]])


def M3(imgs):
    return imgs.get("m3.elf", [[abi_tag(0, 13, 0), ENTRY_NOTE, uhyveif(3)]])


def dts_of(path):
    return subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", path], check=True,
                          capture_output=True, text=True).stdout


def needs_v2_exit(t, r):
    if r.returncode == 121 and "0x1010" in r.stderr.decode(errors="replace"):
        harness.skip("the uhyve-interface 2/3 exit call (branch i-hcall) is not merged")


@with_images
def fdt_g13_boots_at_g0_and_names_itself(t, imgs):
    r = run_proxy(G13(imgs), env={"HERMIT_VERBOSE": "1"})
    err = r.stderr.decode(errors="replace")
    t.eq(r.returncode, 42, "the guest's checks of RDI, RSP, boot info, FDT magic, RSI: %r" % r)
    t.contains(err, "generation G13", "verbose names the generation")
    t.contains(err, "Hermit 0.13.2", "verbose names the version from the tag")
    t.contains(err, "uhyve-interface 1", "verbose names the interface")
    t.match(r"guest base 0x0\b", err, "interface 1: G = 0 by default")


@with_images
def fdt_checklist_2_tag_without_uhyveif_is_interface_1_g10(t, imgs):
    img = imgs.get("g10.elf", [[abi_tag(0, 10, 0), ENTRY_NOTE]])
    r = run_proxy(img, env={"HERMIT_VERBOSE": "1"})
    err = r.stderr.decode(errors="replace")
    t.eq(r.returncode, 42, "boots: %r" % r)
    t.contains(err, "generation G10", "G10 by the tag's minor version")
    t.contains(err, "uhyve-interface 1", "no UHYVEIF: interface 1")


@with_images
def fdt_checklist_2_uhyveif_in_a_second_pt_note(t, imgs):
    img = imgs.get("m3b.elf", [[abi_tag(0, 13, 0), ENTRY_NOTE], [uhyveif(3)]])
    out = os.path.join(imgs.dir, "m3b.dtb")
    r = run_proxy(img, env={"HERMIT_VERBOSE": "1", "HERMIT_DUMPDTB": out})
    t.eq(r.returncode, 0, "dumpdtb exits 0: %r" % r)
    t.contains(r.stderr.decode(), "uhyve-interface 3", "found in the second PT_NOTE")
    t.contains(r.stderr.decode(), "guest base 0x100000000", "interface 3: G = 4 GiB")


@with_images
def fdt_checklist_1_uhyveif_4_and_0_refused(t, imgs):
    for v in (4, 0):
        img = imgs.get("bad%d.elf" % v, [[abi_tag(0, 13, 0), ENTRY_NOTE, uhyveif(v)]])
        r = run_proxy(img)
        err = r.stderr.decode(errors="replace")
        t.eq(r.returncode, 1, "refused at start")
        t.contains(err, "uhyve-interface %d " % v, "the message names the value")
        t.contains(err, "1, 2 and 3", "and what proxy speaks")


@with_images
def fdt_checklist_3_and_4_interface_3_runs_at_4_gib(t, imgs):
    r = run_proxy(M3(imgs))
    needs_v2_exit(t, r)
    t.eq(r.returncode, 42, "RDI/RSP/boot info/FDT at G = 4 GiB: %r" % r)


@with_images
def fdt_dumpdtb_writes_the_guests_fdt(t, imgs):
    out = os.path.join(imgs.dir, "g.dtb")
    data = os.path.join(imgs.dir, "x")
    open(data, "w").close()
    r = run_proxy(M3(imgs), args=["a", "b c", "d'e"],
                  extra=["--dumpdtb", out, "--env", "FOO=x y", "--mount", data + ":/data/x",
                         "-m", "64M"])
    t.eq(r.returncode, 0, "exits 0: %r" % r)
    with open(out, "rb") as f:
        t.eq(f.read(4), b"\xd0\x0d\xfe\xed", "FDT magic")
    dts = dts_of(out)
    t.contains(dts, 'compatible = "hermit,uhyve";', "root compatible (9)")
    t.contains(dts, "memory@100000000 {", "memory node at G (10)")
    t.contains(dts, "reg = <0x01 0x00 0x00 0x4000000>;", "[G, 64 MiB)")
    t.contains(dts, "bootargs = \"env=FOO='x y' -- 'a' 'b c' 'd'\\\\''e'\";", "bootargs (14)")
    t.contains(dts, "hermit,tsc {", "TSC node always (12)")
    t.contains(dts, 'mounts = "/data";', "a mapped file announces its parent (13)")
    t.match(r"/memreserve/\s+0x0000000100040000 0x0000000000003000;", dts, "the image reserved")


@with_images
def fdt_dumpdtb_refused_for_older_images(t, imgs):
    img = imgs.get("old.elf", [[ENTRY_NOTE]])
    r = run_proxy(img, extra=["--dumpdtb", os.path.join(imgs.dir, "o.dtb")])
    t.eq(r.returncode, 1, "refused")
    t.contains(r.stderr.decode(), "boots without an FDT", "says why")


@with_images
def fdt_aslr_places_g_in_the_window(t, imgs):
    bases = set()
    for i in range(4):
        out = os.path.join(imgs.dir, "a%d.dtb" % i)
        r = run_proxy(M3(imgs), extra=["--aslr", "--dumpdtb", out, "-m", "64M"])
        t.eq(r.returncode, 0, "dumpdtb with --aslr: %r" % r)
        g = int(re.search(r"memory@([0-9a-f]+) \{", dts_of(out)).group(1), 16)
        t.true(g % (2 << 20) == 0, "G 0x%x is 2 MiB aligned" % g)
        t.true(0x100000000 <= g and g + (64 << 20) <= 0x1000000000, "G 0x%x in [4, 64) GiB" % g)
        bases.add(g)
    t.true(len(bases) > 1, "four --aslr runs drew more than one G: %r" % bases)
    r = run_proxy(G13(imgs), env={"HERMIT_ASLR": "1", "HERMIT_VERBOSE": "1"})
    t.eq(r.returncode, 42, "interface 1 boots at a random G below 3 GiB: %r" % r)
    g = int(re.search(r"guest base (0x[0-9a-f]+)", r.stderr.decode()).group(1), 16)
    t.true(g + (512 << 20) <= 0xC0000000, "G 0x%x + RAM below 3 GiB" % g)


@with_images
def fdt_memory_below_the_kernels_need_refused(t, imgs):
    r = run_proxy(G13(imgs), env={"HERMIT_MEM": "4M"})
    t.eq(r.returncode, 1, "refused at start: %r" % r)
    t.match(r"4 MiB is less than this kernel needs: at least \d+ MiB", r.stderr.decode(),
            "the message gives the figure")
    r = run_proxy(G13(imgs), env={"HERMIT_MEM": "4G"})
    t.eq(r.returncode, 1, "interface 1 cannot have 4 GiB below 3 GiB")
    t.contains(r.stderr.decode(), "at most 3072 MiB", "the limit")


@with_images
def fdt_bad_arguments_refused_at_start(t, imgs):
    r = run_proxy(G13(imgs), args=[b"\xff"])
    t.eq(r.returncode, 1, "a non-UTF-8 argument is refused: %r" % r)
    t.contains(r.stderr.decode(errors="replace"), "not UTF-8", "says why")
    r = run_proxy(G13(imgs), args=["x" * 20000])
    t.eq(r.returncode, 1, "too long for the FDT: %r" % r)


def monitor(c, command):
    c.send(b"qRcmd," + command.encode().hex().encode())
    out = ""
    while True:
        reply = c.recv()
        if reply.startswith(b"O") and reply != b"OK":
            out += bytes.fromhex(reply[1:].decode()).decode(errors="replace")
            continue
        return out, reply


@with_images
def fdt_debug_stop_at_first_instruction_qoffsets_info_vm(t, imgs):
    port = free_port()
    with Proxy(M3(imgs), env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
        p.wait_stderr(r"target remote")
        c = Client(port)
        c.ask(b"?")
        rdi, rsi, rsp, rip = (int.from_bytes(bytes.fromhex(c.ask(b"p%x" % n).decode()), "little")
                              for n in (5, 4, 7, 16))
        t.eq(rip, 0x100000000 + KERNEL_OFF + ENTRY, "stopped at the entry, G + 0x40000 + e_entry")
        t.eq(rdi, 0x100005000, "RDI = G + 0x5000")
        t.eq(rsp, 0x100038000, "RSP = G + 0x38000")
        t.eq(rsi, 0, "RSI = 0")
        t.eq(c.ask(b"qOffsets"), b"Text=100040000;Data=100040000;Bss=100040000",
             "symbols of an image relocated above 4 GiB")
        # The entry's bytes through the page tables at G (gdb's memory reads).
        mem = c.ask(b"m%x,4" % (0x100000000 + KERNEL_OFF + ENTRY))
        t.eq(bytes.fromhex(mem.decode()), code_bytes()[:4], "code read through the tables at G")
        out, reply = monitor(c, "info vm")
        t.eq(reply, b"OK", "info vm answered")
        t.contains(out, "hermit-fdt3", "the ABI")
        t.contains(out, "generation main", "the generation")
        t.contains(out, "guest base 0x100000000", "G")
        c.send(b"k")
        p.wait()


@test
def fdt_sse_on_software_kvm_names_instruction_and_generation(t):
    """Issue 27 item 7: on KVM-PVM real kernels die at their first SSE instruction;
    tests/guest's sse program does what they do (turns SSE on, then uses it)."""
    harness.needs_pvm()
    for prefix, gen in (("fdt10", "generation G10"), ("fdt13", "generation G13"),
                        ("m3", "generation main")):
        r = run_proxy(harness.guest("%s-sse" % prefix))
        err = r.stderr.decode(errors="replace")
        t.eq(r.returncode, 122, "%s: status 122: %r" % (prefix, r))
        t.match(r"could not execute `paddq %xmm1, %xmm0`", err, prefix + ": the instruction")
        t.contains(err, gen, prefix + ": the generation")


@test
def fdt_core_dump_holds_ram_at_g(t):
    """Core files of guests whose RAM starts at G: at 4 GiB (interface 3), and at a
    random G below 3 GiB (interface 1 with --aslr): the identity-mapped RAM appears
    at G (coredump.c clips mapped ranges to guest_mem_ranges, not to [0, size))."""
    d = tempfile.mkdtemp()
    try:
        for prefix, env in (("m3", {}), ("fdt13", {"HERMIT_ASLR": "1"})):
            core = os.path.join(d, prefix + ".core")
            env = dict(env, HERMIT_VERBOSE="1")
            r = run_proxy(harness.guest("%s-crash" % prefix), env=env, extra=["--coredump", core])
            err = r.stderr.decode(errors="replace")
            t.true(r.returncode != 0, "the guest crashed: %r" % r)
            t.contains(err, "guest core dumped to", "a core was written")
            g = int(re.search(r"guest base (0x[0-9a-f]+)", err).group(1), 16)
            out = subprocess.run(["readelf", "-lW", core], capture_output=True, text=True).stdout
            t.match(r"LOAD\s+0x[0-9a-f]+ 0x%016x 0x%016x 0x0*200000" % (g, g), out,
                    "%s: the first 2 MiB of RAM at G = 0x%x, virtual = physical" % (prefix, g))
    finally:
        shutil.rmtree(d)


@test
def fdt_checkpoint_restores_ram_at_g(t):
    """A checkpoint records G (guest_base=) and the hermit-fdtN ABI; the restore puts
    RAM back there: at 4 GiB for main, at --aslr's random G for interface 1."""
    import flavours
    import test_checkpoint as ck
    for prefix, env in (("m3-", {}), ("fdt13-", {"HERMIT_ASLR": "1"})):
        fl = flavours.Flavour("hermit-fdt", prefix, "FDT", 0, has_unlink=True)
        with tempfile.TemporaryDirectory() as top:
            g = ck.Guest(top, flavour=fl)
            stderr, _ = ck.run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_VERBOSE="1", **env))
            base = re.search(r"guest base (0x[0-9a-f]+)", stderr).group(1)
            g.open_gate()
            r = ck.restore(g.ckdir, env={"HERMIT_VERBOSE": "1"}, extra=g.mount())
            ck.check_restored(t, g, r, "restore of %sckpt" % prefix)
            t.contains(r.stderr, "guest base %s" % base, "the restored RAM is at the same G")
