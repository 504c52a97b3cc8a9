"""File hypercalls against a host directory, and wild guest pointers (must be -EFAULT).

The cases are in abi_cases.py (group "files"), run here against the RustyHermit guests.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["files"])

import harness  # noqa: E402


@harness.test
def open_refuses_the_hypervisors_own_files(t):
    """/dev/kvm and procfs (/proc/self/mem is proxy's memory) are off limits: -EACCES,
    even with the whole host mapped."""
    for path in ["/proc/self/mem", "/proc/self/environ", "/dev/kvm"]:
        r = harness.run_proxy(harness.guest("bench_file"), args=["in=" + path, "out=/dev/null"],
                              env={"HERMIT_TRACE": "1"}, extra=["--mount", "/"])
        t.contains(r.stderr, ('open("%s", O_RDONLY, 0) = -13 EACCES' % path).encode(), path)
        t.eq(r.returncode, 1, "the guest saw its open fail")
