"""File hypercalls against a host directory, and wild guest pointers (must be -EFAULT).

The cases are in abi_cases.py (group "files"), run here against the RustyHermit guests.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["files"])
