"""Guests that crash the VM on purpose: each fatal reason has its own status and message.

Statuses (guestrun.py): 124 triple fault, 125 unhandled port or MMIO, 99 an
exception the guest runtime reported itself, 130/143 SIGINT/SIGTERM. The cases
are in abi_cases.py (group "fatal"), run here against the RustyHermit guests.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["fatal"])
