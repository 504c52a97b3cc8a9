"""test_hermit06_image.py: a real, prebuilt Hermit 0.6.9 image (hermit-entry v4).

The image is test data nobody here wrote: ../shared/guests/hermit-0.6.9/hello_world
(a static-PIE Rust std program, "Hello, world!" then exit 0), or the file named by
PROXY_HERMIT06_IMAGE. A user's fresh clone has no ../shared: then every test here
says so and counts as skipped.

The image needs SSE and xsave in ring 0, so the host decides what can be checked:
- software KVM (PVM, this project's development hosts; `make check`): the kernel
  boots through its CPU set-up and then ends at its first SSE instruction, with
  status 122 and a message that names the instruction; GDB resolves the relocated
  image's symbols up to there.
- hardware KVM (`make check-realkvm`): the program runs to its end, with 1 and 2
  vCPUs and 64 MiB and 1 GiB of RAM; GDB stops at its Rust main, shows a backtrace
  and sees the exit code.
"""
import os
import re
import subprocess

from gdblib import debug_session, require_gdb
from harness import needs_hardware_kvm, needs_pvm, run_proxy, skip, test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_IMAGE = os.path.join(ROOT, "..", "shared", "guests", "hermit-0.6.9", "hello_world")
STATUS_INTERNAL_ERROR = 122


def real_image():
    path = os.environ.get("PROXY_HERMIT06_IMAGE") or DEFAULT_IMAGE
    if not os.path.isfile(path):
        skip("the real Hermit 0.6.9 image is absent (%s; set PROXY_HERMIT06_IMAGE)" % path)
    return os.path.abspath(path)


def linkage_name(image, path):
    """The mangled name of the Rust function `path` (a::b::c): GDB, without debug
    information, knows these functions only by it (or as `a::b::c::h<hash>`)."""
    parts = path.split("::")
    stem = "_ZN" + "".join("%d%s" % (len(p), p) for p in parts) + "17h"
    out = subprocess.run(["nm", image], capture_output=True, text=True, check=True).stdout
    m = re.search(r" [tT] (%s[0-9a-f]{16}E)$" % re.escape(stem), out, re.M)
    if not m:
        raise AssertionError("no symbol for %s in %s" % (path, image))
    return m.group(1)


def check_detected(t, stderr):
    t.contains(stderr, "Hermit 0.6 (hermit-entry v4) ABI (detected)", "the ABI proxy chose")
    t.contains(stderr, "loaded at 0x400000 (static-PIE: load bias 0x400000", "the load address")


# ---- software KVM (PVM) ----

@test
def pvm_real_image_ends_at_its_first_sse_instruction(t):
    needs_pvm()
    image = real_image()
    r = run_proxy(image, env={"HERMIT_VERBOSE": "1"}, timeout=120)
    err = r.stderr.decode(errors="replace")
    t.eq(r.returncode, STATUS_INTERNAL_ERROR, "status: KVM could not run an instruction")
    check_detected(t, err)
    t.contains(err, "Welcome to Hermit 0.6.9", "the kernel booted: boot info, stack, relocations")
    t.contains(err, "Hermit is running on uhyve!", "it found its platform in the boot info")
    t.match(r"could not execute `[a-z]+ %xmm\d+[^`]*` at RIP 0x[0-9a-f]+ \(bytes [0-9a-f ]+\) "
            r"\(an SSE/AVX instruction", err, "the message names the instruction and why")
    t.not_contains(err, "triple fault", "no wrong-ABI crash")
    t.not_contains(err, "RustyHermit", "not mistaken for the older contract")


@test
def pvm_real_image_quiet_without_verbose(t):
    needs_pvm()
    r = run_proxy(real_image(), timeout=120)
    err = r.stderr.decode(errors="replace")
    t.eq(r.returncode, STATUS_INTERNAL_ERROR)
    t.not_contains(err, "Welcome to Hermit", "the kernel log is dropped unless verbose")


@test
def pvm_gdb_knows_the_real_image_load_bias(t):
    needs_pvm()
    require_gdb()
    image = real_image()
    fn = linkage_name(image, "hermit::hermit::boot_processor_main")
    s = debug_session(image, ["info symbol $pc", "break " + fn, "continue", "bt",
                              "monitor info vm", "continue"])
    t.match(r"_start in section \.text", s.transcript, "the first instruction is _start")
    t.match(r"Breakpoint 1, 0x0*4[0-9a-f]{5} in hermit::hermit::boot_processor_main::h[0-9a-f]+ "
            r"\(\)", s.transcript, "a breakpoint on a kernel function of the relocated image")
    t.match(r"#0 +0x[0-9a-f]+ in hermit::hermit::boot_processor_main::h", s.transcript, "bt")
    t.match(r"#1 +0x[0-9a-f]+ in hermit_pre_init \(\)", s.transcript, "its caller")
    t.contains(s.transcript, "static-PIE: load bias 0x400000", "monitor info vm")
    t.eq(s.proxy_rc, STATUS_INTERNAL_ERROR, "then the SSE instruction ends the VM")


# ---- hardware KVM (make check-realkvm) ----

def run_hello(t, cpus, mem):
    r = run_proxy(real_image(), env={"HERMIT_CPUS": str(cpus), "HERMIT_MEM": mem}, timeout=300)
    out = r.stdout.decode(errors="replace")
    t.eq(r.returncode, 0, "exit code with %d vCPU(s), %s: %s" % (cpus, mem, r.stderr[-2000:]))
    t.contains(out, "Hello, world!", "the program's output")


@test
def hw_real_hello_world_1_cpu_64m(t):
    needs_hardware_kvm()
    run_hello(t, 1, "64M")


@test
def hw_real_hello_world_2_cpus_64m(t):
    needs_hardware_kvm()
    run_hello(t, 2, "64M")


@test
def hw_real_hello_world_1_cpu_1g(t):
    needs_hardware_kvm()
    run_hello(t, 1, "1G")


@test
def hw_real_hello_world_2_cpus_1g(t):
    needs_hardware_kvm()
    run_hello(t, 2, "1G")


@test
def hw_gdb_stops_at_the_real_image_rust_main(t):
    needs_hardware_kvm()
    require_gdb()
    image = real_image()
    s = debug_session(image, ["break " + linkage_name(image, "hello_world::main"), "continue",
                              "bt", "continue"], env={"HERMIT_MEM": "64M"})
    t.match(r"Breakpoint 1, 0x0*4[0-9a-f]{5} in hello_world::main::h[0-9a-f]+ \(\)",
            s.transcript, "stopped at the program's main")
    t.match(r"#0 +0x[0-9a-f]+ in hello_world::main::h", s.transcript, "frame 0")
    t.match(r"#1 +0x[0-9a-f]+ in ", s.transcript, "a caller frame")
    t.contains(s.transcript, "exited normally", "GDB sees exit code 0")
    t.eq(s.proxy_rc, 0)
    t.contains(s.stdout, "Hello, world!")
