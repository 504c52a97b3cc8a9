"""The file and environment policies (issue 13): a hostile guest against --mount and --env.

The hostile guest (tests/guest/hostile.c) tries, through OPEN, READ, WRITE and UNLINK,
paths outside every mapping, `..` escapes, a symlink planted in a mapping that points
out, writes into a read-only mapping, unlink outside, and /proc/self/fd/N and /dev/fd/N
with the whole host mapped; it reads a mapped file, which must work. Every ABI runs it.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flavours  # noqa: E402
import harness  # noqa: E402
from harness import test  # noqa: E402

FLAVOURS = (flavours.RUSTY, flavours.C, flavours.HERMIT_ENTRY)
ENOENT, EACCES, EROFS = -2, -13, -30


class Tree:
    """top/data (mapped), top/ro (mapped :ro), top/secret.txt (not mapped)."""

    def __init__(self, top):
        self.top = top
        self.data = os.path.join(top, "data")
        self.ro = os.path.join(top, "ro")
        self.secret = os.path.join(top, "secret.txt")
        os.mkdir(self.data)
        os.mkdir(self.ro)
        self.put(self.secret, "host secret\n")
        self.put(os.path.join(self.data, "mine.txt"), "given to the guest\n")
        self.put(os.path.join(self.data, "remove-me"), "")
        self.put(os.path.join(self.ro, "keep.txt"), "read-only\n")
        os.symlink("../secret.txt", os.path.join(self.data, "planted"))
        os.symlink(self.secret, os.path.join(self.data, "planted-abs"))
        os.symlink("..", os.path.join(self.data, "updir"))

    @staticmethod
    def put(path, text):
        with open(path, "w") as f:
            f.write(text)

    def mounts(self):
        return ["--mount", self.data + ":/data", "--mount", self.ro + ":/ro:ro"]


def _run(t, fl, attempts, extra, env=None, **kw):
    r = fl.run("hostile", attempts, env=dict(env or {}, HERMIT_TRACE="1"), extra=extra, **kw)
    t.ok(r, "%s hostile guest: %s" % (fl.name, r.stdout))
    t.contains(r.stdout, "hostile: done")
    return r


def _got(t, r, line, fl):
    t.contains(r.stdout.splitlines(), line, "%s: %s" % (fl.name, line))


def _unlinked(fl, path, result):
    return "unlink %s = %s" % (path, result if fl.has_unlink else "no UNLINK")


@test
def policy_hostile_guest_reaches_only_its_mappings(t):
    for fl in FLAVOURS:
        with tempfile.TemporaryDirectory() as top:
            tree = Tree(top)
            attempts = [
                "read:/data/mine.txt",                      # mapped: must work
                "read:" + tree.secret,                      # outside every mapping
                "read:/etc/shadow",
                "read:/data/../secret.txt",                 # .. escape
                "read:/data/updir/secret.txt",              # .. through a planted symlink
                "read:/data/planted",                       # planted symlink, relative
                "read:/data/planted-abs",                   # planted symlink, absolute
                "write:" + os.path.join(top, "created.txt"),
                "write:/data/../created.txt",
                "write:/data/planted",                      # write through the symlink
                "write:/ro/keep.txt",                       # read-only mapping
                "write:/ro/new.txt",
                "read:/ro/keep.txt",
                "unlink:/ro/keep.txt",
                "unlink:" + tree.secret,                    # unlink outside
                "unlink:/data/../secret.txt",
                "unlink:/data/updir/secret.txt",
                "write:/data/guest.txt",                    # creation inside: allowed
                "unlink:/data/remove-me",
            ]
            r = _run(t, fl, attempts, tree.mounts())
            _got(t, r, 'read /data/mine.txt = "given to the guest|"', fl)
            for path in (tree.secret, "/etc/shadow"):
                _got(t, r, "read %s = %d" % (path, ENOENT), fl)
            for path in ("/data/../secret.txt", "/data/updir/secret.txt", "/data/planted",
                         "/data/planted-abs"):
                _got(t, r, "read %s = %d" % (path, EACCES), fl)
            _got(t, r, "write %s = %d" % (os.path.join(top, "created.txt"), ENOENT), fl)
            _got(t, r, "write /data/../created.txt = %d" % EACCES, fl)
            _got(t, r, "write /data/planted = %d" % EACCES, fl)
            _got(t, r, "write /ro/keep.txt = %d" % EROFS, fl)
            _got(t, r, "write /ro/new.txt = %d" % EROFS, fl)
            _got(t, r, 'read /ro/keep.txt = "read-only|"', fl)
            _got(t, r, _unlinked(fl, "/ro/keep.txt", EROFS), fl)
            _got(t, r, _unlinked(fl, tree.secret, ENOENT), fl)
            _got(t, r, _unlinked(fl, "/data/../secret.txt", EACCES), fl)
            _got(t, r, _unlinked(fl, "/data/updir/secret.txt", EACCES), fl)
            _got(t, r, "write /data/guest.txt = ok", fl)
            _got(t, r, _unlinked(fl, "/data/remove-me", 0), fl)
            # The host is as it was, but for what the mapping allowed.
            with open(tree.secret) as f:
                t.eq(f.read(), "host secret\n", "%s: the secret is untouched" % fl.name)
            t.true(not os.path.exists(os.path.join(top, "created.txt")), "nothing created outside")
            with open(os.path.join(tree.ro, "keep.txt")) as f:
                t.eq(f.read(), "read-only\n", "the read-only file is untouched")
            t.true(not os.path.exists(os.path.join(tree.ro, "new.txt")), "nothing created in ro")
            with open(os.path.join(tree.data, "guest.txt")) as f:
                t.eq(f.read(), "written by the hostile guest\n", "the guest's own file")
            t.eq(os.path.exists(os.path.join(tree.data, "remove-me")), not fl.has_unlink,
                 "remove-me unlinked where the ABI has UNLINK")
            # Refusals show in the trace as the errno the guest got.
            t.contains(r.stderr, 'open("/etc/shadow", O_RDONLY, 0) = -2 ENOENT', "trace")
            t.contains(r.stderr, 'open("/data/planted", O_RDONLY, 0) = -13 EACCES', "trace")
            t.contains(r.stderr, 'open("/ro/keep.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = '
                       '-30 EROFS', "trace")


@test
def policy_nothing_mapped_by_default(t):
    for fl in FLAVOURS:
        with tempfile.TemporaryDirectory() as top:
            tree = Tree(top)
            r = _run(t, fl, ["read:" + tree.secret, "read:secret.txt", "read:/",
                             "unlink:" + tree.secret], [], cwd=top)
            _got(t, r, "read %s = %d" % (tree.secret, ENOENT), fl)
            _got(t, r, "read secret.txt = %d" % ENOENT, fl)
            _got(t, r, "read / = %d" % ENOENT, fl)
            _got(t, r, _unlinked(fl, tree.secret, ENOENT), fl)
            t.true(os.path.exists(tree.secret), "nothing unlinked")


@test
def policy_magic_links_refused_with_the_whole_host_mapped(t):
    for fl in FLAVOURS:
        with tempfile.TemporaryDirectory() as top:
            tree = Tree(top)
            r = _run(t, fl, ["fds:/proc/self/fd/", "fds:/dev/fd/", "read:" + tree.secret,
                             "read:secret.txt"], ["--mount", "/"], cwd=top)
            # (A number with no descriptor behind it may say ENOENT before the link.)
            t.match(r"(?m)^fds /proc/self/fd/ = 0 opened, last error -(2|13)$", r.stdout,
                    "%s: no /proc/self/fd/N opened" % fl.name)
            t.match(r"(?m)^fds /dev/fd/ = 0 opened, last error -(2|13)$", r.stdout,
                    "%s: no /dev/fd/N opened" % fl.name)
            t.contains(r.stderr, 'open("/proc/self/fd/0", O_RDONLY, 0) = -13 EACCES', "trace")
            # The seed's behaviour otherwise: any host file, relative from the cwd.
            _got(t, r, 'read %s = "host secret|"' % tree.secret, fl)
            _got(t, r, 'read secret.txt = "host secret|"', fl)


@test
def policy_relative_paths_and_the_hermit_mount_point(t):
    with tempfile.TemporaryDirectory() as top:
        tree = Tree(top)
        # The first directory mapping is the guest's current directory.
        for fl in FLAVOURS:
            r = _run(t, fl, ["read:mine.txt", "read:../secret.txt"], tree.mounts())
            _got(t, r, 'read mine.txt = "given to the guest|"', fl)
            _got(t, r, "read ../secret.txt = %d" % EACCES, fl)
        # Hermit 0.6 sends /root/x as "x": a mapping at /root takes it, wherever it is.
        fl = flavours.HERMIT_ENTRY
        r = _run(t, fl, ["read:keep.txt"], tree.mounts() + ["--mount", tree.ro + ":/root:ro"])
        _got(t, r, 'read keep.txt = "read-only|"', fl)
        r = _run(t, flavours.RUSTY, ["read:keep.txt"],
                 tree.mounts() + ["--mount", tree.ro + ":/root:ro"])
        _got(t, r, "read keep.txt = %d" % ENOENT, flavours.RUSTY)


@test
def policy_hermit_mount_variable_and_file_mapping(t):
    with tempfile.TemporaryDirectory() as top:
        tree = Tree(top)
        fl = flavours.RUSTY
        env = {"HERMIT_MOUNT": "%s:/data,%s:/etc/given.txt:ro" % (tree.data, tree.secret)}
        r = _run(t, fl, ["read:/data/mine.txt", "read:/etc/given.txt", "write:/etc/given.txt",
                         "read:/etc/given.txt/x"], [], env=env)
        _got(t, r, 'read /data/mine.txt = "given to the guest|"', fl)
        _got(t, r, 'read /etc/given.txt = "host secret|"', fl)
        _got(t, r, "write /etc/given.txt = %d" % EROFS, fl)
        _got(t, r, "read /etc/given.txt/x = -20", fl)


@test
def policy_mount_of_a_missing_host_path_is_a_setup_error(t):
    r = flavours.RUSTY.run("hostile", [], extra=["--mount", "/no/such/dir:/data"])
    t.eq(r.returncode, 1, "set-up failure status")
    t.contains(r.stderr, "--mount: the host path /no/such/dir (mapped to /data in the guest) "
               "does not exist")
    t.not_contains(r.stdout, "hostile", "the guest did not run")


def _env_lines(stdout):
    return [l[4:] for l in stdout.splitlines() if l.startswith("env=")]


@test
def policy_environment_under_each_policy(t):
    host = {"PATH": "/usr/bin:/bin", "HOME": "/home/user", "SECRET_TOKEN": "hunter2",
            "HERMIT_CPUS": "1"}
    for fl in FLAVOURS:
        # Default: nothing of the host (Hermit 0.6 gets its placeholders).
        r = fl.run_exact_env("hostile", [], host)
        t.ok(r)
        t.eq(_env_lines(r.stdout), fl.empty_env, "%s: default environment" % fl.name)
        # --env NAME (the host's value), --env NAME=VALUE; unset names give nothing.
        r = fl.run_exact_env("hostile", [], host, extra=["--env", "HOME", "--env", "LANG=C.UTF-8",
                                                         "--env", "NOT_SET"])
        t.ok(r)
        t.eq(_env_lines(r.stdout), fl.env_as_seen(["HOME=/home/user", "LANG=C.UTF-8"]),
             "%s: --env" % fl.name)
        # HERMIT_ENV, entries separated by spaces.
        r = fl.run_exact_env("hostile", [], dict(host, HERMIT_ENV="PATH A=1"))
        t.ok(r)
        t.eq(_env_lines(r.stdout), fl.env_as_seen(["PATH=/usr/bin:/bin", "A=1"]),
             "%s: HERMIT_ENV" % fl.name)
        # --env-host: everything, HERMIT_* too, as the seed did.
        r = fl.run_exact_env("hostile", [], host, extra=["--env-host"])
        t.ok(r)
        t.eq(sorted(_env_lines(r.stdout)), sorted("%s=%s" % kv for kv in host.items()),
             "%s: --env-host" % fl.name)


SPECIAL_MODES = ((0o4755, "suid"), (0o2755, "sgid"), (0o1777, "sticky"), (0o7777, "all"))


def _create_special(t, fl, tree, extra=()):
    """The guest creates /data/<name> asking for each special mode; returns their stats."""
    attempts = ["create:%o:/data/%s" % (mode, name) for mode, name in SPECIAL_MODES]
    r = _run(t, fl, attempts, tree.mounts() + list(extra))
    stats = {}
    for mode, name in SPECIAL_MODES:
        _got(t, r, "create /data/%s = ok" % name, fl)
        st = os.lstat(os.path.join(tree.data, name))
        t.eq(st.st_mode & 0o7000, 0, "%s: %s (asked %o) has no setuid/setgid/sticky bit, got %o"
             % (fl.name, name, mode, st.st_mode & 0o7777))
        stats[name] = st
    # The trace shows what the guest asked for; the host file got permission bits only.
    t.contains(r.stderr, 'open("/data/suid", O_WRONLY|O_CREAT|O_TRUNC, 04755) = ', "trace")
    return stats


@test
def policy_guest_never_creates_setuid_setgid_or_sticky_files(t):
    for fl in FLAVOURS:
        with tempfile.TemporaryDirectory() as top:
            tree = Tree(top)
            old = os.umask(0)
            try:
                stats = _create_special(t, fl, tree)
            finally:
                os.umask(old)
            t.eq(stats["suid"].st_mode & 0o7777, 0o755, "%s: 04755 became 0755" % fl.name)
            t.eq(stats["sticky"].st_mode & 0o7777, 0o777, "%s: 01777 became 0777" % fl.name)
            t.eq(stats["suid"].st_uid, os.geteuid(), "%s: owned by proxy's user" % fl.name)


@test
def policy_open_keeps_only_hermits_open_flags(t):
    """OPEN keeps the flags Hermit's open has (FILES_OPEN_FLAGS) and drops the rest,
    as uhyve does, so a checkpoint's saved files never carry others: O_PATH is
    dropped (the file opens for reading, the READ gets its bytes, not EBADF), and
    O_TMPFILE on a read-write mapping makes no unnamed file (what is left,
    O_DIRECTORY|O_RDWR on a directory, fails)."""
    for fl in FLAVOURS:
        with tempfile.TemporaryDirectory() as top:
            tree = Tree(top)
            o_path, o_tmpfile, o_rdwr = 0o10000000, 0o20200000, 0o2
            r = _run(t, fl, ["flags:%o:/data/mine.txt" % o_path,
                             "flags:%o:/data" % (o_tmpfile | o_rdwr)], tree.mounts())
            _got(t, r, 'flags /data/mine.txt = "given to the guest|"', fl)
            t.true(any(re.match(r"flags /data = -\d+$", l) for l in r.stdout.splitlines()),
                   "%s: O_TMPFILE refused, no unnamed file: %r" % (fl.name, r.stdout))


@test
def policy_files_created_after_user_drop_belong_to_that_user(t):
    if os.geteuid() != 0:
        harness.skip("needs root for --user nobody")
    fl = flavours.RUSTY
    with tempfile.TemporaryDirectory() as top:
        tree = Tree(top)
        os.chmod(top, 0o755)
        os.chmod(tree.data, 0o777)  # nobody creates there
        stats = _create_special(t, fl, tree, extra=["--user", "nobody"])
        for name, st in stats.items():
            t.eq((st.st_uid, st.st_gid), (65534, 65534), "%s: owned by nobody" % name)
