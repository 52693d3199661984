"""A raw HTTP/2 client (prior knowledge), for the integration tests that need frames by hand:
flow-control stalls, resets, malformed requests, connections waiting in the backlog.

HPACK out as literals without indexing and without Huffman; HPACK in only as far as :status (we
ask for a dynamic table of size 0, so the server can index nothing, and only digits need
Huffman decoding). Owner: the test that opened the connection (one thread)."""

import socket
import struct
import time

from lib import Conn

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20
S_HEADER_TABLE_SIZE, S_ENABLE_PUSH, S_MAX_CONCURRENT, S_INITIAL_WINDOW, S_MAX_FRAME, \
    S_MAX_HEADER_LIST = range(1, 7)
NO_ERROR, PROTOCOL_ERROR, CANCEL = 0x0, 0x1, 0x8
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
HUFF_DIGITS = {(5, 0): "0", (5, 1): "1", (5, 2): "2", (6, 0x19): "3", (6, 0x1a): "4",
               (6, 0x1b): "5", (6, 0x1c): "6", (6, 0x1d): "7", (6, 0x1e): "8", (6, 0x1f): "9"}


def hp_int(value, prefix, first=0):
    """HPACK integer with an N-bit prefix; `first` holds the representation's high bits."""
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(0x80 | (value & 0x7f))
        value >>= 7
    out.append(value)
    return bytes(out)


def hp_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return b"\x00" + hp_int(len(name), 7) + name + hp_int(len(value), 7) + value


def hp_read_int(b, i, prefix):
    limit = (1 << prefix) - 1
    v = b[i] & limit
    i += 1
    if v < limit:
        return v, i
    m = 0
    for _ in range(10):
        c = b[i]
        i += 1
        v += (c & 0x7f) << m
        m += 7
        if not c & 0x80:
            return v, i
    raise ValueError("HPACK integer too long")


def huff_digits(data):
    """Huffman-decodes a string of digits (all a :status can hold); None for anything else."""
    bits = "".join("{:08b}".format(c) for c in data)
    out, i = "", 0
    while i < len(bits):
        for n in (5, 6):
            if i + n <= len(bits) and (n, int(bits[i:i + n], 2)) in HUFF_DIGITS:
                out += HUFF_DIGITS[(n, int(bits[i:i + n], 2))]
                i += n
                break
        else:
            rest = bits[i:]
            return out if len(rest) < 8 and set(rest) <= {"1"} else None
    return out


def status_of(block):
    """The :status of a response header block (always its first field), or None."""
    i = 0
    try:
        for _ in range(4):
            c = block[i]
            if c & 0xe0 == 0x20:  # dynamic table size update
                _, i = hp_read_int(block, i, 5)
                continue
            if c & 0x80:
                idx, i = hp_read_int(block, i, 7)
                return STATIC_STATUS.get(idx)
            idx, i = hp_read_int(block, i, 6 if c & 0x40 else 4)
            if not 8 <= idx <= 14:  # the static table's :status entries
                return None
            huff = block[i] & 0x80
            n, i = hp_read_int(block, i, 7)
            raw = bytes(block[i:i + n])
            text = huff_digits(raw) if huff else raw.decode("latin-1")
            return int(text) if text and text.isdigit() else None
    except (IndexError, ValueError):
        return None
    return None


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.status = None
        self.blocks = []  # header blocks received (response, then maybe trailers)
        self.data = bytearray()
        self.ended = False  # END_STREAM seen
        self.rst = None  # error code of a RST_STREAM from the server

    def done(self):
        return self.ended or self.rst is not None


class H2(Conn):
    """One HTTP/2 client connection (prior knowledge); lib.Conn's socket, buffer and close."""

    def __init__(self, port, settings=None, timeout=10.0, preface=True):
        super().__init__(port, timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.streams = {}
        self.next_id = 1
        self.goaway = None  # (last_stream_id, error_code)
        self.frames = []  # (type, flags, stream id) of every frame received
        self._cont = None  # stream id whose header block continues
        if preface:
            s = {S_HEADER_TABLE_SIZE: 0, S_ENABLE_PUSH: 0}
            s.update(settings or {})
            self.send(PREFACE + self.settings_frame(s))

    @staticmethod
    def frame(ftype, flags, sid, payload=b""):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
            struct.pack(">I", sid) + payload

    def settings_frame(self, s):
        return self.frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v)
                                                   for k, v in s.items()))

    def _reply(self, data):
        """An acknowledgement; the server may have closed already (after a GOAWAY, with our
        unread bytes it resets): that is an end of the connection, not an error."""
        try:
            self.sock.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            self.eof = True

    def new_stream(self):
        sid = self.next_id
        self.next_id += 2
        self.streams[sid] = Stream(sid)
        return sid

    def headers_frames(self, sid, fields, end_stream=True, max_frame=16384):
        """HEADERS (+ CONTINUATION) frames carrying `fields` [(name, value)]."""
        block = b"".join(hp_literal(n, v) for n, v in fields)
        parts = [block[i:i + max_frame] for i in range(0, len(block), max_frame)] or [b""]
        out = []
        for k, p in enumerate(parts):
            flags = END_HEADERS if k == len(parts) - 1 else 0
            if k == 0:
                out.append(self.frame(HEADERS, flags | (END_STREAM if end_stream else 0), sid, p))
            else:
                out.append(self.frame(CONTINUATION, flags, sid, p))
        return b"".join(out)

    def req_fields(self, method, path, authority="spillway.test", extra=()):
        f = [(":method", method), (":scheme", "http")]
        if path is not None:
            f.append((":path", path))
        if authority is not None:
            f.append((":authority", authority))
        return f + list(extra)

    def request(self, method, path, extra=(), body=None, authority="spillway.test", send=True):
        """Starts a request; returns (stream id, the bytes) and sends them unless send=False."""
        sid = self.new_stream()
        fields = self.req_fields(method, path, authority, extra)
        data = self.headers_frames(sid, fields, end_stream=body is None)
        if body is not None:
            data += self.frame(DATA, END_STREAM, sid, body)
        if send:
            self.send(data)
        return sid, data

    def rst(self, sid, code=CANCEL):
        return self.frame(RST_STREAM, 0, sid, struct.pack(">I", code))

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(262144)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_frame(self, deadline):
        """One frame (type, flags, sid, payload); None on timeout, False on EOF."""
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            r = self._fill(deadline)
            if not r:
                return r
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        return ftype, flags, sid, payload

    def handle(self, f):
        ftype, flags, sid, p = f
        self.frames.append((ftype, flags, sid))
        st = self.streams.get(sid)
        if ftype == SETTINGS and not flags & ACK:
            self._reply(self.frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self._reply(self.frame(PING, ACK, 0, p))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", p[:8])
            self.goaway = (last & 0x7fffffff, code)
        elif ftype == RST_STREAM and st:
            st.rst = struct.unpack(">I", p[:4])[0]
        elif ftype == DATA and st:
            if flags & PADDED:
                p = p[1:len(p) - p[0]]
            st.data += p
            if flags & END_STREAM:
                st.ended = True
        elif ftype in (HEADERS, CONTINUATION) and st:
            if ftype == HEADERS:
                if flags & PADDED:
                    p = p[1:len(p) - p[0]]
                if flags & PRIO:
                    p = p[5:]
                st.blocks.append(bytearray(p))
                if flags & END_STREAM:
                    st.ended = True
            elif st.blocks:
                st.blocks[-1] += p
            if flags & END_HEADERS and len(st.blocks) == 1:
                st.status = status_of(st.blocks[0])

    def pump(self, pred, timeout):
        """Reads and handles frames until pred() is true, EOF or timeout; returns pred()."""
        deadline = time.monotonic() + timeout
        for _ in range(1000000):
            if pred():
                return True
            f = self.read_frame(deadline)
            if not f:
                break
            self.handle(f)
        return pred()

    def get(self, path, timeout=10.0, **kw):
        """A whole request; returns the Stream."""
        sid, _ = self.request("GET", path, **kw)
        st = self.streams[sid]
        self.pump(lambda: st.done() or self.eof, timeout)
        return st

    def gone(self):
        return self.eof or self.goaway is not None
