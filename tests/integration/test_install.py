"""Installing like a Debian tool: `make install` / `make uninstall` (PREFIX, DESTDIR),
the manual pages, the bash completion, and proxy-gdb driving GDB and LLDB.

Every proxy-gdb run carries a marker in its environment, which proxy-gdb, GDB and
proxy inherit: afterwards no process may still carry it (proxy-gdb must never leave
proxy running), and whatever does is killed.
"""

# What is checked here (file layout, manual page, completion, proxy-gdb's plumbing)
# does not depend on the host's kind of KVM; the debugger paths that do are in
# tests/gdb and tests/hwkvm. So the realkvm lane leaves this module out (see run-tests).
HOST_INDEPENDENT = True
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, test  # noqa: E402
import guestrun  # noqa: E402

ROOT = harness.ROOT
PROXY_GDB = os.path.join(ROOT, "scripts", "proxy-gdb")
COMPLETION = os.path.join(ROOT, "scripts", "bash-completion", "proxy")
MAN_PAGES = {"proxy": os.path.join(ROOT, "doc", "proxy.1"),
             "proxy-gdb": os.path.join(ROOT, "doc", "proxy-gdb.1"),
             "proxy-oci": os.path.join(ROOT, "doc", "proxy-oci.1")}
PREFIX = "/usr"
# Installed path (under DESTDIR) -> mode.
INSTALLED = {
    "usr/bin/proxy": 0o755,
    "usr/bin/proxy-gdb": 0o755,
    "usr/bin/proxy-oci": 0o755,
    "usr/share/man/man1/proxy.1": 0o644,
    "usr/share/man/man1/proxy-gdb.1": 0o644,
    "usr/share/man/man1/proxy-oci.1": 0o644,
    "usr/share/bash-completion/completions/proxy": 0o644,
    "usr/share/bash-completion/completions/proxy-gdb": 0o644,
    "usr/share/doc/proxy/README.md": 0o644,
    "usr/share/doc/proxy/checkpoint-format.md": 0o644,
}
MARKER = "PROXY_INSTALL_TEST_MARKER"


def _make_env():
    # Under `make check` the runner inherits MAKEFLAGS (jobserver descriptors that
    # are not ours); a clean sub-make needs none of it.
    return {k: v for k, v in harness.proxy_env().items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def make(*args):
    # -o proxy: the suite runs on a built tree; make must not rebuild ./proxy under
    # the tests running beside this one.
    cmd = ["make", "--no-print-directory", "-s", "-C", ROOT, "-o", "proxy", "-o", "proxy-oci"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=_make_env(),
                       timeout=harness.TIMEOUT)
    if p.returncode:
        raise Failure("%s failed (%d): %s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def installed_files(destdir):
    out = []
    for d, _, files in os.walk(destdir):
        out += [os.path.relpath(os.path.join(d, f), destdir) for f in files]
    return sorted(out)


def help_text():
    p = subprocess.run([harness.PROXY, "--help"], capture_output=True, text=True,
                       timeout=harness.TIMEOUT)
    return p.stdout


def help_long_options():
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text()))
    if len(opts) < 10:
        raise Failure("--help parsed badly: %r" % sorted(opts))
    return sorted(opts)


def help_short_options():
    return sorted(set(re.findall(r"^\s+(-[a-zA-Z]),", help_text(), re.M)))


def needs(program):
    if not shutil.which(program):
        harness.skip("%s is not installed" % program)


def render_man(page, extra_env=None):
    """The page as plain text, without hyphenation or justification, and man's stderr."""
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    env.update(extra_env or {})
    cmd = ["man", "--warnings", "--nh", "--nj"] + (["-l", page] if os.sep in page else [page])
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=harness.TIMEOUT)
    text = re.sub(r".\x08", "", p.stdout.decode(errors="replace"))  # overstrikes
    return p.returncode, text, p.stderr.decode(errors="replace")


def man_sections(text):
    """{SECTION NAME: body} of a rendered page (headings start in column 0)."""
    parts = re.split(r"^([A-Z][A-Z ]+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


# ---- make install / make uninstall -------------------------------------------

@test
def install_puts_every_file_in_place_and_uninstall_removes_them(t):
    with tempfile.TemporaryDirectory() as destdir, tempfile.TemporaryDirectory() as cwd:
        make("install", "DESTDIR=" + destdir, "PREFIX=" + PREFIX)
        t.eq(installed_files(destdir), sorted(INSTALLED), "the installed files")
        for rel, mode in INSTALLED.items():
            st = os.stat(os.path.join(destdir, rel))
            t.eq(oct(stat.S_IMODE(st.st_mode)), oct(mode), "mode of " + rel)
        with open(os.path.join(destdir, "usr/share/doc/proxy/README.md")) as f, \
                open(os.path.join(ROOT, "README.md")) as g:
            t.true(f.read() == g.read(), "README.md installed unchanged")
        # Every document the man page sends the reader to is installed.
        with open(MAN_PAGES["proxy"]) as f:
            named = set(re.findall(r"([a-z][a-z\\-]*\.md)", f.read()))
        t.true("checkpoint\\-format.md" in named, "proxy(1) names the checkpoint format")
        for doc in sorted(named):
            t.true(os.path.isfile(os.path.join(destdir, "usr/share/doc/proxy",
                                               doc.replace("\\-", "-"))),
                   "%s, named by proxy(1), is installed" % doc)
        with open(os.path.join(destdir, "usr/bin/proxy-gdb")) as f:
            t.eq(f.readline(), "#!/usr/bin/env python3\n", "proxy-gdb's interpreter line")

        # The installed binary works from anywhere: no data files, nothing relative.
        proxy = os.path.join(destdir, "usr/bin/proxy")
        v = subprocess.run([proxy, "--version"], capture_output=True, text=True, cwd=cwd,
                           timeout=harness.TIMEOUT)
        t.eq(v.returncode, 0, "installed proxy --version")
        t.match(r"^proxy \d+\.\d+\.\d+\n", v.stdout, "the version")
        r = subprocess.run([proxy, harness.guest("hello")], capture_output=True, text=True,
                           cwd=cwd, env=harness.proxy_env(), timeout=harness.TIMEOUT)
        t.eq(r.returncode, 0, "the installed proxy boots hello.elf from %s: %s" % (cwd, r.stderr))
        t.eq(r.stdout, "Hello from a HermitCore test guest\n", "the guest's output")
        t.eq(os.listdir(cwd), [], "nothing written to the working directory")

        # The man pages and proxy say the same version.
        version = v.stdout.split()[1]
        for name, page in MAN_PAGES.items():
            with open(page) as f:
                th = re.search(r'^\.TH \S+ 1 \S+ "proxy ([^"]+)"', f.read(), re.M)
            t.true(th, "%s has a .TH line with the version" % page)
            t.eq(th.group(1), version, "the version in %s" % page)

        make("uninstall", "DESTDIR=" + destdir, "PREFIX=" + PREFIX)
        t.eq(installed_files(destdir), [], "make uninstall leaves no file")
        t.true(not os.path.exists(os.path.join(destdir, "usr/share/doc/proxy")),
               "share/doc/proxy removed once empty")
        make("uninstall", "DESTDIR=" + destdir, "PREFIX=" + PREFIX)  # again: still fine


@test
def install_default_prefix_is_usr_local(t):
    with tempfile.TemporaryDirectory() as destdir:
        p = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "-o", "proxy", "-o", "proxy-oci", "-n",
                            "install", "DESTDIR=" + destdir], capture_output=True, text=True,
                           env=_make_env(), timeout=harness.TIMEOUT)
        t.eq(p.returncode, 0, "make -n install: %s" % p.stderr)
        for rel in INSTALLED:
            t.contains(p.stdout, destdir + "/usr/local/" + rel[len("usr/"):],
                       "make install (dry run) targets PREFIX=/usr/local")
        t.eq(installed_files(destdir), [], "a dry run installs nothing")


# ---- the manual pages ------------------------------------------------------------

@test
def man_page_renders_with_every_section_and_option(t):
    needs("man")
    rc, text, err = render_man(MAN_PAGES["proxy"])
    t.eq(rc, 0, "man -l doc/proxy.1: %s" % err)
    t.eq(err, "", "man --warnings says nothing")
    sections = man_sections(text)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS",
              "DEBUGGING", "EXAMPLES", "FILES", "SEE ALSO"):
        t.true(s in sections, "section %s in proxy(1): %r" % (s, sorted(sections)))
    for opt in help_long_options():
        t.match(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), sections["OPTIONS"],
                "proxy(1) OPTIONS documents %s (from --help)" % opt)
    for opt in help_short_options():
        t.match(r"(?<![\w-])%s," % re.escape(opt), sections["OPTIONS"],
                "proxy(1) OPTIONS documents %s" % opt)
    t.contains(sections["OPTIONS"], "--trace=FILE", "--trace takes its file after '='")
    variables = set(harness.readme_config_variables())
    t.true(len(variables) > 15, "README's configuration table parsed: %r" % variables)
    for var in sorted(variables | set(re.findall(r"\bHERMIT_[A-Z_]+\b", help_text()))):
        t.match(r"(?m)^\s+(\S+, )*%s\b" % var, sections["ENVIRONMENT"],
                "ENVIRONMENT has an entry for %s (README's table, --help)" % var)
    # The boolean values: exactly those --help lists.
    m = re.search(r"boolean ones take (.*?)\):", help_text().replace("\n", " "))
    t.true(m, "--help lists the boolean values")
    env_intro = re.sub(r"\s+", " ", sections["ENVIRONMENT"].split("HERMIT_CPUS")[0])
    for word in re.split(r",\s*|\s+or\s+|;\s*", m.group(1)):
        t.match(r"\b%s\b" % re.escape(word.strip()), env_intro,
                "ENVIRONMENT's boolean values include %r" % word)
    # The statuses are the tags of EXIT STATUS's list: exactly the new numbers.
    tags = re.findall(r"(?m)^ {7}(\d+(?:-\d+)?(?:, \d+)*)(?= {2,}|$)", sections["EXIT STATUS"])
    t.eq(tags, ["0-255", "1", "2", "119", "120", "121", "122", "123", "129, 130, 131, 143", "159"],
         "the statuses in EXIT STATUS")
    debugging = re.sub(r"\s+", " ", sections["DEBUGGING"])
    for what in ("HERMIT_DEBUG=1", "proxy -d", "target remote :1234", "proxy-gdb",
                 "monitor help", "Hardware KVM", "software KVM"):
        t.contains(debugging, what, "DEBUGGING")
    t.contains(sections["FILES"], "~/.proxy_history", "FILES")
    for ref in ("gdb(1)", "lldb(1)", "proxy-gdb(1)"):
        t.contains(sections["SEE ALSO"], ref, "SEE ALSO")


@test
def proxy_gdb_man_page_renders(t):
    needs("man")
    rc, text, err = render_man(MAN_PAGES["proxy-gdb"])
    t.eq(rc, 0, "man -l doc/proxy-gdb.1: %s" % err)
    t.eq(err, "", "man --warnings says nothing")
    sections = man_sections(text)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES",
              "SEE ALSO"):
        t.true(s in sections, "section %s in proxy-gdb(1): %r" % (s, sorted(sections)))
    for opt in ("--lldb", "--tcp", "--proxy"):
        t.contains(sections["OPTIONS"], opt, "proxy-gdb(1) documents " + opt)


@test
def man_finds_the_installed_pages(t):
    needs("man")
    with tempfile.TemporaryDirectory() as destdir:
        make("install", "DESTDIR=" + destdir, "PREFIX=" + PREFIX)
        manpath = os.path.join(destdir, "usr/share/man")
        for name in ("proxy", "proxy-gdb", "proxy-oci"):
            rc, text, err = render_man(name, {"MANPATH": manpath})
            t.eq(rc, 0, "MANPATH=%s man %s: %s" % (manpath, name, err))
            t.match(r"(?m)^NAME\n\s+%s - " % name, text, "man %s shows the installed page" % name)


@test
def proxy_oci_man_page_renders(t):
    needs("man")
    rc, text, err = render_man(MAN_PAGES["proxy-oci"])
    t.eq(rc, 0, "man -l doc/proxy-oci.1: %s" % err)
    t.eq(err, "", "man --warnings says nothing")
    sections = man_sections(text)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "FILES",
              "SEE ALSO"):
        t.true(s in sections, "section %s in proxy-oci(1): %r" % (s, sorted(sections)))
    for opt in ("--root", "--log", "--log-format", "--systemd-cgroup", "--force"):
        t.contains(sections["OPTIONS"], opt, "proxy-oci(1) documents " + opt)


@test
def install_prints_the_engine_configuration(t):
    with tempfile.TemporaryDirectory() as destdir:
        out = make("install", "DESTDIR=" + destdir, "PREFIX=" + PREFIX).stdout
        for line in ('proxy-oci = ["/usr/bin/proxy-oci"]', 'runtime_type = "io.containerd.runc.v2"',
                     'BinaryName = "/usr/bin/proxy-oci"', "RuntimeClass"):
            t.contains(out, line, "make install's message")
        v = subprocess.run([os.path.join(destdir, "usr/bin/proxy-oci"), "--version"],
                           capture_output=True, text=True, timeout=harness.TIMEOUT)
        t.eq(v.returncode, 0, "installed proxy-oci --version")


# ---- bash completion -------------------------------------------------------------

def complete(words, cwd=None, script=COMPLETION, prelude=""):
    """COMPREPLY for the last word of `words` (COMP_WORDBREAKS splits: pass '=' alone)."""
    needs("bash")
    line = " ".join(words)
    func = "_proxy_gdb" if words[0] == "proxy-gdb" else "_proxy"
    prog = "\n".join([
        prelude,
        "source %s || exit 3" % shlex.quote(script),
        "complete -p proxy proxy-gdb >/dev/null || exit 4",
        "COMP_WORDS=(%s)" % " ".join(shlex.quote(w) for w in words),
        "COMP_CWORD=%d" % (len(words) - 1),
        "COMP_LINE=%s" % shlex.quote(line),
        "COMP_POINT=%d" % len(line),
        "%s %s %s" % (func, shlex.quote(words[0]), shlex.quote(words[-1])),
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
    ])
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                       text=True, cwd=cwd or ROOT, timeout=harness.TIMEOUT)
    if p.returncode:
        raise Failure("completion of %r failed (%d): %s" % (words, p.returncode, p.stderr))
    return [w for w in p.stdout.split("\n") if w]


@test
def completion_of_options_and_their_values(t):
    t.eq(complete(["proxy", "--ab"]), ["--abi"], "proxy --ab<TAB>")
    t.eq(sorted(complete(["proxy", "--abi", ""])), ["auto", "c", "hermit-entry", "hermit-fdt1", "hermit-fdt2", "hermit-fdt3", "rusty"], "proxy --abi <TAB>")
    t.eq(complete(["proxy", "--abi", "r"]), ["rusty"], "proxy --abi r<TAB>")
    t.eq(complete(["proxy", "--abi", "=", "a"]), ["auto"], "proxy --abi=a<TAB> (split at '=')")
    t.eq(complete(["proxy", "--abi=c"]), ["--abi=c"], "proxy --abi=c<TAB> (one word)")
    t.eq(complete(["proxy", "-c", "2", "--st"]), ["--stats"], "after an option's value")
    t.eq(complete(["proxy", "-vc", "2", "--ver"]), ["--verbose", "--version"], "a bundle")
    t.eq(complete(["proxy", "-m", ""]), [], "a size: nothing to offer")
    offered = complete(["proxy", "--"])
    for opt in help_long_options():
        t.true(opt in offered, "proxy --<TAB> offers %s (from --help): %r" % (opt, offered))
    shorts = complete(["proxy", "-"])
    for opt in help_short_options():
        t.true(opt in shorts, "proxy -<TAB> offers %s: %r" % (opt, shorts))


@test
def completion_of_hermit_variables(t):
    t.eq(sorted(complete(["proxy", "HERMIT_DEB"])),
         ["HERMIT_DEBUG=", "HERMIT_DEBUG_ADDR=", "HERMIT_DEBUG_PORT=",
          "HERMIT_DEBUG_RECORD=", "HERMIT_DEBUG_SOCKET="], "HERMIT_DEB<TAB>")
    names = [w.rstrip("=") for w in complete(["proxy", "HERMIT_"])]
    for var in sorted(set(re.findall(r"\bHERMIT_[A-Z_]+\b", help_text()))):
        t.true(var in names, "HERMIT_<TAB> offers %s: %r" % (var, names))
    t.eq(sorted(complete(["proxy", "HERMIT_ABI", "=", ""])), ["auto", "c", "hermit-entry", "hermit-fdt1", "hermit-fdt2", "hermit-fdt3", "rusty"],
         "HERMIT_ABI=<TAB>")
    t.eq(complete(["proxy", "HERMIT_STATS", "=", ""]), ["0", "1"], "a boolean variable")
    t.eq(sorted(complete(["proxy", "HERMIT_DEBUG", "=", ""])), ["0", "1", "listen"],
         "HERMIT_DEBUG=<TAB>: a boolean, or listen")


@test
def completion_of_paths(t):
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "unikernel.elf"), "w").close()
        os.mkdir(os.path.join(tmp, "units"))
        t.eq(complete(["proxy", "unik"], cwd=tmp), ["unikernel.elf"], "the image")
        t.eq(sorted(complete(["proxy", "un"], cwd=tmp)), ["unikernel.elf", "units"],
             "files and directories")
        t.eq(complete(["proxy", "--abi", "c", "-m", "64M", "unik"], cwd=tmp), ["unikernel.elf"],
             "the image after options with values")
        t.eq(complete(["proxy", "--coredump", "unik"], cwd=tmp), ["unikernel.elf"],
             "--coredump FILE")
        t.eq(complete(["proxy", "--trace", "=", "unik"], cwd=tmp), ["unikernel.elf"],
             "--trace=FILE")
        os.mkdir(os.path.join(tmp, "ckpt"))
        t.eq(complete(["proxy", "--restore", "ck"], cwd=tmp), ["ckpt"], "--restore DIR")
        t.eq(complete(["proxy", "--restore", "=", "ck"], cwd=tmp), ["ckpt"], "--restore=DIR")
        t.eq(complete(["proxy", "HERMIT_RESTORE", "=", "ck"], cwd=tmp), ["ckpt"],
             "HERMIT_RESTORE=DIR")
        t.eq(complete(["proxy", "unikernel.elf", "--"], cwd=tmp), [],
             "after the image: guest arguments are files, not proxy's options")
        t.eq(complete(["proxy", "unikernel.elf", "unik"], cwd=tmp), ["unikernel.elf"],
             "after the image: files")
        # With the bash-completion package loaded, its _filedir does the file names.
        fake_filedir = '_filedir() { COMPREPLY+=("filedir:$cur"); }'
        t.eq(complete(["proxy", "-c", "2", "unik"], cwd=tmp, prelude=fake_filedir),
             ["filedir:unik"], "_filedir is used when defined")


@test
def completion_of_user_names(t):
    t.eq(complete(["proxy", "--user", "nobod"]), ["nobody"], "--user NAME: the host's users")
    t.eq(complete(["proxy", "--user", "=", "nobod"]), ["nobody"], "--user=NAME")
    t.eq(complete(["proxy", "--user", "nobody", "--st"]), ["--stats"], "after --user's value")


@test
def completion_of_proxy_gdb(t):
    t.eq(complete(["proxy-gdb", "--ll"]), ["--lldb"], "its own options")
    t.eq(complete(["proxy-gdb", "--tc"]), ["--tcp"], "its own options: --tcp")
    t.true("-batch" in complete(["proxy-gdb", "-b"]), "common GDB options")
    t.eq(complete(["proxy-gdb", "-batch", "--", "--ab"]), ["--abi"], "after --: proxy's options")
    t.eq(sorted(complete(["proxy-gdb", "--lldb", "--", "--abi", ""])), ["auto", "c", "hermit-entry", "hermit-fdt1", "hermit-fdt2", "hermit-fdt3", "rusty"],
         "after --: proxy's values")
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "unikernel.elf"), "w").close()
        t.eq(complete(["proxy-gdb", "-ex", "bt", "--", "-c", "2", "unik"], cwd=tmp),
             ["unikernel.elf"], "after --: the image")
        t.eq(complete(["proxy-gdb", "--proxy", "unik"], cwd=tmp), ["unikernel.elf"],
             "--proxy PATH")
        t.eq(complete(["proxy-gdb", "unik"], cwd=tmp), ["unikernel.elf"],
             "the image without --")
        t.eq(complete(["proxy-gdb", "-batch", "-ex", "bt", "unik"], cwd=tmp),
             ["unikernel.elf"], "the image after GDB's options, without --")


# ---- proxy-gdb -------------------------------------------------------------------

def _marked_pids(marker):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if ("%s=%s" % (MARKER, marker)).encode() in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def _kill_marked(marker):
    for pid in _marked_pids(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def proxy_gdb(t, args, env=None, cwd=None, program=PROXY_GDB, use_harness_proxy=True):
    """Run proxy-gdb to its end; Result with GDB's and the guest's stdout, and stderr.
    Afterwards no process of this run is left (checked, and killed if one is)."""
    marker = uuid.uuid4().hex
    e = harness.proxy_env(env)
    e[MARKER] = marker
    cmd = [program] + (["--proxy", harness.PROXY] if use_harness_proxy else []) + list(args)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, cwd=cwd,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=harness.TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise Failure("proxy-gdb did not finish within %ss: %s\nstdout=%r\nstderr=%r" % (
            harness.TIMEOUT, cmd, out[-3000:], err[-3000:]))
    finally:
        left = _marked_pids(marker)
        _kill_marked(marker)
    r = harness.Result(p.returncode, guestrun.text(out), guestrun.text(err))
    t.eq(left, [], "processes left running after proxy-gdb ended (%r)" % r)
    return r


def _proxy_gdb_module():
    import importlib.machinery
    import importlib.util
    sys.dont_write_bytecode = True  # no __pycache__ in scripts/
    loader = importlib.machinery.SourceFileLoader("proxy_gdb", PROXY_GDB)
    m = importlib.util.module_from_spec(importlib.util.spec_from_loader("proxy_gdb", loader))
    loader.exec_module(m)
    return m


@test
def proxy_gdb_parses_both_sides_of_the_separator(t):
    m = _proxy_gdb_module()
    for args, image in ((["img"], "img"), (["-c", "2", "img", "-c"], "img"),
                        (["-c2", "img"], "img"), (["-vc", "2", "img"], "img"),
                        (["--mem", "64M", "img"], "img"),
                        (["--abi=c", "img"], "img"), (["--trace", "img"], "img"),
                        (["--trace=t.txt", "img"], "img"), (["--coredump", "core", "img"], "img"),
                        (["--gdb-addr", "h", "-s", "0", "-m", "1G", "img"], "img"),
                        (["-d", "--", "-img"], "-img"), (["-c"], None), ([], None)):
        i = m.find_image(args)
        t.eq(args[i] if i is not None else None, image, "the image in %r" % args)
    t.eq(m.split_args(["-batch", "--lldb", "--proxy", "/p", "-o", "bt", "--", "a", "--", "b"]),
         (True, False, "/p", ["-batch", "-o", "bt"], ["a", "--", "b"]),
         "own options among LLDB's")
    t.eq(m.split_args(["-ex", "--lldb", "--proxy=/p", "-x", "f", "--tcp", "--", "a"]),
         (False, True, "/p", ["-ex", "--lldb", "-x", "f"], ["a"]), "an -ex value is GDB's")
    # Without '--' (as rust-gdb app): the first operand is the image, and proxy gets it
    # with the guest's arguments only.
    for args, want in ((["app"], (False, False, None, [], ["app"])),
                       (["app", "-c", "2", "--", "x"], None),
                       (["app", "-c", "2"], (False, False, None, [], ["app", "-c", "2"])),
                       (["-batch", "-nx", "-ex", "break main", "-x", "f", "app", "1"],
                        (False, False, None, ["-batch", "-nx", "-ex", "break main", "-x", "f"],
                         ["app", "1"])),
                       (["--lldb", "-o", "bt", "--proxy", "/p", "app"],
                        (True, False, "/p", ["-o", "bt"], ["app"])),
                       (["--tcp", "-ex", "-c", "app"], (False, True, None, ["-ex", "-c"], ["app"]))):
        if want is not None:
            t.eq(m.split_args(args), want, "without --: %r" % args)
    for args in (["-c", "core", "app"], ["-v", "app"], ["-s", "syms", "app"], ["-d", "dir", "app"],
                 ["--cpus=2", "app"], ["--mem", "1G", "app"], ["-batch"], []):
        try:
            m.split_args(args)
            t.true(False, "refused: %r" % args)
        except SystemExit as e:
            t.eq(e.code, 2, "a usage error: %r" % args)
    for word, proxys in (("-c", True), ("-vc", True), ("--cpus", True), ("--mem=1G", True),
                         ("--version", True), ("-batch", False), ("-nx", False),
                         ("-ex", False), ("--batch", False), ("-q", False)):
        t.eq(m._could_be_proxys(word), proxys, "%s could be proxy's" % word)
    t.eq(m.connect_address("0.0.0.0:5"), ("tcp", "127.0.0.1:5"), "a wildcard address")
    t.eq(m.connect_address("::1:5"), ("tcp", "[::1]:5"), "IPv6")
    t.eq(m.connect_address("localhost:5"), ("tcp", "localhost:5"), "a host name")
    t.eq(m.connect_address("/run/x/gdb.sock"), ("unix", "/run/x/gdb.sock"), "a socket")
    t.eq(m.debugger_command(True, "img", "unix", "/d/s", ["-b"]),
         (["lldb", "img", "-o", "process connect -p gdb-remote unix-connect:///d/s", "-b"],
          True), "LLDB on a socket")
    t.eq(m.debugger_command(False, "img", "unix", "s", []),
         (["gdb", "img", "-ex", "target remote ./s"], False), "GDB on a socket")


@test
def proxy_gdb_stops_at_a_breakpoint_and_runs_to_the_exit(t):
    needs("gdb")
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "break compute", "-ex", "continue", "-ex", "bt",
                      "-ex", "continue", "--", "-c", "2", harness.guest("gdbtarget"), "1"])
    t.match(r"Breakpoint 1, compute \(x=0\) at tests/guest/gdbtarget\.c:\d+", r.stdout,
            "the breakpoint is hit")
    t.match(r"#0  compute \(x=0\).*\n#1  .* in main \(", r.stdout, "bt")
    t.contains(r.stdout, "[Inferior 1 (process 1) exited normally]", "then the guest exits")
    t.contains(r.stdout, "gdbtarget: start loops=1 cpus=2", "proxy's options and the guest's "
               "arguments reached proxy")
    t.contains(r.stdout, "gdbtarget: counter=1 origin=(3,4)", "the guest's own output")
    m = re.search(r"proxy: waiting for GDB on (/\S+/proxy-gdb-[^/]+)/gdb\.sock ", r.stderr)
    t.true(m, "proxy's stderr shown; the stub on a socket in a private directory: %r" % r)
    t.true(not os.path.exists(m.group(1)), "the private directory is removed afterwards")
    t.not_contains(r.stderr, "connect with:", "proxy's hint for a manual gdb is dropped")
    t.eq(r.returncode, 0, "the guest's exit status: %r" % r)


@test
def proxy_gdb_without_separator(t):
    """proxy-gdb app (as rust-gdb app): nothing before the image proxy could take."""
    needs("gdb")
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "continue", harness.guest("exitcode"), "7"])
    t.contains(r.stdout, "exitcode: exiting with 7 from vCPU 0", "the guest got its argument")
    t.eq(r.returncode, 7, "the guest's exit status: %r" % r)
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "info threads", harness.guest("gdbtarget"),
                      "spin"])
    t.match(r"\* 1 +Thread 1", r.stdout, "GDB attached and ran its command: %r" % r)


@test
def proxy_gdb_tcp_uses_a_loopback_port(t):
    needs("gdb")
    r = proxy_gdb(t, ["--tcp", "-batch", "-nx", "-ex", "continue", "--",
                      harness.guest("exitcode"), "5"])
    t.match(r"proxy: waiting for GDB on 127\.0\.0\.1:\d+ ", r.stderr, "a TCP port: %r" % r)
    t.eq(r.returncode, 5, "%r" % r)
    # proxy's own -s also means TCP (the flag overrides HERMIT_DEBUG_SOCKET).
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "continue", "--", "-s", "0",
                      harness.guest("exitcode"), "6"])
    t.match(r"proxy: waiting for GDB on 127\.0\.0\.1:\d+ ", r.stderr, "-s: TCP: %r" % r)
    t.eq(r.returncode, 6, "%r" % r)


@test
def proxy_gdb_returns_the_guests_exit_code(t):
    needs("gdb")
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "continue", "--", "-m", "64M", "--abi", "rusty",
                      "--trace", "-c1", harness.guest("exitcode"), "42"])
    t.contains(r.stdout, "exited with code 052", "GDB sees the exit code")
    t.contains(r.stdout, "exitcode: exiting with 42 from vCPU 0", "the guest's argument")
    t.contains(r.stderr, "[vCPU 0] exit(42)", "proxy's --trace on proxy-gdb's stderr")
    t.eq(r.returncode, 42, "proxy-gdb's status is the guest's: %r" % r)


@test
def proxy_gdb_batch_failure_is_gdbs_status_and_ends_proxy(t):
    needs("gdb")
    # `spin`: the guest never ends by itself, so proxy-gdb has to end proxy.
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "info threads", "-ex", "frobnicate", "--",
                      harness.guest("gdbtarget"), "spin"])
    t.contains(r.stderr, 'Undefined command: "frobnicate"', "GDB's error")
    t.contains(r.stderr, "proxy: SIGTERM received", "proxy was ended when GDB quit")
    t.eq(r.returncode, 1, "GDB's status (the last command failed): %r" % r)


@test
def proxy_gdb_ends_a_running_proxy_after_gdb_quits(t):
    needs("gdb")
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", "info threads", "--", harness.guest("gdbtarget"),
                      "spin"])
    t.match(r"\* 1 +Thread 1", r.stdout, "GDB ran its command")
    t.contains(r.stderr, "proxy: SIGTERM received", "proxy was ended when GDB quit")
    t.eq(r.returncode, guestrun.STATUS_SIGTERM, "GDB succeeded: proxy's status: %r" % r)


@test
def proxy_gdb_ctrl_c_is_for_gdb_not_proxy(t):
    """SIGINT to the terminal's process group (what Ctrl-C does) while GDB runs reaches
    GDB, but neither proxy-gdb (it ignores it) nor proxy (its own session)."""
    needs("gdb")
    sigint_own_group = "shell kill -INT -- -$(cut -d' ' -f5 /proc/$PPID/stat)"
    r = proxy_gdb(t, ["-batch", "-nx", "-ex", sigint_own_group, "-ex", "monitor info cpus",
                      "-ex", "monitor info cpus", "--", harness.guest("gdbtarget"), "spin"])
    t.contains(r.stdout + r.stderr, "vCPU 0: stopped", "proxy still answers after the SIGINT")
    t.not_contains(r.stderr, "SIGINT received", "proxy did not get the SIGINT")
    t.eq(r.returncode, guestrun.STATUS_SIGTERM, "proxy-gdb lived on and ended proxy: %r" % r)


class Terminal:
    """proxy-gdb on a pseudo-terminal that is its controlling terminal, as from a shell."""

    def __init__(self, args, env):
        import pty
        self.master, slave = pty.openpty()
        self.out = b""

        def make_controlling_terminal():
            import fcntl
            import termios
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        self.p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                  start_new_session=True, preexec_fn=make_controlling_terminal)
        os.close(slave)

    def expect(self, needle):
        import select
        deadline = time.monotonic() + harness.TIMEOUT
        while needle.encode() not in self.out:
            left = deadline - time.monotonic()
            ready = select.select([self.master], [], [], max(0, left))[0] if left > 0 else []
            chunk = b""
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: every writer has closed the terminal
                    pass
            if not chunk:
                raise Failure("never saw %r on the terminal: %r" % (needle, self.out[-3000:]))
            self.out += chunk
        i = self.out.index(needle.encode()) + len(needle)
        seen, self.out = self.out[:i], self.out[i:]
        return seen.decode(errors="replace")

    def send(self, data):
        os.write(self.master, data.encode())


@test
def proxy_gdb_ctrl_c_on_a_terminal_interrupts_the_guest(t):
    needs("gdb")
    marker = uuid.uuid4().hex
    env = harness.proxy_env({MARKER: marker, "TERM": "dumb"})
    term = Terminal([PROXY_GDB, "--proxy", harness.PROXY, "-nx", "-q", "--",
                     harness.guest("gdbtarget"), "spin"], env)
    try:
        term.expect("(gdb) ")
        term.send("continue\n")
        term.expect("gdbtarget: start")  # then it spins until release_flag is set
        term.send("\x03")
        seen = term.expect("(gdb) ")
        t.contains(seen, "Program received signal SIGINT", "Ctrl-C stops the guest in GDB")
        t.not_contains(seen, "SIGINT received", "proxy did not get the Ctrl-C")
        term.send("set var release_flag = 1\n")
        term.expect("(gdb) ")
        term.send("continue\n")
        seen = term.expect("(gdb) ")
        t.contains(seen, "gdbtarget: counter=3", "the guest ran on after the interrupt")
        t.contains(seen, "[Inferior 1 (process 1) exited normally]")
        term.send("quit\n")
        t.eq(term.p.wait(harness.TIMEOUT), 0, "the guest's status")
    finally:
        if term.p.poll() is None:
            term.p.kill()
            term.p.wait()
        os.close(term.master)
        left = _marked_pids(marker)
        _kill_marked(marker)
    t.eq(left, [], "processes left running after proxy-gdb ended")


@test
def proxy_gdb_missing_image_is_proxys_status_and_message(t):
    needs("gdb")
    r = proxy_gdb(t, ["-batch", "--", "/nonexistent/app.elf"])
    t.eq(r.returncode, guestrun.STATUS_SETUP, "proxy's status: %r" % r)
    t.match(r"proxy: /nonexistent/app\.elf: cannot open the image", r.stderr, "proxy's message")
    t.contains(r.stderr, "proxy-gdb: proxy exited with status 1 before its GDB stub listened")
    t.eq(r.stdout, "", "GDB did not run")


@test
def proxy_gdb_usage_errors(t):
    r = proxy_gdb(t, ["-batch", "-c", "2", harness.guest("hello")])
    t.eq(r.returncode, 2, "no '--' and an option of both: %r" % r)
    t.contains(r.stderr, "-c before the image could be the debugger's or proxy's option: "
               "put '--' before proxy's options")
    t.eq(r.stdout, "", "nothing ran")
    r = proxy_gdb(t, ["-batch", "-nx"])
    t.eq(r.returncode, 2, "no image, no '--': %r" % r)
    t.contains(r.stderr, "no image")
    r = proxy_gdb(t, ["-batch", "--", "-c", "2"])
    t.eq(r.returncode, 2, "no image: %r" % r)
    t.contains(r.stderr, "no image")
    r = proxy_gdb(t, ["--help"])
    t.eq(r.returncode, 0, "--help")
    t.contains(r.stdout, "usage: proxy-gdb")


@test
def proxy_gdb_never_hangs_on_a_silent_proxy(t):
    with tempfile.TemporaryDirectory() as tmp:
        fake = os.path.join(tmp, "silent-proxy")
        with open(fake, "w") as f:  # never prints the listening line
            f.write("#!/bin/sh\nexec %s -c 'import time; time.sleep(600)' \"$@\"\n"
                    % shlex.quote(sys.executable))
        os.chmod(fake, 0o755)
        r = proxy_gdb(t, ["--proxy", fake, "-batch", "--", harness.guest("hello")],
                      env={"PROXY_GDB_TIMEOUT": "0.5"}, use_harness_proxy=False)
    t.eq(r.returncode, 1, "%r" % r)
    t.contains(r.stderr, "proxy did not say where its GDB stub listens within 0.5 s")


@test
def proxy_gdb_installed_uses_the_proxy_beside_it(t):
    needs("gdb")
    with tempfile.TemporaryDirectory() as destdir, tempfile.TemporaryDirectory() as bindir:
        make("install", "DESTDIR=" + destdir, "PREFIX=" + PREFIX)
        # PATH holds only the debugger and python3: the proxy must be found beside proxy-gdb.
        for prog in ("gdb", "python3"):
            os.symlink(shutil.which(prog), os.path.join(bindir, prog))
        r = proxy_gdb(t, ["-batch", "-nx", "-ex", "continue", "--", harness.guest("exitcode"),
                          "7"], env={"PATH": bindir, "PROXY": ""}, cwd=bindir,
                      program=os.path.join(destdir, "usr/bin/proxy-gdb"),
                      use_harness_proxy=False)
        t.eq(r.returncode, 7, "the installed proxy-gdb ran the installed proxy: %r" % r)
        t.contains(r.stdout, "exited with code 07")


@test
def proxy_gdb_lldb_reads_registers(t):
    needs("lldb")
    r = proxy_gdb(t, ["--lldb", "-batch", "-o", "register read rip", "-o", "kill", "--",
                      harness.guest("gdbtarget")])
    t.match(r"rip = 0x0*200000", r.stdout, "LLDB reads rip at the first instruction")
    t.eq(r.returncode, guestrun.STATUS_KILLED, "LLDB's kill ends proxy (119): %r" % r)
    t.match(r"waiting for GDB on /\S+/gdb\.sock ", r.stderr, "through the Unix socket")
    r = proxy_gdb(t, ["--lldb", "--tcp", "-batch", "-o", "register read rip", "-o", "kill",
                      "--", harness.guest("gdbtarget")])
    t.match(r"rip = 0x0*200000", r.stdout, "LLDB over TCP: %r" % r)
