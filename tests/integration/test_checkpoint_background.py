"""Full checkpoints written in the background, and restores (src/snapshot/ckpt_background.c).

A full checkpoint pauses the guest only for its vCPU, VM and file state and a fork;
the child writes guest memory as it was at that instant while the guest runs on. The
bgckpt guest (tests/guest/bgckpt.c) rewrites every page it owns, sweep after sweep,
checking that each page still holds the previous sweep's generation: a checkpoint
whose memory mixes two instants (a page saved after the guest rewrote it) makes the
restored guest fail ("bgckpt: FAIL ..."). The test waits for checkpoints taken while
the guest sweeps, SIGKILLs proxy, creates the gate file and restores: the restored
guest sweeps twice more and says "bgckpt: ok".
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_checkpoint as ck  # noqa: E402  (imported as a library: registers no tests here)
from guestrun import wait_stdout  # noqa: E402
from harness import test  # noqa: E402

REALKVM_SUBSET = ("ckpt_background_",)

PAGES = 4096  # 16 MiB: a sweep takes longer than the child's write on KVM-PVM
MEM = "64M"
BACKGROUND = "(memory written in the background)"
OK = re.compile(r"^bgckpt: ok gen=\d+\n$")
RESTORED = re.compile(r"restored \S+checkpoint-\d{6}\.ckpt \(\d+ files?, 1 vCPUs, 64 MiB\) "
                      r"in [0-9.]+ ms")


def _checkpoint_while_sweeping(top, env_extra):
    """Run bgckpt checkpointed every second until two checkpoints begun while it swept
    are complete; kill it. Returns (files dir, checkpoint dir, gate path, stderr)."""
    files, ckdir = os.path.join(top, "files"), os.path.join(top, "ckpt")
    os.mkdir(files)
    gate = os.path.join(files, "gate")
    env = {"HERMIT_MEM": MEM, "HERMIT_CHECKPOINT": "1", "HERMIT_CHECKPOINT_DIR": ckdir,
           "HERMIT_VERBOSE": "1"}
    env.update(env_extra)
    with ck.Background(["--mount", files, harness.guest("bgckpt"), PAGES, gate], env=env) as p:
        wait_stdout(p, "bgckpt: running\n", timeout=ck.WAIT)
        want = ck.newest_begun(ckdir) + 2
        ck.wait_until(p, lambda: (ck.checkpoints(ckdir) or [0])[-1] >= want,
                      "complete %s" % ck.ckpt_path(ckdir, want))
        p.p.kill()
        p.p.wait()
        return files, ckdir, gate, p.stderr_text()


def _restore_is_one_instant(t, env_extra, background_lines, incremental=False):
    with tempfile.TemporaryDirectory() as top:
        top = os.path.realpath(top)
        files, ckdir, gate, err = _checkpoint_while_sweeping(top, env_extra)
        lines = [ln for ln in err.splitlines() if re.search(r"checkpoint \d+ \(full\)", ln)]
        t.true(lines, "a full checkpoint line (stderr %r)" % err[-2000:])
        for ln in lines:
            t.eq(BACKGROUND in ln, background_lines, "background or not: %r" % ln)
        inc = [ln for ln in err.splitlines() if re.search(r"checkpoint \d+ \(incremental\)", ln)]
        t.eq(len(lines) == 1 and len(inc) >= 1, incremental,
             "one full checkpoint, then incremental ones (stderr %r)" % err[-2000:])
        for ln in inc:
            t.not_contains(ln, BACKGROUND, "an incremental checkpoint's line")
        with open(gate, "w") as f:
            f.write("open\n")
        r = ck.restore(ckdir, env={"HERMIT_VERBOSE": "1"}, extra=["--mount", files])
        t.true(OK.match(r.stdout), "the restored guest's output %r (stderr %r)"
                % (r.stdout, r.stderr[-2000:]))
        t.eq(r.returncode, 0, "the restored guest's exit status")
        t.true(RESTORED.search(r.stderr), "the restore line with its time: %r" % r.stderr[-2000:])


@test
def ckpt_background_full_is_one_instant(t):
    """HERMIT_FULLCHECKPOINT=1: every checkpoint full, each written in the background
    while the guest rewrites every page; the latest restores exactly."""
    _restore_is_one_instant(t, {"HERMIT_FULLCHECKPOINT": "1"}, True)


@test
def ckpt_background_then_incremental_chain(t):
    """The default chain: the first checkpoint full (background; the dirty log starts
    at its instant), then incremental ones (paused): the chain restores exactly."""
    _restore_is_one_instant(t, {}, True, incremental=True)


@test
def ckpt_background_off_with_checkpoint_paused(t):
    """HERMIT_CHECKPOINT_PAUSED=1: full checkpoints written with the guest paused, as
    before; the same restore."""
    _restore_is_one_instant(t, {"HERMIT_FULLCHECKPOINT": "1", "HERMIT_CHECKPOINT_PAUSED": "1"},
                            False)


@test
def ckpt_restore_ignores_the_file_changing_afterwards(t):
    """The checkpoint file overwritten in place (its memory bytes zeroed) once the restored
    guest runs: the guest never sees it (restore reads guest memory before any vCPU runs,
    and holds no mapping of the file)."""
    with tempfile.TemporaryDirectory() as top:
        top = os.path.realpath(top)
        files, ckdir, gate, _ = _checkpoint_while_sweeping(top, {"HERMIT_FULLCHECKPOINT": "1"})
        path = ck.ckpt_path(ckdir, ck.checkpoints(ckdir)[-1])
        with ck.Background(["--restore", ckdir, "--mount", files],
                           env={"HERMIT_VERBOSE": "1"}) as r:
            ck.wait_until(r, lambda: RESTORED.search(r.stderr_text()), "the restore line")
            size = os.path.getsize(path)
            with open(path, "r+b") as f:  # in place: the same inode, as a mapping would see
                f.seek(size // 4)
                f.write(bytes(size // 2))
            with open(gate, "w") as f:
                f.write("open\n")
            rc = r.wait(timeout=ck.WAIT)
            t.true(OK.match(r.stdout_text()), "the restored guest's output %r (stderr %r)"
                    % (r.stdout_text(), r.stderr_text()[-2000:]))
            t.eq(rc, 0, "the restored guest's exit status")
