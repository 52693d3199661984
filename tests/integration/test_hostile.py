#!/usr/bin/env python3
"""Hostile servers (issue 11, "Fuzzing and faults"): a server that never answers, resets in the
middle of the head or of the body, sends garbage, a head over tune.bufsize, more or fewer body
bytes than it announced, or closes keep-alive connections at random. Whatever the server does,
spillway must never present a cut response as complete, never hand one client's stray bytes to
another, never hang past `timeout server`, and keep serving.

sp-testbackend plays the server (its header comment lists the routes): /hang, /headcut/N,
/cut/N (cl=M, mode=chunked|close), /bighead/N, /overlong/N (late=MS), /raw?hex=, then=
fin|rst|hang, wait=MS, and --random-close PCT. One more server is a listening socket that
never accept()s: the kernel completes the handshake, nothing ever reads.

What HAProxy 2.6 does, and so what is asserted (../shared/HAPROXY-BEHAVIOUR.md, the table of
outcomes, and mux_h1.c / mux_h2.c):
- no response head before `timeout server`: 504 (sH);
- an invalid head, a head over tune.bufsize, or a close or reset before the head completes:
  502 (PH / SH);
- the server aborts after the head was forwarded: the client's response is cut. Over HTTP/1.1
  with Content-Length it gets fewer bytes, then a close; chunked, it never gets the last chunk;
  a close-delimited response (which HAProxy sends chunked to an HTTP/1.1 client) never ends
  with a last chunk nor, sent close-delimited, with a clean FIN after a reset. Over h2c the
  stream ends with RST_STREAM, never END_STREAM, and the connection's other streams go on;
- bytes beyond Content-Length: mux_h1.c's h1_detach() kills a server connection with data
  left in its input buffer, so the stray bytes reach nobody; an idle server connection that
  receives data is closed too;
- a failure on a reused connection before any response byte is retried on a fresh one for an
  idempotent request; otherwise 502, and a request with a body is never sent twice.

Each check runs over HTTP/1.1 (raw sockets) and over h2c (tests/integration/h2client.py, h2load)
where it applies. SP_LONG=1 runs the load cases ten times longer. Every wait is bounded; the
default run takes about 30 s.
"""

import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import send  # noqa: E402
from lib import no_sanitizer_report  # noqa: E402
from lib import HOST, Backend, Conn, ProtocolError, SetupError, Suite, free_port, \
    pattern_bytes, request  # noqa: E402
from h2client import H2, S_INITIAL_WINDOW, WINDOW_UPDATE  # noqa: E402

LONG = os.environ.get("SP_LONG", "") not in ("", "0")
LOAD_N = 20000 if LONG else 2000  # h2load requests per run
TS = 1.0  # timeout server, seconds
SLACK = 1.5  # how much later than a timeout a close may come on a busy machine
CUT_WAIT_MS = 150  # the server waits this long between the bytes it sends and its abort

CONFIG = """global
    nbthread 1
{global_extra}
defaults
    mode http
    timeout client 5s
    timeout server {ts}ms
    timeout connect 1s
    timeout http-request 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
frontend fe_mute
    bind 127.0.0.1:{mute_port}
    default_backend be_mute
backend be
    server s1 127.0.0.1:{bport}
backend be_mute
    server s1 127.0.0.1:{mute_bport}
"""


# ---------------------------------------------------------------------------------------------
# Helpers (lib.py is shared; what only this test needs lives here)


def FlagBackend(tmpdir, name, flags, timeout=5.0):
    """An sp-testbackend started with extra command-line flags."""
    return Backend(tmpdir, name, timeout=timeout, flags=flags)


def counters(be):
    """The origin's /stats as a dict (accepts, requests, posts, dropped, quits, conns, ...)."""
    return be.counters()


def delta(c0, c1):
    return {k: c1[k] - c0.get(k, 0) for k in c1}


class Raw:
    """What came back on one HTTP/1.1 client connection, read to its end: the bytes, how the
    connection ended ("eof", "rst", "timeout", or "open": complete as framed, still open) and
    when."""

    def __init__(self, data, end, took):
        self.data, self.end, self.took = data, end, took
        self.status = None  # end "open": complete as framed, the connection still open
        self.headers = {}
        self.body = b""
        self.framing = None  # "cl", "chunked", "close"
        self.complete = False  # the response, as the client can tell, ended properly
        self.why = ""
        self._parse()

    def _parse(self):
        head, sep, rest = self.data.partition(b"\r\n\r\n")
        if not sep:
            self.why = "no complete head"
            return
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            self.status = int(parts[1])
        for ln in lines[1:]:
            n, _, v = ln.partition(b":")
            self.headers[n.strip().lower().decode(errors="replace")] = \
                v.strip().decode(errors="replace")
        te = self.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            self.framing = "chunked"
            body, i = b"", 0
            for _ in range(1000000):
                j = rest.find(b"\r\n", i)
                if j < 0:
                    self.why = "chunked: %d body bytes, no last chunk" % len(body)
                    break
                try:
                    size = int(rest[i:j].split(b";")[0], 16)
                except ValueError:
                    self.why = "chunked: bad chunk size %r" % rest[i:j][:20]
                    break
                if size == 0:
                    self.complete = rest.find(b"\r\n\r\n", j) >= 0 or rest[j:j + 4] == b"\r\n\r\n"
                    self.why = "chunked: last chunk after %d body bytes" % len(body)
                    break
                if len(rest) < j + 2 + size + 2:
                    body += rest[j + 2:j + 2 + size]
                    self.why = "chunked: %d body bytes, cut inside a chunk" % len(body)
                    break
                body += rest[j + 2:j + 2 + size]
                i = j + 2 + size + 2
            self.body = body
        elif "content-length" in self.headers:
            self.framing = "cl"
            cl = int(self.headers["content-length"])
            self.body = rest[:cl]
            self.complete = len(rest) >= cl
            self.why = "Content-Length %d, %d body bytes" % (cl, len(rest))
        else:
            self.framing = "close"
            self.body = rest
            self.complete = self.end == "eof"
            self.why = "close-delimited, %d body bytes, ended by %s" % (len(rest), self.end)

    def __repr__(self):
        return "status %s, %s, connection %s after %.2fs" % (
            self.status, self.why, self.end, self.took)


def raw_get(port, path, timeout, extra=b""):
    """GET path on a fresh HTTP/1.1 connection (keep-alive: the client does not close), read
    until the server ends the connection, the response is complete as framed (end "open"), or
    timeout seconds pass. Returns a Raw."""
    t0 = time.monotonic()
    data, end = b"", "timeout"
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: spillway.test\r\n" + extra +
                  b"\r\n")
        deadline = t0 + timeout
        for _ in range(1000000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                d = s.recv(262144)
            except socket.timeout:
                break
            except ConnectionResetError:
                end = "rst"
                break
            if not d:
                end = "eof"
                break
            data += d
            if Raw(data, "open", 0).complete:
                end = "open"
                break
    return Raw(data, end, time.monotonic() - t0)


def timed_status(port, path, want, lo, hi):
    t0 = time.monotonic()
    r = request(port, "GET", path, timeout=hi + 5)
    took = time.monotonic() - t0
    assert r.status == want, "GET %s: got %d %r after %.2fs, want %d" % (
        path, r.status, r.reason, took, want)
    assert lo <= took < hi, "GET %s: %d after %.2fs, want between %.1f and %.1f s" % (
        path, r.status, took, lo, hi)


def h2c(port):
    """An h2c client connection that never runs out of flow-control window: what is asserted
    is spillway's answer to the server, never a stall of the client's making."""
    h = H2(port, settings={S_INITIAL_WINDOW: 2 ** 31 - 1}, timeout=5)
    h.send(h.frame(WINDOW_UPDATE, 0, 0, (2 ** 31 - 1 - 65535).to_bytes(4, "big")))
    return h


def h2_get(port, path, timeout):
    """One stream on a fresh h2c connection; returns (stream, seconds, connection gone)."""
    t0 = time.monotonic()
    with h2c(port) as h:
        sid, _ = h.request("GET", path)
        st = h.streams[sid]
        h.pump(lambda: st.done() or h.eof, timeout)
        return st, time.monotonic() - t0, h.eof


def h2_status(port, path, want, lo=0.0, hi=5.0):
    st, took, eof = h2_get(port, path, hi + 5)
    assert st.status == want and st.ended, \
        "h2 GET %s: status %s, END_STREAM %s, RST_STREAM %s, connection closed %s after " \
        "%.2fs; want %d" % (path, st.status, st.ended, st.rst, eof, took, want)
    assert lo <= took < hi, "h2 GET %s: %d after %.2fs, want between %.1f and %.1f s" % (
        path, want, took, lo, hi)


def run_tool(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "", "%s did not finish in %ss" % (cmd[0], timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def h2load(url, n, h1=False, data=None):
    """Runs h2load -c10 -m4 -nN; returns (succeeded, failed, 2xx, 5xx, the summary text)."""
    cmd = ["h2load", "-c10", "-m4", "-n%d" % n] + (["--h1"] if h1 else []) + \
        (["-d", data] if data else []) + [url]
    rc, out, err = run_tool(cmd, 60)
    f = lib.parse_h2load(out)
    assert f["text"], "h2load rc=%d, no summary: %s %s" % (rc, out[-1200:], err[-400:])
    print("#   %s" % f["text"], flush=True)
    return f["succeeded"], f["failed"], f["2xx"], f["5xx"], f["text"]




# ---------------------------------------------------------------------------------------------


def main(t):
    b1 = t.backend("b1")
    # a server that never accept()s: connects complete in the kernel, nobody reads
    mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    mute.bind((HOST, 0))
    mute.listen(64)
    port, mute_port = free_port(), free_port()
    sp = t.spillway(CONFIG.format(port=port, mute_port=mute_port, bport=b1.port,
                                  mute_bport=mute.getsockname()[1], ts=int(TS * 1000),
                                  global_extra=""), port)
    big_port = free_port()
    t.spillway(CONFIG.format(port=big_port, mute_port=free_port(), bport=b1.port,
                             mute_bport=mute.getsockname()[1], ts=int(TS * 1000),
                             global_extra="    tune.bufsize 32768"), big_port)

    def alive():
        assert sp.proc.poll() is None, "spillway exited with %s" % sp.proc.returncode
        r = request(port, "GET", "/name", timeout=5)
        assert r.status == 200 and r.body == b"b1\n", "got %r %r" % (r, r.body[:60])

    # ---- no answer: 504 after timeout server ----

    t.case("server reads the request, never answers (/hang): 504 after timeout server %.1fs"
           % TS, timed_status, port, "/hang", 504, TS - 0.2, TS + SLACK)
    t.case("server never accept()s: 504 after timeout server %.1fs" % TS,
           timed_status, mute_port, "/name", 504, TS - 0.2, TS + SLACK)
    t.case("server sends half a head, then nothing (/headcut/60?then=hang): 504 after %.1fs"
           % TS, timed_status, port, "/headcut/60?then=hang", 504, TS - 0.2, TS + SLACK)
    t.case("h2c: /hang: 504 after timeout server", h2_status, port, "/hang", 504, TS - 0.2,
           TS + SLACK)
    t.case("h2c: server never accept()s: 504 after timeout server", h2_status, mute_port,
           "/name", 504, TS - 0.2, TS + SLACK)

    # ---- the head breaks off: 502 ----

    for path, what in (("/headcut/60", "reset after 60 bytes of head"),
                       ("/headcut/20", "reset inside the status line"),
                       ("/headcut/60?then=fin", "close (FIN) after 60 bytes of head"),
                       ("/headcut/60?then=rst&wait=200", "reset 200 ms after 60 bytes of head"),
                       ("/raw?then=rst", "reset without a byte")):
        t.case("%s (%s): 502" % (what, path), timed_status, port, path, 502, 0, 2)
        t.case("h2c: %s: 502" % what, h2_status, port, path, 502, 0, 2)

    # ---- garbage instead of a response: 502 ----

    garbage = [
        (b"HTTP/1.1 abc\r\n\r\n", "a status that is not a number"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP at all"),
        (b"\x00\x01\x02\x03\xff\xfe\r\n\r\n", "binary bytes"),
        (b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", "a four-digit status"),
        (b"HTTP/1.1 200 OK\r\nthis line has no colon\r\nContent-Length: 2\r\n\r\nok",
         "a field line without a colon"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nok", "Content-Length: 12abc"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
         "two different Content-Length"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok",
         "a space in a field name"),
    ]
    for raw, what in garbage:
        path = "/raw?hex=%s&then=hang" % raw.hex()
        t.case("garbage response, %s: 502" % what, timed_status, port, path, 502, 0, TS + SLACK)
        t.case("h2c: garbage response, %s: 502" % what, h2_status, port, path, 502, 0,
               TS + SLACK)

    # ---- head over tune.bufsize: 502 ----

    t.case("control: a 12,000-byte response head in 13 fields (tune.bufsize 16384): 200",
           timed_status, port, "/bighead/12000", 200, 0, 3)
    t.case("control: 90 response fields (HAProxy's tune.http.maxhdr is 101): 200",
           timed_status, port, "/bighead/4500?line=50", 200, 0, 3)
    t.case("150 response fields, over HAProxy's tune.http.maxhdr 101: 502",
           timed_status, port, "/bighead/7500?line=50", 502, 0, 3)
    t.case("a 17,000-byte response head, over tune.bufsize 16384: 502",
           timed_status, port, "/bighead/17000", 502, 0, 3)
    t.case("a 200,000-byte response head: 502", timed_status, port, "/bighead/200000", 502, 0,
           3)
    t.case("tune.bufsize 32768: a 24,000-byte response head: 200",
           timed_status, big_port, "/bighead/24000", 200, 0, 3)
    t.case("tune.bufsize 32768: a 40,000-byte response head: 502",
           timed_status, big_port, "/bighead/40000", 502, 0, 3)
    t.case("h2c: control: a 12,000-byte response head: 200", h2_status, port, "/bighead/12000",
           200, 0, 3)
    t.case("h2c: a 17,000-byte response head, over tune.bufsize 16384: 502", h2_status, port,
           "/bighead/17000", 502, 0, 3)

    # ---- the body breaks off: never presented as complete ----

    def h1_cut(path, hi):
        r = raw_get(port, path, hi + 3)
        print("#   %s: %r" % (path, r), flush=True)
        if r.status == 502:
            return  # nothing forwarded yet: a whole 502 is honest
        assert r.status == 200, "%r" % r
        assert not r.complete, "a cut response reached the client as complete: %r" % r
        assert r.end != "timeout", "client connection still open after %.1fs: %r" % (r.took, r)
        assert r.took < hi, "closed only after %.2fs (want < %.1fs): %r" % (r.took, hi, r)
        assert r.body == pattern_bytes(len(r.body)), "body bytes changed: %r" % r.body[:60]

    def h2_cut(path, hi, allow_bare_rst=False):
        with h2c(port) as h:
            t0 = time.monotonic()
            sid, _ = h.request("GET", path)
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.eof, hi + 3)
            took = time.monotonic() - t0
            print("#   h2 %s: status %s, %d data bytes, END_STREAM %s, RST_STREAM %s, "
                  "connection closed %s, after %.2fs" % (path, st.status, len(st.data),
                                                         st.ended, st.rst, h.eof, took))
            if st.status == 502 and st.ended:
                return
            if st.status is None and not allow_bare_rst:
                assert False, "RST_STREAM %s without a response head (HAProxy: 502, or the " \
                    "head then RST_STREAM)" % st.rst
            if st.status is None:
                print("#   note: RST_STREAM without a response head; HTTP/1.1 gets the head",
                      flush=True)
                assert st.rst is not None and not st.ended, "neither END_STREAM nor RST"
                return
            assert st.status == 200, "status %s" % st.status
            assert not st.ended, "the cut response ended with END_STREAM after %d bytes: " \
                "presented as complete" % len(st.data)
            assert st.rst is not None, "no RST_STREAM within %.1fs (connection closed: %s)" % (
                took, h.eof)
            assert took < hi, "RST_STREAM only after %.2fs (want < %.1fs)" % (took, hi)
            # the connection itself goes on
            st2 = h.get("/name", timeout=5)
            assert st2.status == 200 and st2.ended and st2.data == b"b1\n", \
                "next stream on the same connection: status %s END_STREAM %s rst %s data %r" % (
                    st2.status, st2.ended, st2.rst, bytes(st2.data[:40]))

    w = "wait=%d" % CUT_WAIT_MS
    cuts = [
        ("/cut/5000?then=rst&" + w, "Content-Length, reset mid-body"),
        ("/cut/5000?then=fin&" + w, "Content-Length, close (FIN) mid-body"),
        ("/cut/200000?then=rst&" + w, "Content-Length, reset after 200,000 bytes"),
        ("/cut/5000?mode=chunked&then=rst&" + w, "chunked, reset mid-body"),
        ("/cut/5000?mode=chunked&then=fin&" + w, "chunked, close (FIN) before the last chunk"),
        ("/cut/5000?mode=close&then=rst&" + w, "close-delimited, reset mid-body"),
        ("/cut/500?cl=1000&then=fin&" + w, "500 of 1,000 bytes (fewer than Content-Length), "
                                           "then close"),
        ("/cut/500?cl=1000&then=rst&" + w, "500 of 1,000 bytes, then reset"),
    ]
    for path, what in cuts:
        t.case("HTTP/1.1: %s (%s): cut, closed, never complete" % (what, path),
               h1_cut, path, 2.5)
        t.case("h2c: %s: RST_STREAM, never END_STREAM" % what, h2_cut, path, 2.5)
    def real_clients(path):
        """curl (HTTP/1.1) and nghttp (h2c) must both see the transfer fail."""
        url = "http://%s:%d%s" % (HOST, port, path)
        rc, out, err = lib.curl(["-o", "/dev/null", "-w", "%{http_code} %{size_download}", url],
                                timeout=10)
        print("#   curl %s: rc %d, %s %s" % (path, rc, out.decode(errors="replace"),
                                            err.strip()[:100]), flush=True)
        rc2, out2, err2 = run_tool(["nghttp", "-n", "-t", "10", url], 15)
        print("#   nghttp %s: rc %d %s" % (path, rc2, (out2 + err2).strip()[:100]), flush=True)
        assert rc not in (0, -9), "curl took the cut response as complete (rc %d, %s)" % (
            rc, out.decode(errors="replace"))
        assert rc2 != 0 or "not processed" in out2 + err2, \
            "nghttp took the cut response as complete (rc %d)" % rc2

    for path, what in (("/cut/5000?then=rst&" + w, "Content-Length"),
                       ("/cut/5000?mode=chunked&then=rst&" + w, "chunked"),
                       ("/cut/5000?mode=close&then=rst&" + w, "close-delimited")):
        t.case("curl and nghttp: %s, reset mid-body: both report the transfer failed" % what,
               real_clients, path)

    def close_delimited_control():
        r = raw_get(port, "/cut/5000?mode=close&then=fin&" + w, 5)
        print("#   control %r" % r, flush=True)
        assert r.status == 200 and r.complete and r.body == pattern_bytes(5000), \
            "a close-delimited response ended by a clean close must arrive whole: %r" % r
        st, took, eof = h2_get(port, "/cut/5000?mode=close&then=fin&" + w, 5)
        assert st.status == 200 and st.ended and bytes(st.data) == pattern_bytes(5000), \
            "h2c: status %s END_STREAM %s rst %s, %d bytes" % (st.status, st.ended, st.rst,
                                                              len(st.data))

    t.case("control: close-delimited, ended by a clean close (FIN): whole, over HTTP/1.1 and "
           "h2c", close_delimited_control)
    hangs = [
        ("/cut/500?cl=1000&then=hang", "500 of 1,000 bytes, then silence"),
        ("/cut/5000?mode=chunked&then=hang", "chunked, silence before the last chunk"),
    ]
    for path, what in hangs:
        t.case("HTTP/1.1: %s: cut within timeout server + %.1fs, never complete" % (
            what, SLACK), h1_cut, path, TS + SLACK)
        t.case("h2c: %s: RST_STREAM within timeout server + %.1fs" % (what, SLACK),
               h2_cut, path, TS + SLACK)

    # invalid bytes in the middle of a chunked body (hang: only the parse error can end it)
    bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nZZZ\r\n"
    t.case("HTTP/1.1: chunked body with an invalid chunk size: cut, never complete",
           h1_cut, "/raw?hex=%s&then=hang" % bad_chunk.hex(), TS + SLACK)
    t.case("h2c: chunked body with an invalid chunk size: 502 or RST_STREAM",
           h2_cut, "/raw?hex=%s&then=hang" % bad_chunk.hex(), TS + SLACK, True)

    def h2_cut_beside():
        """A stream cut while another one on the same connection is in flight."""
        with h2c(port) as h:
            s1, _ = h.request("GET", "/slowbody/400")
            s2, _ = h.request("GET", "/cut/5000?then=rst&wait=100")
            a, b = h.streams[s1], h.streams[s2]
            h.pump(lambda: (a.done() and b.done()) or h.eof, 5)
            assert b.rst is not None and not b.ended, "cut stream: END_STREAM %s rst %s" % (
                b.ended, b.rst)
            assert a.status == 200 and a.ended and a.data == b"slowbody!\n", \
                "the other stream: status %s END_STREAM %s rst %s data %r (connection " \
                "closed %s)" % (a.status, a.ended, a.rst, bytes(a.data[:40]), h.eof)

    t.case("h2c: a stream cut beside another in flight: the other completes", h2_cut_beside)

    # ---- more body bytes than Content-Length: the stray bytes reach nobody ----

    def overlong_h1(path, gap):
        with Conn(port, timeout=5) as c:
            out, r = send(c, "GET", path)
            assert out == "200", "the overlong response itself: %s" % out
            n = int(path.split("/")[2].split("?")[0])
            assert r.body == pattern_bytes(n), "its body: %r" % r.body[:60]
            assert r.header("X-Backend") == "b1", "X-Backend %r" % r.header("X-Backend")
            time.sleep(gap)
            outs = []
            for _ in range(3):
                out, r2 = send(c, "GET", "/name")
                outs.append((out, r2.header("X-Backend") if r2 else None,
                             r2.body[:20] if r2 else None))
                if out != "200":
                    break
        others = []
        for _ in range(3):
            r3 = request(port, "GET", "/name", timeout=5)
            others.append((r3.status, r3.header("X-Backend"), r3.body[:20]))
        want = ("200", "b1", b"b1\n")
        assert all(o == want for o in outs), \
            "next requests on the same client connection got %r" % outs
        want = (200, "b1", b"b1\n")
        assert all(o == want for o in others), "requests on new client connections got %r" % \
            others

    for path, gap, what in (("/overlong/100", 0, "in the same write"),
                            ("/overlong/100000", 0, "after a 100,000-byte body"),
                            ("/overlong/100?late=50", 0.3, "50 ms later, next request 300 ms "
                                                           "after"),
                            ("/overlong/100?late=50", 0.08, "50 ms later, next request 80 ms "
                                                            "after")):
        t.case("HTTP/1.1: a second, unrequested response after the body (%s): the next "
               "requests, same and new client connections, get their own" % what,
               overlong_h1, path, gap)

    def overlong_h2(path, gap):
        with h2c(port) as h:
            st = h.get(path, timeout=5)
            n = int(path.split("/")[2].split("?")[0])
            assert st.status == 200 and st.ended and bytes(st.data) == pattern_bytes(n), \
                "the overlong stream: status %s END_STREAM %s %d bytes" % (
                    st.status, st.ended, len(st.data))
            time.sleep(gap)
            got = []
            for _ in range(3):
                s2 = h.get("/name", timeout=5)
                got.append((s2.status, s2.ended, bytes(s2.data[:20])))
        with h2c(port) as h:
            for _ in range(2):
                s3 = h.get("/name", timeout=5)
                got.append((s3.status, s3.ended, bytes(s3.data[:20])))
        assert all(g == (200, True, b"b1\n") for g in got), "following streams got %r" % got

    t.case("h2c: a second, unrequested response after the body: following streams get their "
           "own", overlong_h2, "/overlong/100", 0)
    t.case("h2c: the same, 50 ms late: following streams get their own", overlong_h2,
           "/overlong/100?late=50", 0.3)

    t.case("still serving after all that", alive)

    # ---- keep-alive connections closed at random ----

    rnd = FlagBackend(t.dir, "rnd", ["--random-close", "20", "--seed", "7"])
    t.backends.append(rnd)
    rp = free_port()
    t.spillway(CONFIG.format(port=rp, mute_port=free_port(), bport=rnd.port,
                             mute_bport=mute.getsockname()[1], ts=int(TS * 1000),
                             global_extra=""), rp)
    rp2 = free_port()
    t.spillway(CONFIG.format(port=rp2, mute_port=free_port(), bport=rnd.port,
                             mute_bport=mute.getsockname()[1], ts=int(TS * 1000),
                             global_extra="").replace("nbthread 1", "nbthread 2"), rp2)

    def random_get(p, h1):
        c0 = counters(rnd)
        ok, failed, s2xx, s5xx, text = h2load("http://%s:%d/name" % (HOST, p), LOAD_N, h1)
        d = delta(c0, counters(rnd))
        print("#   origin: %d connections, %d requests, %d silent closes, %d requests dropped"
              % (d["accepts"] - 1, d["requests"], d["quits"], d["dropped"]), flush=True)
        assert d["quits"] + d["dropped"] > 0, "the origin closed nothing: case not run"
        assert ok == LOAD_N and s2xx == LOAD_N and failed == 0, text

    for nbt, p in ((1, rp), (2, rp2)):
        for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
            t.case("server closes 20%% of keep-alive connections at random, h2load %s GET "
                   "-c10 -m4 -n%d (nbthread %d): 0 failed, all 2xx" % (proto, LOAD_N, nbt),
                   random_get, p, h1)

    post_file = os.path.join(t.dir, "post.bin")
    with open(post_file, "wb") as f:
        f.write(bytes(range(256)) * 4)

    def random_post(h1):
        n = LOAD_N // 4
        c0 = counters(rnd)
        ok, failed, s2xx, s5xx, text = h2load("http://%s:%d/sink" % (HOST, rp), n, h1,
                                              data=post_file)
        d = delta(c0, counters(rnd))
        print("#   origin: %d POSTs, %d requests dropped, %d silent closes" % (
            d["posts"], d["dropped"], d["quits"]), flush=True)
        assert d["posts"] <= n, "the origin got %d POSTs for %d sent: replayed" % (
            d["posts"], n)
        # h2load's "failed" counts non-2xx answers and errors alike. Each must be a POST that
        # met a server close: read and dropped by the origin, or sent on a connection the
        # origin had just closed (it never saw it; the close was on its way: a 502 is honest,
        # HAProxy does the same). And every POST the origin answered reached the client.
        assert ok + failed == n, text
        assert s2xx == ok == d["posts"] - d["dropped"], \
            "the origin answered %d POSTs, the client got %d 2xx: %s" % (
                d["posts"] - d["dropped"], s2xx, text)
        assert failed <= d["dropped"] + (n - d["posts"]), \
            "%d failed, but the origin dropped %d and never saw %d: %s" % (
                failed, d["dropped"], n - d["posts"], text)

    for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
        t.case("server closes at random, h2load %s POST -n%d: never replayed, every failure a "
               "502 for a dropped request" % (proto, LOAD_N // 4), random_post, h1)

    t.case("still serving at the end", alive)
    mute.close()
    t.case("no sanitizer report from spillway or the backends", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("hostile").run(main)
