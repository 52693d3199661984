#!/usr/bin/env python3
"""Several workers under parallel load, and the command line: -c, -v, a port already in use."""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, SPILLWAY, Suite, config, free_port, request  # noqa: E402

BAD_CONFIG = """global
    nbthread 1
defaults
    mode http
    timeout client 5s
frontend fe
    bind 127.0.0.1:{port}
    frobnicate on
    default_backend be
backend be
    balance nosuchalgorithm
    server s1 127.0.0.1:{port}
"""
BAD_LINES = (8, 11)


def run_cli(args, timeout=10):
    """Run spillway with args to completion; (rc, combined output). rc None on timeout."""
    try:
        p = subprocess.run([SPILLWAY] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, (e.output or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace")


def main(t):
    be = t.backend("b1")
    port = free_port()
    good = config(port, [("s1", be.port)], nbthread=2)
    t.spillway(good, port)

    def parallel_40():
        results = [None] * 40

        def one(i):
            try:
                r = request(port, "GET", "/slow/300", timeout=20)
                results[i] = (r.status, r.body)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = repr(e)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(40)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        took = time.monotonic() - t0
        bad = [(i, r) for i, r in enumerate(results) if r != (200, b"slow\n")]
        assert not bad, "%d of 40 failed, first: %r" % (len(bad), bad[:3])
        assert took < 10, "40 parallel /slow/300 took %.2fs" % took
        print("# 40 parallel /slow/300 in %.2fs" % took)

    def check_good():
        path = os.path.join(t.dir, "good.cfg")
        with open(path, "w") as f:
            f.write(good)
        rc, out = run_cli(["-c", "-f", path])
        assert rc == 0, "exit %r: %s" % (rc, out)

    def check_bad():
        path = os.path.join(t.dir, "bad.cfg")
        with open(path, "w") as f:
            f.write(BAD_CONFIG.format(port=free_port()))
        rc, out = run_cli(["-c", "-f", path])
        alerts = [ln for ln in out.splitlines() if "ALERT" in ln]
        assert rc == 1, "exit %r: %s" % (rc, out)
        located = [a for a in alerts if re.search(r"bad\.cfg:\d+\b", a)]
        for line in BAD_LINES:
            assert any(re.search(r"(bad\.cfg:|line )%d\b" % line, a) for a in alerts), \
                "no ALERT for line %d: %r" % (line, alerts)
        assert len(located) == 2, "want 2 ALERT lines at bad.cfg:LINE, got %r" % alerts

    def version():
        rc, out = run_cli(["-v"])
        assert rc == 0, "exit %r: %s" % (rc, out)
        assert "spillway" in out.lower() and any(ch.isdigit() for ch in out), repr(out)

    def port_in_use():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            s.listen(1)
            busy = s.getsockname()[1]
            path = os.path.join(t.dir, "busy.cfg")
            with open(path, "w") as f:
                f.write(config(busy, [("s1", be.port)]))
            rc, out = run_cli(["-f", path], timeout=10)
        assert rc == 1, "exit %r (want 1): %s" % (rc, out)
        low = out.lower()
        assert str(busy) in out or "in use" in low, "message does not say why: %r" % out

    t.case("nbthread 2: 40 parallel connections all served", parallel_40)
    t.case("-c -f good.cfg exits 0", check_good)
    t.case("-c -f bad.cfg exits 1 with one ALERT per error (2)", check_bad)
    t.case("-v prints a version", version)
    t.case("port already in use: exit 1 with a clear message", port_in_use)


if __name__ == "__main__":
    Suite("workers").run(main)
