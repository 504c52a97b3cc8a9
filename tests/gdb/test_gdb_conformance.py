"""test_gdb_conformance.py: the GDB conformance suite (tests/gdb/conformance/), one test
per case: the same GDB script against proxy and against gdbserver with the native
twin must give the same facts and the expected ones. A case of PENDING (issue 23
items not fixed yet) that fails on proxy is a skip saying XFAIL; one that passes
fails with XPASS until it is taken out of PENDING. Skipped where gdbserver is absent.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance"))
import conformance  # noqa: E402
from harness import test  # noqa: E402

# The realkvm lane keeps the cases whose proxy path depends on the host's KVM: int3
# (KVM_EXIT_DEBUG or emulation failure), watchpoints (debug registers or single-step),
# stepping over port I/O, the AVX state, and recording (single-steps).
REALKVM_SUBSET = ("sw_breakpoint", "hw_breakpoint", "watch", "rwatch", "awatch", "stepi",
                  "ymm", "record_full")

for _case in conformance.all_cases():
    globals()[_case.name] = test(conformance.as_test(_case))  # run-tests looks it up by name
