"""flavours.py: the ABI flavours of the test guests, and how shared cases run.

Every program in tests/guest is built once per flavour (tests/guest/guest.mk):
<name>.elf speaks the RustyHermit contract, c-<name>.elf the C HermitCore one,
entry-<name>.elf the Hermit 0.6 one (hermit-entry protocol v4) as a static PIE
that proxy relocates to 0x400000, entry-exec-<name>.elf the same as an ET_EXEC at
0x800000. A case that holds for all is written once in abi_cases.py as
`@case(group)` taking (t, flavour) and is instantiated per flavour by the suite
files: the RustyHermit suites (test_core.py, test_files.py, ...) under the case's
own name, test_c_abi.py with a "c_" prefix, test_hermit_entry.py with "entry_"
and "entry_exec_". Only what really differs between the ABIs lives in the
Flavour objects.
"""
import harness
from guestrun import run_exact_env, slow, text


class Flavour:
    def __init__(self, name, prefix, label, base, has_unlink, quiet_uartport=0, empty_env=()):
        self.name = name              # HERMIT_ABI / --abi value
        self.prefix = prefix          # image name prefix in build/guests
        self.label = label            # how proxy names the ABI (HERMIT_VERBOSE)
        self.base = base              # entry address of the test guests (as loaded)
        self.has_unlink = has_unlink  # UNLINK (0x840) is part of the ABI
        # the kernel-log port the guest is given without HERMIT_VERBOSE (0: none)
        self.quiet_uartport = quiet_uartport
        # the environment the guest sees when the host's is empty
        self.empty_env = list(empty_env)

    def env_as_seen(self, variables):
        """What the guest gets for these variables: Hermit 0.6's padded to 4."""
        missing = len(self.empty_env) - len(variables)
        return list(variables) + self.empty_env[:max(missing, 0)]

    def guest(self, prog):
        return harness.guest(self.prefix + prog)

    def run(self, prog, args=(), env=None, **kw):
        r = harness.run_proxy(self.guest(prog), [str(a) for a in args], env=env, **kw)
        return harness.Result(r.returncode, text(r.stdout), text(r.stderr))

    def run_exact_env(self, prog, args, env, timeout=None, extra=()):
        return run_exact_env(self.guest(prog), args, env, timeout, extra)

    def __repr__(self):
        return self.name


RUSTY = Flavour("rusty", "", "RustyHermit", 0x200000, has_unlink=True)
C = Flavour("c", "c-", "C HermitCore", 0x800000, has_unlink=False)
# Hermit 0.6 always gets the UART port (the kernel unwraps it; proxy drops the bytes
# unless HERMIT_VERBOSE) and never fewer than 4 variables (the kernel does not end
# the array with NULL, so proxy pads a short one with placeholder variables).
_HERMIT_ENTRY = dict(has_unlink=True, quiet_uartport=0x800,
                     empty_env=["HERMIT_ENV_PLACEHOLDER=1", "HERMIT_ENV_PLACEHOLDER2=1",
                                "HERMIT_ENV_PLACEHOLDER3=1", "HERMIT_ENV_PLACEHOLDER4=1"])
# Static PIE linked at 0, placed at 0x400000; its entry is the page after the ELF
# headers (tests/guest/hermit-pie.ld).
HERMIT_ENTRY = Flavour("hermit-entry", "entry-", "Hermit 0.6 (hermit-entry v4)", 0x401000,
                       **_HERMIT_ENTRY)
# ET_EXEC linked at 0x800000, entry = its first byte (tests/guest/hermit-exec.ld).
HERMIT_ENTRY_EXEC = Flavour("hermit-entry", "entry-exec-", "Hermit 0.6 (hermit-entry v4)",
                            0x800000, **_HERMIT_ENTRY)

_cases = []  # (group, name, fn, is_slow)


def case(group, is_slow=False):
    """Register fn(t, flavour) as a case of `group`, run for every flavour."""
    def deco(fn):
        _cases.append((group, fn.__name__, fn, is_slow))
        return fn
    return deco


def instantiate(namespace, flavour, groups=None, prefix=""):
    """Define and register one test per case (of `groups`, default all) in `namespace`."""
    import abi_cases  # noqa: F401  (defines the cases on first import)
    for group, name, fn, is_slow in _cases:
        if groups is not None and group not in groups:
            continue

        def test_fn(t, fn=fn):
            return fn(t, flavour)
        test_fn.__name__ = prefix + name
        if is_slow:
            test_fn = slow(test_fn)
        namespace[prefix + name] = harness.test(test_fn)
