"""test_reverse.py: reverse execution in proxy's stub (`monitor record start`, bs/bc).

The revtarget guest computes a sequence in a loop, writes the global `shared` from
write_first (7) and write_second (50), takes a page fault its handler skips, runs
mov cr3 / wrmsr FS_BASE / lidt, reads a host file into `filebuf` by hypercalls and
calls all_done(). proxy records every instruction; GDB goes back with its reverse
commands (no `record full` of GDB's own): the stub answers bs/bc.
"""
import os
import re
import tempfile

from gdblib import debug_session, py, require_gdb
from harness import guest, host_info, test

TARGET = "revtarget"
STEPS = 60

# STEPS stepi forward from the record's start, keeping registers and the sequence
# array; then STEPS reverse-stepi, comparing each state with the forward one.
STEP_AND_REVERSE = (
    "import gdb\n"
    "def state():\n"
    "    regs = tuple(int(gdb.parse_and_eval(r)) for r in\n"
    "                 ('$pc', '$rsp', '$rbp', '$rax', '$rcx', '$rdx', '$eflags'))\n"
    "    mem = bytes(gdb.selected_inferior().read_memory(\n"
    "        int(gdb.parse_and_eval('(long)&seq')), 16 * 8))\n"
    "    return regs + (mem,)\n"
    "fwd = [state()]\n"
    "for i in range(%d):\n"
    "    gdb.execute('stepi', to_string=True)\n"
    "    fwd.append(state())\n"
    "back = []\n"
    "for i in range(%d):\n"
    "    gdb.execute('reverse-stepi', to_string=True)\n"
    "    back.append(state())\n"
    "moved = len(set(s[0] for s in fwd)) > 10 and fwd[0][-1] != fwd[-1][-1]\n"
    "same = back == list(reversed(fwd[:-1]))\n"
    "print('REVERSE-STEPI', 'moved' if moved else 'stuck', 'same' if same else\n"
    "      'differs fwd=%%r back=%%r' %% (fwd, back))\n") % (STEPS, STEPS)

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest", "revtarget.c")


def line_of(text):
    """The line number of `text` in the guest's source."""
    with open(SOURCE) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError("%r not in %s" % (text, SOURCE))


FRAME = py("print('FRAME', gdb.selected_frame().name())")
RECORD = ["break main", "continue", "monitor record start", "delete"]


def session(commands, cpus=1, text="hello-from-host\n"):
    """commands: a list, or a function of the input file's path giving one."""
    require_gdb()
    d = tempfile.mkdtemp(prefix="proxy-rev-")
    path = os.path.join(d, "input.txt")
    with open(path, "w") as f:
        f.write(text)
    if callable(commands):
        commands = commands(path)
    return debug_session(guest(TARGET), commands, args=[path],
                         env={"HERMIT_MOUNT": d}, cpus=cpus), path


@test
def reverse_stepi_gives_the_forward_states(t):
    s, _ = session(["break next_value", "continue", "monitor record start", "delete",
                    py(STEP_AND_REVERSE), "continue"])
    t.contains(s.transcript, "REVERSE-STEPI moved same",
               "every reverse-stepi went back to the registers and memory its stepi left")
    t.eq(s.proxy_rc, 0, "proxy exit status")
    t.contains(s.stdout, "revtarget: seq15=64570081 shared=50 pf=1 file=hello-from-host",
               "the guest went on live after the log's end")


@test
def watch_and_reverse_continue_find_the_writes(t):
    s, _ = session(RECORD + [
        "break all_done", "continue", "print shared", "print/x $fs_base",
        "watch shared", "reverse-continue", FRAME, "print shared", "print/x $fs_base",
        "reverse-continue", FRAME, "print shared", "reverse-finish", FRAME,
        "set var shared = 3", "print shared",
        "delete", "reverse-continue", "print shared", "continue"])
    t.match(r"\$1 = 50\n\$2 = 0x12345678\n", s.transcript, "at all_done: shared 50, wrmsr done")
    t.match(r"Old value = 50\nNew value = 7\n(.*\n)*?.*write_second .*\n%d\t\tshared = v \* 10;\n"
            r"FRAME write_second\n\$3 = 7\n" % line_of("shared = v * 10;"), s.transcript,
            "reverse-continue stopped at write_second's store, before it")
    t.match(r"FRAME write_second\n\$3 = 7\n\$4 = 0x0\n", s.transcript,
            "FS_BASE is back to what it was before the wrmsr")
    t.match(r"Old value = 7\nNew value = 0\n(.*\n)*?%d\t\tshared = v;\nFRAME write_first\n"
            r"\$5 = 0\n" % line_of("shared = v;"), s.transcript, "the next reverse-continue found write_first's store")
    t.match(r"\$5 = 0\n0x[0-9a-f]+ in main .*\n%d\t\twrite_first\(7\);\nFRAME main\n"
            % line_of("write_first(7);"), s.transcript,
            "reverse-finish went back to the call in main")
    t.match(r"FRAME main\n\$6 = 0\n", s.transcript, "the write in the past left shared as it was")
    t.match(r"Cannot access memory at address 0x[0-9a-f]+\n", s.transcript,
            "GDB was told the write failed")
    t.contains(s.stderr, "cannot change registers or memory in the recorded past",
               "proxy said why")
    t.contains(s.transcript, "No more reverse-execution history.",
               "the log's beginning is reported")
    t.match(r"No more reverse-execution history\.\n(.*\n)*?\$7 = 0\n", s.transcript,
            "at the log's beginning shared is 0 again")
    t.eq(s.proxy_rc, 0, "proxy exit status")
    t.contains(s.stdout, "shared=50 pf=1", "forward replay then live ran to the end")


@test
def replay_does_not_read_the_file_again(t):
    def commands(path):
        change = py("open(%r, 'w').write('CHANGED')" % path)
        return RECORD + [
            "break all_done", "continue", "print filebuf", change, "break privileged",
            "reverse-continue", FRAME, "print filebuf", "continue", FRAME, "print filebuf",
            "delete", "continue"]
    s, path = session(commands)
    with open(path) as f:
        t.eq(f.read(), "CHANGED", "the host file changed during the session")
    t.match(r'\$1 = "hello-from-host\\n", .*\n', s.transcript, "the file's bytes were read")
    t.match(r"FRAME privileged\n\$2 = '\\000' <repeats 63 times>\n", s.transcript,
            "before the read the buffer is empty again")
    t.match(r'FRAME all_done\n\$3 = "hello-from-host\\n", .*\n', s.transcript,
            "replaying the read gives the recorded bytes, not the changed file")
    t.contains(s.stdout, "file=hello-from-host", "the guest kept the recorded bytes live")
    t.eq(s.proxy_rc, 0, "proxy exit status")


@test
def two_vcpus_go_back_together(t):
    both = ("import gdb\n"
            "out = []\n"
            "for th in sorted(gdb.selected_inferior().threads(), key=lambda x: x.num):\n"
            "    th.switch()\n"
            "    out.append((th.num, int(gdb.parse_and_eval('$pc')),\n"
            "                int(gdb.parse_and_eval('$rsp')), int(gdb.parse_and_eval('$rax'))))\n"
            "gdb.execute('thread 1', to_string=True)\n"
            "print('%s', out, int(gdb.parse_and_eval('ap_counter')))\n")
    s, _ = session(["break main", "continue", "monitor record start", "delete",
                    py(both % "START"), "break all_done", "continue",
                    "delete", "reverse-continue", py(both % "BACK"), "continue"], cpus=2)
    start = re.search(r"START (\[.*\]) (\d+)\n", s.transcript)
    back = re.search(r"BACK (\[.*\]) (\d+)\n", s.transcript)
    t.eq(start is not None and back is not None, True, "both states printed: %s" % s.transcript[-3000:])
    if start and back:
        t.eq(back.group(1), start.group(1), "both vCPUs' registers as when recording began")
        t.eq(back.group(2), start.group(2), "ap_counter as when recording began")
    t.contains(s.transcript, "No more reverse-execution history.", "back to the beginning")
    t.eq(s.proxy_rc, 0, "proxy exit status")


@test
def two_vcpus_take_one_instruction_each_in_turn(t):
    """vCPU 1 counts in ap_counter while vCPU 0 runs main: recorded in a fixed order
    (one instruction of each in turn), both log as many instructions, give or take
    one, between two stops (GDB steps vCPU 0 alone over the breakpoint it resumes
    from), whatever the host's scheduling did."""
    stops = ["continue", "monitor info record"] * 4
    s, _ = session(["break main", "continue", "monitor record start", "delete",
                    "break next_value"] + stops + ["delete", "continue"], cpus=2)
    counts = [(int(a), int(b)) for a, b in
              re.findall(r"record: instructions per vCPU: 0: (\d+) 1: (\d+)\n", s.transcript)]
    t.eq(len(counts), 4, "info record at each stop: %s" % s.transcript[-2000:])
    runs = [(b0 - a0, b1 - a1) for (a0, a1), (b0, b1) in zip([(0, 0)] + counts, counts)]
    t.eq([r for r in runs if r[0] < 10 or abs(r[0] - r[1]) > 1], [],
         "each vCPU logged as many instructions as the other (+-1): %r" % counts)
    t.eq(s.proxy_rc, 0, "proxy exit status")
    t.contains(s.stdout, "shared=50", "the guest ran to its end")


@test
def record_from_the_first_instruction_and_what_drops_the_log(t):
    """HERMIT_DEBUG_RECORD=1 records from the entry point; savevm is refused while
    recording, loadvm and system_reset drop the log."""
    require_gdb()
    s = debug_session(guest(TARGET), [
        "break main", "continue", "monitor info record",
        "monitor savevm a", "reverse-stepi", "reverse-stepi", "info registers rip",
        "set var shared = 9", "monitor record stop", "monitor savevm a",
        "monitor record start", "stepi", "monitor loadvm a", "monitor info record",
        "monitor record start", "stepi", "monitor system_reset", "monitor info record",
        "reverse-stepi", "delete", "continue"], env={"HERMIT_DEBUG_RECORD": "1"})
    t.match(r"record: recording; \d{3,} instructions logged", s.transcript,
            "recording began before main")
    t.contains(s.transcript, "record: not while recording (monitor record stop first)",
               "savevm refused while recording")
    t.contains(s.stderr, "cannot change registers or memory in the recorded past",
               "a write in the past refused")
    t.match(r"record: stopped, log dropped\n", s.transcript, "record stop")
    t.eq(len(re.findall(r"record: not recording\n", s.transcript)), 2,
         "loadvm and system_reset dropped the log")
    t.contains(s.transcript, "no execution history",
               "reverse-stepi without a log says why")
    t.eq(s.proxy_rc, 0, "proxy exit status")
    t.contains(s.stdout, "shared=50", "the guest ran to its end")


@test
def a_handled_page_fault_and_cr2_are_rewound(t):
    """The #PF the guest handles: the handler's write is found going back, and CR2
    (written by the CPU, not by any instruction GDB could decode) goes back too."""
    s, _ = session(RECORD + [
        "break all_done", "continue", "print/x $cr2", "print pf_count", "watch pf_count",
        "reverse-continue", FRAME, "print pf_count", "print/x $cr2", "delete",
        "reverse-continue", "print/x $cr2", "continue"])
    t.match(r"\$1 = 0x700000000000\n\$2 = 1\n", s.transcript, "after the fault: CR2, count 1")
    if host_info().get("kvm") == "hardware":
        # Hardware KVM single-steps with the trap flag, which the exception's delivery
        # clears: one step covers the faulting instruction, the whole handler and the
        # instruction's re-execution. Going back undoes all of it at once: the count
        # and CR2 are found changed by the faulting instruction's step.
        t.match(r"Old value = 1\nNew value = 0\n(.*\n)*?FRAME take_page_fault\n\$3 = 0\n"
                r"\$4 = (?!0x700000000000\n)0x[0-9a-f]+\n", s.transcript,
                "reverse-continue undid the fault and its handler in one step")
    else:
        t.match(r"Old value = 1\nNew value = 0\n(.*\n)*?FRAME on_page_fault\n\$3 = 0\n"
                r"\$4 = 0x700000000000\n", s.transcript,
                "reverse-continue found the handler's increment, the fault already taken")
    m = re.search(r"No more reverse-execution history\.\n(.*\n)*?\$5 = (0x[0-9a-f]+)\n",
                  s.transcript)
    t.eq(m is not None and m.group(2) != "0x700000000000", True,
         "before the fault CR2 was something else: %s" % s.transcript[-1500:])
    t.eq(s.proxy_rc, 0, "proxy exit status")


@test
def back_from_a_crash_and_forward_to_it_again(t):
    """The crash guest's port write ends it (status 121, a stop in GDB first): with
    HERMIT_DEBUG_RECORD=1 GDB goes back from the crash to the write of crash_depth,
    and continuing replays the log up to the crash, where the VM ends as it would."""
    require_gdb()
    s = debug_session(guest("crash"), [
        "continue", "print crash_depth", "watch crash_depth", "reverse-continue", FRAME,
        "print crash_depth", "delete", "continue"], args=["crash"],
        env={"HERMIT_DEBUG_RECORD": "1"})
    t.contains(s.transcript, "Program received signal SIGBUS", "the crash stopped in GDB")
    t.match(r"\$1 = 3\n(.*\n)*?Old value = 3\nNew value = 0\n(.*\n)*?FRAME crash_inner\n"
            r"\$2 = 0\n", s.transcript, "back from the crash to crash_inner's store")
    t.eq(s.proxy_rc, 121, "forward to the crash again: the failure's status")
