"""test_gdb_attach.py: GDB attaching to a running guest, and attaching again.

HERMIT_DEBUG=listen and `-s PORT` without `-d` start the stub without holding the
guest; a GDB that connects stops every vCPU where it is. After `detach`, GDB's
`disconnect` or a GDB that vanished, the guest runs on and the next GDB attaches
(in both modes). proxy says on stderr who came, went, was turned away or killed.
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from gdblib import GDB_TIMEOUT, INTERRUPT_SOON, gdb_command, require_gdb, start_proxy
from harness import Failure, Proxy, free_port, guest, host_info, test

# The realkvm lane (nested, slow: a spinning guest takes a minute a test there) keeps
# one scenario: stopping running vCPUs is the same code on both kinds of host.
REALKVM_SUBSET = ("attach_interrupt_detach_attach_again_kill",)

TARGET = "gdbtarget"


def listening_proxy(args=("spin",), cpus=2, env=None, extra=(), image=None):
    """proxy in listen mode (HERMIT_DEBUG=listen), its guest already running."""
    port = free_port()
    e = {"HERMIT_DEBUG": "listen", "HERMIT_DEBUG_PORT": str(port), "HERMIT_CPUS": str(cpus)}
    e.update(env or {})
    p = Proxy(image or guest(TARGET), list(args), env=e, extra=extra)
    try:
        p.wait_stderr(r"listening for GDB on 127\.0\.0\.1:%d " % port)
        wait_stdout(p, "gdbtarget: start")
    except Exception:
        p.close()
        raise
    return p, port


def wait_stdout(p, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in p.stdout_text():
        if time.monotonic() > deadline or p.p.poll() is not None:
            raise Failure("guest never printed %r: stdout=%r stderr=%r" % (
                text, p.stdout_text(), p.stderr_text()))
        time.sleep(0.05)


def gdb(port, commands, image=None):
    """Run GDB in batch mode against the stub; its transcript."""
    try:
        g = subprocess.run(gdb_command(image or guest(TARGET), port, commands),
                           capture_output=True, text=True, timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise Failure("gdb did not finish within %ss: %s" % (GDB_TIMEOUT, e.stdout))
    return g.stdout + g.stderr


def still_running(t, p, what):
    time.sleep(0.3)
    t.true(p.p.poll() is None, "%s: proxy is still running: %s" % (what, p.stderr_text()))


def check_spinning_stop(t, transcript, what):
    """Both vCPUs were caught in the guest's spin loop, and GDB did not choke."""
    t.match(r"Thread 1\.1 \(vCPU 0, \w+\)\s+.*(spin_until_flag|rt_pause)", transcript,
            what + ": vCPU 0 in the spin loop")
    t.match(r"Thread 1\.2 \(vCPU 1, \w+\)\s+.*(spin_until_flag|rt_pause)", transcript,
            what + ": vCPU 1 in the spin loop")
    t.not_contains(transcript, "internal-error", what)


@test
def listen_mode_boots_at_once(t):
    port = free_port()
    with Proxy(guest(TARGET), env={"HERMIT_DEBUG": "listen",
                                   "HERMIT_DEBUG_PORT": str(port)}) as p:
        t.eq(p.wait(), 0, "the guest ran to its end without any GDB")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")
        err = p.stderr_text()
        t.match(r"(?m)^proxy: listening for GDB on 127\.0\.0\.1:%d \([^\n]*\)$" % port, err,
                "one short listening line")
        t.not_contains(err, "breakpoints:", "host details only with HERMIT_VERBOSE")
        t.not_contains(err, "debugger connected", "nobody attached")


@test
def gdb_port_flag_without_d_boots_at_once(t):
    port = free_port()
    with Proxy(guest(TARGET), extra=["-s", str(port)],
               env={"HERMIT_VERBOSE": "1"}) as p:
        t.eq(p.wait(), 0, "-s PORT without -d does not hold the guest")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")
        err = p.stderr_text()
        t.match(r"listening for GDB on 127\.0\.0\.1:%d " % port, err, "-s starts the stub")
        t.match(r"GDB stub on this host \(breakpoints: int3 via [^,]+, watchpoints: ", err,
                "HERMIT_VERBOSE names the host's debugger paths")


@test
def attach_interrupt_detach_attach_again_kill(t):
    """Attach to a guest spinning on 2 vCPUs, Ctrl-C, bt, detach; attach again, kill."""
    require_gdb()
    p, port = listening_proxy()
    with p:
        first = gdb(port, ["info threads", INTERRUPT_SOON, "continue", "info threads",
                           "bt", "detach"])
        check_spinning_stop(t, first, "attach")
        t.match(r"received signal SIGINT", first, "Ctrl-C after continue stopped it again")
        t.match(r"#0 .*(spin_until_flag|rt_pause)", first, "bt in the spin loop")
        t.contains(first, "[Inferior 1 (process 1) detached]")
        still_running(t, p, "after detach")
        second = gdb(port, ["info threads", "bt", "kill"])
        check_spinning_stop(t, second, "attach again")
        t.contains(second, "[Inferior 1 (process 1) killed]")
        t.eq(p.wait(60), 119, "kill ends proxy with the documented status")
        err = p.stderr_text()
        t.eq(len(re_all(r"debugger connected from 127\.0\.0\.1:\d+", err)), 2,
             "two connections announced: %s" % err)
        t.match(r"debugger from 127\.0\.0\.1:\d+ detached; the guest runs on \(GDB may attach "
                r"again on 127\.0\.0\.1:%d\)" % port, err, "detach announced")
        t.match(r"debugger from 127\.0\.0\.1:\d+ killed the VM \(exit status 119\)", err,
                "kill announced")
        t.not_contains(p.stdout_text(), "counter=", "the guest never left the loop")


def re_all(pattern, text):
    import re
    return re.findall(pattern, text)


@test
def disconnect_leaves_the_guest_running_and_gdb_attaches_again(t):
    require_gdb()
    p, port = listening_proxy()
    with p:
        first = gdb(port, ["info threads", "disconnect"])
        check_spinning_stop(t, first, "attach")
        p.wait_stderr(r"debugger from 127\.0\.0\.1:\d+ disconnected without detaching; the "
                      r"guest runs on")
        still_running(t, p, "after disconnect")
        second = gdb(port, ["info threads", "set var release_flag = 1", "continue"])
        check_spinning_stop(t, second, "attach after disconnect")
        t.contains(second, "exited normally", "the released guest ran to its end")
        t.eq(p.wait(60), 0)
        t.contains(p.stdout_text(), "gdbtarget: counter=3")


@test
def release_then_disconnect_lets_the_guest_finish_alone(t):
    """The guest keeps running once GDB has gone: nobody needs to attach again."""
    require_gdb()
    p, port = listening_proxy(cpus=1)
    with p:
        out = gdb(port, ["set var release_flag = 1", "disconnect"])
        t.not_contains(out, "internal-error")
        t.eq(p.wait(60), 0, "the guest ran to its end after GDB went away")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")


@test
def vanished_gdb_then_attach_again_in_wait_mode(t):
    """HERMIT_DEBUG=1: GDB continues, then dies (kill -9); the next GDB attaches to the
    running guest where it is."""
    require_gdb()
    p, port = start_proxy(guest(TARGET), args=["spin"], cpus=2)
    with p:
        g = subprocess.Popen(gdb_command(guest(TARGET), port, ["continue"]),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_stdout(p, "gdbtarget: start")
        finally:
            g.kill()
            g.wait()
        p.wait_stderr(r"disconnected without detaching; the guest runs on")
        still_running(t, p, "after GDB vanished")
        second = gdb(port, ["info threads", "set var release_flag = 1", "detach"])
        check_spinning_stop(t, second, "attach after a vanished GDB")
        t.eq(p.wait(60), 0, "after the detach the released guest ran to its end")
        t.contains(p.stdout_text(), "gdbtarget: counter=3")


@test
def detach_at_the_first_stop_then_attach_again_in_wait_mode(t):
    require_gdb()
    p, port = start_proxy(guest(TARGET), args=["spin"], cpus=2)
    with p:
        first = gdb(port, ["detach"])
        t.contains(first, "[Inferior 1 (process 1) detached]")
        wait_stdout(p, "gdbtarget: start")
        second = gdb(port, ["info threads", "set var release_flag = 1", "continue"])
        check_spinning_stop(t, second, "attach after detach")
        t.contains(second, "exited normally")
        t.eq(p.wait(60), 0)


class RawClient:
    """Just enough of the remote protocol for a first client that holds the stub."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)

    def send(self, payload):
        self.sock.sendall(b"$%s#%02x" % (payload, sum(payload) & 0xFF))

    def ask(self, payload):
        self.send(payload)
        data = b""
        while not (b"$" in data and b"#" in data.split(b"$", 1)[1]):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Failure("stub closed the connection: %r" % data)
            data += chunk
        return data.split(b"$", 1)[1].split(b"#", 1)[0]

    def close(self):
        self.sock.close()


@test
def a_second_debugger_is_turned_away_with_a_message(t):
    require_gdb()
    p, port = listening_proxy()
    with p:
        first = RawClient(port)
        try:
            t.eq(first.ask(b"qC")[:2], b"QC", "the first client is served")
            out = gdb(port, ["info threads"])
            t.not_contains(out, "Thread 1.1 (vCPU", "the second GDB got no session")
            p.wait_stderr(r"turned away a debugger from 127\.0\.0\.1:\d+: another one is "
                          r"attached")
            t.eq(first.ask(b"qC")[:2], b"QC", "the first client still is")
            first.send(b"k")
            t.eq(p.wait(60), 119)
        finally:
            first.close()
        p.wait_stderr(r"killed the VM")


@test
def connect_command_pastes_with_a_path_with_spaces(t):
    require_gdb()
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "my guests")
        os.mkdir(d)
        image = os.path.join(d, "it's here.elf")
        shutil.copy(guest(TARGET), image)
        p, port = listening_proxy(cpus=1, image=image)
        with p:
            cmd = p.wait_stderr(r"connect with: (gdb .*)").group(1)
            t.eq(shlex.split(cmd), ["gdb", image, "-ex", "target remote 127.0.0.1:%d" % port],
                 "the printed command is one shell command line")
            g = subprocess.run(["bash", "-c", cmd + " -batch -nx -ex 'set var release_flag = 1'"
                                " -ex detach"], capture_output=True, text=True,
                               timeout=GDB_TIMEOUT)
            t.contains(g.stdout + g.stderr, "[Inferior 1 (process 1) detached]",
                       "the pasted command attached")
            t.eq(p.wait(60), 0)


@test
def stats_leave_out_the_time_gdb_held_the_vm(t):
    require_gdb()
    p, port = start_proxy(guest(TARGET), env={"HERMIT_STATS": "1"})
    with p:
        out = gdb(port, ["shell sleep 1", "break leaf", "continue", "continue", "delete",
                         "continue"])
        t.contains(out, "exited normally")
        t.eq(p.wait(60), 0)
        err = p.stderr_text()
        t.match(r"start to first guest instruction: [\d.]+ ms \(not counting [\d.]+ ms stopped "
                r"in the debugger\)", err, "the wait for GDB is named apart")
        t.not_contains(err, "INTERNAL_ERROR", "breakpoints are no internal errors")
        if host_info().get("sw_breakpoints") == "emulation-failure":
            t.match(r"stats:   breakpoint int3 +2\n", err, "two breakpoint hits counted apart")
