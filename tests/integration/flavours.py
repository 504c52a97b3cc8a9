"""flavours.py: the two ABI flavours of the test guests, and how shared cases run.

Every program in tests/guest is built twice (tests/guest/guest.mk): <name>.elf
speaks the RustyHermit contract, c-<name>.elf the C HermitCore one. A case that
holds for both is written once in abi_cases.py as `@case(group)` taking
(t, flavour) and is instantiated per flavour by the suite files: the RustyHermit
suites (test_core.py, test_files.py, ...) under the case's own name,
test_c_abi.py with a "c_" prefix. Only what really differs between the ABIs
lives in the Flavour objects.
"""
import harness
from guestrun import run_exact_env, slow, text


class Flavour:
    def __init__(self, name, prefix, label, base, has_unlink):
        self.name = name              # "rusty" or "c" (HERMIT_ABI value)
        self.prefix = prefix          # image name prefix in build/guests
        self.label = label            # how proxy names the ABI (HERMIT_VERBOSE)
        self.base = base              # link address (= entry) of the test guests
        self.has_unlink = has_unlink  # UNLINK (0x840) is part of the ABI

    def guest(self, prog):
        return harness.guest(self.prefix + prog)

    def run(self, prog, args=(), env=None, **kw):
        r = harness.run_proxy(self.guest(prog), [str(a) for a in args], env=env, **kw)
        return harness.Result(r.returncode, text(r.stdout), text(r.stderr))

    def run_exact_env(self, prog, args, env, timeout=None):
        return run_exact_env(self.guest(prog), args, env, timeout)

    def __repr__(self):
        return self.name


RUSTY = Flavour("rusty", "", "RustyHermit", 0x200000, has_unlink=True)
C = Flavour("c", "c-", "C HermitCore", 0x800000, has_unlink=False)

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
