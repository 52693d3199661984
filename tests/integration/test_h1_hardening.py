#!/usr/bin/env python3
"""HTTP/1 client side hardening (issue 11): Connection tokens that name framing fields, fragments
and absolute-form targets are refused; long runs of tiny chunks pass; errors to HEAD carry no
body; HTTP/1.0 goes upstream as 1.0 and is answered as HAProxy 2.6 answers it; Host values with
an odd port are forwarded. Every check talks to spillway from outside with raw sockets or curl,
in front of sp-testbackend, and fails on the behaviour before the fix."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Conn, closed_port, curl, free_port, pattern_bytes, Suite  # noqa: E402

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
frontend fe_ifnone
    bind 127.0.0.1:{ifnone_port}
    option forwardfor if-none
    default_backend be
frontend fe_stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
    stats auth user:secret
    default_backend be
backend be
    server s1 127.0.0.1:{bport}
backend be_dead
    retries 0
    server s1 127.0.0.1:{closed}
"""

SETTLE_S = 0.3  # time for a smuggled second request, if any, to reach the backend


def head_lines(body):
    """The request head the backend received (/headers or /echo body), as lines."""
    head = body.split(b"\r\n\r\n", 1)[0]
    return [ln.decode(errors="replace") for ln in head.split(b"\r\n")]


def fields(lines, name):
    return [ln.split(":", 1)[1].strip() for ln in lines[1:]
            if ":" in ln and ln.split(":", 1)[0].strip().lower() == name.lower()]


def rest_until_eof(c, timeout=3.0):
    """Whatever the server sends after the response read so far, up to its close."""
    data = c.buf
    c.buf = b""
    deadline = time.monotonic() + timeout
    for _ in range(10000):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("connection still open %.1fs after the response" % timeout)
        c.sock.settimeout(left)
        try:
            chunk = c.sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def main(t):
    be = t.backend("b1")
    port, dead_port, stats_port, ifnone_port = free_port(), free_port(), free_port(), free_port()
    t.spillway(CONFIG.format(port=port, dead_port=dead_port, stats_port=stats_port,
                             ifnone_port=ifnone_port, bport=be.port, closed=closed_port()), port)
    url = "http://127.0.0.1:%d" % port

    def backend_requests():
        return be.stats()[1]

    def refused(raw, want=400):
        """raw gets `want` and closes; the origin sees no request at all."""
        before = backend_requests()
        with Conn(port, timeout=5) as c:
            c.send(raw)
            r = c.read_response(head_request=raw.startswith(b"HEAD "))
            assert r.status == want, "got %d %r, want %d" % (r.status, r.reason, want)
            assert r.header("Connection") == "close", r.headers
            extra = rest_until_eof(c)
        time.sleep(SETTLE_S)
        after = backend_requests()
        assert after == before, "the origin received %d request(s)" % (after - before)
        return r, extra

    # ---- 1. Connection naming a framing field ----

    smuggled = b"GET /name HTTP/1.1\r\nHost: a\r\n\r\n"

    def conn_content_length():
        raw = (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
               b"Connection: Content-Length\r\n\r\n" % len(smuggled)) + smuggled
        refused(raw)

    def conn_content_length_listed():
        raw = (b"POST /echo HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, content-length\r\n"
               b"Content-Length: %d\r\n\r\n" % len(smuggled)) + smuggled
        refused(raw)

    def conn_transfer_encoding():
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
        raw = (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: Transfer-Encoding\r\n\r\n") + body
        refused(raw)

    def conn_host():
        refused(b"GET /headers HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n")

    def conn_other_token_still_works():
        # a plain token still strips the field it names, and exactly one request arrives
        before = backend_requests()
        with Conn(port, timeout=5) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: X-Priv\r\n"
                   b"X-Priv: 1\r\n\r\nabc")
            r = c.read_response()
        assert r.status == 200, r
        lines = head_lines(r.body)
        assert not fields(lines, "X-Priv"), lines
        assert fields(lines, "Content-Length") == ["3"], lines
        assert r.body.endswith(b"\r\n\r\nabc"), r.body[-40:]
        time.sleep(SETTLE_S)
        assert backend_requests() - before == 1, "origin requests: %d" % (
            backend_requests() - before)

    def conn_names_xff_if_none():
        # the client's X-Forwarded-For is dropped as hop-by-hop: `if-none` must add ours
        with Conn(ifnone_port, timeout=5) as c:
            c.send(b"GET /headers HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n"
                   b"Connection: close, X-Forwarded-For\r\n\r\n")
            r = c.read_response()
        assert r.status == 200, r
        assert fields(head_lines(r.body), "X-Forwarded-For") == ["127.0.0.1"], r.body[:300]

    # ---- 2. fragment ----

    def fragment():
        refused(b"GET /name#frag HTTP/1.1\r\nHost: a\r\n\r\n")

    def fragment_in_query():
        refused(b"GET /name?a=b#.png HTTP/1.1\r\nHost: a\r\n\r\n")

    def fragment_escaped_ok():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /name%23x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            r = c.read_response()
        assert r.status == 404 and r.header("X-Backend") == "b1", r

    # ---- 3. absolute-form ----

    def absolute_host_mismatch():
        refused(b"GET http://a.example/headers HTTP/1.1\r\nHost: b.example\r\n\r\n")

    def absolute_query_without_path():
        refused(b"GET http://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n")

    def absolute_host_match_forwarded():
        with Conn(port, timeout=5) as c:
            c.send(b"GET http://a.example/x?q=1 HTTP/1.1\r\nHost: A.Example\r\n"
                   b"Connection: close\r\n\r\n")
            r = c.read_response()
        # the origin answers (its router knows no absolute paths): it was forwarded
        assert r.status == 404 and r.header("X-Backend") == "b1", r

    # ---- 4. many one-byte chunks ----

    def tiny_chunks_echo():
        data = pattern_bytes(5000)
        body = b"".join(b"1\r\n%c\r\n" % x for x in data) + b"0\r\n\r\n"
        with Conn(port, timeout=10) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n" + body)
            r = c.read_response()
        assert r.status == 200, r
        got = r.body.split(b"\r\n\r\n", 1)[1]
        assert got == data, "echoed %d bytes, want the 5000 sent" % len(got)

    def tiny_chunks_sink():
        data = os.urandom(50000)
        body = b"".join(b"1\r\n%c\r\n" % x for x in data) + b"0\r\n\r\n"
        with Conn(port, timeout=10) as c:
            c.send(b"POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n" + body)
            r = c.read_response()
        want = "bytes=%d sum=%d\n" % (len(data), sum(data) % 2**32)
        assert r.status == 200 and r.body.decode() == want, (r, r.body[:80], want)

    # ---- 5. errors to HEAD: fields only ----

    def head_then_next(p, path, want, auth=None):
        """HEAD answered by `want` on a kept-alive connection, then a GET on the same one:
        a body after the HEAD response would be read as the next status line."""
        extra = b"Authorization: Basic %s\r\n" % auth if auth else b""
        with Conn(p, timeout=10) as c:
            c.send(b"HEAD %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
            r = c.read_response(head_request=True)
            assert r.status == want, "got %d, want %d" % (r.status, want)
            assert int(r.header("Content-Length")) > 0, r.headers
            assert r.header("Connection") != "close", r.headers
            c.send(b"GET /stats HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n" % extra
                   if auth else b"GET /name HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            r2 = c.read_response()
            assert r2.status in (200, 503), r2
            rest = rest_until_eof(c)
            assert rest == b"", "bytes after the last response: %r" % rest[:80]
        return r2

    def head_closing(raw, want, wait=None):
        with Conn(port, timeout=10) as c:
            c.send(raw)
            r = c.read_response(head_request=True, timeout=wait)
            assert r.status == want, "got %d, want %d" % (r.status, want)
            assert r.header("Connection") == "close", r.headers
            rest = rest_until_eof(c)
        assert rest == b"", "%d body bytes after the HEAD %d response: %r" % (
            len(rest), want, rest[:60])

    big_hdrs = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"b" * 200) for i in range(100))
    basic = b"dXNlcjpzZWNyZXQ="  # user:secret

    # ---- 6. HTTP/1.0 ----

    def http10_no_host():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /headers HTTP/1.0\r\n\r\n")
            r = c.read_response()
            rest = rest_until_eof(c)
        assert r.status == 200 and rest == b"", (r, rest[:40])
        # HAProxy answers in the server's version (the test backend speaks 1.1) and says
        # close on a 1.1 status line; the 1.0 client did not ask for keep-alive
        assert r.version == "HTTP/1.1", r.version
        assert r.header("Connection") == "close", r.headers
        lines = head_lines(r.body)
        assert lines[0] == "GET /headers HTTP/1.0", lines[0]
        assert not fields(lines, "Host"), "a Host was made up: %r" % lines
        assert fields(lines, "Connection") == ["keep-alive"], lines

    def http10_keepalive():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /headers HTTP/1.0\r\nHost: h.example\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            assert r.status == 200, r
            assert r.header("Connection") == "keep-alive", r.headers
            lines = head_lines(r.body)
            assert lines[0] == "GET /headers HTTP/1.0", lines[0]
            assert fields(lines, "Host") == ["h.example"], lines
            c.send(b"GET /name HTTP/1.0\r\n\r\n")
            r2 = c.read_response()
            assert (r2.status, r2.body) == (200, b"b1\n"), r2
            assert rest_until_eof(c) == b""

    def http10_body():
        with Conn(port, timeout=5) as c:
            c.send(b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
            r = c.read_response()
        lines = head_lines(r.body)
        assert r.status == 200 and r.body.endswith(b"\r\n\r\nhello"), r
        assert lines[0] == "POST /echo HTTP/1.0", lines[0]
        assert fields(lines, "Content-Length") == ["5"], lines

    def http10_close_delimited():
        # the backend answers a 1.0 request without chunking, reading to its close
        with Conn(port, timeout=5) as c:
            c.send(b"GET /size/100000?mode=chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
        assert r.status == 200 and r.body == pattern_bytes(100000), r
        assert r.header("Transfer-Encoding") is None, r.headers

    def http10_curl():
        rc, out, err = curl(["--http1.0", "-H", "Host:", "-D", "-", url + "/headers"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert b"\r\nGET /headers HTTP/1.0\r\n" in out, out[:400]
        assert b"\r\nHost:" not in out.split(b"\r\n\r\n", 1)[1], out[:400]

    def http10_error_keepalive():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /garbage HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            assert r.status == 502, r
            assert r.version == "HTTP/1.1", r.version
            assert r.header("Connection") == "keep-alive", r.headers
            c.send(b"GET /name HTTP/1.0\r\n\r\n")
            r2 = c.read_response()
            assert (r2.status, r2.body) == (200, b"b1\n"), r2

    def http11_unchanged():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /headers HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            assert r.version == "HTTP/1.1" and r.header("Connection") is None, r.headers
            assert head_lines(r.body)[0] == "GET /headers HTTP/1.1"

    # ---- 7. Host with a port HAProxy forwards ----

    def host_odd_port():
        with Conn(port, timeout=5) as c:
            c.send(b"GET /headers HTTP/1.1\r\nHost: a.com:80x\r\nConnection: close\r\n\r\n")
            r = c.read_response()
        assert r.status == 200, r
        assert fields(head_lines(r.body), "Host") == ["a.com:80x"], r.body[:200]

    def host_odd_port_curl():
        rc, out, err = curl(["-H", "Host: a.com:80x", url + "/headers"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert b"\r\nHost: a.com:80x\r\n" in out, out[:300]

    t.case("Connection: Content-Length: 400, the origin sees no request", conn_content_length)
    t.case("Connection: keep-alive, content-length: 400", conn_content_length_listed)
    t.case("Connection: Transfer-Encoding: 400", conn_transfer_encoding)
    t.case("Connection: Host: 400", conn_host)
    t.case("Connection: X-Priv strips X-Priv only, one request", conn_other_token_still_works)
    t.case("Connection: X-Forwarded-For with if-none: ours is added", conn_names_xff_if_none)
    t.case("'#' in the path: 400", fragment)
    t.case("'#' after the query: 400", fragment_in_query)
    t.case("%23 in the path is forwarded", fragment_escaped_ok)
    t.case("absolute-form with another Host: 400", absolute_host_mismatch)
    t.case("absolute-form http://a.example?q=1: 400", absolute_query_without_path)
    t.case("absolute-form with the same Host is forwarded", absolute_host_match_forwarded)
    t.case("5,000 one-byte chunks echoed intact", tiny_chunks_echo)
    t.case("50,000 one-byte chunks summed intact", tiny_chunks_sink)
    t.case("HEAD 503: no body, next response parses",
           lambda: head_then_next(dead_port, "/name", 503))
    t.case("HEAD 502: no body, next response parses", lambda: head_then_next(port, "/garbage", 502))
    t.case("HEAD 504: no body, next response parses",
           lambda: head_then_next(port, "/slow/3000", 504))
    t.case("HEAD 401 from the stats page: no body, next response parses",
           lambda: head_then_next(stats_port, "/stats", 401, auth=basic))
    t.case("HEAD 400 (fragment): no body", lambda: head_closing(
        b"HEAD /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400))
    t.case("HEAD 400 (bad field): no body", lambda: head_closing(
        b"\r\nHEAD /a HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n", 400))
    t.case("HEAD 408: no body", lambda: head_closing(
        b"HEAD /name HTTP/1.1\r\nHost: a\r\nX-Partial: ", 408, wait=5))
    t.case("HEAD 414: no body", lambda: head_closing(
        b"HEAD /name?%s HTTP/1.1\r\nHost: a\r\n\r\n" % (b"a" * 20000), 414))
    t.case("HEAD 431: no body", lambda: head_closing(
        b"HEAD /name HTTP/1.1\r\nHost: a\r\n%s\r\n" % big_hdrs, 431))
    t.case("HEAD 501: no body", lambda: head_closing(
        b"HEAD /name HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501))
    t.case("HTTP/1.0 without Host: forwarded as 1.0, no Host, keep-alive upstream",
           http10_no_host)
    t.case("HTTP/1.0 keep-alive: answered keep-alive, second request served", http10_keepalive)
    t.case("HTTP/1.0 POST body forwarded as 1.0", http10_body)
    t.case("HTTP/1.0 close-delimited response relayed whole", http10_close_delimited)
    t.case("curl --http1.0 without Host", http10_curl)
    t.case("HTTP/1.0 keep-alive client: 502 says keep-alive, connection kept",
           http10_error_keepalive)
    t.case("HTTP/1.1 still forwarded as 1.1", http11_unchanged)
    t.case("Host: a.com:80x forwarded", host_odd_port)
    t.case("curl -H 'Host: a.com:80x'", host_odd_port_curl)


if __name__ == "__main__":
    Suite("h1_hardening").run(main)
