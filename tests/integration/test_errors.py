#!/usr/bin/env python3
"""Error statuses spillway produces itself: 400 408 414 431 501 502 503 504, and a response that
breaks off mid-body."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Conn, ProtocolError, Suite, closed_port, free_port, raw_exchange, request  # noqa: E402

CONFIG = """global
    nbthread 1
defaults
    mode http
    timeout client 5s
    timeout server 500ms
    timeout connect 2s
    timeout http-request 500ms
frontend fe
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend be
frontend fe_dead
    bind 127.0.0.1:{dead_port}
    default_backend be_dead
backend be
    server s1 127.0.0.1:{bport}
backend be_dead
    server s1 127.0.0.1:{closed}
"""


def main(t):
    be = t.backend("b1")
    port, dead_port = free_port(), free_port()
    t.spillway(CONFIG.format(port=port, dead_port=dead_port, bport=be.port,
                             closed=closed_port()), port)

    def status_is(want, path, **kw):
        def fn():
            r = request(kw.get("port", port), "GET", path, timeout=10)
            assert r.status == want, "got %d %r, want %d" % (r.status, r.reason, want)
        return fn

    def raw_status(want, data):
        def fn():
            r = raw_exchange(port, data, timeout=10)
            assert r.status == want, "got %d %r, want %d" % (r.status, r.reason, want)
        return fn

    def gateway_timeout():
        t0 = time.monotonic()
        r = request(port, "GET", "/slow/3000", timeout=10)
        took = time.monotonic() - t0
        assert r.status == 504, "got %d" % r.status
        assert 0.3 <= took < 2.5, "504 after %.2fs, timeout server is 500ms" % took

    def request_timeout():
        t0 = time.monotonic()
        with Conn(port, timeout=10) as c:
            c.send(b"GET /name HTTP/1.1\r\nHost: a\r\nX-Partial: ")
            try:
                r = c.read_response(timeout=5)
            except ProtocolError:
                r = None  # closed without a response is accepted only with a note below
            took = time.monotonic() - t0
        assert r is not None, "closed after %.2fs without a 408" % took
        assert r.status == 408, "got %d" % r.status
        assert 0.3 <= took < 3, "408 after %.2fs, timeout http-request is 500ms" % took

    def abort_midway():
        t0 = time.monotonic()
        with Conn(port, timeout=10) as c:
            c.send(b"GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
            try:
                r = c.read_response(timeout=8)
            except ProtocolError as e:
                took = time.monotonic() - t0
                assert took < 5, "closed only after %.2fs" % took
                print("# /abort: %s after %.2fs" % (e, took))
                return
        assert r.status == 502, "got a complete response %r from a truncated one" % r

    big_uri = "/name?" + "a" * 20000
    big_hdrs = "".join("X-Filler-%d: %s\r\n" % (i, "b" * 200) for i in range(100))
    t.case("503 when no server is reachable", status_is(503, "/name", port=dead_port))
    t.case("502 for an invalid response (/garbage)", status_is(502, "/garbage"))
    t.case("502 when the server closes without response (/close)", status_is(502, "/close"))
    t.case("504 after timeout server 500ms (/slow/3000)", gateway_timeout)
    t.case("400 for two different Content-Length", raw_status(
        400, b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"))
    t.case("400 for Content-Length with Transfer-Encoding", raw_status(
        400, b"POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
    t.case("501 for Transfer-Encoding: gzip", raw_status(
        501, b"POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"))
    t.case("414 for a 20 KB URI", raw_status(
        414, ("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % big_uri).encode()))
    t.case("431 for a 20 KB header block", raw_status(
        431, ("GET /name HTTP/1.1\r\nHost: a\r\n%s\r\n" % big_hdrs).encode()))
    t.case("400 for a request line that is not HTTP", raw_status(400, b"HELLO\r\n\r\n"))
    t.case("408 after timeout http-request 500ms on a stalled head", request_timeout)
    t.case("response cut mid-body (/abort): client closed, no hang", abort_midway)
    t.case("still serving after all that", status_is(200, "/name"))


if __name__ == "__main__":
    Suite("errors").run(main)
