"""The Unix-socket debug endpoint, --gdb-socket / HERMIT_DEBUG_SOCKET (issue 22).

Covers: GDB (`target remote PATH`) and LLDB (`process connect -p gdb-remote unix-connect://PATH`)
debugging through it; the socket's mode 0600 and its removal at exit (also under the
sandbox and after --user); listen mode and re-attach; another user (SO_PEERCRED)
turned away; the refusals at start (a directory others can write, /tmp itself, a
file already at the path, a socket something listens on) and the replacement of a
stale socket; the socket replacing TCP (-s and --gdb-socket together refused).
"""

# Where the stub listens and who may connect does not depend on the host's kind of
# KVM (and the realkvm VM's root, /var/tmp included, is read-only): see run-tests.
HOST_INDEPENDENT = True
import os
import shutil
import socket
import stat
import subprocess
import tempfile

import harness
from harness import test
from gdblib import require_gdb

NOBODY = 65534
IMAGE = "hello"


def run(cmd, **kw):
    g = subprocess.run(cmd, capture_output=True, text=True, timeout=harness.TIMEOUT, **kw)
    return g.stdout + g.stderr


def gdb_cmd(image, path, *cmds):
    cmd = ["gdb", "-batch", "-nx", image, "-ex", "target remote %s" % path]
    for c in cmds:
        cmd += ["-ex", c]
    return cmd


def private_dir():
    return tempfile.mkdtemp(prefix="proxy-sock-")


def env(mode="1"):
    return {"HERMIT_DEBUG": mode, "SUDO_UID": ""}


@test
def gdb_debugs_through_the_unix_socket(t):
    require_gdb()
    d = private_dir()
    path = os.path.join(d, "gdb.sock")
    image = harness.guest(IMAGE)
    try:
        with harness.Proxy(image, env=env(), extra=["--gdb-socket", path]) as p:
            p.wait_stderr(r"waiting for GDB on %s \(" % path)
            st = os.lstat(path)
            t.true(stat.S_ISSOCK(st.st_mode), "a socket at the path")
            t.eq(stat.S_IMODE(st.st_mode), 0o600, "mode 0600")
            t.contains(p.stderr_text(), "-ex 'target remote %s'" % path, "the connect hint")
            out = run(gdb_cmd(image, path, "info registers rip", "continue"))
            t.match(r"rip +0x200000", out, "GDB reads the entry point")
            t.contains(out, "exited normally", "and runs the guest to its end")
            t.eq(p.wait(), 0)
            t.eq(p.stdout_text(), "Hello from a HermitCore test guest\n")
            t.contains(p.stderr_text(), "debugger connected from a Unix socket")
        t.true(not os.path.lexists(path), "the socket is removed at exit")
    finally:
        shutil.rmtree(d)


@test
def lldb_debugs_through_the_unix_socket(t):
    if not shutil.which("lldb"):
        harness.skip("lldb is not installed")
    d = private_dir()
    path = os.path.join(d, "gdb.sock")
    try:
        with harness.Proxy(harness.guest("gdbtarget"), env={"HERMIT_DEBUG_SOCKET": path,
                                                            "HERMIT_DEBUG": "1"}) as p:
            p.wait_stderr(r"waiting for GDB on %s \(" % path)
            # LLDB 14 (Debian 12): its `gdb-remote` alias takes only HOST:PORT; this is
            # the command a URL form of it stands for.
            out = run(["lldb", "-b", "-o",
                       "process connect -p gdb-remote unix-connect://%s" % path,
                       "-o", "register read rip", "-o", "kill"])
            t.match(r"rip = 0x0*200000", out, "LLDB reads rip through the socket")
            t.eq(p.wait(), 119, "LLDB's kill ended the VM")
        t.true(not os.path.lexists(path), "the socket is removed at exit")
    finally:
        shutil.rmtree(d)


@test
def listen_mode_socket_lets_gdb_attach_again(t):
    require_gdb()
    d = private_dir()
    path = os.path.join(d, "s")
    image = harness.guest("gdbtarget")
    try:
        with harness.Proxy(image, env={"SUDO_UID": ""}, extra=["--gdb-socket", path],
                           args=["spin"]) as p:
            p.wait_stderr(r"listening for GDB on %s \(the guest runs" % path)
            first = run(gdb_cmd(image, path, "detach"))
            t.contains(first, "detached", "first attach")
            p.wait_stderr(r"GDB may attach again on %s" % path)
            second = run(gdb_cmd(image, path, "kill"))
            t.match(r"\[Inferior 1 \(.*\) killed\]", second, "second attach")
            t.eq(p.wait(), 119)
        t.true(not os.path.lexists(path), "the socket is removed at exit")
    finally:
        shutil.rmtree(d)


@test
def another_user_is_turned_away_from_the_socket(t):
    """The socket is 0600, so give uid 65534 a way in (a copy of the directory's rights
    does not matter: SO_PEERCRED is checked): here root opens it up on purpose."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        harness.skip("needs root and setpriv: proxy runs as root, the client as uid 65534")
    d = private_dir()
    path = os.path.join(d, "s")
    image = harness.guest(IMAGE)
    try:
        with harness.Proxy(image, env=env(), extra=["--gdb-socket", path]) as p:
            p.wait_stderr(r"waiting for GDB on")
            os.chmod(path, 0o666)   # past the file permissions...
            os.chmod(d, 0o711)
            client = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                      "s.connect(sys.argv[1])\n"
                      "s.sendall(b'$k#6b')\nr = b''\n"
                      "while True:\n c = s.recv(256)\n if not c: break\n r += c\n"
                      "print(repr(r))\n")
            out = run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                       "--clear-groups", "python3", "-c", client, path])
            # told why (its `k` answered with the reason), then hung up on
            t.contains(out, "+$E.proxy: this GDB stub serves only the user proxy runs as",
                       "uid 65534 was told why")
            p.wait_stderr(r"turned away a debugger from a Unix socket \(uid 65534\)")
            out = run(gdb_cmd(image, path, "continue"))   # ...SO_PEERCRED decides
            t.contains(out, "exited normally", "root is served")
            t.eq(p.wait(), 0, "the `k` of uid 65534 never reached the VM")
    finally:
        shutil.rmtree(d)


def refused(t, extra, pattern, what, envs=None):
    r = harness.Proxy(harness.guest(IMAGE), env=dict(env(), **(envs or {})), extra=extra)
    rc = r.wait()
    t.eq(rc, 1, what + ": exit status")
    t.match(pattern, r.stderr_text(), what)
    t.not_contains(r.stdout_text(), "Hello", what + ": the guest did not run")


@test
def socket_in_a_directory_others_can_write_is_refused(t):
    d = private_dir()
    try:
        os.chmod(d, 0o770)
        refused(t, ["--gdb-socket", os.path.join(d, "s")],
                r"the directory .* is writable by group or others \(owner uid \d+, mode "
                r"0770\).*only proxy's user can write", "a group-writable directory")
        t.true(not os.path.lexists(os.path.join(d, "s")), "no socket made")
        refused(t, ["--gdb-socket", "/tmp/proxy-gdb-%d.sock" % os.getpid()],
                r"--gdb-socket /tmp/proxy-gdb-\d+\.sock: the directory /tmp is writable by "
                r"group or others \(owner uid 0, mode 1777\)", "sticky /tmp")
        os.chmod(d, 0o700)
        os.chown(d, NOBODY, NOBODY)
        refused(t, [], r"HERMIT_DEBUG_SOCKET=%s/s: the directory %s is not proxy's \(owner "
                r"uid 65534" % (d, d), "another user's directory",
                envs={"HERMIT_DEBUG_SOCKET": os.path.join(d, "s")})
    finally:
        shutil.rmtree(d)


@test
def existing_file_at_the_path_is_kept_and_refused(t):
    d = private_dir()
    path = os.path.join(d, "s")
    try:
        with open(path, "w") as f:
            f.write("not ours to remove\n")
        refused(t, ["--gdb-socket", path], r"already exists and is not a socket of proxy's "
                r"user: proxy does not remove it", "a regular file")
        with open(path) as f:
            t.eq(f.read(), "not ours to remove\n", "the file is untouched")
        os.unlink(path)
        live = socket.socket(socket.AF_UNIX)
        live.bind(path)
        live.listen(1)
        try:
            refused(t, ["--gdb-socket", path], r"something already listens on this socket",
                    "a live socket")
            t.true(os.path.lexists(path), "the live socket is kept")
        finally:
            live.close()
        # Now nothing answers there: a crashed run's socket, replaced.
        with harness.Proxy(harness.guest(IMAGE), env=env(), extra=["--gdb-socket", path]) as p:
            p.wait_stderr(r"waiting for GDB on %s" % path)
            p.signal()
            p.wait()
        t.true(not os.path.lexists(path), "removed at exit")
    finally:
        shutil.rmtree(d)


@test
def socket_replaces_tcp(t):
    d = private_dir()
    path = os.path.join(d, "s")
    try:
        r = harness.Proxy(harness.guest(IMAGE), env={}, extra=["-d", "--gdb-socket", path,
                                                              "-s", "0"])
        t.eq(r.wait(), 2, "both flags: a usage error")
        t.contains(r.stderr_text(), "--gdb-socket replaces the TCP port")
        # The variables of the TCP port give way to the socket.
        with harness.Proxy(harness.guest(IMAGE), extra=["--gdb-socket", path],
                           env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": "1",
                                "HERMIT_DEBUG_ADDR": "no-such-host.invalid"}) as p:
            p.wait_stderr(r"waiting for GDB on %s" % path)
            p.signal()
            p.wait()
        r = harness.Proxy(harness.guest(IMAGE), env={"HERMIT_DEBUG_SOCKET": path})
        t.eq(r.wait(), 1, "HERMIT_DEBUG_SOCKET without a debugging mode")
        t.contains(r.stderr_text(), "HERMIT_DEBUG_SOCKET=%s is set but no debugging mode" % path)
    finally:
        shutil.rmtree(d)


@test
def socket_is_removed_after_user_drop_and_sandbox(t):
    """With --user the socket is given to that user (mode 0600) and removed at exit
    although proxy, then uid 65534 and sandboxed, could not remove it itself."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        harness.skip("needs root and setpriv")
    require_gdb()
    d = private_dir()
    path = os.path.join(d, "s")
    image = harness.guest(IMAGE)
    try:
        with harness.Proxy(image, env=env(), extra=["--user", "nobody", "--gdb-socket",
                                                    path]) as p:
            p.wait_stderr(r"waiting for GDB on")
            st = os.lstat(path)
            t.eq((st.st_uid, stat.S_IMODE(st.st_mode)), (NOBODY, 0o600), "nobody's, 0600")
            out = run(gdb_cmd(image, path, "continue"))
            t.contains(out, "exited normally")
            t.eq(p.wait(), 0)
        for _ in range(200):  # the remover runs once proxy is gone: no timing asserted
            if not os.path.lexists(path):
                break
            subprocess.run(["sleep", "0.05"])
        t.true(not os.path.lexists(path), "the socket is removed at exit")
    finally:
        shutil.rmtree(d)


@test
def socket_outside_the_sandbox_is_removed_at_exit(t):
    """A directory the sandbox (Landlock) does not reach (not ., not $TMPDIR): proxy
    cannot unlink there after set-up, the remover started before the sandbox does."""
    require_gdb()
    d = tempfile.mkdtemp(prefix="proxy-sock-", dir="/var/tmp")
    path = os.path.join(d, "s")
    image = harness.guest(IMAGE)
    try:
        with harness.Proxy(image, env=dict(env(), HERMIT_VERBOSE="1", TMPDIR="/tmp"),
                           extra=["--gdb-socket", path]) as p:
            p.wait_stderr(r"waiting for GDB on")
            out = run(gdb_cmd(image, path, "continue"))
            t.contains(out, "exited normally")
            t.eq(p.wait(), 0)
        for _ in range(200):  # the remover runs once proxy is gone: no timing asserted
            if not os.path.lexists(path):
                break
            subprocess.run(["sleep", "0.05"])
        t.true(not os.path.lexists(path), "the socket is removed at exit")
    finally:
        shutil.rmtree(d)
