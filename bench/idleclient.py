#!/usr/bin/env python3
"""bench/idleclient.py - opens N client connections to a proxy on loopback, sends one request
on each (HTTP/1.1 keep-alive, or h2c with prior knowledge), reads the whole response, and
keeps every connection open and idle.

Usage: idleclient.py PORT N h1|h2 READY_FILE STOP_FILE [TIMEOUT_S]

Writes "OPEN ok failed" to READY_FILE once every connection has its answer, then waits until
STOP_FILE exists (or TIMEOUT_S, default 300, passes) and closes them all with a reset (no
TIME_WAIT left behind). Connections whose request fails are closed and counted as failed.
Loopback only: the address is 127.0.0.1.
"""

import os
import socket
import struct
import sys
import time


def h1_request():
    return b"GET / HTTP/1.1\r\nHost: idle.test\r\n\r\n"


def hp_literal(name, value):
    # HPACK literal header field without indexing, new name, no Huffman (lengths < 127)
    return bytes([0x00, len(name)]) + name + bytes([len(value)]) + value


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def h2_request():
    block = b"".join(hp_literal(n, v) for n, v in (
        (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"),
        (b":authority", b"idle.test")))
    return (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) +
            frame(1, 0x4 | 0x1, 1, block))


def recv_some(s, deadline):
    s.settimeout(max(0.01, deadline - time.monotonic()))
    d = s.recv(65536)
    if not d:
        raise ConnectionError("closed by the proxy")
    return d


def h1_answer(s, deadline):
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += recv_some(s, deadline)
    head, body = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 2"):
        raise ConnectionError("status %r" % head[:20])
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        raise ConnectionError("no content-length")
    while len(body) < length:
        body += recv_some(s, deadline)


def h2_answer(s, deadline):
    buf = b""
    while True:
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
            buf += recv_some(s, deadline)
        n = int.from_bytes(buf[:3], "big")
        ftype, flags = buf[3], buf[4]
        sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
        buf = buf[9 + n:]
        if ftype == 4 and not flags & 1:
            s.sendall(frame(4, 1, 0))  # SETTINGS ACK
        elif ftype == 3 and sid == 1:
            raise ConnectionError("RST_STREAM")
        elif ftype == 7:
            raise ConnectionError("GOAWAY")
        elif ftype in (0, 1) and sid == 1 and flags & 1:
            return  # END_STREAM on our stream


def main():
    port, n, mode, ready, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
        sys.argv[4], sys.argv[5]
    limit = float(sys.argv[6]) if len(sys.argv) > 6 else 300.0
    req, answer = (h1_request(), h1_answer) if mode == "h1" else (h2_request(), h2_answer)
    t_end = time.monotonic() + limit
    socks, failed = [], 0
    for _ in range(n):
        if time.monotonic() > t_end:
            break
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            s.sendall(req)
            answer(s, time.monotonic() + 10)
            socks.append(s)
        except (OSError, ConnectionError, ValueError):
            failed += 1
            s.close()
    with open(ready + ".tmp", "w") as f:
        f.write("%d %d\n" % (len(socks), failed))
    os.rename(ready + ".tmp", ready)
    while not os.path.exists(stop) and time.monotonic() < t_end:
        time.sleep(0.05)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
