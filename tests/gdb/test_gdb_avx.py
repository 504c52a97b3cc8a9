"""test_gdb_avx.py: the AVX registers ($ymm0..15) through GDB's i386.avx feature.

proxy describes ymm0h..ymm15h in target.xml and moves them with KVM_GET_XSAVE /
KVM_SET_XSAVE only when the vCPUs have AVX: CPUID leaf 1 ECX bit 28 and the YMM
bit of leaf 0xD (proxy gives the guest KVM's supported CPUID, read here the same
way). Software KVM (PVM) offers no AVX to its guests, so there the first test is
skipped with that reason and the second checks the feature is left out. The
guest never executes AVX itself (PVM could not run it in ring 0).
"""
import fcntl
import struct

from gdblib import debug_session, require_gdb
from harness import guest, skip, test

TARGET = "gdbtarget"
KVM_GET_SUPPORTED_CPUID = 0xC008AE05  # _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
NENT = 256
ENTRY = struct.Struct("<7I12x")  # function, index, flags, eax, ebx, ecx, edx, padding


def kvm_offers_avx():
    buf = bytearray(struct.pack("<II", NENT, 0) + bytes(NENT * ENTRY.size))
    with open("/dev/kvm", "rb") as kvm:
        fcntl.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)
    n = struct.unpack_from("<I", buf)[0]
    leaves = {}
    for i in range(n):
        fn, idx, _, eax, _, ecx, _ = ENTRY.unpack_from(buf, 8 + i * ENTRY.size)
        leaves[(fn, idx)] = (eax, ecx)
    leaf1 = leaves.get((1, 0), (0, 0))
    xcr0 = leaves.get((0xD, 0), (0, 0))
    return bool(leaf1[1] & (1 << 28)) and bool(xcr0[0] & (1 << 2))


@test
def ymm_registers_read_and_write(t):
    require_gdb()
    if not kvm_offers_avx():
        skip("this host's KVM offers no AVX to guests (CPUID leaf 1 ECX bit 28 clear: "
             "software KVM such as PVM), so proxy leaves the AVX feature out")
    s = debug_session(guest(TARGET), [
        "break compute", "continue", "p $ymm0.v8_int32", "set $ymm0.v8_int32[7] = 5",
        "set $xmm0.v4_int32[0] = 7", "stepi", "p $ymm0.v8_int32", "delete", "continue"])
    t.match(r"\$1 = \{(-?\d+, ){7}-?\d+\}", s.transcript, "$ymm0 is not void")
    t.match(r"\$2 = \{7, (-?\d+, ){6}5\}", s.transcript,
            "the upper half written (KVM_SET_XSAVE) and the lower (KVM_SET_FPU) both kept")
    t.contains(s.transcript, "exited normally")
    t.eq(s.proxy_rc, 0)


@test
def ymm_registers_left_out_without_avx(t):
    require_gdb()
    if kvm_offers_avx():
        skip("this host's KVM offers AVX: ymm_registers_read_and_write covers it")
    s = debug_session(guest(TARGET), ["p $ymm0", "p $xmm0.v4_int32", "kill"])
    t.contains(s.transcript, "$1 = void", "no AVX feature in target.xml")
    t.match(r"\$2 = \{0, 0, 0, 0\}", s.transcript, "SSE as before")
