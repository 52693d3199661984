#!/usr/bin/env python3
"""Upstream connection reuse: many client requests over few backend connections, a backend
that closes without answering, and a backend restart behind pooled connections."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Backend, Conn, SetupError, Suite, config, free_port, request, wait_until  # noqa: E402


def main(t):
    be = t.backend("b1")
    port = free_port()
    t.spillway(config(port, [("s1", be.port)], nbthread=1), port)
    state = {"be": be}

    def keepalive_200():
        with Conn(port, timeout=10) as c:
            for i in range(200):
                c.send(b"GET /name HTTP/1.1\r\nHost: a\r\n\r\n")
                r = c.read_response()
                assert r.status == 200 and r.body == b"b1\n", "request %d: %r" % (i, r)

    def separate_50():
        for i in range(50):
            r = request(port, "GET", "/name", close=False)
            assert r.status == 200 and r.body == b"b1\n", "connection %d: %r" % (i, r)

    def reuse():
        a0, q0 = be.stats()
        keepalive_200()
        separate_50()
        a1, q1 = be.stats()
        proxied = a1 - a0 - 1  # the second /stats connection is ours, not spillway's
        print("# backend accepts during 250 proxied requests: %d (requests %d)" % (proxied, q1 - q0))
        assert q1 - q0 == 250, "backend saw %d requests, expected 250" % (q1 - q0)
        assert proxied <= 2, "spillway opened %d backend connections for 250 requests" % proxied

    def close_502():
        r = request(port, "GET", "/close")
        assert r.status == 502, "status %d" % r.status
        r = request(port, "GET", "/name")
        assert r.status == 200 and r.body == b"b1\n", "next request after /close: %r" % r

    def restart():
        r = request(port, "GET", "/name")  # make sure a pooled connection exists
        assert r.status == 200, "before restart: %r" % r
        old = state["be"]
        bport = old.port
        old.stop()
        new = None
        last = None
        for _ in range(50):  # the port may take a moment to be bindable again
            try:
                new = Backend(t.dir, "b2", bport)
                break
            except SetupError as e:
                last = e
                wait_until(lambda: False, 0.1)
        assert new is not None, "could not restart the backend on %d: %s" % (bport, last)
        t.backends.append(new)
        state["be"] = new
        for i in range(3):
            r = request(port, "GET", "/name")
            assert r.status == 200 and r.body == b"b2\n", "request %d after restart: %r" % (i, r)

    t.case("200 keep-alive requests on one client connection", keepalive_200)
    t.case("50 requests on 50 client connections", separate_50)
    t.case("250 requests use <= 2 backend connections (nbthread 1)", reuse)
    t.case("/close (server closes without response) -> 502, next request fine", close_502)
    t.case("backend restarted on the same port: next GET succeeds", restart)


if __name__ == "__main__":
    Suite("reuse").run(main)
