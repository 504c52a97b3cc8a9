"""Checkpoints, restore and migration (src/snapshot/), with the ckpt guest (tests/guest/ckpt.c).

How a test checkpoints a guest at a known point without depending on timing: the guest
runs half its rounds, prints "gate" and then polls for a gate file that does not exist
yet (writing a scratch page between two looks). The test waits for "gate" on stdout and
for a checkpoint file that was begun after it, SIGKILLs proxy, creates the gate file and
restores: the restored guest is at the gate, finds the file and finishes. Everything the
guest prints is predicted by `model()` (the guest's computation, in Python), so each
test knows the exact result, exit status, standard output and out file it must see:

- the uninterrupted run prints model().stdout and exits with model().status;
- a restored (or migrated) guest prints exactly model().after_gate: nothing of what
  ran before the checkpoint again, and everything after it;
- the out file (open for writing across the checkpoint) ends as model().out.

Interface under test (the names are the contract): HERMIT_CHECKPOINT=N (seconds),
HERMIT_FULLCHECKPOINT=1, HERMIT_CHECKPOINT_DIR (default ./checkpoint), files
checkpoint-NNNNNN.ckpt; `proxy --restore DIR` and HERMIT_RESTORE=DIR; `proxy --incoming
127.0.0.1:PORT` / HERMIT_MIGRATION_SERVER=PORT and HERMIT_MIGRATION_SUPPORT /
--migrate-to with SIGUSR2 (docs/checkpoint-format.md for the file format).

tests/gdb/test_gdb_snapshot.py imports this module for model(), Guest and the helpers;
imported under its own name ("test_checkpoint"), it registers no tests there.
"""
import functools
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import flavours  # noqa: E402
import guestrun  # noqa: E402
from guestrun import expect_status, wait_stdout  # noqa: E402

# Defined but not registered when tests/gdb/test_gdb_snapshot.py imports this module.
test = harness.test if __name__ != "test_checkpoint" else (lambda fn: fn)

# Checkpointing depends on how the host's KVM saves and loads vCPU, LAPIC, clock and
# irqchip state, and dirty logging: the realkvm lane runs the restores of every kind
# and the migrations; the refusals, the uninterrupted run and the variants of the
# file naming take no other host path.
REALKVM_SUBSET = ("ckpt_restore_", "ckpt_chain_", "ckpt_smp_4", "ckpt_migrate_over")

ITERATIONS = 8          # rounds; the gate is after round 4
MEM = "64M"             # the guest needs ~14 MiB; small RAM keeps checkpoints small
WAIT = harness.TIMEOUT  # for each stage (seconds); no test asserts on time
STATUS_REFUSED = 1

# ---- the guest's computation (tests/guest/ckpt.c), to predict every line ----------

M64 = (1 << 64) - 1
PAGE_WORDS, ARRAY_PAGES, SAMPLES, ROUND_OPS = 512, 1024, 4, 512
AP_WORDS, AP_OPS = 16 * 512, 1024
SEED, AP_SEED, FNV_PRIME = 0x0123456789ABCDEF, 0xA5A5A5A55A5A5A5A, 0x100000001B3
STATUS_BASE = 16


def mix(x):
    """splitmix64's finalizer, as ckpt.c's mix()."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _sample_word(page, k):
    span = PAGE_WORDS // SAMPLES
    return page * PAGE_WORDS + k * span + ((page * 7 + k * 3) & (span - 1))


def _ap_digest(cpu):
    area = [0] * AP_WORDS
    s = mix(AP_SEED ^ cpu)
    for j in range(2 * AP_OPS):
        w = (s >> 7) & (AP_WORDS - 1)
        v = area[w]
        s = mix(s ^ v ^ j)
        area[w] = (v + s) & M64
    h = s
    for v in area:
        h = ((h ^ v) * FNV_PRIME) & M64
    return h


class Expected:
    """What a run of `ckpt ITERATIONS GATE OUT` with `cpus` vCPUs prints and writes."""

    def __init__(self, iterations, cpus, lines, out_lines, result):
        self.iterations, self.cpus, self.result = iterations, cpus, result
        self.status = STATUS_BASE + (result & 31)
        self.lines = [l + "\n" for l in lines]
        gate = self.lines.index("gate\n")
        self.stdout = "".join(self.lines)
        self.through_gate = "".join(self.lines[:gate + 1])
        self.before_gate = "".join(self.lines[:gate])  # stopped on entry to ckpt_at_gate
        self.after_gate = "".join(self.lines[gate + 1:])
        self.out = "".join(l + "\n" for l in out_lines)
        self.out_through_gate = "".join(l + "\n" for l in out_lines[:iterations // 2])

    def from_round(self, r):
        """stdout from the line of round r on (a guest rewound to ckpt_round_done(r))."""
        first = next(i for i, l in enumerate(self.lines) if l.startswith("progress %d " % r))
        return "".join(self.lines[first:])


@functools.lru_cache(maxsize=None)
def model(iterations=ITERATIONS, cpus=1):
    array = {}
    for p in range(ARRAY_PAGES):
        for k in range(SAMPLES):
            array[_sample_word(p, k)] = mix(p * SAMPLES + k)
    state = SEED ^ iterations
    lines = ["ckpt: start iterations=%d cpus=%d" % (iterations, cpus)]
    out = []
    for r in range(1, iterations + 1):
        for j in range(ROUND_OPS):
            w = _sample_word((state >> 11) & (ARRAY_PAGES - 1), (state >> 3) & (SAMPLES - 1))
            v = array[w]
            state = mix(state ^ v ^ ((r << 32) | j))
            array[w] = v ^ state
        lines.append("progress %d 0x%016x" % (r, state))
        out.append(lines[-1])
        if r == iterations // 2:
            lines.append("gate")
    h = state
    for p in range(ARRAY_PAGES):
        for k in range(SAMPLES):
            h = ((h ^ array[_sample_word(p, k)]) * FNV_PRIME) & M64
    result = mix(h)
    for cpu in range(1, cpus):
        d = _ap_digest(cpu)
        result = mix(result ^ d)
        lines.append("ap %d 0x%016x" % (cpu, d))
    lines.append("scratch ok")
    lines.append("result 0x%016x" % result)
    out.append(lines[-1])
    return Expected(iterations, cpus, lines, out, result)


# ---- running proxy without an image argument ---------------------------------------

class Background(harness.Proxy):
    """harness.Proxy for any command line (--restore DIR, --incoming ADDR: no image)."""

    def __init__(self, argv, env=None, stdin=subprocess.DEVNULL, cwd=None, binary=None):
        self.cmd = [binary or harness.PROXY] + [str(a) for a in argv]
        self.out = harness.output_file()
        self.err = harness.output_file()
        self.p = subprocess.Popen(self.cmd, env=harness.proxy_env(env), stdout=self.out,
                                  stderr=self.err, stdin=stdin, cwd=cwd)


def run_argv(argv, env=None, timeout=None, cwd=None, binary=None):
    """proxy ARGV to its end; a Result with text stdout and stderr."""
    cmd = [binary or harness.PROXY] + [str(a) for a in argv]
    try:
        p = subprocess.run(cmd, env=harness.proxy_env(env), capture_output=True,
                           timeout=timeout or WAIT, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise harness.Failure("proxy did not finish within %ss: %s\nstdout=%r\nstderr=%r" % (
            timeout or WAIT, cmd, e.stdout, e.stderr))
    return harness.Result(p.returncode, guestrun.text(p.stdout), guestrun.text(p.stderr))


def restore(directory, env=None, cwd=None, extra=()):
    """proxy --restore DIR [EXTRA]: the guest's file policy is EXTRA's --mount, as for a
    fresh boot (never the checkpoint's)."""
    return run_argv(["--restore", directory] + list(extra), env=env, cwd=cwd)


def wait_until(p, cond, what, timeout=None):
    """Poll cond() until true; a proxy that exits meanwhile, or the deadline, fails."""
    deadline = time.monotonic() + (timeout or WAIT)
    while not cond():
        if p.p.poll() is not None:
            if cond():
                return
            raise harness.Failure("proxy exited (%r) while waiting for %s: stdout=%r stderr=%r" % (
                p.p.returncode, what, p.stdout_text(), p.stderr_text()[-3000:]))
        if time.monotonic() > deadline:
            raise harness.Failure("no %s within %ss: stdout=%r stderr=%r" % (
                what, timeout or WAIT, p.stdout_text(), p.stderr_text()[-3000:]))
        time.sleep(0.05)


# ---- checkpoint files -------------------------------------------------------------

COMPLETE = re.compile(r"^checkpoint-(\d{6})\.ckpt$")
BEGUN = re.compile(r"^checkpoint-(\d{6})")  # also the .tmp of one being written


def checkpoints(d):
    """Sequence numbers of the complete checkpoints in d, ascending."""
    if not os.path.isdir(d):
        return []
    return sorted(int(m.group(1)) for m in map(COMPLETE.match, os.listdir(d)) if m)


def newest_begun(d):
    if not os.path.isdir(d):
        return 0
    return max([int(m.group(1)) for m in map(BEGUN.match, os.listdir(d)) if m] or [0])


def ckpt_path(d, seq):
    return os.path.join(d, "checkpoint-%06d.ckpt" % seq)


class Guest:
    """One ckpt guest's files: TOP/files (mounted: the gate and out.txt), TOP/ckpt."""

    def __init__(self, top, iterations=ITERATIONS, cpus=1, flavour=flavours.RUSTY):
        self.top = os.path.realpath(top)
        self.files = os.path.join(self.top, "files")
        os.mkdir(self.files)
        self.gate = os.path.join(self.files, "gate")
        self.out = os.path.join(self.files, "out.txt")
        self.ckdir = os.path.join(self.top, "ckpt")
        self.iterations, self.cpus, self.flavour = iterations, cpus, flavour
        self.image = flavour.guest("ckpt")
        self.expected = model(iterations, cpus)

    def mount(self):
        """The --mount the guest ran with: a restore gives it again."""
        return ["--mount", self.files]

    def argv(self, extra=()):
        return list(extra) + ["--mount", self.files, self.image, str(self.iterations),
                              self.gate, self.out]

    def env(self, **more):
        e = {"HERMIT_MEM": MEM, "HERMIT_CPUS": str(self.cpus)}
        e.update(more)
        return e

    def checkpoint_env(self, **more):
        return self.env(HERMIT_CHECKPOINT="1", HERMIT_CHECKPOINT_DIR=self.ckdir, **more)

    def open_gate(self):
        with open(self.gate, "w") as f:
            f.write("open\n")

    def out_text(self):
        with open(self.out) as f:
            return f.read()


def run_to_checkpoints(t, g, env, at_least=1, ckdir=None, cwd=None):
    """Run g with checkpoints on (env) until it waits at the gate and checkpoint number
    max(at_least, newest begun when "gate" appeared + 2) is complete, then SIGKILL it.
    The +2: a checkpoint begun (or its state taken) before "gate" was seen may be
    before the gate; the one after the next is surely at it. Returns (stderr, number)."""
    ckdir = ckdir or g.ckdir
    with Background(g.argv(), env=env, cwd=cwd) as p:
        wait_stdout(p, "gate\n", timeout=WAIT)
        want = max(at_least, newest_begun(ckdir) + 2)
        wait_until(p, lambda: (checkpoints(ckdir) or [0])[-1] >= want,
                   "complete %s" % ckpt_path(ckdir, want))
        p.p.kill()
        p.p.wait()
        stdout, stderr = p.stdout_text(), p.stderr_text()
    t.eq(stdout, g.expected.through_gate, "the guest's output until the kill")
    t.eq(g.out_text(), g.expected.out_through_gate, "the out file at the kill")
    return stderr, want


def check_restored(t, g, r, what):
    """r (a Result) is the guest continued at the gate and run to its end."""
    expect_status(t, r, g.expected.status, what)
    t.eq(r.stdout, g.expected.after_gate, "%s: the guest's output after the gate" % what)
    t.eq(g.out_text(), g.expected.out, "%s: the out file" % what)


def refused(t, r, message, what):
    expect_status(t, r, STATUS_REFUSED, what)
    t.contains(r.stderr, message, "%s: stderr" % what)
    t.eq(r.stdout, "", "%s: the guest printed nothing (nothing ran)" % what)


def _restore_case(t, cpus=1, flavour=flavours.RUSTY):
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top, cpus=cpus, flavour=flavour)
        run_to_checkpoints(t, g, g.checkpoint_env())
        g.open_gate()
        check_restored(t, g, restore(g.ckdir, extra=g.mount()), "restore of %s with %d vCPU(s)" % (
            os.path.basename(g.image), cpus))


def _verbose_kinds(stderr):
    """{N: 'full' | 'incremental'} from HERMIT_VERBOSE's "checkpoint N (KIND" lines."""
    return {int(n): kind for n, kind in
            re.findall(r"\bcheckpoint (\d+) \((full|incremental)", stderr)}


# ---- damaging a checkpoint ----------------------------------------------------------

HEADER_SIZE = 152  # src/snapshot/snap_format.h: magic, fields, CRC-32 of what precedes
SECTION = struct.Struct("<IIQII")  # type, index, length, crc32, 0


def _in_a_payload(data, off):
    """off, moved into a section's payload if it falls on a section header (when the
    file parses as header + sections ending in an END section at its end; else off)."""
    pos, payloads = HEADER_SIZE, []
    while pos + SECTION.size <= len(data):
        typ, _, length, _, _ = SECTION.unpack_from(data, pos)
        start = pos + SECTION.size
        if start + length > len(data):
            return off
        payloads.append((start, length))
        pos = start + length
        if typ == 0:
            break
    if pos != len(data) or not payloads:
        return off
    for start, length in payloads:
        if start <= off < start + length:
            return off
    start, length = max(payloads, key=lambda s: s[1])
    return start + length // 2 if length else off


def corrupted(data):
    b = bytearray(data)
    b[_in_a_payload(data, len(data) // 2)] ^= 0x5A
    return bytes(b)


def with_version(data, version):
    """The u32 at offset 8 set to `version`; the header CRC-32 updated when the file's
    own one is zlib's CRC-32 of the header (so the version, not the CRC, is refused)."""
    b = bytearray(data)
    crc_ok = len(data) >= HEADER_SIZE and struct.unpack_from("<I", data, HEADER_SIZE - 4)[0] == \
        zlib.crc32(data[:HEADER_SIZE - 4])
    struct.pack_into("<I", b, 8, version)
    if crc_ok:
        struct.pack_into("<I", b, HEADER_SIZE - 4, zlib.crc32(bytes(b[:HEADER_SIZE - 4])))
    return bytes(b)


# ---- tests ----------------------------------------------------------------------------


@test
def ckpt_uninterrupted_run_gives_the_predicted_result(t):
    """The reference every other test compares with: the guest's own output and status
    equal the model's, with the gate file there from the start (and, with 4 vCPUs,
    without a gate or out file)."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        g.open_gate()
        r = run_argv(g.argv(), env=g.env())
        expect_status(t, r, g.expected.status, "uninterrupted run")
        t.eq(r.stdout, g.expected.stdout, "uninterrupted run: stdout")
        t.eq(g.out_text(), g.expected.out, "uninterrupted run: the out file")
    e = model(ITERATIONS, 4)
    r = run_argv([flavours.RUSTY.guest("ckpt"), ITERATIONS], env={"HERMIT_MEM": MEM,
                                                                   "HERMIT_CPUS": "4"})
    expect_status(t, r, e.status, "uninterrupted run with 4 vCPUs")
    t.eq(r.stdout, e.stdout, "uninterrupted run with 4 vCPUs: stdout")


@test
def ckpt_restore_after_sigkill_continues_at_the_gate(t):
    """Checkpoint while the guest waits, SIGKILL, restore: the same result and status,
    the output goes on after the gate, the open out file ends complete."""
    _restore_case(t)


@test
def ckpt_restore_c_abi_2_cpus(t):
    """C HermitCore: the in-kernel IOAPIC and PIC come back too."""
    _restore_case(t, cpus=2, flavour=flavours.C)


@test
def ckpt_restore_hermit_entry_2_cpus(t):
    """Hermit 0.6 (relocated static PIE, every vCPU started at once)."""
    _restore_case(t, cpus=2, flavour=flavours.HERMIT_ENTRY)


@test
def ckpt_smp_2_cpus_restore(t):
    """The other vCPU sleeps in hlt at the checkpoint, is woken by an IPI after the
    restore and finishes its work: its digest is part of the result."""
    _restore_case(t, cpus=2)


@test
def ckpt_smp_4_cpus_restore(t):
    _restore_case(t, cpus=4)


@test
def ckpt_chain_of_5_incremental_checkpoints_restores(t):
    """The first checkpoint full, the next ones incremental (HERMIT_VERBOSE says which);
    the newest of the chain restores. Only the newest is surely smaller than the full
    one: it and the one before it were both taken at the gate, where the guest touches
    almost nothing; one taken while the guest computes may hold every page it has
    (its "covered" bitmap then makes it a little larger than the full one)."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        stderr, want = run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_VERBOSE="1"),
                                          at_least=6)
        seqs = checkpoints(g.ckdir)
        t.eq(seqs[:want], list(range(1, want + 1)), "checkpoints 1..%d in %s" % (want, seqs))
        kinds = _verbose_kinds(stderr)
        # The newest one's line may not have been printed before the kill.
        for n in range(1, want):
            t.eq(kinds.get(n), "full" if n == 1 else "incremental",
                 "HERMIT_VERBOSE's line for checkpoint %d (stderr %r)" % (n, stderr[-3000:]))
        t.eq([n for n, kind in kinds.items() if kind == "full"], [1], "only the first is full")
        full = os.path.getsize(ckpt_path(g.ckdir, 1))
        size = os.path.getsize(ckpt_path(g.ckdir, want))
        t.true(size < full // 2, "incremental checkpoint %d, taken at the gate (%d bytes), "
               "is much smaller than the full one (%d bytes)" % (want, size, full))
        g.open_gate()
        check_restored(t, g, restore(g.ckdir, extra=g.mount()),
                       "restore of a chain ending in %d" % want)


@test
def ckpt_fullcheckpoint_default_dir_env_restore_and_leftover_tmp(t):
    """HERMIT_FULLCHECKPOINT=1: every checkpoint full; the default directory ./checkpoint;
    HERMIT_RESTORE=DIR; a newer checkpoint still being written (.tmp) is ignored."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        ckdir = os.path.join(g.top, "checkpoint")
        env = g.env(HERMIT_CHECKPOINT="1", HERMIT_FULLCHECKPOINT="1", HERMIT_VERBOSE="1")
        stderr, want = run_to_checkpoints(t, g, env, at_least=3, ckdir=ckdir, cwd=g.top)
        kinds = _verbose_kinds(stderr)
        for n in range(1, want):
            t.eq(kinds.get(n), "full", "HERMIT_VERBOSE's line for checkpoint %d (stderr %r)" % (
                n, stderr[-3000:]))
        t.not_contains(stderr, "(incremental", "HERMIT_VERBOSE")
        newest = checkpoints(ckdir)[-1]
        with open(ckpt_path(ckdir, newest), "rb") as f:
            data = f.read()
        # The next checkpoint, half written when proxy died (whatever the kill left).
        with open(ckpt_path(ckdir, newest + 1) + ".tmp", "wb") as f:
            f.write(data[:len(data) // 2])
        g.open_gate()
        r = run_argv(g.mount(), env={"HERMIT_RESTORE": ckdir}, cwd=g.top)
        check_restored(t, g, r, "HERMIT_RESTORE=%s beside a .tmp" % ckdir)


@test
def ckpt_full_disk_is_reported_and_the_guest_goes_on(t):
    """Issue 22: a checkpoint directory on a full file system (a 64 KiB tmpfs, far
    smaller than one checkpoint) neither hangs nor stops the guest: every checkpoint
    fails with a message naming the cause, no partial file stays behind, and the
    guest runs to its normal end."""
    if os.geteuid() != 0:
        harness.skip("mounting a small tmpfs needs root")
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        os.mkdir(g.ckdir, 0o700)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "proxy-full",
                            g.ckdir], capture_output=True)
        if m.returncode:
            harness.skip("cannot mount a tmpfs here: %s" % m.stderr.decode(errors="replace"))
        try:
            with Background(g.argv(), env=g.checkpoint_env()) as p:
                wait_stdout(p, "gate\n", timeout=WAIT)
                wait_until(p, lambda: "No space left on device" in p.stderr_text(),
                           "a checkpoint that failed for want of space")
                g.open_gate()
                p.p.wait(timeout=WAIT)
                stdout, stderr = p.stdout_text(), p.stderr_text()
            expect_status(t, harness.Result(p.p.returncode, stdout, stderr), g.expected.status,
                          "the guest on a full disk")
            t.eq(stdout, g.expected.stdout, "the guest's whole output")
            t.eq(g.out_text(), g.expected.out, "the out file")
            t.match(r"HERMIT_CHECKPOINT: checkpoint 1 not written: [^\n]*No space left on "
                    r"device; the guest runs on", stderr, "the failure named")
            t.eq(os.listdir(g.ckdir), [], "no partial checkpoint left behind")
        finally:
            subprocess.run(["umount", g.ckdir], capture_output=True)


@test
def ckpt_refuse_damaged_checkpoints(t):
    """Truncated, corrupt, another format version, not a checkpoint at all, and a file
    the guest had open that is gone: each refused with status 1 and its message before
    anything runs; then the intact copy restores."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        _, seq = run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_FULLCHECKPOINT="1"))
        name = os.path.basename(ckpt_path(g.ckdir, seq))
        with open(ckpt_path(g.ckdir, seq), "rb") as f:
            data = f.read()
        rnd = random.Random(20240601)
        noise = bytes(rnd.randrange(256) for _ in range(8192))
        cases = [
            ("truncated", data[:len(data) // 2], "is truncated"),
            ("corrupt", corrupted(data), "checksum mismatch"),
            ("version-2", with_version(data, 2), "format version"),
            ("text", b"this is not a proxy checkpoint, only text\n" * 100,
             "is not a proxy checkpoint"),
            ("random", noise if not noise.startswith(b"PROXYCKP") else b"x" + noise,
             "is not a proxy checkpoint"),
        ]
        out_at_kill = g.out_text()
        for what, content, message in cases:
            d = os.path.join(g.top, "bad-" + what)
            os.mkdir(d)
            with open(os.path.join(d, name), "wb") as f:
                f.write(content)
            refused(t, restore(d), message, "%s checkpoint" % what)
            t.eq(g.out_text(), out_at_kill, "%s checkpoint: the out file is untouched" % what)
        intact = os.path.join(g.top, "intact")
        os.mkdir(intact)
        with open(os.path.join(intact, name), "wb") as f:
            f.write(data)
        g.open_gate()
        os.rename(g.out, g.out + ".away")
        refused(t, restore(intact, extra=g.mount()), "cannot reopen",
                "restore without the guest's open file")
        t.true(not os.path.exists(g.out), "a refused restore creates no file")
        os.rename(g.out + ".away", g.out)
        check_restored(t, g, restore(intact, extra=g.mount()), "restore of the intact copy")


@test
def ckpt_refuse_a_directory_without_a_complete_checkpoint(t):
    with tempfile.TemporaryDirectory() as top:
        empty = os.path.join(top, "empty")
        os.mkdir(empty)
        refused(t, restore(empty), "no complete checkpoint in", "--restore of an empty directory")
        refused(t, run_argv([], env={"HERMIT_RESTORE": empty}), "no complete checkpoint in",
                "HERMIT_RESTORE of an empty directory")
        only_tmp = os.path.join(top, "only-tmp")
        os.mkdir(only_tmp)
        with open(os.path.join(only_tmp, "checkpoint-000001.ckpt.tmp"), "wb") as f:
            f.write(b"PROXYCKP" + bytes(200))
        refused(t, restore(only_tmp), "no complete checkpoint in",
                "a directory with only a checkpoint being written")
        r = restore(os.path.join(top, "does-not-exist"))
        expect_status(t, r, STATUS_REFUSED, "--restore of a missing directory")
        t.true(r.stderr.strip() != "", "a message names the problem: %r" % r)
        t.eq(r.stdout, "", "nothing ran")


def _wait_exited_unreaped(p, what, also=lambda: ""):
    """Wait until p has exited, leaving it a zombie (so a signal sent now cannot reach
    another process that reused its pid)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, p.p.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return
        except ChildProcessError:
            return  # already reaped
        if "migration failed" in p.stderr_text():  # it goes on running the guest itself
            break
        time.sleep(0.05)
    raise harness.Failure("%s did not exit (within %ss): stdout=%r stderr=%r%s" % (
        what, WAIT, p.stdout_text(), p.stderr_text()[-3000:], also()))


def _migrate(t, cpus, target_argv, target_env, source_extra, source_env):
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top, cpus=cpus)
        # A migrating guest gets the target's own file policy, never its stream's.
        targ = [a.replace("PORT", str(port)) for a in target_argv] + ["--mount", g.files]
        tenv = {k: v.replace("PORT", str(port)) for k, v in target_env.items()}
        senv = {k: v.replace("PORT", str(port)) for k, v in source_env.items()}
        sextra = [a.replace("PORT", str(port)) for a in source_extra]
        with Background(targ, env=tenv) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with Background(g.argv(sextra), env=g.env(**senv)) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                def target_said():
                    return "\ntarget: rc=%r stderr=%r" % (target.p.poll(),
                                                          target.stderr_text()[-3000:])
                _wait_exited_unreaped(source, "the source after SIGUSR2", target_said)
                os.kill(source.p.pid, signal.SIGKILL)  # it has exited: changes nothing
                rc = source.p.wait()
                t.eq(rc, 0, "the source's exit status (stderr %r)%s" % (
                    source.stderr_text()[-3000:], target_said()))
                t.contains(source.stderr_text(), "migrated to %s" % addr, "the source's stderr")
                t.eq(source.stdout_text(), g.expected.through_gate, "the source's output")
            g.open_gate()
            rc = target.wait(timeout=WAIT)
            r = harness.Result(rc, target.stdout_text(), target.stderr_text())
            t.true(rc == g.expected.status, "the target's status: %r" % r)
        check_restored(t, g, r, "the migrated guest")


@test
def ckpt_migrate_over_loopback(t):
    """--incoming on the target, HERMIT_MIGRATION_SUPPORT and SIGUSR2 on the source: the
    source exits 0 once the target has the guest, the target runs it to the end."""
    _migrate(t, 1, ["--incoming", "127.0.0.1:PORT"], {}, [],
             {"HERMIT_MIGRATION_SUPPORT": "127.0.0.1:PORT"})


@test
def ckpt_migrate_2_cpus_with_the_other_spellings(t):
    """HERMIT_MIGRATION_SERVER=PORT (loopback) on the target, --migrate-to on the source."""
    _migrate(t, 2, [], {"HERMIT_MIGRATION_SERVER": "PORT"}, ["--migrate-to", "127.0.0.1:PORT"],
             {})


@test
def ckpt_migration_gets_the_targets_file_policy(t):
    """A migrating guest gets the target's --mount policy, never its stream's: a
    target without the mount cannot reopen the guest's file, refuses, and the guest
    goes on at the source, which says so."""
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        with Background(["--incoming", addr], env={}) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with Background(g.argv(["--migrate-to", addr]), env=g.env()) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                rc = target.wait(timeout=WAIT)
                t.eq(rc, STATUS_REFUSED, "the target refuses: %r" % target.stderr_text())
                t.contains(target.stderr_text(), "cannot reopen the guest's file",
                           "the target's message")
                t.eq(target.stdout_text(), "", "nothing ran at the target")
                source.wait_stderr("migration failed", timeout=WAIT)
                g.open_gate()
                rc = source.wait(timeout=WAIT)
                t.eq(rc, g.expected.status, "the guest finished at the source: %r" %
                     source.stderr_text()[-2000:])
                t.eq(source.stdout_text(), g.expected.through_gate + g.expected.after_gate,
                     "the source's whole output")


# ---- what a checkpoint may not decide (issue 22) -----------------------------------

NOBODY = 65534


def _sections(data):
    """[(type, index, payload start, length)] of a checkpoint's sections."""
    pos, out = HEADER_SIZE, []
    while pos + SECTION.size <= len(data):
        typ, index, length, _, _ = SECTION.unpack_from(data, pos)
        out.append((typ, index, pos + SECTION.size, length))
        pos += SECTION.size + length
        if typ == 0:
            break
    return out


def with_config(data, edit):
    """data with its CONFIG payload replaced by edit(text), the CRC-32 fixed up (what a
    planted checkpoint can do)."""
    typ, index, start, length = _sections(data)[0]
    assert typ == 1, "CONFIG comes first"
    text = edit(data[start:start + length].decode())
    payload = text.encode()
    head = SECTION.pack(typ, index, len(payload), zlib.crc32(payload), 0)
    return data[:start - SECTION.size] + head + payload + data[start + length:]


def _private_copy(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _one_checkpoint(t, g):
    """Run g to a full checkpoint at the gate; the bytes of the newest one."""
    _, seq = run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_FULLCHECKPOINT="1"))
    with open(ckpt_path(g.ckdir, seq), "rb") as f:
        return f.read()


@test
def ckpt_restore_takes_its_file_policy_from_the_command_line(t):
    """Finding 3: the checkpoint's mount lines are never the policy. A planted
    checkpoint that maps the guest's directory to another host tree reaches nothing
    there: without --mount the restore is refused (the saved open file lies outside
    the policy, one message, nothing runs); outside the given --mount likewise, with a
    hint; with the --mount the guest ran with (allowed with --restore now) it goes on,
    and the planted tree is untouched."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        data = _one_checkpoint(t, g)
        other = os.path.join(g.top, "other")
        os.mkdir(other)
        for name, text in (("gate", "open\n"), ("out.txt", g.out_text())):
            with open(os.path.join(other, name), "w") as f:
                f.write(text)
        planted = os.path.join(g.top, "planted")
        os.mkdir(planted, 0o700)
        lines = lambda text: "".join(
            l + "\n" for l in text.splitlines() if not l.startswith("mount=")) + \
            "mount=rw\t%s\t%s\n" % (other, g.files)
        _private_copy(ckpt_path(planted, 1), with_config(data, lines))
        r = restore(planted)
        refused(t, r, "cannot reopen the guest's file", "a planted mount without --mount")
        t.contains(r.stderr, "the checkpoint ran with --mount %s:%s" % (other, g.files),
                   "the hint names what the checkpoint says")
        t.eq(len(r.stderr.strip().splitlines()), 1, "one message: %r" % r.stderr)
        elsewhere = os.path.join(g.top, "elsewhere")
        os.mkdir(elsewhere)
        refused(t, restore(planted, extra=["--mount", elsewhere]),
                "cannot reopen the guest's file", "a saved file outside the given --mount")
        with open(os.path.join(other, "out.txt")) as f:
            other_out = f.read()
        g.open_gate()
        check_restored(t, g, restore(planted, extra=g.mount()),
                       "the planted checkpoint under this proxy's --mount")
        with open(os.path.join(other, "out.txt")) as f:
            t.eq(f.read(), other_out, "the planted tree's file is untouched")


@test
def ckpt_restore_refuses_cpus_memory_the_checkpoint_contradicts(t):
    """-c/-m given with --restore: the same as the checkpoint's is fine, another
    refused with a message before anything runs (never silently ignored)."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_FULLCHECKPOINT="1"))
        refused(t, restore(g.ckdir, extra=g.mount() + ["-c", "2"]), "has 1 vCPUs",
                "--restore -c 2 of a 1-vCPU guest")
        refused(t, restore(g.ckdir, env={"HERMIT_MEM": "128M"}, extra=g.mount()),
                "has 64 MiB of memory", "HERMIT_MEM=128M with --restore of a 64M guest")
        g.open_gate()
        check_restored(t, g, restore(g.ckdir, env={"HERMIT_CPUS": "1"},
                                     extra=g.mount() + ["-m", MEM, "--env", "X=1"]),
                       "--restore with the checkpoint's own -c and -m, and --env")


@test
def ckpt_restore_checks_the_directory_and_its_files(t):
    """Findings 3 and 6: the directory and each checkpoint file must be proxy's user's
    and writable by no one else, files regular, no symlink followed; a FIFO named like
    a checkpoint (alone, or the newest beside a good one) is refused, never waited
    on. Each refusal: status 1, one message, nothing ran."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        data = _one_checkpoint(t, g)
        name = "checkpoint-000001.ckpt"

        def case(what, message, setup):
            d = os.path.join(g.top, what)
            os.mkdir(d, 0o700)
            setup(d)
            r = restore(d, extra=g.mount())
            refused(t, r, message, what)
            t.eq(len(r.stderr.strip().splitlines()), 1, "%s: one message: %r" % (what, r.stderr))

        def good(d):
            _private_copy(os.path.join(d, name), data)

        case("dir-of-nobody", "belongs to uid 65534",
             lambda d: (good(d), os.chown(d, NOBODY, NOBODY)))
        case("dir-0777", "is writable by others", lambda d: (good(d), os.chmod(d, 0o777)))
        case("dir-0770", "is writable by its group", lambda d: (good(d), os.chmod(d, 0o770)))
        case("file-of-nobody", "belongs to uid 65534",
             lambda d: (good(d), os.chown(os.path.join(d, name), NOBODY, NOBODY)))
        case("file-0666", "is writable by others",
             lambda d: _private_copy(os.path.join(d, name), data, 0o666))
        case("file-symlink", "is a symbolic link",
             lambda d: os.symlink(ckpt_path(g.ckdir, checkpoints(g.ckdir)[-1]),
                                  os.path.join(d, name)))
        case("fifo", "is not a regular file", lambda d: os.mkfifo(os.path.join(d, name)))
        case("fifo-newest", "is not a regular file",
             lambda d: (good(d), os.mkfifo(os.path.join(d, "checkpoint-000009.ckpt"))))
        link = os.path.join(g.top, "link-to-dir")
        real = os.path.join(g.top, "real-dir")
        os.mkdir(real, 0o700)
        good(real)
        os.symlink(real, link)
        for spelling in (link, link + "/"):
            r = restore(spelling, extra=g.mount())
            refused(t, r, "is a symbolic link", "--restore %s (a symlink)" % spelling)
        g.open_gate()
        check_restored(t, g, restore(real, extra=g.mount()), "the good copy")


def _stat(path):
    st = os.lstat(path)
    return st.st_uid, st.st_mode & 0o7777


@test
def ckpt_checkpoint_dir_must_be_proxys_own(t):
    """Finding 3 and the minor ones: HERMIT_CHECKPOINT_DIR another user made (with a
    0666 .tmp in it for root's guest memory), one writable by others, or a symlink is
    refused at start; an existing one of ours is made 0700, a new one is 0700, and a
    stale .tmp there (even another user's 0666 one) never receives guest memory: the
    checkpoint is a new 0600 file of ours."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)

        def start_refused(d, message, what):
            r = run_argv(g.argv(), env=g.env(HERMIT_CHECKPOINT="1", HERMIT_CHECKPOINT_DIR=d))
            refused(t, r, message, what)

        theirs = os.path.join(g.top, "theirs")
        os.mkdir(theirs)
        os.chmod(theirs, 0o755)
        trap = os.path.join(theirs, "checkpoint-000001.ckpt.tmp")
        _private_copy(trap, b"", 0o666)
        os.chown(trap, NOBODY, NOBODY)
        os.chown(theirs, NOBODY, NOBODY)
        start_refused(theirs, "belongs to uid 65534", "a directory of another user")
        t.eq(os.path.getsize(trap), 0, "their .tmp got no guest memory")
        loose = os.path.join(g.top, "loose")
        os.mkdir(loose)
        os.chmod(loose, 0o777)
        start_refused(loose, "is writable by others", "a directory writable by all")
        real = os.path.join(g.top, "real")
        os.mkdir(real, 0o700)
        link = os.path.join(g.top, "link")
        os.symlink(real, link)
        start_refused(link, "is a symbolic link", "a symlinked HERMIT_CHECKPOINT_DIR")
        t.eq(os.listdir(real), [], "nothing written through the symlink")

        # An existing directory of ours, 0755, with a stale .tmp of another user for
        # the first checkpoint (kept: the next ones are incremental on it).
        os.mkdir(g.ckdir)
        os.chmod(g.ckdir, 0o755)
        stale = ckpt_path(g.ckdir, 1) + ".tmp"
        _private_copy(stale, b"stale", 0o666)
        os.chown(stale, NOBODY, NOBODY)
        run_to_checkpoints(t, g, g.checkpoint_env())
        t.eq(_stat(g.ckdir), (os.geteuid(), 0o700), "the directory is 0700 now")
        t.eq(_stat(ckpt_path(g.ckdir, 1)), (os.geteuid(), 0o600),
             "checkpoint 1 is a new file of ours, mode 0600 (not the planted .tmp)")
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        run_to_checkpoints(t, g, g.checkpoint_env(HERMIT_FULLCHECKPOINT="1"))
        t.eq(_stat(g.ckdir), (os.geteuid(), 0o700), "a directory proxy made is 0700")


@test
def ckpt_user_nobody_checkpoints_and_restores_with_its_rights(t):
    """Findings 9 and 5: `--user nobody` with HERMIT_CHECKPOINT writes checkpoints (the
    directory proxy makes is nobody's), and a restore with `--user nobody` reopens the
    guest's files as nobody: a saved file that became root's 0600 is refused (as the
    guest opening it itself would be), then, nobody's again, the guest goes on."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root (--user)")
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)  # nobody reaches the tree (Landlock's rules are by path)
        g = Guest(top)
        os.chown(g.files, NOBODY, NOBODY)
        user = ["--user", "nobody"]
        with Background(g.argv(user), env=g.checkpoint_env(HERMIT_FULLCHECKPOINT="1")) as p:
            wait_stdout(p, "gate\n", timeout=WAIT)
            want = newest_begun(g.ckdir) + 2
            wait_until(p, lambda: (checkpoints(g.ckdir) or [0])[-1] >= want,
                       "checkpoint %d written as nobody" % want)
            p.p.kill()
            p.p.wait()
            t.not_contains(p.stderr_text(), "not written", "no checkpoint failed")
        t.eq(_stat(g.ckdir), (NOBODY, 0o700), "the directory is nobody's, 0700")
        t.eq(_stat(ckpt_path(g.ckdir, want))[0], NOBODY, "the checkpoint is nobody's")
        os.chown(g.out, 0, 0)
        os.chmod(g.out, 0o600)
        out = g.out_text()
        refused(t, restore(g.ckdir, extra=g.mount() + user),
                "cannot reopen the guest's file %s (guest fd" % g.out,
                "--user nobody restore of a guest holding root's 0600 file")
        t.eq(g.out_text(), out, "root's file is untouched")
        os.chown(g.out, NOBODY, NOBODY)
        g.open_gate()
        check_restored(t, g, restore(g.ckdir, extra=g.mount() + user),
                       "--user nobody restore of nobody's guest")
@test
def ckpt_long_directory_paths_are_refused(t):
    """A --restore or HERMIT_CHECKPOINT_DIR path longer than proxy's 4096-byte buffer
    is refused with a message (status 1), never cut short: "TOP/./././..." of 5000
    characters, ending in '/', cut at 4095 would name TOP itself (and the ASan build
    saw a stack-buffer-overflow there)."""
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        data = _one_checkpoint(t, g)
        d = os.path.join(g.top, "d")
        os.mkdir(d, 0o700)
        _private_copy(ckpt_path(d, 1), data)
        long = d + "/." * ((5000 - len(d)) // 2)
        long = long + "/" * (5000 - len(long))
        r = restore(long, extra=g.mount())
        refused(t, r, "the directory's path is 5000 characters long", "--restore of 5000 chars")
        t.eq(len(r.stderr.strip().splitlines()), 1, "one message: %r" % r.stderr[:300])
        r = run_argv(g.argv(), env=g.env(HERMIT_CHECKPOINT="1", HERMIT_CHECKPOINT_DIR=long))
        refused(t, r, "the directory's path is 5000 characters long",
                "HERMIT_CHECKPOINT_DIR of 5000 chars")


@test
def ckpt_user_restore_opens_the_image_as_that_user(t):
    """Finding 8 of the review: with --user nobody, a checkpoint nobody planted in
    nobody's directory may name any path as its image: it is opened as nobody, once.
    A root-only 0600 exact copy of the image, the same copy in a 0700 directory, a
    missing file and a different file all give the same one message, which tells
    nothing about the file; the copy made readable is restored from."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root (--user)")
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        g = Guest(top)
        os.chown(g.files, NOBODY, NOBODY)
        data = _one_checkpoint(t, g)
        for name in os.listdir(g.files):
            os.chown(os.path.join(g.files, name), NOBODY, NOBODY)
        with open(g.image, "rb") as f:
            image = f.read()
        private = os.path.join(g.top, "private")
        os.mkdir(private, 0o700)
        copies = {"root-0600": os.path.join(g.top, "image-0600"),
                  "in-0700-dir": os.path.join(private, "image"),
                  "missing": os.path.join(g.top, "no-such-image"),
                  "different": os.path.join(g.top, "image-other")}
        _private_copy(copies["root-0600"], image, 0o600)
        _private_copy(copies["in-0700-dir"], image, 0o644)
        _private_copy(copies["different"], image[:-1] + bytes([image[-1] ^ 1]), 0o644)

        def planted(what, path):
            d = os.path.join(g.top, "planted-" + what)
            os.mkdir(d, 0o700)
            edit = lambda text: "".join(
                ("image=%s" % path if l.startswith("image=") else l) + "\n"
                for l in text.splitlines())
            _private_copy(ckpt_path(d, 1), with_config(data, edit))
            os.chown(ckpt_path(d, 1), NOBODY, NOBODY)
            os.chown(d, NOBODY, NOBODY)
            return d

        user = ["--user", "nobody"]
        messages = set()
        for what, path in copies.items():
            d = planted(what, path)
            r = restore(d, extra=g.mount() + user)
            refused(t, r, "the image the checkpoint names, %s, cannot be used" % path, what)
            t.eq(len(r.stderr.strip().splitlines()), 1, "%s: one message: %r" % (what, r.stderr))
            for leak in ("Permission denied", "No such file", "size or CRC", "differs"):
                t.not_contains(r.stderr, leak, "%s: the message says nothing about the file" % what)
            messages.add(r.stderr.replace(path, "PATH").replace(d, "DIR"))
        t.eq(len(messages), 1, "the same message for each: %r" % messages)
        os.chmod(copies["root-0600"], 0o644)
        g.open_gate()
        check_restored(t, g, restore(planted("readable", copies["root-0600"]),
                                     extra=g.mount() + user),
                       "the copy nobody may read")


# ---- migration keys (--migration-key, HERMIT_MIGRATION_KEY: TLS-PSK) ----------------

def key_file(d, name="key", identity="proxy", mode=0o600):
    """A key file as `psktool -u IDENTITY -p FILE` writes it: IDENTITY:HEXKEY."""
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("%s:%s\n" % (identity, os.urandom(32).hex()))
    os.chmod(path, mode)
    return path


def need_fault_build():
    if not os.access(harness.FAULT_PROXY, os.X_OK):
        harness.skip("no test build at %s (make fault)" % harness.FAULT_PROXY)


@test
def ckpt_migrate_with_a_key(t):
    """Both ends with the same key (--migration-key on the target, HERMIT_MIGRATION_KEY
    on the source): the guest migrates through TLS-PSK, under the sandbox, and goes on
    at the target exactly where it was."""
    with tempfile.TemporaryDirectory() as kd:
        k = key_file(kd)
        _migrate(t, 1, ["--incoming", "127.0.0.1:PORT", "--migration-key", k], {},
                 ["--migrate-to", "127.0.0.1:PORT"], {"HERMIT_MIGRATION_KEY": k})


def _source_goes_on(t, g, source, message, what):
    """The source said why its migration failed and finishes the guest itself."""
    source.wait_stderr("migration failed", timeout=WAIT)
    t.contains(source.stderr_text(), message, "%s: the source's message" % what)
    g.open_gate()
    rc = source.wait(timeout=WAIT)
    t.eq(rc, g.expected.status, "%s: the guest finished at the source: %r" % (
        what, source.stderr_text()[-2000:]))
    t.eq(source.stdout_text(), g.expected.through_gate + g.expected.after_gate,
         "%s: the source's whole output" % what)


@test
def ckpt_migrate_wrong_key_is_refused(t):
    """A source with another key: the handshake fails, the target turns it away (and
    waits on), the source's guest goes on and proxy says why."""
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        ka, kb = key_file(top, "a"), key_file(top, "b")
        with Background(["--incoming", addr, "--migration-key", ka, "--mount", g.files],
                        env={}) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with Background(g.argv(["--migrate-to", addr, "--migration-key", kb]),
                            env=g.env()) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                target.wait_stderr("turned away a connection: the TLS handshake failed",
                                   timeout=WAIT)
                t.eq(target.p.poll(), None, "the target still waits for a source")
                _source_goes_on(t, g, source, "TLS handshake failed", "a wrong key")
            t.eq(target.stdout_text(), "", "nothing ran at the target")


@test
def ckpt_migrate_key_to_a_plain_listener_sends_no_guest_memory(t):
    """A source with a key that reaches a plain TCP listener sends it a TLS hello and
    nothing of the guest: the bytes it gets hold none of the guest's memory (the
    gate file's path is in the guest's arguments, and in any plain stream's CONFIG);
    the source goes on."""
    import socket
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        k = key_file(top)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        addr = "127.0.0.1:%d" % lst.getsockname()[1]
        got = b""
        with Background(g.argv(["--migrate-to", addr, "--migration-key", k]),
                        env=g.env()) as source:
            wait_stdout(source, "gate\n", timeout=WAIT)
            source.signal(signal.SIGUSR2)
            lst.settimeout(WAIT)
            conn, _ = lst.accept()
            conn.settimeout(1.0)  # what the source sends before it needs an answer
            try:
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    got += b
            except socket.timeout:
                pass
            conn.close()
            lst.close()
            _source_goes_on(t, g, source, "TLS handshake failed", "a plain listener")
        t.true(len(got) > 0, "the listener got the source's TLS hello")
        t.true(g.gate.encode() not in got,
               "no guest memory in the %d bytes the listener got" % len(got))


@test
def ckpt_migration_key_file_must_be_private(t):
    """A key file others may read (0644) or that is not a regular file is refused at
    start, on either end, as ssh refuses such keys."""
    with tempfile.TemporaryDirectory() as top:
        k = key_file(top, mode=0o644)
        port = harness.free_port()
        r = run_argv(["--incoming", "127.0.0.1:%d" % port, "--migration-key", k])
        refused(t, r, "is accessible by others (mode 0644)", "--incoming with a 0644 key")
        g = Guest(top)
        r = run_argv(g.argv(["--migrate-to", "127.0.0.1:%d" % port]), env=g.env(
            HERMIT_MIGRATION_KEY=k))
        refused(t, r, "is accessible by others (mode 0644)", "--migrate-to with a 0644 key")
        r = run_argv(["--incoming", "127.0.0.1:%d" % port, "--migration-key", top])
        refused(t, r, "is not a regular file", "a directory as the key")
        os.chmod(k, 0o600)
        os.chown(k, 65534, 65534)
        r = run_argv(["--incoming", "127.0.0.1:%d" % port, "--migration-key", k])
        refused(t, r, "belongs to uid 65534", "another user's key")


@test
def ckpt_migration_off_loopback_needs_a_key(t):
    """Without a key, --incoming on a non-loopback address and --migrate-to a
    non-loopback host are refused at start with a message naming --migration-key."""
    port = harness.free_port()
    r = run_argv(["--incoming", "0.0.0.0:%d" % port])
    refused(t, r, "needs --migration-key", "--incoming 0.0.0.0 without a key")
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        r = run_argv(g.argv(["--migrate-to", "192.0.2.1:%d" % port]), env=g.env())
        refused(t, r, "needs --migration-key", "--migrate-to 192.0.2.1 without a key")


@test
def ckpt_migrate_silent_target_source_resumes(t):
    """A target that takes the stream and never confirms: the source waits the
    confirmation time (60 s; seconds in the test build) and resumes its guest,
    saying why."""
    import socket
    import threading
    need_fault_build()
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        addr = "127.0.0.1:%d" % lst.getsockname()[1]
        conns = []

        def swallow():  # take everything, answer nothing
            lst.settimeout(WAIT)
            try:
                c, _ = lst.accept()
            except OSError:
                return
            conns.append(c)
            while c.recv(1 << 20):
                pass
        th = threading.Thread(target=swallow, daemon=True)
        th.start()
        with Background(g.argv(["--migrate-to", addr]), env=g.env(HERMIT_MIGRATION_DOWNTIME="0"),
                        binary=harness.FAULT_PROXY) as source:
            wait_stdout(source, "gate\n", timeout=WAIT)
            source.signal(signal.SIGUSR2)
            _source_goes_on(t, g, source, "did not confirm it can run the guest within",
                            "a silent target")
        th.join(WAIT)
        for c in conns:
            c.close()
        lst.close()


def _incoming_gives_up(t, feed, message):
    """--incoming (the test build's limits) and a source fed by feed(socket, done):
    the target gives up with status 1 and message, and runs nothing."""
    import socket
    import threading
    need_fault_build()
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with Background(["--incoming", addr], env={}, binary=harness.FAULT_PROXY) as target:
        target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                           timeout=WAIT)
        c = socket.create_connection(("127.0.0.1", port))
        done = threading.Event()
        th = threading.Thread(target=feed, args=(c, done), daemon=True)
        th.start()
        try:
            rc = target.wait(timeout=WAIT)
        finally:
            done.set()
            th.join(WAIT)
            c.close()
        t.eq(rc, STATUS_REFUSED, "the target gave up: %r" % target.stderr_text())
        t.contains(target.stderr_text(), message, "the target's message")
        t.eq(target.stdout_text(), "", "nothing ran at the target")


@test
def ckpt_incoming_silent_source_gives_up(t):
    """A source that connects and sends nothing: --incoming gives up after 60 s of
    silence (seconds in the test build) with a message, instead of waiting forever."""
    _incoming_gives_up(t, lambda c, done: done.wait(WAIT), "nothing from the source for")


@test
def ckpt_incoming_slow_source_meets_the_deadline(t):
    """A source that trickles its stream (a byte at a time, never silent for long):
    --incoming gives up at its overall deadline (600 s; seconds in the test build)."""
    header = b"PROXYCKP" + b"\x01\x00\x00\x00" + b"\x00" * 140

    def trickle(c, done):
        for b in header:
            if done.wait(0.3):
                return
            try:
                c.sendall(bytes([b]))
            except OSError:
                return
    _incoming_gives_up(t, trickle, "not complete within")


_FOREIGN_LISTENER = r'''
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(float(sys.argv[1]))
try:
    c, _ = s.accept()
except OSError:
    print("no connection", flush=True)
    sys.exit(0)
c.settimeout(2.0)
n = 0
try:
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
except OSError:
    pass
print("got", n, flush=True)
'''


@test
def ckpt_migrate_without_key_only_to_proxys_user(t):
    """Without a key the source sends the guest only to a listener of proxy's own
    user: one of another user (nobody) gets nothing of it, and the guest goes on."""
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        g = Guest(top)
        lst = subprocess.Popen(
            ["/usr/bin/python3", "-c", _FOREIGN_LISTENER, str(WAIT)], stdout=subprocess.PIPE,
            text=True, preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        try:
            addr = "127.0.0.1:%s" % lst.stdout.readline().strip()
            with Background(g.argv(["--migrate-to", addr]), env=g.env()) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                _source_goes_on(t, g, source, "is not run by proxy's user",
                                "a listener of another user")
            said = lst.stdout.read()
        finally:
            lst.kill()
            lst.wait()
        t.true(said.strip() in ("got 0", "no connection"),
               "the other user's listener got nothing: %r" % said)


@test
def ckpt_incoming_with_a_key_turns_away_a_plain_source(t):
    """A target with a key and a source that sends a plain stream (no TLS): the
    handshake fails, the target says so and waits for the next connection."""
    import socket
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        k = key_file(top)
        with Background(["--incoming", addr, "--migration-key", k], env={}) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"PROXYCKP" + b"\x01\x00\x00\x00" + b"\x00" * 140)
            target.wait_stderr("turned away a connection: the TLS handshake failed",
                               timeout=WAIT)
            c.close()
            t.eq(target.p.poll(), None, "the target still waits for a source")
            t.eq(target.stdout_text(), "", "nothing ran at the target")


# ---- the review of issue 22's migration: commit protocol, time limits, SIGPIPE ------

def _capture_hello(t, g, key):
    """The first flight (TLS ClientHello) a source with `key` sends: a valid hello for
    a target with the same key."""
    import socket
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    addr = "127.0.0.1:%d" % lst.getsockname()[1]
    with Background(g.argv(["--migrate-to", addr, "--migration-key", key]),
                    env=g.env()) as source:
        wait_stdout(source, "gate\n", timeout=WAIT)
        source.signal(signal.SIGUSR2)
        lst.settimeout(WAIT)
        conn, _ = lst.accept()
        conn.settimeout(WAIT)
        hello = conn.recv(65536)
        conn.close()
        lst.close()
    t.true(len(hello) > 0, "captured the source's hello")
    return hello


@test
def ckpt_incoming_survives_a_replayed_hello_and_close(t):
    """A peer that sends a valid ClientHello (replayed) and closes at once: GnuTLS's
    answer to the closed socket must not kill --incoming with SIGPIPE (status 141,
    no message); the target turns each away and waits on."""
    import socket
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    tries = 6
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        k = key_file(top)
        hello = _capture_hello(t, g, k)
        with Background(["--incoming", addr, "--migration-key", k], env={}) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            for i in range(tries):
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(hello)
                c.close()
                wait_until(target, lambda: target.stderr_text().count(
                    "turned away a connection") > i, "turning away connection %d" % (i + 1))
            t.eq(target.p.poll(), None, "the target still waits for a source: %r" %
                 target.stderr_text()[-2000:])
            t.eq(target.stdout_text(), "", "nothing ran at the target")


class _Relay:
    """A relay between a source and a keyless target (on loopback, run by root as the
    test: both ends accept it). It forwards the stream; the target's 'R' reaches the
    source only once `hold_ready` (an Event, if given) is set; with `drop_go` nothing
    the source sends after 'R' (its 'G') reaches the target. A side's end ends the
    other."""

    def __init__(self, target_port, hold_ready=None, drop_go=False):
        import socket
        import threading
        self.lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(1)
        self.addr = "127.0.0.1:%d" % self.lst.getsockname()[1]
        self.target_port, self.hold_ready, self.drop_go = target_port, hold_ready, drop_go
        self.ready_passed = threading.Event()
        self.dropped = 0
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    @staticmethod
    def _shut(sock):
        import socket
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _down(self, s, tg):
        try:
            while True:
                d = tg.recv(65536)
                if not d:
                    break
                if self.hold_ready is not None:
                    self.hold_ready.wait(WAIT)
                self.ready_passed.set()  # before the source can answer it
                s.sendall(d)
        except OSError:
            pass
        self._shut(s)

    def _run(self):
        import socket
        import threading
        self.lst.settimeout(WAIT)
        try:
            s, _ = self.lst.accept()
        except OSError:
            return
        tg = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._down, args=(s, tg), daemon=True).start()
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                if self.drop_go and self.ready_passed.is_set():
                    self.dropped += len(d)
                    continue
                tg.sendall(d)
        except OSError:
            pass
        self._shut(tg)

    def close(self):
        if self.hold_ready is not None:
            self.hold_ready.set()
        self.th.join(WAIT)
        self.lst.close()


@test
def ckpt_migrate_go_lost_neither_end_runs_the_guest(t):
    """The commit: a relay passes the whole stream and the target's 'R' but drops the
    source's 'G'. The source has sent it and ends (status 0) without running the
    guest on; the target never heard it and ends (status 1, a message) without
    running it: the guest is lost, never run twice (before: the target ran it as
    soon as its 'K' was written)."""
    need_fault_build()
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        with Background(["--incoming", addr, "--mount", g.files], env={},
                        binary=harness.FAULT_PROXY) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            relay = _Relay(port, drop_go=True)
            try:
                with Background(g.argv(["--migrate-to", relay.addr]), env=g.env(HERMIT_MIGRATION_DOWNTIME="0"),
                                binary=harness.FAULT_PROXY) as source:
                    wait_stdout(source, "gate\n", timeout=WAIT)
                    source.signal(signal.SIGUSR2)
                    rc = target.wait(timeout=WAIT)
                    t.eq(rc, STATUS_REFUSED, "the target ends: %r" % target.stderr_text())
                    t.contains(target.stderr_text(), "the source did not say go",
                               "the target's message")
                    rc = source.wait(timeout=WAIT)
                    t.eq(rc, 0, "the source ended after its go: %r" %
                         source.stderr_text()[-2000:])
                    t.contains(source.stderr_text(), "migrated to %s" % relay.addr,
                               "the source's message")
                    g.open_gate()  # a guest running anywhere would go on now
                    t.eq(source.stdout_text(), g.expected.through_gate,
                         "the source ran nothing after its go")
            finally:
                relay.close()
            t.true(relay.dropped > 0, "the relay dropped the source's go")
            t.eq(target.stdout_text(), "", "nothing ran at the target")


@test
def ckpt_migrate_ready_too_late_source_resumes_target_does_not_run(t):
    """The commit: a relay holds the target's 'R' past the source's wait (seconds in
    the test build): the source resumes its guest and says so; the target gets no
    'G' and ends (status 1) without running it (before: it ran it too)."""
    import threading
    need_fault_build()
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        with Background(["--incoming", addr, "--mount", g.files], env={},
                        binary=harness.FAULT_PROXY) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            relay = _Relay(port, hold_ready=threading.Event())
            try:
                with Background(g.argv(["--migrate-to", relay.addr]), env=g.env(HERMIT_MIGRATION_DOWNTIME="0"),
                                binary=harness.FAULT_PROXY) as source:
                    wait_stdout(source, "gate\n", timeout=WAIT)
                    source.signal(signal.SIGUSR2)
                    source.wait_stderr("migration failed", timeout=WAIT)
                    relay.hold_ready.set()  # 'R' reaches a source that resumed
                    rc = target.wait(timeout=WAIT)
                    t.eq(rc, STATUS_REFUSED, "the target ends: %r" % target.stderr_text())
                    t.contains(target.stderr_text(), "the source did not say go",
                               "the target's message")
                    _source_goes_on(t, g, source, "did not confirm it can run the guest",
                                    "'R' held back")
            finally:
                relay.close()
            t.eq(target.stdout_text(), "", "nothing ran at the target")


@test
def ckpt_incoming_silent_peer_blocks_no_keyed_migration(t):
    """A connection that never says anything, held open: a keyed source that comes
    after it migrates at once (handshakes advance side by side), and the silent one
    is never what the target waited for (no 'turned away' for it: it is dropped
    when the guest arrives)."""
    import socket
    with tempfile.TemporaryDirectory() as kd:
        k = key_file(kd)
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            _migrate_after(t, harness.free_port(), k, silent)
        finally:
            silent.close()


def _migrate_after(t, port, key, silent):
    """_migrate with a key, `silent` connected to the target before the source
    comes; the target must not have turned anything away."""
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        with Background(["--incoming", addr, "--migration-key", key, "--mount", g.files],
                        env={}) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            silent.connect(("127.0.0.1", port))
            with Background(g.argv(["--migrate-to", addr, "--migration-key", key]),
                            env=g.env()) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                rc = source.wait(timeout=WAIT)
                t.eq(rc, 0, "the source migrated: %r / target %r" % (
                    source.stderr_text()[-2000:], target.stderr_text()[-2000:]))
                t.contains(source.stderr_text(), "migrated to %s" % addr, "the source's stderr")
            t.true("turned away" not in target.stderr_text(),
                   "the silent peer was not waited out first: %r" % target.stderr_text())
            g.open_gate()
            rc = target.wait(timeout=WAIT)
            r = harness.Result(rc, target.stdout_text(), target.stderr_text())
        check_restored(t, g, r, "the guest migrated past a silent peer")


@test
def ckpt_incoming_turns_away_a_silent_handshake(t):
    """With a key, a peer that connects and never completes the TLS handshake is
    turned away after the handshake limit (10 s; seconds in the test build) and the
    target waits on."""
    import socket
    need_fault_build()
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        k = key_file(top)
        with Background(["--incoming", addr, "--migration-key", k], env={},
                        binary=harness.FAULT_PROXY) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            c = socket.create_connection(("127.0.0.1", port))
            try:
                target.wait_stderr("turned away a connection: no TLS handshake within",
                                   timeout=WAIT)
                t.eq(target.p.poll(), None, "the target still waits for a source")
            finally:
                c.close()
            t.eq(target.stdout_text(), "", "nothing ran at the target")


def _tls_trickle(src_sock, tport, stop):
    """Between a keyed source and target: the handshake and the first 32 KiB of the
    stream pass, then a byte every 0.3 s (never silent for long, so only the overall
    deadline can end it); everything the target sends goes back."""
    import socket
    import threading
    tg = socket.create_connection(("127.0.0.1", tport))

    def back():
        try:
            while True:
                d = tg.recv(4096)
                if not d:
                    break
                src_sock.sendall(d)
        except OSError:
            pass
    threading.Thread(target=back, daemon=True).start()
    src_sock.settimeout(0.1)
    passed, buf = 0, b""
    try:
        while not stop.is_set():
            try:
                d = src_sock.recv(65536)
                buf += d
            except socket.timeout:
                pass
            if passed < 32768 and buf:
                n = min(len(buf), 32768 - passed)
                tg.sendall(buf[:n])
                buf, passed = buf[n:], passed + n
            elif buf:
                tg.sendall(buf[:1])
                buf = buf[1:]
                stop.wait(0.3)
    except OSError:
        pass
    tg.close()


@test
def ckpt_incoming_tls_trickle_meets_the_deadline(t):
    """With a key, a relay that trickles the source's TLS records a byte at a time:
    --incoming still gives up at its time limits (no whole record for MIG_STALL_S,
    or the overall deadline; seconds in the test build), although GnuTLS waits for
    whole records (before: it stayed blocked inside GnuTLS, long past the deadline,
    each byte resetting the socket's timer)."""
    import socket
    import threading
    need_fault_build()
    port = harness.free_port()
    addr = "127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        k = key_file(top)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        raddr = "127.0.0.1:%d" % lst.getsockname()[1]
        stop = threading.Event()
        with Background(["--incoming", addr, "--migration-key", k, "--mount", g.files],
                        env={}, binary=harness.FAULT_PROXY) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with Background(g.argv(["--migrate-to", raddr, "--migration-key", k]),
                            env=g.env(), binary=harness.FAULT_PROXY) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                lst.settimeout(WAIT)
                s, _ = lst.accept()
                th = threading.Thread(target=_tls_trickle, args=(s, port, stop), daemon=True)
                th.start()
                try:
                    rc = target.wait(timeout=WAIT)
                finally:
                    stop.set()
                    th.join(WAIT)
                    s.close()
                    lst.close()
                t.eq(rc, STATUS_REFUSED, "the target gave up: %r" % target.stderr_text())
                t.contains(target.stderr_text(), "giving up", "the target's message")
                _source_goes_on(t, g, source, "migration failed", "a trickled stream")
            t.eq(target.stdout_text(), "", "nothing ran at the target")


@test
def ckpt_migrate_slow_reader_source_gives_up(t):
    """A keyless target of proxy's user that reads the stream slowly but steadily
    (a small window, a few KiB at a time): the source gives up at its time limits
    (progress too slow for MIG_STALL_S, or the overall deadline; seconds in the test
    build), says so and resumes its guest (before: each byte reset the send timer and
    the guest stayed paused for as long as the reader liked)."""
    import socket
    import threading
    need_fault_build()
    with tempfile.TemporaryDirectory() as top:
        g = Guest(top)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        addr = "127.0.0.1:%d" % lst.getsockname()[1]
        stop = threading.Event()

        def sip():
            lst.settimeout(WAIT)
            try:
                c, _ = lst.accept()
            except OSError:
                return
            try:
                while not stop.is_set() and c.recv(4096):
                    stop.wait(0.05)
            except OSError:
                pass
            c.close()
        th = threading.Thread(target=sip, daemon=True)
        th.start()
        try:
            with Background(g.argv(["--migrate-to", addr]), env=g.env(),
                            binary=harness.FAULT_PROXY) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                _source_goes_on(t, g, source, "giving up", "a slow reader")
        finally:
            stop.set()
            th.join(WAIT)
            lst.close()
