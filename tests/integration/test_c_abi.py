"""The C HermitCore (libhermit) ABI: the shared cases on C-contract guests, plus
what only C images have (kernel header, IOAPIC, env-count quirk) and detection.

The c-<name>.elf guests start with `jmp start64` and the kernel header at the
first byte of their first PT_LOAD, linked at 0x800000 (tests/guest/rt/entry_c.S).
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
from flavours import C, RUSTY  # noqa: E402
from guestrun import expect_status, expect_stderr  # noqa: E402

flavours.instantiate(globals(), C, prefix="c_")

# ---- the kernel header, IOAPIC and CPU state (c-bootinfo) ----


@test
def c_bootinfo_defaults_match_the_abi(t):
    r = C.run("bootinfo", ["mem=%d" % (512 << 20)])
    t.ok(r, "c-bootinfo: " + r.stdout)
    t.contains(r.stdout, "bootinfo: ok")
    t.contains(r.stdout, "base=0x800000 ")


@test
def c_bootinfo_reflects_configuration(t):
    env = {"HERMIT_CPUS": "2", "HERMIT_VERBOSE": "1", "HERMIT_MEM": "64M",
           "HERMIT_IP": "192.168.7.9", "HERMIT_GATEWAY": "192.168.7.1",
           "HERMIT_MASK": "255.255.0.0"}
    args = ["cpus=2", "uart=1", "ip=192.168.7.9", "gw=192.168.7.1", "mask=255.255.0.0",
            "mem=%d" % (64 << 20)]
    r = C.run("bootinfo", args, env=env)
    t.ok(r, "c-bootinfo: " + r.stdout)
    t.contains(r.stdout, "bootinfo: ok")


@test
def c_bootinfo_only_the_ip_set_changes(t):
    r = C.run("bootinfo", ["ip=10.1.2.3"], env={"HERMIT_IP": "10.1.2.3"})
    t.ok(r, "c-bootinfo: " + r.stdout)  # gateway and mask keep the image defaults


@test
def c_bootinfo_4_cpus(t):
    r = C.run("bootinfo", ["cpus=4"], env={"HERMIT_CPUS": "4"})
    t.ok(r, "c-bootinfo: " + r.stdout)


@test
@guestrun.slow
def c_bootinfo_limit_counts_the_pci_hole(t):
    r = C.run("bootinfo", ["mem=%d" % (6 << 30)], env={"HERMIT_MEM": "6G"})
    t.ok(r, "c-bootinfo: " + r.stdout)
    t.contains(r.stdout, "limit=0x%x " % ((6 << 30) + (768 << 20)))


# ---- the env-count quirk (c-env: libhermit's way, canary in the NULL slot) ----


def _env(t, env):
    r = C.run_exact_env("env", [], env, extra=["--env-host"])
    t.ok(r, "c-env: " + r.stdout)
    got = [l[4:] for l in r.stdout.splitlines() if l.startswith("env=")]
    t.eq(got, ["%s=%s" % kv for kv in env.items()], "every host variable, in order")
    t.contains(r.stdout, "env: ok n=%d\n" % len(env))


@test
def c_env_quirk_keeps_the_last_variable_and_the_null_slot(t):
    _env(t, {"FIRST": "1", "MIDDLE": "a b", "EMPTY": "", "LAST": "the=last"})


@test
def c_env_quirk_with_one_variable(t):
    _env(t, {"ONLY": "one"})


@test
def c_env_quirk_with_no_variables(t):
    _env(t, {})


@test
def c_env_quirk_with_127_variables(t):
    _env(t, {"V%03d" % i: "value%d" % i for i in range(127)})


# ---- detection and the override ----


def _elf(name):
    with open(harness.guest(name), "rb") as f:
        return bytearray(f.read())


def _first_load_offset(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", data, phoff + i * phentsize)
        if p_type == 1:
            return p_offset
    raise harness.Failure("no PT_LOAD")


def _refused(t, data, pattern, env=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "patched.elf")
        with open(path, "wb") as f:
            f.write(data)
        r = harness.run_proxy(path, env=env)
        res = harness.Result(r.returncode, guestrun.text(r.stdout), guestrun.text(r.stderr))
        expect_status(t, res, guestrun.STATUS_SETUP, "patched image")
        t.eq(res.stdout, "", "stdout of a refused image")
        t.contains(res.stderr, path, "stderr names the image")
        expect_stderr(t, res, pattern, "stderr says why")


@test
def detect_jmp_at_entry_without_header_defaults_refused(t):
    d = _elf("hello")  # RustyHermit guest: entry = first byte of the first PT_LOAD
    d[_first_load_offset(d)] = 0xE9
    _refused(t, d, r"neither a Hermit 0.6 \(no hermit-entry note\), a RustyHermit nor a C "
             r"HermitCore image")


@test
def detect_c_image_with_a_clobbered_header_default_refused(t):
    d = _elf("c-hello")
    struct.pack_into("<I", d, _first_load_offset(d) + 0x78, 0)  # single_kernel
    _refused(t, d, r"neither a Hermit 0.6 \(no hermit-entry note\), a RustyHermit nor a C "
             r"HermitCore image")


@test
def detect_entry_outside_every_segment_refused(t):
    for name in ("hello", "c-hello"):
        d = _elf(name)
        struct.pack_into("<Q", d, 24, 0x100)  # e_entry
        _refused(t, d, r"outside every loadable segment")


@test
def detect_bad_abi_override_refused(t):
    r = C.run("hello", env={"HERMIT_ABI": "fortran"})
    expect_status(t, r, guestrun.STATUS_SETUP, "HERMIT_ABI=fortran")
    t.contains(r.stderr, "HERMIT_ABI")
    t.not_contains(r.stdout, "Hello")


@test
def detect_forcing_rusty_on_a_c_image(t):
    # proxy writes the RustyHermit boot info at 0x9000 and leaves the image's
    # header alone; the C guest finds possible_cpus == 0 there and gives up.
    for env in ({}, {"HERMIT_CPUS": "2"}):
        r = C.run("hello", env=dict(env, HERMIT_ABI="rusty", HERMIT_VERBOSE="1"),
                  extra=["--env-host"])
        expect_status(t, r, 98, "C guest forced to the RustyHermit ABI (%r)" % env)
        t.contains(r.stdout, "rt: possible_cpus 0")
        t.not_contains(r.stdout, "Hello")
        t.contains(r.stderr, "RustyHermit ABI (forced by HERMIT_ABI)")


@test
def detect_forcing_c_on_a_rusty_image_is_refused(t):
    # The C header would be written over the RustyHermit entry code: refuse instead.
    r = harness.run_proxy(RUSTY.guest("hello"), env={"HERMIT_ABI": "c"})
    t.eq(r.returncode, 1, "status")
    t.match(r"HERMIT_ABI=c.*no C HermitCore kernel header", r.stderr, "the refusal says why")
    t.not_contains(r.stdout, b"Hello", "nothing ran")
