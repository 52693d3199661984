#!/usr/bin/env python3
"""errorfile, errorloc302/303, http-errors + errorfiles, http-error (issue 20): the messages a
configuration puts in place of spillway's own pages, for the errors it makes before a
transaction (400, 408), through a transaction (502, 503, 504), over HTTP/1.1 and HTTP/2; the
backend's message beating the frontend's; an empty errorfile closing without a byte; and
`spillway -c` naming file:line for a missing file, a bad code and a malformed file. One
spillway start for every runtime check."""

import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2client import H2  # noqa: E402
from lib import SPILLWAY, Conn, Suite, curl, free_port, no_sanitizer_report, raw_exchange  # noqa: E402,E501

FE503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Page: fe503\r\n" \
        b"Content-Length: 16\r\n\r\nfrontend's 503!\n"
BE503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Page: be503\r\n" \
        b"Content-Length: 15\r\n\r\nbackend's 503!\n"
E400 = b"HTTP/1.1 400 Bad Request\nContent-Type: text/plain\nX-Page: e400\n" \
       b"Content-Length: 12\n\ncustom 400!\n"  # bare LF line ends, as HAProxy accepts
E408 = b"HTTP/1.1 408 Request Time-out\r\nContent-Type: text/plain\r\nX-Page: e408\r\n" \
       b"Content-Length: 12\r\n\r\ncustom 408!\n"
E504 = b"HTTP/1.1 504 Gateway Time-out\r\nContent-Type: text/plain\r\nX-Page: e504\r\n" \
       b"Connection: close\r\n" \
       b"Content-Length: 12\r\n\r\ncustom 504!\n"
E200 = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Page: e200\r\n" \
       b"Content-Length: 6\r\n\r\nalive\n"
SITE502 = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nX-Page: site502\r\n" \
          b"Content-Length: 9\r\n\r\nsite 502\n"
SITE504 = b"HTTP/1.1 504 Gateway Time-out\r\nContent-Type: text/plain\r\nX-Page: site504\r\n" \
          b"Content-Length: 9\r\n\r\nsite 504\n"

CONFIG = """global
    nbthread 1
http-errors site
    errorfile 502 {d}/site502.http
    errorfile 504 {d}/site504.http
defaults
    mode http
    timeout client 5s
    timeout server 200ms
    timeout connect 1s
    timeout http-request 400ms
    errorfile 400 {d}/e400.http
frontend fe_basic
    bind 127.0.0.1:{p_basic}
    errorfile 503 {d}/fe503.http
    errorfile 408 {d}/e408.http
    errorfile 200 {d}/e200.http
    monitor-uri /alive
    default_backend nosrv
frontend fe_app
    bind 127.0.0.1:{p_app}
    errorfile 504 {d}/e504.http
    default_backend app
frontend fe_site
    bind 127.0.0.1:{p_site}
    errorfiles site 502
    default_backend app_plain
frontend fe_be
    bind 127.0.0.1:{p_be}
    errorfile 503 {d}/fe503.http
    default_backend nosrv_own
frontend fe_loc
    bind 127.0.0.1:{p_loc}
    errorloc302 503 http://example.test/down
    errorloc303 504 /later
    use_backend app_plain if {{ path_beg /hang }}
    default_backend nosrv
frontend fe_herr
    bind 127.0.0.1:{p_herr}
    http-error status 503 content-type text/plain lf-string "client %ci via %f" hdr X-Fe "%f" hdr X-Static "yes"
    http-error status 502 content-type text/plain string "bad gateway here"
    use_backend app_plain if {{ path_beg /raw }}
    default_backend nosrv
frontend fe_h2to
    bind 127.0.0.1:{p_h2to}
    timeout client 300ms
    errorfile 408 {d}/e408.http
    default_backend app_slow
frontend fe_empty
    bind 127.0.0.1:{p_empty}
    errorfile 503 {d}/empty.http
    default_backend nosrv
backend nosrv
backend nosrv_own
    errorfile 503 {d}/be503.http
backend app
    server s1 127.0.0.1:{bport}
backend app_plain
    server s1 127.0.0.1:{bport}
backend app_slow
    timeout server 5s
    server s1 127.0.0.1:{bport}
"""

JUNK = "/raw?hex=6a756e6b0d0a0d0a"  # "junk\r\n\r\n": not an HTTP response: 502


def get(port, path, h2=False):
    """(status, {lower-case name: value}, body) through curl, HTTP/1.1 or HTTP/2 (prior
    knowledge); status 0 when no response came."""
    args = ["-i", "http://127.0.0.1:%d%s" % (port, path)]
    if h2:
        args.insert(0, "--http2-prior-knowledge")
    rc, out, err = curl(args, timeout=10)
    if rc != 0 and not out:
        return 0, {}, err.encode()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        hdrs[n.strip().lower()] = v.strip()
    return status, hdrs, body


def main(t):
    d = t.dir
    for name, data in (("fe503", FE503), ("be503", BE503), ("e400", E400), ("e408", E408),
                       ("e504", E504), ("e200", E200), ("site502", SITE502), ("site504", SITE504),
                       ("empty", b"")):
        with open(os.path.join(d, name + ".http"), "wb") as f:
            f.write(data)
    be = t.backend("b1")
    ports = {k: free_port() for k in ("p_basic", "p_app", "p_site", "p_be", "p_loc", "p_herr",
                                      "p_empty", "p_h2to")}
    t.spillway(CONFIG.format(d=d, bport=be.port, **ports), ports["p_basic"])
    for p in ports.values():
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", p), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.02)

    def expect(port, path, status, page=None, body=None, h2=False, more=None):
        def fn():
            st, hdrs, b = get(port, path, h2)
            assert st == status, "status %d, want %d (%r)" % (st, status, b[:200])
            if page:
                assert hdrs.get("x-page") == page, "x-page %r, want %r: %r" % (
                    hdrs.get("x-page"), page, hdrs)
            if body is not None:
                assert b == body, "body %r, want %r" % (b, body)
            if h2:
                assert "connection" not in hdrs, "HTTP/1-only field over HTTP/2: %r" % hdrs
            for k, v in (more or {}).items():
                assert hdrs.get(k) == v, "%s: %r, want %r (%r)" % (k, hdrs.get(k), v, hdrs)
        return fn

    for h2 in (False, True):
        v = "HTTP/2" if h2 else "HTTP/1.1"
        t.case("%s: errorfile 503 of the frontend (no server)" % v,
               expect(ports["p_basic"], "/", 503, "fe503", b"frontend's 503!\n", h2))
        t.case("%s: monitor-uri answers errorfile 200" % v,
               expect(ports["p_basic"], "/alive", 200, "e200", b"alive\n", h2))
        t.case("%s: errorfile 504 (timeout server on /hang)" % v,
               expect(ports["p_app"], "/hang", 504, "e504", b"custom 504!\n", h2))
        t.case("%s: errorfiles site 502 takes the section's 502 (junk response)" % v,
               expect(ports["p_site"], JUNK, 502, "site502", b"site 502\n", h2))
        t.case("%s: errorfiles site 502 leaves 504 to the built-in page" % v,
               expect(ports["p_site"], "/hang", 504, None, None, h2, {"x-page": None}))
        t.case("%s: the backend's errorfile beats the frontend's" % v,
               expect(ports["p_be"], "/", 503, "be503", b"backend's 503!\n", h2))
        t.case("%s: errorloc302 503: 302 with Location" % v,
               expect(ports["p_loc"], "/", 302, None, b"", h2,
                      {"location": "http://example.test/down"}))
        t.case("%s: errorloc303 504: 303 with Location" % v,
               expect(ports["p_loc"], "/hang", 303, None, b"", h2, {"location": "/later"}))
        t.case("%s: http-error lf-string with %%ci and hdr" % v,
               expect(ports["p_herr"], "/", 503, None, b"client 127.0.0.1 via fe_herr", h2,
                      {"x-fe": "fe_herr", "x-static": "yes", "content-type": "text/plain"}))
        t.case("%s: http-error string for a 502" % v,
               expect(ports["p_herr"], JUNK, 502, None, b"bad gateway here", h2,
                      {"content-type": "text/plain", "content-length": "16"}))

    def bad_request():
        r = raw_exchange(ports["p_basic"], b"GARBAGE\x01 / HTTP/1.1\r\n\r\n", timeout=5)
        assert r.status == 400, "status %d" % r.status
        assert r.header("X-Page") == "e400", r.headers
        assert r.body == b"custom 400!\n", r.body
        assert (r.header("Connection") or "").lower() == "close", r.headers

    def idle_timeout():
        with Conn(ports["p_basic"], 5) as c:
            t0 = time.monotonic()
            r = c.read_response(timeout=5)
            took = time.monotonic() - t0
            assert r.status == 408, "status %d" % r.status
            assert r.header("X-Page") == "e408", r.headers
            assert r.body == b"custom 408!\n", r.body
            assert took < 3, "408 after %.1fs (timeout http-request 400ms)" % took

    def h2_bad_request():
        # GET "*" (nghttp2 checks the asterisk form only for http and https): refused before a
        # transaction exists
        with H2(ports["p_basic"]) as h:
            sid = h.new_stream()
            h.send(h.headers_frames(sid, [(":method", "GET"), (":scheme", "foo"), (":path", "*"),
                                          (":authority", "a.test")]))
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.eof, 5)
            assert st.status == 400 and bytes(st.data) == b"custom 400!\n", \
                (st.status, st.rst, bytes(st.data))

    def h2_body_timeout():
        # a request body that never comes: `timeout client`, then the 408 as the stream's answer
        with H2(ports["p_h2to"]) as h:
            sid = h.new_stream()
            h.send(h.headers_frames(sid, h.req_fields("POST", "/", extra=[("content-length",
                                                                           "10")]),
                                    end_stream=False))
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.eof, 5)
            assert st.status == 408 and bytes(st.data) == b"custom 408!\n", \
                (st.status, st.rst, bytes(st.data))

    def empty_h1():
        s = socket.create_connection(("127.0.0.1", ports["p_empty"]), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        for _ in range(100):
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        s.close()
        assert got == b"", "got %r, want nothing then the close" % got[:200]

    def empty_h2():
        st, _, err = get(ports["p_empty"], "/", h2=True)
        assert st == 0, "status %d: an empty errorfile must answer nothing" % st

    def head_request():
        rc, out, err = curl(["-I", "http://127.0.0.1:%d/" % ports["p_basic"]], timeout=10)
        assert rc == 0, err
        assert b"X-Page: fe503" in out and b"Content-Length: 16" in out, out
        assert not out.rstrip(b"\r\n").endswith(b"503!"), out

    t.case("HTTP/1.1: errorfile 400 (defaults) for a bad request line, then close", bad_request)
    t.case("HTTP/1.1: errorfile 408 for an idle connection (timeout http-request)",
           idle_timeout)
    t.case("HTTP/2: errorfile 400 (defaults) for a request refused before a transaction",
           h2_bad_request)
    t.case("HTTP/2: errorfile 408 when the request body does not come (timeout client)",
           h2_body_timeout)
    t.case("HTTP/1.1: empty errorfile: the connection closes without a byte", empty_h1)
    t.case("HTTP/2: empty errorfile: the stream ends without a response", empty_h2)
    t.case("HTTP/1.1: HEAD gets the errorfile's fields, no body", head_request)

    # spillway -c names file:line
    def check_c(snippet, want):
        def fn():
            path = os.path.join(d, "c-%d.cfg" % time.monotonic_ns())
            with open(path, "w") as f:
                f.write("defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                        "    timeout connect 1s\nfrontend fe\n    bind 127.0.0.1:%d\n%s"
                        % (free_port(), snippet))
            p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = p.stdout.decode(errors="replace")
            assert p.returncode != 0, "exit 0: %s" % out
            assert ("%s:8:" % path) in out and want in out, out
        return fn

    with open(os.path.join(d, "bad.http"), "wb") as f:
        f.write(b"HTTP/1.1 503 X\r\nContent-Length: 50\r\n\r\nshort")
    t.case("-c: a missing errorfile names file:line",
           check_c("    errorfile 503 %s/nope.http\n" % d, "error opening file"))
    t.case("-c: a status code errorfile refuses names file:line",
           check_c("    errorfile 302 %s/fe503.http\n" % d, "status code '302' not handled"))
    t.case("-c: a malformed errorfile names file:line",
           check_c("    errorfile 503 %s/bad.http\n" % d,
                   "payload size does not match the announced content-length"))
    t.case("-c: an http-error log-format that does not compile names file:line",
           check_c("    http-error status 503 content-type text/plain lf-string \"%{\"\n",
                   "'http-error'"))
    t.case("no sanitizer report", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("errorfiles").run(main)
