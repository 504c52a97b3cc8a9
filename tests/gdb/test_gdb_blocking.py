"""test_gdb_blocking.py: a debugger stop while the guest waits in a blocking hypercall.

The catfile guest copies a FIFO to its standard output. Its OPEN blocks until a
writer appears, its READ until data arrives: a Ctrl-C (0x03) in between stops the
VM (the waiting vCPU counts as stopped), and after `continue` the interrupted call
must go on as if nothing happened: the guest prints the FIFO's bytes and exits 0,
never sees -EINTR.
"""
import os
import tempfile
import time

from harness import Failure, Proxy, free_port, guest, test
from rspclient import Client

# Blocking hypercalls wait outside KVM_RUN, the same on every host: not in realkvm.
REALKVM_SUBSET = ()

DATA = b"through the fifo\n"


def stop_and_continue(t, p, port, waiting_for):
    p.wait_stderr(r"target remote")
    c = Client(port)
    c.send(b"vCont;c")
    line = "catfile: " + waiting_for
    for _ in range(1200):  # the guest says where it is before it blocks
        if line in p.stdout_text():
            break
        time.sleep(0.05)
    else:
        raise Failure("the guest never got to %r: %s" % (waiting_for, p.stdout_text()))
    c.send_raw(b"\x03")
    reply = c.recv()
    if not reply.startswith(b"T02"):
        raise Failure("expected a T02 stop reply, got %r" % reply)
    c.send(b"vCont;c")
    return c


@test
def interrupted_open_of_a_fifo_is_restarted(t):
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        port = free_port()
        with Proxy(guest("catfile"), args=[fifo], extra=["--mount", d],
                   env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
            c = stop_and_continue(t, p, port, "opening")
            with open(fifo, "wb") as w:  # the guest's OPEN completes now
                w.write(DATA)
            t.eq(p.wait(60), 0, "the guest's open and read succeeded: %s" % p.stdout_text())
            t.contains(p.stdout_text(), DATA.decode(), "the FIFO's bytes")
            t.not_contains(p.stdout_text(), "returned", "no error reached the guest")
            c.close()


@test
def interrupted_read_of_a_fifo_is_restarted(t):
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        w = os.open(fifo, os.O_RDWR)  # a writer exists: the guest's OPEN returns at once
        try:
            port = free_port()
            with Proxy(guest("catfile"), args=[fifo], extra=["--mount", d],
                       env={"HERMIT_DEBUG": "1", "HERMIT_DEBUG_PORT": str(port)}) as p:
                c = stop_and_continue(t, p, port, "reading")
                os.write(w, DATA)
                os.close(w)
                w = -1
                t.eq(p.wait(60), 0, "the guest's read succeeded: %s" % p.stdout_text())
                t.contains(p.stdout_text(), DATA.decode(), "the FIFO's bytes")
                t.not_contains(p.stdout_text(), "returned", "no error reached the guest")
                c.close()
        finally:
            if w >= 0:
                os.close(w)
