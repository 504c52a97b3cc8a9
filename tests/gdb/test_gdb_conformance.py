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

# Not in the realkvm lane: there (GDB, gdbserver and a nested guest on one TCG vCPU)
# its first case stalled the whole VM past every timeout in this session's runs, and
# the cause is not found yet. The host-dependent paths it compares (int3, watchpoints,
# stepping over port I/O, AVX state, record full) have their own tests in that lane:
# test_gdb_basic, test_gdb_watch*, test_gdb_step_io, test_gdb_packets_off,
# test_gdb_avx, test_gdb_record.
REALKVM_SUBSET = ()

for _case in conformance.all_cases():
    globals()[_case.name] = test(conformance.as_test(_case))  # run-tests looks it up by name
