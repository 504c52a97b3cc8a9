"""Image validation: broken HermitCore images are refused before anything runs.

Each case patches a copy of hello.elf; proxy must exit 1, print nothing on
stdout, and name the file and the problem on stderr.
"""

# Refused before any VM exists: the host's kind of KVM cannot matter (see run-tests).
HOST_INDEPENDENT = True
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402

PT_LOAD = 1
PHDR = struct.Struct("<IIQQQQQQ")  # type flags offset vaddr paddr filesz memsz align


def _phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    out = []
    for i in range(phnum):
        off = phoff + i * phentsize
        out.append((off, list(PHDR.unpack_from(data, off))))
    return out


def _loads(data):
    return [(off, ph) for off, ph in _phdrs(data) if ph[0] == PT_LOAD and ph[6] > 0]


def _set_ph(data, off, ph):
    PHDR.pack_into(data, off, *ph)


def _move_first_segment(data, paddr):
    """Move the text segment (and e_entry with it, so the image stays otherwise sane)."""
    off, ph = _loads(data)[0]
    entry, = struct.unpack_from("<Q", data, 24)
    struct.pack_into("<Q", data, 24, entry - ph[4] + paddr)
    ph[3] = ph[4] = paddr
    _set_ph(data, off, ph)


def _check_refused(t, data, pattern, env=None):
    """Exit status 1, empty stdout, stderr naming the file and matching `pattern`."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "broken.elf")
        with open(path, "wb") as f:
            f.write(data)
        r = harness.run_proxy(path, env=env)
        out, err = guestrun.text(r.stdout), guestrun.text(r.stderr)
        res = harness.Result(r.returncode, out, err)
        guestrun.expect_status(t, res, guestrun.STATUS_SETUP, "broken image (%s)" % pattern)
        t.eq(out, "", "stdout of a refused image")
        t.contains(err, path, "stderr names the image")
        guestrun.expect_stderr(t, res, pattern, "stderr names the problem")


def _hello():
    with open(harness.guest("hello"), "rb") as f:
        return bytearray(f.read())


@test
def image_not_elf_refused(t):
    _check_refused(t, bytearray(b"this is a text file, not a kernel\n" * 10), r"not an ELF")


@test
def image_32bit_refused(t):
    d = _hello()
    d[4] = 1  # EI_CLASS = ELFCLASS32
    _check_refused(t, d, r"64-bit")


@test
def image_wrong_osabi_refused(t):
    d = _hello()
    d[7] = 0  # EI_OSABI = System V
    _check_refused(t, d, r"OSABI")


@test
def image_wrong_machine_refused(t):
    d = _hello()
    struct.pack_into("<H", d, 18, 3)  # e_machine = EM_386
    _check_refused(t, d, r"x86[-_]64")


@test
def image_et_dyn_refused(t):
    d = _hello()
    struct.pack_into("<H", d, 16, 3)  # e_type = ET_DYN
    _check_refused(t, d, r"executable|ET_EXEC")


@test
def image_segment_outside_ram_refused(t):
    d = _hello()
    off, ph = _loads(d)[-1]
    ph[3] = ph[4] = 1 << 30  # p_vaddr = p_paddr = 1 GiB, beyond 32 MiB of RAM
    _set_ph(d, off, ph)
    _check_refused(t, d, r"outside guest memory", env={"HERMIT_MEM": "32M"})


@test
def image_segment_wrapping_address_space_refused(t):
    d = _hello()
    off, ph = _loads(d)[-1]
    ph[6] = (1 << 64) - 0x1000  # p_memsz: p_paddr + p_memsz wraps
    _set_ph(d, off, ph)
    _check_refused(t, d, r"wraps|outside guest memory")


@test
def image_overlapping_fixed_area_refused(t):
    d = _hello()
    _move_first_segment(d, 0x1000)  # over the GDT / boot info / page tables
    _check_refused(t, d, r"fixed area")


@test
def image_boot_stack_overlapping_fixed_area_refused(t):
    d = _hello()
    _move_first_segment(d, 0x14000)  # the segment clears 0x13000, its boot stack does not
    _check_refused(t, d, r"fixed area|boot stack")


@test
def image_truncated_refused(t):
    d = _hello()
    off, ph = _loads(d)[0]
    _check_refused(t, d[: ph[2] + ph[5] // 2], r"truncated")


@test
def image_filesz_larger_than_memsz_refused(t):
    d = _hello()
    off, ph = _loads(d)[0]
    ph[6] = ph[5] - 16  # p_memsz < p_filesz
    _set_ph(d, off, ph)
    _check_refused(t, d, r"filesz")
