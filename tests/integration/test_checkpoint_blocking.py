"""A checkpoint taken while the guest waits in a blocking hypercall (src/snapshot/).

A vCPU waiting in a hypercall (an OPEN of a FIFO that has no writer yet) counts as
stopped for a save, which takes it before the call: the restored guest must make the
call again and get its answer, never go on past it with the result unwritten. The
catfile guest opens a FIFO and copies it to standard output; the test waits until
proxy's thread sleeps in the FIFO's open (its wchan), then for a checkpoint begun
after that, kills proxy and restores: the restored guest's OPEN waits again, the test
writes the FIFO, the guest prints the bytes and exits 0.

Hardware KVM leaves RIP on an OUT until the next KVM_RUN completes it, software KVM
(PVM) moves it past the instruction at the exit: there a save that took RIP as KVM
reports it made the restored guest skip the call (its OPEN "returned" the -38 the
test runtime presets).
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_checkpoint as ck  # noqa: E402  (imported as a library: registers no tests here)
from guestrun import wait_stdout  # noqa: E402
from harness import test  # noqa: E402

REALKVM_SUBSET = ("ckpt_restore_",)

DATA = "through the fifo\n"


def _waits_on_fifo(pid):
    """Whether a thread of process pid sleeps in a FIFO's open (waiting for a writer)."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                if f.read().strip() == "wait_for_partner":
                    return True
        except OSError:
            pass
    return False


def _restore_repeats_the_open(t, image):
    with tempfile.TemporaryDirectory() as top:
        top = os.path.realpath(top)
        files, ckdir = os.path.join(top, "files"), os.path.join(top, "ckpt")
        os.mkdir(files)
        fifo = os.path.join(files, "fifo")
        os.mkfifo(fifo)
        env = {"HERMIT_MEM": ck.MEM, "HERMIT_CHECKPOINT": "1", "HERMIT_CHECKPOINT_DIR": ckdir}
        with ck.Background(["--mount", files, image, fifo], env=env) as p:
            wait_stdout(p, "catfile: opening\n", timeout=ck.WAIT)
            ck.wait_until(p, lambda: _waits_on_fifo(p.p.pid), "proxy waiting in the FIFO's open")
            # A checkpoint begun now may have stopped the VM before; the next one did not.
            want = ck.newest_begun(ckdir) + 2
            ck.wait_until(p, lambda: (ck.checkpoints(ckdir) or [0])[-1] >= want,
                          "complete %s" % ck.ckpt_path(ckdir, want))
            p.p.kill()
            p.p.wait()
            t.eq(p.stdout_text(), "catfile: opening\n", "the guest's output until the kill")
        with ck.Background(["--restore", ckdir, "--mount", files]) as r:
            ck.wait_until(r, lambda: _waits_on_fifo(r.p.pid),
                          "the restored guest waiting in the FIFO's open again")
            with open(fifo, "w") as w:
                w.write(DATA)
            rc = r.wait(timeout=ck.WAIT)
            t.eq(r.stdout_text(), "catfile: reading\n" + DATA,
                 "the restored guest's output (stderr %r)" % r.stderr_text()[-2000:])
            t.eq(rc, 0, "the restored guest's exit status")


@test
def ckpt_restore_repeats_a_blocking_hypercall(t):
    """The OPEN hypercall of a guest port-I/O ABI (RustyHermit's)."""
    _restore_repeats_the_open(t, harness.guest("catfile"))


@test
def ckpt_restore_repeats_a_blocking_hypercall_uhyve_v2(t):
    """The same through uhyve's interface 2 (the open of hermit_fdt's guests)."""
    _restore_repeats_the_open(t, harness.guest("m2-catfile"))
