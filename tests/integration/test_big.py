#!/usr/bin/env python3
"""100 MiB down and 100 MiB up through spillway, verified, with spillway's peak RSS bounded."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Conn, Suite, config, free_port, pattern_bytes  # noqa: E402

SIZE = 100 * 1024 * 1024
RSS_LIMIT_KIB = 64 * 1024
PIECE = 256 * 1024


def pattern_sum(n):
    """Sum of the first n pattern bytes ('a' + i % 26)."""
    full, rest = divmod(n, 26)
    return (full * sum(range(97, 123)) + sum(range(97, 97 + rest))) % 2**32


def main(t):
    be = t.backend("b1")
    port = free_port()
    sp = t.spillway(config(port, [("s1", be.port)]), port)
    ref = pattern_bytes(PIECE + 26)
    print("# spillway RSS at start: VmRSS=%s KiB VmHWM=%s KiB" % sp.mem())

    def download(mode):
        state = {"got": 0, "bad": None}

        def sink(data):
            off = state["got"] % 26
            for i in range(0, len(data), PIECE):
                part = data[i:i + PIECE]
                if state["bad"] is None and part != ref[off:off + len(part)]:
                    state["bad"] = state["got"] + i
                off = (off + len(part)) % 26
            state["got"] += len(data)

        t0 = time.monotonic()
        with Conn(port, timeout=30) as c:
            c.send(b"GET /size/%d%s HTTP/1.1\r\nHost: a\r\n\r\n" % (SIZE, mode))
            r = c.read_response(timeout=120, sink=sink)
        took = time.monotonic() - t0
        print("# download%s: %d bytes in %.2fs" % (mode.decode(), state["got"], took))
        assert r.status == 200, r
        assert state["got"] == SIZE, "got %d bytes of %d" % (state["got"], SIZE)
        assert state["bad"] is None, "content differs at offset %d" % state["bad"]

    def upload(chunked):
        head = b"POST /sink HTTP/1.1\r\nHost: a\r\n"
        head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: %d\r\n\r\n" % SIZE
        t0 = time.monotonic()
        with Conn(port, timeout=30) as c:
            c.send(head)
            sent = 0
            for _ in range(SIZE // PIECE + 1):
                if sent >= SIZE:
                    break
                n = min(PIECE, SIZE - sent)
                data = ref[sent % 26:sent % 26 + n]
                c.send(b"%x\r\n%s\r\n" % (n, data) if chunked else data)
                sent += n
            if chunked:
                c.send(b"0\r\n\r\n")
            r = c.read_response(timeout=120)
        took = time.monotonic() - t0
        want = ("bytes=%d sum=%d\n" % (SIZE, pattern_sum(SIZE))).encode()
        print("# upload%s: %d bytes in %.2fs" % (" chunked" if chunked else "", sent, took))
        assert r.status == 200, r
        assert r.body == want, "backend got %r, want %r" % (r.body, want)

    def rss_bounded():
        rss, hwm = sp.mem()
        print("# spillway after transfers: VmRSS=%s KiB VmHWM=%s KiB (limit %d KiB)"
              % (rss, hwm, RSS_LIMIT_KIB))
        assert hwm is not None, "spillway is gone"
        assert hwm < RSS_LIMIT_KIB, "peak RSS %d KiB >= %d KiB" % (hwm, RSS_LIMIT_KIB)

    t.case("100 MiB download (Content-Length) intact", download, b"")
    t.case("100 MiB download (chunked) intact", download, b"?mode=chunked")
    t.case("100 MiB upload (Content-Length) streamed, count and checksum", upload, False)
    t.case("100 MiB upload (chunked) streamed, count and checksum", upload, True)
    t.case("spillway peak RSS (VmHWM) under 64 MiB", rss_bounded)


if __name__ == "__main__":
    Suite("big").run(main)
