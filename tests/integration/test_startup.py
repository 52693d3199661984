#!/usr/bin/env python3
"""Starting up, as an operator sees it: `spillway -c` and a real start refuse a configuration
with nothing to listen on, or a `global maxconn` that the descriptor limit cannot carry; error
messages never echo raw bytes of the file; a bad `timeout` line is an error without a
misleading warning; and a warning raised per event (accept out of descriptors) comes out at most
once a second, with a count of what it held back."""

import os
import re
import resource
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, SPILLWAY, Conn, Suite, config, free_port, request, wait_until  # noqa: E402

NO_LISTENER = "no enabled listener found"
HAPROXY_EXIT2 = "Configuration file has no error but will not start (no listener) => exit(2)."


def run(t, cfg, args, nofile=None, timeout=8):
    """Run spillway on cfg (str or bytes) to completion: (rc, stdout, stderr), rc None when it
    was still running after timeout seconds (it is killed then). nofile: (soft, hard)
    RLIMIT_NOFILE for the child only."""
    path = os.path.join(t.dir, "startup-%d.cfg" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(cfg.encode() if isinstance(cfg, str) else cfg)

    def limits():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    try:
        p = subprocess.run([SPILLWAY] + args + ["-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout,
                           preexec_fn=limits)
    except subprocess.TimeoutExpired as e:  # run() killed it
        return None, (e.stdout or b"").decode(errors="replace"), \
            (e.stderr or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def raw_run(t, cfg, args, timeout=8):
    """As run(), with stderr as bytes (to look for raw control bytes)."""
    path = os.path.join(t.dir, "startup-%d.cfg" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(cfg)
    try:
        p = subprocess.run([SPILLWAY] + args + ["-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, e.stderr or b""
    return p.returncode, p.stderr


def main(t):
    be = t.backend("b1")

    # -------------------------------------------------------------------------------------
    # nothing to listen on

    def no_listener(cfg):
        def fn():
            rc, out, err = run(t, cfg, ["-c"])
            assert rc == 2, "-c: exit %r (want 2, as HAProxy), stdout %r stderr %r" % (rc, out, err)
            assert HAPROXY_EXIT2 in out, "-c stdout: %r" % out
            assert "Configuration file is valid" not in out, "-c stdout: %r" % out
            assert NO_LISTENER in err, "-c stderr: %r" % err
            rc, out, err = run(t, cfg, [], timeout=5)
            assert rc is not None, "a real start kept running with no listener: %r" % err
            assert rc == 1, "real start: exit %d, stderr %r" % (rc, err)
            assert NO_LISTENER in err and "exiting" in err, "stderr: %r" % err
        return fn

    t.case("empty file: -c exits 2, a real start exits 1, both say why", no_listener(""))
    t.case("comments and a global section only: refused the same way",
           no_listener("# nothing yet\nglobal\n    nbthread 1\n    maxconn 100\n\n"))
    t.case("a listen without bind and a backend: refused the same way",
           no_listener("defaults\n mode http\n timeout client 5s\n timeout server 5s\n"
                       " timeout connect 1s\nlisten l\n server s 127.0.0.1:%d\n"
                       "backend b\n server s 127.0.0.1:%d\n" % (be.port, be.port)))

    # -------------------------------------------------------------------------------------
    # global maxconn against the descriptor limit

    def fd_limit():
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        with open("/proc/sys/fs/nr_open") as f:
            nr_open = int(f.read())
        # beyond nr_open nobody can raise the limit far enough, not even root
        maxconn = min(nr_open, 2**31 - 1)
        port = free_port()
        cfg = config(port, [("s1", be.port)], global_extra="maxconn %d" % maxconn)
        nofile = (1024, 1024)
        for args in (["-c"], []):
            rc, out, err = run(t, cfg, args, nofile=nofile, timeout=5)
            what = "-c" if args else "real start"
            assert rc is not None, "%s: still running with maxconn %d and 1024 descriptors: %r" % (
                what, maxconn, err)
            # HAProxy 2.6 checks the limits only when it starts: -c exits 0 (with a notice)
            assert rc == (0 if args else 1), "%s: exit %d: %r" % (what, rc, err)
            m = re.search(r"\[%s\] Cannot raise FD limit to (\d+), limit is (\d+): "
                          r"global 'maxconn %d' \(\S+:3\) needs" %
                          ("NOTICE" if args else "ALERT", maxconn), err)
            assert m, "%s: no 'Cannot raise FD limit' line naming the numbers: %r" % (what, err)
            need, limit = int(m.group(1)), int(m.group(2))
            assert need > maxconn and limit == 1024, "need %d limit %d" % (need, limit)
            assert ("Configuration file is valid" in out) == bool(args), out
            assert not can_reach(port), "%s: something listens on %d" % (what, port)
        # within the hard limit: the soft one is raised and it starts, and serves more
        # connections at once than the soft limit it was given would have allowed
        if hard != resource.RLIM_INFINITY and hard < 3000:
            print("# hard limit %d: the raise-the-soft-limit half is skipped" % hard)
            return
        port = free_port()
        cfg = config(port, [("s1", be.port)], global_extra="maxconn 1000")
        rc, out, err = run(t, cfg, ["-c"], nofile=(256, hard))
        assert rc == 0 and "Configuration file is valid" in out, "-c: %r %r %r" % (rc, out, err)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        try:
            sp = t.spillway(cfg, port)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        conns = []
        try:
            for _ in range(300):
                conns.append(Conn(port, timeout=10))
            for c in conns:
                c.send(b"GET /name HTTP/1.1\r\nHost: a\r\n\r\n")
            bad = [r.status for r in (c.read_response() for c in conns) if r.status != 200]
        finally:
            for c in conns:
                c.close()
        assert not bad, "%d of 300 concurrent requests failed: %r" % (len(bad), bad[:5])
        assert "Cannot raise" not in sp.log() and "accept on" not in sp.log(), sp.log()
        sp.stop()

    def can_reach(port):
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            return False

    t.case("global maxconn beyond the descriptor limit: a real start exits 1 with 'Cannot "
           "raise FD limit' (-c exits 0 with it as a notice, as HAProxy 2.6); within the hard "
           "limit it starts", fd_limit)

    # -------------------------------------------------------------------------------------
    # messages quote the file escaped

    def binary_file():
        blob = b"\x1b" * 16 + b"\n" + bytes(range(1, 32)) + b"\n" + \
            b"global\n maxconn \x1b[2J\x07\n frontend\xff\xfe x\n"
        for args in (["-c"], []):
            rc, err = raw_run(t, blob, args, timeout=5)
            what = "-c" if args else "real start"
            assert rc == 1, "%s: exit %r: %r" % (what, rc, err)
            bad = sorted({b for b in err if (b < 0x20 and b != 0x0a) or b == 0x7f or b >= 0x80})
            assert not bad, "%s: raw bytes %r in the messages: %r" % (what, bad, err[:400])
            text = err.decode()
            want = "'" + "\\x1b" * 16 + "': keyword outside of any section"
            assert want in text, "%s: %r" % (what, text[:600])
            assert "invalid value '\\x1b[2J\\x07'" in text, text
            assert "'frontend\\xff\\xfe'" in text, text
        # words that only the ACL compiler looks at (the file itself parses)
        acl = config(free_port(), [("s1", be.port)],
                     fe_extra="acl a \x1b[2Jfoo x\nuse_backend be if \x1b\x07").encode()
        for args in (["-c"], []):
            rc, err = raw_run(t, acl, args, timeout=5)
            what = "-c" if args else "real start"
            assert rc == 1, "%s: exit %r: %r" % (what, rc, err)
            assert b"\x1b" not in err and b"\x07" not in err, "%s: raw bytes: %r" % (what, err)
            assert b"'\\x1b[2Jfoo'" in err and b"no such ACL '\\x1b\\x07'" in err, err

    t.case("a binary file: every message escapes what it quotes (\\x1b, not ESC)", binary_file)

    # -------------------------------------------------------------------------------------
    # a bad timeout line: the error, not a warning on top

    def bad_timeout():
        port = free_port()
        good = config(port, [("s1", be.port)])
        for bad, replaces in (("timeout client abc", "timeout client 5s"),
                              ("timeout connect", "timeout connect 2s"),
                              ("timeout clinet 5s", "timeout client 5s")):
            assert "    %s\n" % replaces in good, good
            cfg = good.replace("    %s\n" % replaces, "    %s\n" % bad)
            for args in (["-c"], []):
                rc, out, err = run(t, cfg, args, timeout=5)
                what = "-c" if args else "real start"
                assert rc == 1, "%s with '%s': exit %r: %r" % (what, bad, rc, err)
                assert err.count("[ALERT]") == 2 and "'timeout" in err, \
                    "%s with '%s': %r" % (what, bad, err)
                assert "[WARNING]" not in err and "missing timeouts" not in err, \
                    "%s with '%s': a warning piled on the error: %r" % (what, bad, err)

    t.case("a bad timeout line gives its error only, no 'missing timeouts' warning",
           bad_timeout)

    # -------------------------------------------------------------------------------------
    # per-event warnings are rate-limited

    def accept_storm():
        port = free_port()
        sp = t.spillway(config(port, [("s1", be.port)], global_extra="maxconn 500"), port)
        assert request(port, "GET", "/name").status == 200
        _, hard = resource.prlimit(sp.pid, resource.RLIMIT_NOFILE)
        # leave room for 4 more descriptors, as if the rest had gone to other connections
        fds = sorted(int(n) for n in os.listdir("/proc/%d/fd" % sp.pid))
        limit = fds[-1] + 1
        for _ in range(1000):
            if limit - len([fd for fd in fds if fd < limit]) >= 4:
                break
            limit += 1
        old = resource.prlimit(sp.pid, resource.RLIMIT_NOFILE, (limit, hard))
        held = []
        try:
            # 4 get a descriptor; the rest wait in the kernel queue behind an accept that
            # fails with EMFILE, and every close lets one in and fails the next accept
            for _ in range(80):
                held.append(socket.create_connection((HOST, port), timeout=5))
            burst_start = time.monotonic()
            for s in held:  # one close per loop turn of spillway, roughly: one EMFILE each
                s.close()
                time.sleep(0.005)
            held = []
            drained = wait_until(lambda: "accept on" in sp.log(limit=200000), 3)
            assert drained, "no accept warning at all: %r" % sp.log()
            time.sleep(0.3)
            burst = [ln for ln in sp.log(limit=200000).splitlines() if "accept on" in ln]
            took = time.monotonic() - burst_start
            # the first line went out before the burst: one more may be due within it
            assert len(burst) <= 2 + int(took), "%d accept warnings in %.1fs: %r" % (
                len(burst), took, burst[:5])
            # a second later, one more failure: its line says how many were held back
            time.sleep(1.1)
            for _ in range(10):
                held.append(socket.create_connection((HOST, port), timeout=5))

            def counted():
                lines = [ln for ln in sp.log(limit=200000).splitlines() if "accept on" in ln]
                return [ln for ln in lines if "similar messages suppressed" in ln]

            lines = wait_until(counted, 3)
            assert lines, "no line with a count: %r" % sp.log()
            n = int(re.search(r"\((\d+) similar messages suppressed\)", lines[-1]).group(1))
            assert n >= 10, "only %d suppressed of the ~76 failed accepts: %r" % (n, lines)
            print("# burst: %d line(s) in %.1fs, then %r" % (len(burst), took, lines[-1]))
        finally:
            resource.prlimit(sp.pid, resource.RLIMIT_NOFILE, old)
            for s in held:
                s.close()

        def serving():
            try:
                return request(port, "GET", "/name", timeout=2).status == 200
            except OSError:
                return False

        assert wait_until(serving, 5), "not serving after the storm"

    t.case("accept failing with EMFILE: at most one warning a second, then a count of the "
           "suppressed ones", accept_storm)


if __name__ == "__main__":
    Suite("startup").run(main)
