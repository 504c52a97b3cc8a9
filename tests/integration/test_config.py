"""Command line and HERMIT_* configuration errors: refused at start, naming the culprit."""

# Refused before any VM exists: the host's kind of KVM cannot matter (see run-tests).
HOST_INDEPENDENT = True
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402
import guestrun  # noqa: E402
from guestrun import run, expect_status, expect_stderr  # noqa: E402


def _refused(t, var, value):
    r = run("hello", env={var: value})
    expect_status(t, r, guestrun.STATUS_SETUP, "%s=%s" % (var, value))
    t.contains(r.stderr, var, "stderr names the variable")
    t.not_contains(r.stdout, "Hello", "the guest must not run")


@test
def config_cpus_zero_refused(t):
    _refused(t, "HERMIT_CPUS", "0")


@test
def config_cpus_not_a_number_refused(t):
    _refused(t, "HERMIT_CPUS", "abc")


@test
def config_cpus_negative_refused(t):
    _refused(t, "HERMIT_CPUS", "-1")


@test
def config_cpus_beyond_kvm_refused(t):
    _refused(t, "HERMIT_CPUS", "100000")


@test
def config_mem_bad_suffix_refused(t):
    _refused(t, "HERMIT_MEM", "12Q")


@test
def config_mem_zero_refused(t):
    _refused(t, "HERMIT_MEM", "0")


@test
def config_mem_1k_refused(t):
    _refused(t, "HERMIT_MEM", "1K")  # below a page, and far below what the image needs


@test
def config_mem_below_image_refused(t):
    _refused(t, "HERMIT_MEM", "1M")  # hello ends above 2 MiB


@test
def config_verbose_not_boolean_refused(t):
    _refused(t, "HERMIT_VERBOSE", "2")


@test
def config_mem_suffixes_accepted(t):
    for value in ("64M", "64m", "65536K", "67108864"):
        r = run("memory", [64 << 20], env={"HERMIT_MEM": value})
        t.ok(r, "HERMIT_MEM=%s" % value)


@test
def config_missing_image_refused(t):
    path = "/nonexistent/dir/kernel.elf"
    r = harness.run_proxy(path)
    expect_status(t, harness.Result(r.returncode, r.stdout, guestrun.text(r.stderr)),
                  guestrun.STATUS_SETUP, "missing image")
    t.contains(guestrun.text(r.stderr), path, "stderr names the path")


@test
def config_no_arguments_prints_usage(t):
    import subprocess
    p = subprocess.run([harness.PROXY], env=harness.proxy_env(), capture_output=True,
                       timeout=harness.TIMEOUT)
    r = harness.Result(p.returncode, guestrun.text(p.stdout), guestrun.text(p.stderr))
    expect_status(t, r, guestrun.STATUS_USAGE, "no arguments")
    expect_stderr(t, r, r"usage", "usage text")
