"""Several vCPUs (the cpu_online start-up protocol) and guest RAM layouts (PCI hole).

The cases are in abi_cases.py (group "smp_memory"), run here against the RustyHermit guests.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["smp_memory"])
