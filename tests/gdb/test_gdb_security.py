"""The debug port is proxy's user's alone (issue 13, items 4-6).

Covers: a client of another uid (setpriv --reuid=65534) turned away from the default
loopback stub of a root-run proxy while proxy's own user still attaches; --user
dropping root after /dev/kvm and the port are open; a stub that cannot accept (no
descriptors left) ending the VM with a message instead of waiting forever; and
dump-guest-core refusing to replace a file or to follow a symbolic link.
Paths: users' (nested real KVM) and this host's alike: nothing here depends on how
the KVM implements breakpoints.
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness
from harness import test
from rspclient import Client

NOBODY = 65534


def needs_root_and_setpriv():
    if os.geteuid() != 0:
        harness.skip("needs root: proxy runs as root, the client as uid 65534")
    if not shutil.which("setpriv"):
        harness.skip("setpriv (util-linux) is not installed")


def needs_gdb():
    if not shutil.which("gdb"):
        harness.skip("gdb is not installed")


def gdb_cmd(image, port, *cmds):
    cmd = ["gdb", "-batch", "-nx", image, "-ex", "target remote 127.0.0.1:%d" % port]
    for c in cmds:
        cmd += ["-ex", c]
    return cmd


def run(cmd, **kw):
    g = subprocess.run(cmd, capture_output=True, text=True, timeout=harness.TIMEOUT, **kw)
    return g.stdout + g.stderr


def debug_env(port):
    # SUDO_UID would let that user in too (README, Security): not in this test.
    return {"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port), "SUDO_UID": ""}


@test
def stub_turns_away_another_user(t):
    needs_root_and_setpriv()
    needs_gdb()
    port = harness.free_port()
    image = harness.guest("hello")
    with harness.Proxy(image, env=debug_env(port)) as p:
        p.wait_stderr(r"waiting for GDB")
        out = run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] +
                  gdb_cmd(image, port, "info registers rip", "monitor info vm"))
        t.not_contains(out, "rip ", "uid 65534 read no register")
        t.not_contains(out, "image:", "nor ran a monitor command")
        t.contains(out, "Remote failure reply: E.proxy: this GDB stub serves only the user "
                   "proxy runs as", "GDB shows why it was turned away")
        p.wait_stderr(r"turned away a debugger from 127\.0\.0\.1:\d+ \(uid 65534\): the stub "
                      r"serves only proxy's user")
        # proxy's own user (root here) is served as before, and the guest was not touched.
        out = run(gdb_cmd(image, port, "info registers rip", "continue"))
        t.match(r"rip +0x200000", out, "root reads the entry point")
        t.eq(p.wait(), 0, "the guest ran to its end")
        t.eq(p.stdout_text(), "Hello from a HermitCore test guest\n", "the guest's output")


# As uid 65534: connect to the stub, send `k` (kill the VM), close at once, and print
# the client's port. Its socket leaves ESTABLISHED at once; its row then shows uid 0.
HIT_AND_RUN = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode() if len(sys.argv) > 2 else b"$k#6b")
print(s.getsockname()[1], flush=True)
s.close()
"""


def tcp_row(client_port, server_port):
    """(state, uid) of the client's row in /proc/net/tcp, or None."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            w = line.split()
            if (w[1].endswith(":%04X" % client_port) and w[2].endswith(":%04X" % server_port)):
                return w[3], int(w[7])
    return None


def hit_and_run(t, p, port, payload="$k#6b"):
    """With proxy stopped, as uid 65534: connect to port, send, close; wait until the
    client's row shows uid 0 (the FIN acknowledged); resume proxy. -> the client's port."""
    p.signal(signal.SIGSTOP)
    try:
        out = run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                   "--clear-groups", sys.executable, "-c", HIT_AND_RUN, str(port), payload])
        client = int(out.split()[0])
        row = tcp_row(client, port)
        for _ in range(500):  # until the FIN is acknowledged: no timing asserted
            if row and row[1] == 0:
                break
            time.sleep(0.01)
            row = tcp_row(client, port)
        t.true(row is not None and row[0] != "01" and row[1] == 0,
               "the closed client's row shows uid 0: %r" % (row,))
    finally:
        p.signal(signal.SIGCONT)
    return client


class Incoming(harness.Proxy):
    """proxy --incoming ADDR (no image) in the background."""

    def __init__(self, addr):
        self.cmd = [harness.PROXY, "--incoming", addr]
        self.out = harness.output_file()
        self.err = harness.output_file()
        self.p = subprocess.Popen(self.cmd, env=harness.proxy_env({}), stdout=self.out,
                                  stderr=self.err, stdin=subprocess.DEVNULL)


@test
def incoming_refuses_a_client_whose_row_is_not_established(t):
    """The same trick against `--incoming`: the closed client is turned away and proxy
    goes on waiting for a guest (before, it took the garbage for a stream from root)."""
    needs_root_and_setpriv()
    port = harness.free_port()
    with Incoming("127.0.0.1:%d" % port) as p:
        p.wait_stderr(r"waiting for a migrating guest on 127\.0\.0\.1:%d" % port)
        hit_and_run(t, p, port, "not a migration stream")
        p.wait_stderr(r"--incoming: turned away a connection whose owner is not proven")
        t.true(p.p.poll() is None, "proxy still waits for a guest: %s" % p.stderr_text())


@test
def stub_refuses_a_client_whose_row_is_not_established(t):
    """The audit's TIME_WAIT trick made deterministic: proxy is stopped while the
    client of uid 65534 connects, sends `k` and closes, so when proxy looks the only
    row of that connection is the closed one, which shows uid 0 (root)."""
    needs_root_and_setpriv()
    needs_gdb()
    port = harness.free_port()
    image = harness.guest("hello")
    with harness.Proxy(image, env=debug_env(port)) as p:
        p.wait_stderr(r"waiting for GDB")
        client = hit_and_run(t, p, port)
        p.wait_stderr(r"turned away a debugger from 127\.0\.0\.1:%d \(uid not proven\)"
                      % client)
        t.not_contains(p.stderr_text(), "debugger connected from 127.0.0.1:%d" % client,
                       "the closed client was never served")
        # proxy's own user is served, and the `k` never reached the VM.
        out = run(gdb_cmd(image, port, "info registers rip", "continue"))
        t.match(r"rip +0x200000", out, "root reads the entry point")
        t.eq(p.wait(), 0, "the guest ran to its end")
        t.eq(p.stdout_text(), "Hello from a HermitCore test guest\n", "the guest's output")


@test
def user_drops_root_after_opening_kvm(t):
    needs_root_and_setpriv()
    with tempfile.TemporaryDirectory() as d:
        secret = os.path.join(d, "root-only")
        with open(secret, "w") as f:
            f.write("root's\n")
        os.chmod(secret, 0o600)
        os.chmod(d, 0o755)
        image = harness.guest("catfile")
        r = harness.run_proxy(image, [secret], env={"HERMIT_VERBOSE": "1"},
                              extra=["--mount", d])
        t.eq(r.returncode, 0, "root reads it: %r" % r)
        t.contains(r.stdout.decode(), "root's\n", "its bytes")
        r = harness.run_proxy(image, [secret], env={"HERMIT_VERBOSE": "1"},
                              extra=["--user", "nobody", "--mount", d])
        t.contains(r.stderr.decode(), "running as nobody (uid 65534, gid", "said in verbose")
        t.eq(r.returncode, 1, "as nobody the guest's open fails: %r" % r)
        t.contains(r.stdout.decode(), "catfile: open returned -13", "with EACCES")


@test
def user_is_refused_when_proxy_is_not_root(t):
    needs_root_and_setpriv()
    r = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                        "--clear-groups", harness.PROXY, "--user", "root",
                        harness.guest("hello")],
                       capture_output=True, text=True, timeout=harness.TIMEOUT,
                       env=harness.proxy_env())
    t.eq(r.returncode, 1, "a set-up error: %r" % r.stderr)
    t.contains(r.stderr, "--user root: proxy runs as uid 65534, not root", "the message")
    r = harness.run_proxy(harness.guest("hello"), extra=["--user", "no-such-user-proxy"])
    t.eq(r.returncode, 1, "unknown user")
    t.contains(r.stderr.decode(), "--user no-such-user-proxy: no such user", "the message")


def session_fd(pid, client):
    """The descriptor number of proxy's end of `client`'s connection: the socket whose
    /proc/net/tcp row runs from the stub's port to the client's."""
    me_host, me_port = client.sock.getsockname()[:2]
    peer_port = client.sock.getpeername()[1]
    want = "%04X" % peer_port, "%04X" % me_port
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1].endswith(":" + want[0]) and cols[2].endswith(":" + want[1]):
                inode = cols[9]
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "socket:[%s]" % inode:
                return int(fd)
        except OSError:
            pass
    raise harness.Failure("no descriptor of proxy holds the debugger's connection")


@test
def stub_that_cannot_accept_ends_the_vm(t):
    """Out of descriptors (as under `ulimit -n`, set here on the running proxy with
    prlimit): while a debugger is attached, a second client that cannot be accepted
    waits in the queue (no busy loop); once the first detaches, the failing accept
    ends the VM with a message instead of a guest waiting forever."""
    if os.geteuid() != 0:
        harness.skip("needs root to lower a running proxy's descriptor limit")
    port = harness.free_port()
    # A guest that never exits: after the detach only the failing accept can end it.
    with harness.Proxy(harness.guest("fatal"), ["hang"], env=debug_env(port)) as p:
        p.wait_stderr(r"waiting for GDB")
        c = Client(port)
        c.send(b"qC")
        t.eq(c.recv(), b"QC1", "attached: proxy's set-up is complete")
        # No descriptor below proxy's end of this connection is free (accept took the
        # lowest): a limit at its number leaves none for the next accept.
        limit = session_fd(p.p.pid, c)
        resource.prlimit(p.p.pid, resource.RLIMIT_NOFILE, (limit, limit))
        second = Client(port)  # queued: it can be neither accepted nor turned away
        c.send(b"m200000,4")
        t.true(re.fullmatch(rb"[0-9a-f]{8}", c.recv()), "the attached debugger is still served")
        c.send(b"D")
        t.eq(c.recv(), b"OK", "detach")
        c.close()
        t.eq(p.wait(), 1, "a host set-up failure ends the VM, no hang")
        second.close()
        t.match(r"the GDB stub cannot accept a debugger on 127\.0\.0\.1:\d+: Too many open "
                r"files; ending the VM", p.stderr_text(), "the message")


@test
def dump_guest_core_neither_replaces_nor_follows_links(t):
    needs_gdb()
    port = harness.free_port()
    image = harness.guest("hello")
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "a.core")
        keep = os.path.join(d, "keep")
        with open(keep, "w") as f:
            f.write("keep\n")
        os.symlink(keep, os.path.join(d, "link"))
        os.mkdir(os.path.join(d, "real"))
        os.symlink(os.path.join(d, "real"), os.path.join(d, "dirlink"))
        with harness.Proxy(image, env=debug_env(port)) as p:
            p.wait_stderr(r"waiting for GDB")
            out = run(gdb_cmd(image, port,
                              "monitor dump-guest-core " + core,
                              "monitor dump-guest-core " + core,
                              "monitor dump-guest-core -f " + core,
                              "monitor dump-guest-core -f " + os.path.join(d, "link"),
                              "monitor dump-guest-core " + os.path.join(d, "dirlink", "b.core"),
                              "monitor dump-guest-core -x " + core,
                              "kill"))
            p.wait()
        t.eq(out.count("wrote %s: 1 vCPUs" % core), 2, "written new, then with -f: %s" % out)
        t.contains(out, "dump-guest-core: %s: the file exists (dump-guest-core -f FILE "
                   "replaces it)" % core, "no silent overwrite")
        t.contains(out, "dump-guest-core: %s: a symbolic link is in the path" %
                   os.path.join(d, "link"), "the last component a link")
        t.contains(out, "a symbolic link is in the path", "a directory link")
        t.contains(out, "unknown option '-x'", "a bad option")
        with open(keep) as f:
            t.eq(f.read(), "keep\n", "the link's target is untouched")
        t.eq(os.listdir(os.path.join(d, "real")), [], "nothing written through the dir link")
        with open(core, "rb") as f:
            t.eq(f.read(4), b"\x7fELF", "the core is an ELF file")
