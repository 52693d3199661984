#!/usr/bin/env python3
"""Stopping: SIGTERM lets in-flight requests finish and refuses new connections;
hard-stop-after bounds how long that may take."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Conn, ProtocolError, Suite, can_connect, config, free_port, wait_until  # noqa: E402


def main(t):
    be = t.backend("b1")

    def in_flight(port, path):
        """A connection whose request the backend has received (polled through /stats)."""
        _, q0 = be.stats()
        c = Conn(port, timeout=15)
        c.send(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path)
        if not wait_until(lambda: be.stats()[1] > q0, 5):
            c.close()
            raise AssertionError("the backend never received %s" % path.decode())
        return c

    def graceful():
        port = free_port()
        sp = t.spillway(config(port, [("s1", be.port)]), port)
        c = in_flight(port, b"/slow/1500")
        try:
            t0 = time.monotonic()
            sp.signal(signal.SIGTERM)
            refused = wait_until(lambda: not can_connect(port), 1.0)
            r = c.read_response(timeout=10)
        finally:
            c.close()
        rc = sp.wait_exit(5)
        took = time.monotonic() - t0
        assert refused, "new connections still accepted 1s after SIGTERM"
        assert r.status == 200 and r.body == b"slow\n", "in-flight response: %r" % r
        assert rc is not None, "spillway still running 5s after its last request"
        assert rc == 0, "exit status %d" % rc
        print("# graceful stop took %.2fs" % took)

    def hard_stop():
        port = free_port()
        cfg = config(port, [("s1", be.port)], global_extra="hard-stop-after 500ms",
                     timeouts={"server": "10s"})
        sp = t.spillway(cfg, port)
        c = in_flight(port, b"/slow/5000")
        try:
            t0 = time.monotonic()
            sp.signal(signal.SIGTERM)
            rc = sp.wait_exit(4)
            took = time.monotonic() - t0
            try:
                r = c.read_response(timeout=2)
            except (ProtocolError, OSError):
                r = None
        finally:
            c.close()
        assert rc is not None, "spillway still running 4s after SIGTERM"
        assert took < 2.0, "exited after %.2fs with hard-stop-after 500ms" % took
        assert r is None or r.status != 200, "got a full response: %r" % r
        print("# hard stop took %.2fs, exit status %d" % (took, rc))

    t.case("SIGTERM: in-flight /slow/1500 completes, new connections refused, exit 0", graceful)
    t.case("hard-stop-after 500ms: exits within 2s with /slow/5000 in flight", hard_stop)


if __name__ == "__main__":
    Suite("stop").run(main)
