"""rspclient.py: a raw GDB remote-protocol client for tests that speak RSP themselves.

Framing (`$payload#cs`, binary escapes) and a Client in acknowledgement mode over
TCP; shared by test_rsp_raw.py and the blocking-hypercall tests.
"""
import socket
import subprocess

from harness import Failure

PACKET_SIZE = 0x20000  # what the stub advertises in qSupported
IO_TIMEOUT = 10.0


def checksum(data):
    return b"%02x" % (sum(data) & 0xFF)


def escape(payload):
    """Binary escapes: `}` then the byte XOR 0x20, for `$ # } *`."""
    out = bytearray()
    for b in payload:
        if b in b"$#}*":
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def frame(payload):
    body = escape(payload)
    return b"$" + body + b"#" + checksum(body)


class Client:
    """A raw RSP client in acknowledgement mode."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, payload):
        self.send_raw(frame(payload))

    def _byte(self):
        if not self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("proxy closed the connection")
            self.buf = chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def recv(self):
        """Next packet's payload (unescaped); acks before it are kept in self.acks."""
        self.acks = b""
        while True:
            c = self._byte()
            if c in b"+-":
                self.acks += c
            elif c == b"$":
                break
        body = b""
        while True:
            c = self._byte()
            if c == b"#":
                break
            body += c
        got = self._byte() + self._byte()
        if got != checksum(body):
            raise Failure("bad checksum from stub: %r#%r" % (body, got))
        self.send_raw(b"+")
        out, esc = bytearray(), False
        for b in body:
            if esc:
                out.append(b ^ 0x20)
                esc = False
            elif b == 0x7D:
                esc = True
            else:
                out.append(b)
        return bytes(out)

    def ask(self, payload):
        self.send(payload)
        return self.recv()

    def resume(self, payload):
        """Send a resume (c, s, vCont) and return its stop reply; console output
        (`O` packets, which GDB prints) before it is kept in self.console."""
        self.console = b""
        reply = self.ask(payload)
        while reply.startswith(b"O") and reply != b"OK":
            self.console += bytes.fromhex(reply[1:].decode())
            reply = self.recv()
        return reply

    def expect_ack(self, want, t, what):
        c = self._byte()
        t.eq(c, want, what)

    def closed_by_peer(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def symbol_address(image, name):
    """The address of symbol `name` in `image`, from nm."""
    out = subprocess.run(["nm", image], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise Failure("no symbol %s in %s" % (name, image))
