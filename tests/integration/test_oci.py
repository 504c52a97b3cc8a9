"""proxy-oci, the OCI runtime (issue 26): its command line driven directly, and
Debian's podman running a Hermit image through it.

The image is built here `FROM scratch` with build/guests/ocirun.elf as /app (it
prints its arguments, variables, vCPUs and RAM end, and host files it is asked
for); nothing is fetched from a registry. Every podman call uses a private storage
root (vfs driver), the cgroupfs manager, file events and no network, and the test
removes all of it. The podman tests are skipped with the reason where podman
cannot run (not installed, not root, `podman info` failing).
"""
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, test  # noqa: E402

# proxy-oci beside the proxy under test (make builds both; the ASan lane: build/asan/).
OCI = os.path.join(os.path.dirname(os.path.abspath(harness.PROXY)), "proxy-oci")
MiB = 1 << 20
# Nothing here depends on the kind of KVM (the guest only prints), and the engines
# are not in the realkvm lane's VM: the default lane alone runs this module.
REALKVM_SUBSET = ()


def _needs_oci():
    if not os.path.exists(OCI):
        raise Failure("%s not built (run make)" % OCI)


def _needs_kvm():
    if not harness.host_has_kvm():
        harness.skip(harness.no_kvm_reason())
    _needs_oci()


def _run(cmd, timeout=None, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=timeout or harness.TIMEOUT, **kw)
    except subprocess.TimeoutExpired as e:
        raise Failure("did not finish within %ss: %s\nstdout=%r\nstderr=%r" % (
            e.timeout, cmd, e.stdout, e.stderr))


class Bundle:
    """An OCI bundle by hand: rootfs/app is the guest, config.json what the test says."""

    def __init__(self, args, env=("A=b",), mounts=(), extra=None, image="ocirun"):
        self.dir = tempfile.mkdtemp(prefix="oci-bundle-")
        self.root = os.path.join(self.dir, "state")
        os.mkdir(os.path.join(self.dir, "rootfs"))
        shutil.copy(harness.guest(image), os.path.join(self.dir, "rootfs", "app"))
        config = {"ociVersion": "1.0.2",
                  "process": {"args": ["/app"] + list(args), "env": list(env), "cwd": "/",
                              "user": {"uid": 0, "gid": 0}},
                  "root": {"path": "rootfs"}, "mounts": list(mounts),
                  "annotations": {"test": "yes"}}
        config.update(extra or {})
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump(config, f)
        self.out = open(os.path.join(self.dir, "out"), "w+")

    def oci(self, *args, **kw):
        return _run([OCI, "--root", self.root] + list(args), **kw)

    def create(self, cid):
        # The container process keeps create's stdout/stderr: our file, not a pipe
        # that would keep subprocess waiting.
        p = subprocess.run([OCI, "--root", self.root, "create", "--bundle", self.dir,
                            "--pid-file", os.path.join(self.dir, "pid"), cid],
                           stdout=self.out, stderr=self.out, stdin=subprocess.DEVNULL,
                           timeout=harness.TIMEOUT)
        return p.returncode

    def state(self, cid):
        r = self.oci("state", cid)
        if r.returncode:
            raise Failure("state %s: %r" % (cid, r))
        return json.loads(r.stdout)

    def output(self):
        self.out.flush()
        with open(self.out.name) as f:
            return f.read()

    def wait_for(self, cid, status):
        for _ in range(3000):
            if self.state(cid)["status"] == status:
                return
            time.sleep(0.01)
        raise Failure("container %s never became %s: %r" % (cid, status, self.state(cid)))

    def close(self):
        for cid in os.listdir(self.root) if os.path.isdir(self.root) else ():
            self.oci("delete", "--force", cid)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _ended(pid):
    """Gone, or a zombie nobody reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@test
def oci_cli_create_start_state_delete(t):
    _needs_kvm()
    b = Bundle(["x", "exit=7"])
    try:
        t.eq(b.create("c1"), 0, "create: %s" % b.output())
        with open(os.path.join(b.dir, "pid")) as f:
            pid = int(f.read())
        s = b.state("c1")
        t.eq((s["ociVersion"][:2], s["id"], s["status"], s["pid"], s["bundle"], s["annotations"]),
             ("1.", "c1", "created", pid, b.dir, {"test": "yes"}), "state after create")
        t.eq(sorted(os.listdir(os.path.join(b.root, "c1"))), ["exec.fifo", "state.json"],
             "the container's files")
        t.eq(b.output(), "", "nothing runs before start")
        r = b.oci("create", "--bundle", b.dir, "c1")
        t.eq(r.returncode, 1, "a second create of c1")
        t.contains(r.stderr, "container c1: already exists")
        t.ok(b.oci("start", "c1"), "start")
        b.wait_for("c1", "stopped")
        out = b.output()
        t.contains(out, "argv[1]=x\nargv[2]=exit=7\nenv=A=b\ncpus=1 mem=%d\n" % (512 * MiB))
        t.eq(b.state("c1")["pid"], 0, "a stopped container's pid")
        r = b.oci("start", "c1")
        t.eq(r.returncode, 1, "start of a stopped container")
        t.contains(r.stderr, "cannot start container c1: it is stopped")
        t.ok(b.oci("delete", "c1"), "delete")
        t.eq(os.listdir(b.root), [], "delete leaves nothing of c1")
        r = b.oci("state", "c1")
        t.eq(r.returncode, 1, "state of a deleted container")
        t.contains(r.stderr, "container c1 does not exist")
        t.ok(b.oci("delete", "--force", "c1"), "delete --force of a container that is gone")
    finally:
        b.close()


@test
def oci_cli_two_engines_at_once(t):
    """Commands racing on one --root: of two creates of one ID exactly one wins, and
    creates and deletes of other IDs beside them all succeed."""
    _needs_kvm()
    b = Bundle(["halt"])
    try:
        # Files, not pipes: the container processes keep create's stderr open.
        errs = [tempfile.TemporaryFile(dir=b.dir) for _ in range(6)]

        def create(cid, err):
            return subprocess.Popen([OCI, "--root", b.root, "create", "--bundle", b.dir, cid],
                                    stdout=b.out, stderr=err, stdin=subprocess.DEVNULL)
        procs = [create(cid, errs[i]) for i, cid in enumerate(
            ["same", "same", "c0", "c1", "c2", "c3"])]
        codes = [p.wait(timeout=harness.TIMEOUT) for p in procs]
        errors = []
        for f in errs:
            f.seek(0)
            errors.append(f.read().decode())
            f.close()
        t.eq(sorted(codes[:2]), [0, 1], "two creates of one ID: %r" % errors[:2])
        t.contains(errors[codes[:2].index(1)], "container same: already exists")
        t.eq(codes[2:], [0, 0, 0, 0], "creates of other IDs: %r" % errors[2:])
        deletes = [subprocess.Popen([OCI, "--root", b.root, "delete", cid])
                   for cid in ("same", "c0", "c1", "c2", "c3")]
        t.eq([p.wait(timeout=harness.TIMEOUT) for p in deletes], [0] * 5, "deletes at once")
        t.eq(os.listdir(b.root), [], "nothing left under --root")
    finally:
        b.close()


@test
def oci_cli_kill_and_forced_delete(t):
    _needs_kvm()
    b = Bundle(["halt"])
    try:
        # A created container that is deleted never runs.
        t.eq(b.create("waiting"), 0, "create: %s" % b.output())
        pid = b.state("waiting")["pid"]
        t.ok(b.oci("delete", "waiting"), "delete of a created container")
        t.true(_ended(pid), "its process ended")
        t.eq(b.create("c2"), 0, "create: %s" % b.output())
        t.ok(b.oci("start", "c2"), "start")
        b.wait_for("c2", "running")
        for _ in range(3000):
            if "ocirun: halting" in b.output():
                break
            time.sleep(0.01)
        t.contains(b.output(), "ocirun: halting")
        r = b.oci("delete", "c2")
        t.eq(r.returncode, 1, "delete of a running container without --force")
        t.contains(r.stderr, "it is running")
        r = b.oci("kill", "c2", "BOGUS")
        t.eq(r.returncode, 1, "kill with an unknown signal")
        t.ok(b.oci("kill", "c2", "TERM"), "kill TERM")
        b.wait_for("c2", "stopped")
        t.contains(b.output(), "proxy: SIGTERM received, stopping the VM")
        r = b.oci("kill", "c2", "KILL")
        t.eq(r.returncode, 1, "kill of a stopped container")
        t.contains(r.stderr, "container c2 is not running")
        t.ok(b.oci("delete", "c2"), "delete of the stopped container")
        # --force ends a running one.
        t.eq(b.create("c3"), 0, "create: %s" % b.output())
        t.ok(b.oci("start", "c3"), "start c3")
        b.wait_for("c3", "running")
        t.ok(b.oci("delete", "--force", "c3"), "delete --force")
        t.eq(os.listdir(b.root), [], "nothing left under --root")
    finally:
        b.close()


@test
def oci_cli_refusals_go_to_the_log(t):
    _needs_kvm()
    b = Bundle([], image="hello")
    log = os.path.join(b.dir, "log.json")
    try:
        with open(os.path.join(b.dir, "rootfs", "linux"), "wb") as f:
            with open("/bin/true", "rb") as src:
                f.write(src.read())
        with open(os.path.join(b.dir, "config.json")) as f:
            config = json.load(f)
        config["process"]["args"] = ["/linux"]
        with open(os.path.join(b.dir, "config.json"), "w") as f:
            json.dump(config, f)
        r = _run([OCI, "--root", b.root, "--log", log, "--log-format", "json", "--systemd-cgroup",
                  "create", "--bundle", b.dir, "--no-pivot", "bad"])
        t.eq(r.returncode, 1, "create of a Linux program")
        msg = "/linux is not a Hermit image: ELF OSABI is 0x00"
        t.contains(r.stderr, msg)
        with open(log) as f:
            entry = json.loads(f.readline())
        t.eq(entry["level"], "error", "log level")
        t.contains(entry["msg"], msg, "the log's message")
        t.true(not os.path.exists(b.root) or os.listdir(b.root) == [],
               "a refused create leaves nothing")
        r = _run([OCI, "--root", b.root, "--bogus", "state", "x"])
        t.eq(r.returncode, 1, "an unknown global option")
        t.contains(r.stderr, "unknown global option --bogus")
        r = _run([OCI, "--root", b.root, "create", "--bundle", b.dir, "../x"])
        t.contains(r.stderr, "invalid container ID ../x")
        r = _run([OCI, "--version"])
        t.ok(r, "--version")
        t.match(r"^proxy-oci version \S+\nspec: 1\.\d+\.\d+\n$", r.stdout, "--version")
        r = _run([OCI, "features"])
        t.ok(r, "features")
        f = json.loads(r.stdout)
        t.true(f["ociVersionMin"].startswith("1.") and "bind" in f["mountOptions"], "features: %r" % f)
    finally:
        b.close()


def _put_record(root, cid, record):
    """A container's state.json as another proxy-oci (or a bug, or a hand) left it."""
    os.makedirs(os.path.join(root, cid))
    with open(os.path.join(root, cid, "state.json"), "w") as f:
        json.dump(dict({"bundle": "/", "annotations": {}}, **record), f)


@test
def oci_cli_reused_pid_is_never_signalled(t):
    """A record whose process ended and whose pid now belongs to an unrelated process
    (start time 0: what create recorded while it read /proc's field 21): `state` says
    stopped, `kill` refuses and `delete --force` removes the record, and that process
    gets no signal."""
    _needs_oci()
    root = tempfile.mkdtemp(prefix="oci-root-")
    other = subprocess.Popen(["sleep", "600"])
    try:
        _put_record(root, "old", {"id": "old", "pid": other.pid, "starttime": 0})
        r = _run([OCI, "--root", root, "state", "old"])
        t.ok(r, "state")
        t.eq((json.loads(r.stdout)["status"], json.loads(r.stdout)["pid"]), ("stopped", 0),
             "a pid with another start time")
        r = _run([OCI, "--root", root, "kill", "old", "KILL"])
        t.eq(r.returncode, 1, "kill: %r" % r)
        t.contains(r.stderr, "container old is not running")
        t.ok(_run([OCI, "--root", root, "delete", "--force", "old"]), "delete --force")
        t.eq(other.poll(), None, "the process that reused the pid still runs")
        t.eq(os.listdir(root), [], "the record is gone")
    finally:
        other.kill()
        other.wait()
        shutil.rmtree(root, ignore_errors=True)


@test
def oci_cli_record_naming_another_directory_is_refused(t):
    """state.json is not trusted to name files: a record under --root/c whose id is
    ../victim makes delete, start and kill fail, and nothing outside c is touched."""
    _needs_oci()
    top = tempfile.mkdtemp(prefix="oci-root-")
    root = os.path.join(top, "root")
    victim = os.path.join(top, "victim")
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        os.mkdir(victim)
        for name in ("state.json", "exec.fifo"):
            with open(os.path.join(victim, name), "w") as f:
                f.write("keep\n")
        _put_record(root, "c", {"id": "../victim", "pid": dead.pid, "starttime": 1})
        for cmd in (["delete", "c"], ["delete", "--force", "c"], ["start", "c"],
                    ["kill", "c", "TERM"], ["state", "c"]):
            r = _run([OCI, "--root", root] + cmd)
            t.eq(r.returncode, 1, "%s: %r" % (cmd, r))
            t.contains(r.stderr, "state.json: state record: bad id", str(cmd))
        t.eq(sorted(os.listdir(victim)), ["exec.fifo", "state.json"], "the files outside c")
        t.true(os.path.exists(os.path.join(root, "c", "state.json")), "c's record kept")
        # An id that is valid but another container's: refused the same way.
        os.remove(os.path.join(root, "c", "state.json"))
        os.rmdir(os.path.join(root, "c"))
        _put_record(root, "c", {"id": "d", "pid": dead.pid, "starttime": 1})
        _put_record(root, "d", {"id": "d", "pid": dead.pid, "starttime": 1})
        r = _run([OCI, "--root", root, "delete", "c"])
        t.eq(r.returncode, 1, "delete c: %r" % r)
        t.contains(r.stderr, "state record: its id is d, not c")
        t.eq(sorted(os.listdir(root)), ["c", "d"], "d left alone")
        t.true(os.path.exists(os.path.join(root, "d", "state.json")), "d's record kept")
    finally:
        shutil.rmtree(top, ignore_errors=True)


@test
def oci_cli_delete_removes_what_an_interrupted_create_left(t):
    """create killed between making --root/ID and writing its record leaves the
    directory and the FIFO: delete --force removes them (as runc does), so the ID
    can be created again."""
    _needs_kvm()
    b = Bundle(["halt"])
    try:
        os.makedirs(os.path.join(b.root, "cut"))
        os.mkfifo(os.path.join(b.root, "cut", "exec.fifo"))
        t.ok(b.oci("delete", "--force", "cut"), "delete --force")
        t.eq(os.listdir(b.root), [], "nothing left of cut")
        t.eq(b.create("cut"), 0, "create again: %s" % b.output())
        t.eq(b.state("cut")["status"], "created", "the new cut")
        t.ok(b.oci("delete", "cut"), "delete")
    finally:
        b.close()


@test
def oci_cli_start_of_a_stopped_process_gives_up(t):
    """start of a container whose waiting process is stopped (SIGSTOP) fails with
    a message instead of waiting forever while it holds the lock on --root."""
    _needs_kvm()
    b = Bundle(["halt"])
    try:
        t.eq(b.create("frozen"), 0, "create: %s" % b.output())
        t.ok(b.oci("kill", "frozen", "STOP"), "kill STOP")
        r = b.oci("start", "frozen", timeout=60)
        t.eq(r.returncode, 1, "start: %r" % r)
        t.contains(r.stderr, "did not take the start within 10 s")
        t.eq(b.state("frozen")["status"], "created", "still created")
        t.ok(b.oci("delete", "--force", "frozen"), "delete --force")
        t.eq(b.output(), "", "the guest never ran")
    finally:
        b.close()


@test
def oci_cli_log_lines_survive_any_message(t):
    """A message holding bytes an engine did not expect still makes exactly one log
    line: a JSON object with --log-format json (the ID is not UTF-8), a text line
    whose msg field a quote and a newline cannot end."""
    _needs_oci()
    d = tempfile.mkdtemp(prefix="oci-log-")
    try:
        bad = b"bad\xffid"
        r = subprocess.run([OCI, "--root", d, "--log", os.path.join(d, "j"), "--log-format",
                            "json", "state", bad], capture_output=True, timeout=harness.TIMEOUT)
        t.eq(r.returncode, 1, "state of an invalid ID: %r" % r)
        with open(os.path.join(d, "j")) as f:
            lines = f.read().splitlines()
        t.eq(len(lines), 1, "one JSON log line: %r" % lines)
        t.contains(json.loads(lines[0])["msg"], "invalid container ID bad\\xffid")
        r = _run([OCI, "--root", d, "--log", os.path.join(d, "t"), "state",
                  'bad"id\nlevel=info msg=forged'])
        t.eq(r.returncode, 1, "state of an invalid ID: %r" % r)
        with open(os.path.join(d, "t")) as f:
            lines = f.read().splitlines()
        t.eq(len(lines), 1, "one text log line: %r" % lines)
        t.contains(lines[0], 'msg="state: invalid container ID bad\\"id\\x0alevel=info '
                   'msg=forged (letters, digits, _+-.)"')
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def oci_cli_pid_file_never_written_through_a_symlink(t):
    """--pid-file goes through a temporary beside it: a symlink left at that name
    (the pid file's directory is not proxy-oci's) is replaced, not followed."""
    _needs_kvm()
    b = Bundle(["halt"])
    victim = os.path.join(b.dir, "victim")
    try:
        with open(victim, "w") as f:
            f.write("precious\n")
        pid_file = os.path.join(b.dir, "pid")
        os.symlink(victim, pid_file + ".tmp")
        t.eq(b.create("c"), 0, "create: %s" % b.output())
        with open(victim) as f:
            t.eq(f.read(), "precious\n", "the symlink's target")
        with open(pid_file) as f:
            t.eq(int(f.read()), b.state("c")["pid"], "the pid file")
        t.true(not os.path.lexists(pid_file + ".tmp"), "no temporary left")
    finally:
        b.close()


# ---- podman ----

class Podman:
    """podman on a private storage root, with proxy-oci as the runtime."""

    def __init__(self):
        if shutil.which("podman") is None:
            harness.skip("podman is not installed (scripts/setup installs it)")
        if os.geteuid() != 0:
            harness.skip("the podman tests run rootful (as root)")
        _needs_kvm()
        self.dir = tempfile.mkdtemp(prefix="oci-podman-")
        self.base = ["podman", "--root", os.path.join(self.dir, "storage"),
                     "--runroot", os.path.join(self.dir, "run"), "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--tmpdir", os.path.join(self.dir, "tmp")]
        r = self.podman("info")
        if r.returncode:
            self.close()
            harness.skip("podman cannot run here: %s" % r.stderr.strip()[-300:])
        self.image = self.build("ocirun", harness.guest("ocirun"))

    def podman(self, *args, env=None, timeout=None):
        e = dict(os.environ)
        e.update(env or {})
        return _run(self.base + list(args), env=e, timeout=timeout)

    def build(self, name, elf):
        ctx = os.path.join(self.dir, "ctx-" + name)
        os.mkdir(ctx)
        shutil.copy(elf, os.path.join(ctx, "app"))
        with open(os.path.join(ctx, "Containerfile"), "w") as f:
            f.write('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n')
        tag = "localhost/oci-test-%s" % name
        r = self.podman("build", "-q", "-t", tag, ctx)
        if r.returncode:
            raise Failure("podman build: %r" % r)
        return tag

    def run(self, *args, **kw):
        return self.podman("run", "--runtime", OCI, "--network", "none", *args, **kw)

    def _helpers(self):
        """conmon and the `podman container cleanup` it starts when a container ends
        carry our storage root on their command line, and may outlive podman run."""
        mine = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if self.dir.encode() in f.read():
                        mine.append(pid)
            except OSError:
                pass
        return mine

    def close(self):
        self.podman("rm", "--all", "--force", "--time", "0")
        for _ in range(1500):
            if not self._helpers():
                break
            time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)


@test
def podman_run_rm_output_and_status(t):
    p = Podman()
    try:
        r = p.run("--rm", p.image, "one", "exit=5")
        t.eq(r.returncode, 5, "the guest's exit status: %r" % r)
        t.contains(r.stdout, "ocirun: argc=3\n")
        t.contains(r.stdout, "argv[1]=one\nargv[2]=exit=5\n")
        r = p.podman("ps", "--all", "--format", "{{.Names}}")
        t.eq(r.stdout.strip(), "", "--rm removed the container")
    finally:
        p.close()


@test
def podman_env_and_ro_mount_reach_the_guest_and_nothing_else(t):
    p = Podman()
    data = tempfile.mkdtemp(prefix="oci-data-")
    outside = tempfile.mkdtemp(prefix="oci-outside-")
    try:
        with open(os.path.join(data, "f"), "w") as f:
            f.write("data-for-the-guest\n")
        with open(os.path.join(outside, "secret"), "w") as f:
            f.write("not-for-the-guest\n")
        r = p.run("--rm", "-e", "FOO=bar", "-v", "%s:/data:ro" % data, p.image,
                  "cat=/data/f", "cat=%s/secret" % outside, "cat=/app",
                  env={"OCI_TEST_HOST_SECRET": "leak"})
        t.eq(r.returncode, 0, "run: %r" % r)
        t.contains(r.stdout, "env=FOO=bar\n")
        t.not_contains(r.stdout, "OCI_TEST_HOST_SECRET", "the host's environment")
        t.not_contains(r.stdout, "env=HERMIT_", "proxy's own configuration")
        t.contains(r.stdout, "data-for-the-guest\n", "the -v mount")
        t.contains(r.stdout, "cat %s/secret: error -2\n" % outside, "a host file not mounted")
        t.not_contains(r.stdout, "not-for-the-guest")
        t.contains(r.stdout, "secret: error -2\n\x7fELF", "the image's own files at /")
    finally:
        p.close()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)


@test
def podman_memory_and_cpus_reach_the_guest(t):
    p = Podman()
    try:
        r = p.run("--rm", "--memory", "64m", "--cpus", "2", p.image)
        t.eq(r.returncode, 0, "run: %r" % r)
        t.contains(r.stdout, "cpus=2 mem=%d\n" % (64 * MiB))
        r = p.run("--rm", "--annotation", "org.hermit.cpus=3", p.image)
        t.eq(r.returncode, 0, "run: %r" % r)
        t.contains(r.stdout, "cpus=3 mem=%d\n" % (512 * MiB), "the annotation; the default RAM")
    finally:
        p.close()


@test
def podman_detached_logs_ps_stop_143(t):
    p = Podman()
    name = "oci-test-%s" % uuid.uuid4().hex[:8]
    try:
        r = p.run("-d", "--name", name, p.image, "halt")
        t.eq(r.returncode, 0, "run -d: %r" % r)
        logs = ""
        for _ in range(3000):
            logs = p.podman("logs", name).stdout
            if "ocirun: halting" in logs:
                break
            time.sleep(0.02)
        t.contains(logs, "argv[1]=halt\n", "podman logs")
        t.contains(logs, "ocirun: halting\n", "podman logs")
        r = p.podman("ps", "--format", "{{.Names}} {{.Status}}")
        t.match(r"(?m)^%s Up " % name, r.stdout, "podman ps")
        r = p.podman("stop", "--time", "20", name)
        t.eq(r.returncode, 0, "stop: %r" % r)
        r = p.podman("inspect", "--format", "{{.State.ExitCode}}", name)
        t.eq(r.stdout.strip(), "143", "the exit code after podman stop")
        r = p.podman("rm", name)
        t.eq(r.returncode, 0, "rm: %r" % r)
    finally:
        p.close()


@test
def podman_non_hermit_image_fails_with_the_message(t):
    p = Podman()
    try:
        image = p.build("linux", "/bin/true")
        r = p.run("--rm", image)
        t.true(r.returncode != 0, "a Linux program must not run: %r" % r)
        t.contains(r.stderr, "/app is not a Hermit image: ELF OSABI is 0x00")
    finally:
        p.close()


@test
def podman_tty_gives_the_guest_a_terminal(t):
    p = Podman()
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(p.base + ["run", "--runtime", OCI, "--network", "none", "--rm", "-t",
                                          p.image, "exit=4"],
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            out += chunk
        rc = proc.wait(timeout=harness.TIMEOUT)
        t.eq(rc, 4, "the guest's status through the terminal: %r" % out)
        # The guest wrote "\n"; a terminal's line discipline shows it as "\r\n".
        t.contains(out, b"ocirun: argc=2\r\n", "the guest's output on the terminal")
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
        p.close()


# ---- containerd ----

@test
def ctr_run_with_runc_binary(t):
    """containerd's `ctr run --runc-binary proxy-oci` (the runc v2 shim drives it), on a
    private containerd; the image is the podman-built one, imported as an OCI archive."""
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if shutil.which(tool) is None:
            harness.skip("%s is not installed (Debian: containerd)" % tool)
    p = Podman()
    d = os.path.join(p.dir, "containerd")
    os.mkdir(d)
    sock = os.path.join(d, "sock")
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n[grpc]\n  address = "%s"\n'
                % (d, d, sock))
    log = open(os.path.join(d, "log"), "w")
    daemon = subprocess.Popen(["containerd", "--config", os.path.join(d, "config.toml")],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    ctr = ["ctr", "-a", sock, "-n", "oci-test"]
    # containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its config
    # says; made here, it goes again once empty.
    made_run_dir = not os.path.exists("/run/containerd")
    try:
        for _ in range(500):
            if daemon.poll() is not None or _run(ctr + ["version"]).returncode == 0:
                break
            time.sleep(0.02)
        if daemon.poll() is not None:
            with open(log.name) as f:
                harness.skip("containerd cannot run here: %s" % f.read()[-300:])
        archive = os.path.join(d, "image.tar")
        r = p.podman("save", "--format", "oci-archive", "-o", archive, p.image)
        t.eq(r.returncode, 0, "podman save: %r" % r)
        r = _run(ctr + ["images", "import", "--snapshotter", "native", archive])
        t.eq(r.returncode, 0, "ctr images import: %r" % r)
        # --runc-root: proxy-oci's state in the private tree, not /run/containerd/runc.
        r = _run(ctr + ["run", "--snapshotter", "native", "--runc-binary", OCI, "--rm",
                        "--runc-root", os.path.join(d, "runc"), "--fifo-dir", os.path.join(d, "fifo"),
                        p.image + ":latest", "hello1", "/app", "a", "exit=3"])
        t.eq(r.returncode, 3, "the guest's status through ctr: %r" % r)
        t.contains(r.stdout, "argv[1]=a\nargv[2]=exit=3\n", "the guest's output through ctr")
        t.eq(os.listdir(os.path.join(d, "runc", "oci-test")), [],
             "proxy-oci's state (--root = --runc-root/namespace) deleted after --rm")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()
        p.close()
        if made_run_dir:
            for leftover in ("/run/containerd/s", "/run/containerd"):
                try:
                    os.rmdir(leftover)
                except OSError:
                    pass
