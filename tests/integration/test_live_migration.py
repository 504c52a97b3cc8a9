"""Live (pre-copy) migration (src/snapshot/mig_live.c): --migrate-downtime MS.

The source sends memory while its guest runs, in rounds of KVM's dirty log, stops it
when what is left fits the budget (or after a bound of rounds, saying so) and the
target runs it on. Guests that keep writing while they migrate: ckpt (its scratch
pages between two looks at the gate, checked at its end, and a result that hashes
its memory: tests/guest/ckpt.c) and bench_mig (every page rewritten pass after pass,
each checked at the end: tests/guest/bench_mig.c). Each migrated run must print what
an unmigrated run prints. No assertion on time.
"""
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_checkpoint as ck  # noqa: E402  (under this name it registers no tests)
from guestrun import expect_status, wait_stdout  # noqa: E402

test = harness.test
WAIT = ck.WAIT
LIVE_LINE = re.compile(r"migrated to (\S+) live: (\d+) rounds, (\d+) KiB sent \((\d+) KiB while "
                       r"stopped\), total [\d.]+ ms, downtime (?:at most )?[\d.]+ ms "
                       r"\(budget (\d+) ms\)(.*)")
MIG_MEM = "128M"
MIG_MIB = 4  # bench_mig's touched memory


def _listen():
    port = harness.free_port()
    return port, "127.0.0.1:%d" % port


def _send(t, source, what):
    """SIGUSR2 to the source; it exits 0 once the target has the guest. Its line."""
    source.signal(signal.SIGUSR2)
    rc = source.wait(timeout=WAIT)
    t.eq(rc, 0, "%s: the source's exit status (stderr %r)" % (what, source.stderr_text()[-3000:]))
    m = LIVE_LINE.search(source.stderr_text())
    t.true(m is not None, "%s: the source's live migration line: %r" % (
        what, source.stderr_text()[-3000:]))
    return m


def _live_ckpt(t, cpus, **env):
    port, addr = _listen()
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top, cpus=cpus)
        g.open_gate()
        plain = ck.run_argv(g.argv(), env=g.env())
        expect_status(t, plain, g.expected.status, "the unmigrated run")
        os.unlink(g.gate)
        with ck.Background(["--incoming", addr, "--mount", g.files]) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with ck.Background(g.argv(["--migrate-to", addr, "--migrate-downtime", "20"]),
                               env=g.env(**env)) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                m = _send(t, source, "%d vCPU(s)" % cpus)
                t.eq(m.group(1), addr, "the target named")
                t.true(int(m.group(2)) >= 1, "at least round 0 ran with the guest: %r" % m.group(0))
                t.eq(m.group(5), "20", "the budget")
                head = source.stdout_text()
            g.open_gate()
            rc = target.wait(timeout=WAIT)
            r = harness.Result(rc, target.stdout_text(), target.stderr_text())
        ck.check_restored(t, g, r, "the live-migrated guest (%d vCPUs)" % cpus)
        t.eq(head + r.stdout, plain.stdout, "source then target print what the unmigrated run "
             "does (its result line hashes the guest's memory)")


@test
def live_migrate_a_writing_guest_1_cpu(t):
    """ckpt, 1 vCPU, rewriting its scratch pages at the gate while it migrates: the
    target finishes it exactly as an unmigrated run does."""
    _live_ckpt(t, 1)


@test
def live_migrate_a_writing_guest_2_cpus(t):
    """The same with 2 vCPUs (the other one halted with half of its work done)."""
    _live_ckpt(t, 2)


@test
def live_migrate_while_incremental_checkpoints_run(t):
    """Periodic incremental checkpoints keep KVM's dirty log on: the migration takes
    it over (no checkpoint runs meanwhile) and the guest arrives whole."""
    with tempfile.TemporaryDirectory() as ckdir:
        _live_ckpt(t, 1, HERMIT_CHECKPOINT="1", HERMIT_CHECKPOINT_DIR=ckdir)


def _bench_mig_argv(files, extra=(), rate=-1):
    return list(extra) + ["--mount", files, harness.guest("bench_mig"),
                          "gate=" + os.path.join(files, "gate"), "mib=%d" % MIG_MIB,
                          "rate=%d" % rate]


def _pump(a, b, rate):
    """a's bytes to b, at most `rate` bytes a second (0: no limit), then b's end."""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
            if rate:
                time.sleep(len(d) / rate)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _slow_link(port, target_port, rate, ready):
    """A relay from 127.0.0.1:port to target_port that carries the source's stream at
    `rate` bytes a second: a link slower than the guest dirties memory."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(1)
        ls.settimeout(WAIT)
        ready.set()
        src, _ = ls.accept()
        dst = socket.create_connection(("127.0.0.1", target_port), timeout=WAIT)
        src.settimeout(WAIT)
        dst.settimeout(WAIT)
        back = threading.Thread(target=_pump, args=(dst, src, 0), daemon=True)
        back.start()
        _pump(src, dst, rate)
        back.join(WAIT)
        src.close()
        dst.close()


@test
def live_migrate_over_budget_converges_by_the_bound(t):
    """bench_mig rewriting its 4 MiB as fast as it can over a link of 8 MB/s (a relay):
    what is left never shrinks, the source stops the guest after the bound of rounds
    anyway and says so, and the target's check of every page passes."""
    port, addr = _listen()
    relay_port, relay = _listen()
    env = {"HERMIT_MEM": MIG_MEM}
    with tempfile.TemporaryDirectory() as top:
        files = os.path.join(top, "files")
        os.mkdir(files)
        with open(os.path.join(files, "gate"), "w") as f:
            f.write("open\n")
        plain = ck.run_argv(_bench_mig_argv(files), env=env)
        expect_status(t, plain, 0, "the unmigrated run")
        os.unlink(os.path.join(files, "gate"))
        ready = threading.Event()
        th = threading.Thread(target=_slow_link, args=(relay_port, port, 8e6, ready),
                              daemon=True)
        th.start()
        ready.wait(WAIT)
        with ck.Background(["--incoming", addr, "--mount", files]) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with ck.Background(_bench_mig_argv(files, ["--migrate-to", relay,
                                                       "--migrate-downtime", "20"]),
                               env=env) as source:
                wait_stdout(source, "mig: touched pages=", timeout=WAIT)
                m = _send(t, source, "over budget")
                t.contains(m.group(0), "did not converge to the 20 ms budget",
                           "the source says it stopped the guest anyway")
                head = source.stdout_text()
            with open(os.path.join(files, "gate"), "w") as f:
                f.write("open\n")
            rc = target.wait(timeout=WAIT)
            tail, terr = target.stdout_text(), target.stderr_text()
        th.join(WAIT)
        t.eq(rc, 0, "the target's status (stdout %r stderr %r)" % (tail, terr))
        t.eq(head + tail, plain.stdout, "source then target print what the unmigrated run does")
        t.contains(tail, "mig: ok pages=%d" % (MIG_MIB * 256), "every page checked")


def _vanishing_target(port, ready, got):
    """A listener that takes the first MiB of the stream, then closes (a target that
    disappears in the middle of round 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(1)
        ls.settimeout(WAIT)
        ready.set()
        c, _ = ls.accept()
        with c:
            c.settimeout(WAIT)
            while got[0] < (1 << 20):
                b = c.recv(65536)
                if not b:
                    break
                got[0] += len(b)


@test
def live_migrate_target_vanishes_the_guest_goes_on(t):
    """The target closes the connection in the middle of the stream: the source says the
    migration failed, keeps its guest running, and the guest finishes there exactly as
    an unmigrated run does."""
    port, addr = _listen()
    ready, got = threading.Event(), [0]
    th = threading.Thread(target=_vanishing_target, args=(port, ready, got), daemon=True)
    th.start()
    ready.wait(WAIT)
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        with ck.Background(g.argv(["--migrate-to", addr]), env=g.env()) as source:
            wait_stdout(source, "gate\n", timeout=WAIT)
            source.signal(signal.SIGUSR2)
            source.wait_stderr("migration failed: .*; the guest goes on here", timeout=WAIT)
            th.join(WAIT)
            t.true(got[0] >= 1 << 20, "the target got part of the stream (%d bytes)" % got[0])
            g.open_gate()
            rc = source.wait(timeout=WAIT)
            t.eq(rc, g.expected.status, "the guest finished at the source: %r" %
                 source.stderr_text()[-3000:])
            t.eq(source.stdout_text(), g.expected.through_gate + g.expected.after_gate,
                 "the source's output is the unmigrated run's")
            t.eq(g.out_text(), g.expected.out, "the out file")


@test
def live_migrate_silent_target_the_guest_goes_on(t):
    """A target that takes the stream and answers nothing (no 'S' after a round): the
    source gives up after the stall time (seconds in the test build), says why and
    finishes the guest itself."""
    ck.need_fault_build()
    port, addr = _listen()
    conns = []

    def swallow(ls):
        ls.settimeout(WAIT)
        try:
            c, _ = ls.accept()
        except OSError:
            return
        conns.append(c)
        try:
            while c.recv(1 << 20):
                pass
        except OSError:
            pass

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.bind(("127.0.0.1", port))
        ls.listen(1)
        th = threading.Thread(target=swallow, args=(ls,), daemon=True)
        th.start()
        with tempfile.TemporaryDirectory() as top:
            g = ck.Guest(top)
            with ck.Background(g.argv(["--migrate-to", addr]), env=g.env(),
                               binary=harness.FAULT_PROXY) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                source.wait_stderr("migration failed: the target did not acknowledge the "
                                   "stream within 2 s; the guest goes on here", timeout=WAIT)
                g.open_gate()
                rc = source.wait(timeout=WAIT)
                t.eq(rc, g.expected.status, "the guest finished at the source: %r" %
                     source.stderr_text()[-3000:])
                t.eq(source.stdout_text(), g.expected.through_gate + g.expected.after_gate,
                     "the source's output is the unmigrated run's")
        th.join(WAIT)
        for c in conns:
            c.close()


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


@test
def live_migrate_a_vcpu_blocked_in_a_hypercall(t):
    """The catfile guest waits in the OPEN of a FIFO that has no writer when it
    migrates live: as with the cold path the call is saved before it and made again at
    the target, which then copies what the test writes into the FIFO."""
    port, addr = _listen()
    data = "through the fifo\n"
    with tempfile.TemporaryDirectory() as top:
        files = os.path.join(os.path.realpath(top), "files")
        os.mkdir(files)
        fifo = os.path.join(files, "fifo")
        os.mkfifo(fifo)
        with ck.Background(["--incoming", addr, "--mount", files]) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with ck.Background(["--migrate-to", addr, "--mount", files,
                                harness.guest("catfile"), fifo],
                               env={"HERMIT_MEM": ck.MEM}) as source:
                wait_stdout(source, "catfile: opening\n", timeout=WAIT)
                ck.wait_until(source, lambda: _waits_on_fifo(source.p.pid),
                              "the source waiting in the FIFO's open")
                _send(t, source, "a blocked vCPU")
            ck.wait_until(target, lambda: _waits_on_fifo(target.p.pid),
                          "the migrated guest waiting in the FIFO's open again")
            with open(fifo, "w") as w:
                w.write(data)
            rc = target.wait(timeout=WAIT)
            t.eq(target.stdout_text(), "catfile: reading\n" + data,
                 "the migrated guest's output (stderr %r)" % target.stderr_text()[-2000:])
            t.eq(rc, 0, "the migrated guest's exit status")


@test
def live_migrate_downtime_0_is_cold(t):
    """--migrate-downtime 0 (HERMIT_MIGRATION_DOWNTIME=0): the cold path, stop first."""
    port, addr = _listen()
    with tempfile.TemporaryDirectory() as top:
        g = ck.Guest(top)
        with ck.Background(["--incoming", addr, "--mount", g.files]) as target:
            target.wait_stderr(re.escape("waiting for a migrating guest on %s" % addr),
                               timeout=WAIT)
            with ck.Background(g.argv(["--migrate-to", addr]),
                               env=g.env(HERMIT_MIGRATION_DOWNTIME="0")) as source:
                wait_stdout(source, "gate\n", timeout=WAIT)
                source.signal(signal.SIGUSR2)
                t.eq(source.wait(timeout=WAIT), 0, "the source's status: %r" %
                     source.stderr_text()[-3000:])
                t.true(re.search(r"migrated to \S+ \(\d+ pages, \d+ KiB, VM paused [\d.]+ ms, "
                                 r"downtime (at most )?[\d.]+ ms, total [\d.]+ ms, cold\)",
                                 source.stderr_text()) is not None,
                       "the cold line: %r" % source.stderr_text()[-2000:])
            g.open_gate()
            rc = target.wait(timeout=WAIT)
            r = harness.Result(rc, target.stdout_text(), target.stderr_text())
        ck.check_restored(t, g, r, "the cold-migrated guest")


@test
def live_migrate_downtime_is_checked(t):
    """A budget that is not a number of milliseconds up to 60000 is refused at start."""
    img = harness.guest("hello")
    for argv, env, msg in (
            (["--migrate-downtime", "fast", img], {}, "--migrate-downtime fast is invalid"),
            (["--migrate-downtime=60001", img], {}, "--migrate-downtime=60001 is invalid"),
            ([img], {"HERMIT_MIGRATION_DOWNTIME": "-1"}, "HERMIT_MIGRATION_DOWNTIME=-1 is invalid")):
        r = ck.run_argv(argv, env=env)
        t.true(r.returncode != 0, "%r refused: %r" % (argv, r))
        t.contains(r.stderr, msg, "the message")
        t.eq(r.stdout, "", "nothing ran")
