"""Core guest behaviour: output, arguments, environment, exit codes, UART, boot info.

The cases both ABIs share are in abi_cases.py (group "core"); this file runs them
against the RustyHermit guests and adds the RustyHermit boot-info checks.
test_c_abi.py runs the same cases against the C HermitCore guests.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import test  # noqa: E402
import flavours  # noqa: E402
from guestrun import run  # noqa: E402

flavours.instantiate(globals(), flavours.RUSTY, groups=["core"])


def _gtod_now():
    return "gtod=%d" % int(time.time() * 1e6)


@test
def bootinfo_defaults_match_the_abi(t):
    r = run("bootinfo", ["mem=%d" % (512 << 20), _gtod_now()])
    t.ok(r, "bootinfo: " + r.stdout)
    t.contains(r.stdout, "bootinfo: ok")


@test
def bootinfo_reflects_configuration(t):
    env = {"HERMIT_CPUS": "2", "HERMIT_VERBOSE": "1", "HERMIT_MEM": "64M",
           "HERMIT_IP": "10.0.5.2", "HERMIT_GATEWAY": "10.0.5.1", "HERMIT_MASK": "255.255.255.0"}
    args = ["cpus=2", "uart=1", "ip=10.0.5.2", "gw=10.0.5.1", "mask=255.255.255.0",
            "mem=%d" % (64 << 20), _gtod_now()]
    r = run("bootinfo", args, env=env)
    t.ok(r, "bootinfo: " + r.stdout)
    t.contains(r.stdout, "bootinfo: ok")
