#!/usr/bin/env python3
"""Timeouts: http-keep-alive on an idle client, client on a client that stops reading, and
connect against a loopback listener whose accept queue is full (SYNs are dropped)."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, Conn, Suite, config, free_port, request  # noqa: E402


def blackhole():
    """A loopback port where connect() hangs: a listener with a full accept queue drops SYNs.

    Returns (listener, fillers, port), or None when this kernel does not behave that way.
    """
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind((HOST, 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue; stop at the first connect that hangs
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.3)
        try:
            s.connect((HOST, port))
        except (socket.timeout, OSError):
            s.close()
            return lst, fillers, port
        fillers.append(s)
    for s in fillers:
        s.close()
    lst.close()
    return None


def main(t):
    be = t.backend("b1")
    port = free_port()
    t.spillway(config(port, [("s1", be.port)], timeouts={"http-keep-alive": "300ms",
                                                         "client": "500ms"}), port)

    def keepalive_timeout():
        with Conn(port, timeout=10) as c:
            c.send(b"GET /name HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            assert r.status == 200, r
            t0 = time.monotonic()
            closed = c.wait_closed(5)
            took = time.monotonic() - t0
        assert closed, "idle keep-alive connection still open after 5s"
        assert 0.2 <= took <= 3, "closed after %.2fs, timeout http-keep-alive is 300ms" % took

    def client_timeout():
        with Conn(port, timeout=10) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            c.send(b"GET /size/1073741824 HTTP/1.1\r\nHost: a\r\n\r\n")
            c.sock.recv(65536)
            time.sleep(2)  # the scenario itself: a client that stops reading for 4x timeout
            got = 0
            deadline = time.monotonic() + 10
            closed = False
            for _ in range(1000000):
                if time.monotonic() > deadline:
                    break
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    data = c.sock.recv(1 << 20)
                except socket.timeout:
                    break
                except OSError:
                    closed = True
                    break
                if not data:
                    closed = True
                    break
                got += len(data)
        assert closed, "connection not closed (read %d bytes after the stall)" % got
        assert got < 512 << 20, "read %d bytes after the stall: not cut off" % got

    def connect_timeout():
        hole = blackhole()
        if hole is None:
            print("# skip - connect timeout: a full accept queue does not drop SYNs here")
            return
        lst, fillers, hport = hole
        try:
            p2 = free_port()
            cfg = config(p2, [("s1", hport)], timeouts={"connect": "300ms"},
                         be_extra="retries 1")
            t.spillway(cfg, p2)
            t0 = time.monotonic()
            r = request(p2, "GET", "/name", timeout=15)
            took = time.monotonic() - t0
        finally:
            for s in fillers:
                s.close()
            lst.close()
        assert r.status == 503, "got %d" % r.status
        assert 0.25 <= took < 5, "503 after %.2fs with timeout connect 300ms, retries 1" % took

    def still_serving():
        r = request(port, "GET", "/name")
        assert r.status == 200, r

    t.case("timeout http-keep-alive 300ms closes an idle client", keepalive_timeout)
    t.case("timeout client 500ms cuts a client that stops reading", client_timeout)
    t.case("timeout connect 300ms -> 503 (loopback listener with full backlog)", connect_timeout)
    t.case("still serving", still_serving)


if __name__ == "__main__":
    Suite("timeouts").run(main)
