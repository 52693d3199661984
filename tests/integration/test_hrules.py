#!/usr/bin/env python3
"""Issue 20: the HTTP rule engine, seen from outside.

http-request header actions (set/add/del with -m, replace-header, replace-value), URI actions
(set-path, set-pathq, set-query, set-uri, set-method, replace-path, replace-uri), final
actions (deny with deny_status/content/hdr, return with lf-string, redirect location/prefix/
scheme with code, drop-query, append-slash, set-cookie, auth realm, allow), the proxy-level
`redirect` keyword, frontend rules before use_backend before backend rules (and a listen
section's rules run once), http-response and http-after-response (set-status, del-header,
deny -> 502, after-response on spillway's own answers), the access log's termination flags,
HTTP/1.1 and HTTP/2 clients alike, and `-c` errors naming file:line.

sp-testbackend's /headers returns the request head it received, so each check asserts what
the server saw and what the client got.
"""

import subprocess

import lib
from lib import HOST, SPILLWAY, Suite, free_port, request

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def h2(port, path, headers=()):
    args = ["--http2-prior-knowledge", "-i"]
    for n, v in headers:
        args += ["-H", "%s: %s" % (n, v)]
    rc, out, err = lib.curl(args + ["http://%s:%d%s" % (HOST, port, path)])
    assert rc == 0, (rc, err)
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode(), body


def main(t):
    b1 = t.backend("b1")
    b2 = t.backend("b2")
    p = free_port()
    log = t.dir + "/access.log"
    ef = t.dir + "/403.http"
    with open(ef, "w") as f:
        f.write("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n"
                "\r\nbe2 denies\n")
    cfg = """global
    log %s format raw local0
%s
frontend fe
    bind %s:%d
    log global
    option httplog
    timeout tarpit 400ms
    capture request header X-Cap len 3
    capture response header X-Backend len 10
    acl is_admin path_beg /admin
    http-request tarpit deny_status 429 if { path /tar }
    http-request silent-drop if { path /drop }
    http-request set-log-level silent if { path /quiet }
    http-request normalize-uri path-merge-slashes
    http-request normalize-uri path-strip-dotdot
    http-request normalize-uri percent-decode-unreserved strict
    http-request normalize-uri query-sort-by-name
    http-request set-timeout server 300ms if { path_beg /hang }
    http-request set-header X-Dec %%[url_param(d),url_dec] if { url_param(d) -m found }
    http-request set-dst-port int(8443) if { hdr(x-dst) 1 }
    http-request set-header X-Dst-Port %%[dst_port] if { hdr(x-dst) 1 }
    http-request allow if { path /admin/open }
    http-request deny if is_admin
    http-request deny deny_status 429 content-type text/plain string "slow down" hdr X-Why "from %%ci" if { path /rl }
    http-request return status 201 content-type text/plain lf-string "hi %%ci" hdr X-A b if { path /ret }
    http-request redirect scheme https code 301 if { path_beg /sec }
    http-request redirect scheme https code 308 if { path /tls } !{ ssl_fc }
    http-request redirect prefix /new drop-query if { path_beg /old }
    http-request redirect location /loc set-cookie SEEN=1 code 303 if { path /loc }
    http-request redirect prefix /base append-slash if { path /slash }
    http-request auth realm Zone if { path /auth }
    http-request set-var(txn.path) path
    http-request set-var-fmt(txn.who) "%%[src]/%%ci"
    http-request set-header X-Who %%[var(txn.who)]
    http-request set-header X-Forwarded-Proto https
    http-request add-header X-Client %%ci:%%cp
    http-request del-header X-Drop
    http-request del-header x-strip- -m beg
    http-request replace-header X-Rep (.*)-old \\1-new
    http-request replace-value X-List ^a$ A
    http-request set-path /headers if { path /p }
    http-request set-query q=1 if { path /headers }
    http-request replace-path /rp/(.*) /\\1
    http-request set-method PUT if { path /m }
    http-request set-uri /echo?uri if { path /m }
    redirect location /kw code 307 if { path /kwredir }
    use_backend be2 if { hdr(x-to) two }
    http-response set-header X-Resp yes
    http-response set-header X-Cap-Seen %%[capture.req.hdr(0)] if { capture.req.hdr(0) -m found }
    http-response set-header X-Resp-From %%[hdr(x-backend)]
    http-response del-header Server
    http-after-response add-header X-After 1
    default_backend be
backend be
    http-request set-header X-Backend-Rule be
    http-response set-status 299 reason Custom if { status 200 } { res.hdr(x-backend) b1 } { var(txn.path) -m str /name }
    http-response set-header X-Seen-Path %%[var(txn.path)]
    server s1 %s:%d
backend be2
    http-request set-header X-Backend-Rule be2
    errorfile 403 %s
    http-request deny if { path /headers/deny }
    http-response deny if { res.hdr(x-backend) b2 } { status 404 }
    server s2 %s:%d
""" % (log, TMO, HOST, p, HOST, b1.port, ef, HOST, b2.port)
    s = t.spillway(cfg, port=p)

    def seen(r):
        """the request head sp-testbackend received (its /headers body)"""
        return r.body.decode(errors="replace")

    def headers_h1():
        r = request(p, "GET", "/headers?z=9", headers=[
            ("X-Drop", "1"), ("X-Strip-A", "1"), ("X-STRIP-b", "2"), ("X-Keep", "k"),
            ("X-Rep", "abc-old"), ("X-List", "a, b, a")])
        assert r.status == 200, r.status
        h = seen(r)
        assert h.startswith("GET /headers?q=1 HTTP/1.1\r\n"), h
        assert "X-Drop" not in h and "X-Strip" not in h and "X-STRIP" not in h, h
        assert "X-Keep: k\r\n" in h, h
        assert "X-Rep: abc-new\r\n" in h, h
        assert "X-List: A, b, A\r\n" in h, h
        assert "X-Forwarded-Proto: https\r\n" in h, h
        assert "X-Client: 127.0.0.1:" in h, h
        assert "X-Who: 127.0.0.1/127.0.0.1\r\n" in h, h  # set-var-fmt
        assert "X-Backend-Rule: be\r\n" in h, h
        assert r.header("X-Resp") == "yes" and r.header("X-After") == "1", r.headers
        # hdr() in a response rule reads the response, as HAProxy's direction-free fetches do
        assert r.header("X-Resp-From") == "b1", r.headers
        assert r.header("Server") is None, r.headers

    t.case("http-request header and query actions, frontend then backend rules (HTTP/1.1)",
           headers_h1)

    def headers_h2():
        head, body = h2(p, "/rp/headers", [("X-Rep", "q-old"), ("X-To", "two")])
        assert head.startswith("HTTP/2 200"), head
        h = body.decode()
        # replace-path ran after set-query (whose condition saw /rp/headers): no query
        assert h.startswith("GET /headers HTTP/1.1\r\n"), h
        assert "x-rep: q-new\r\n" in h, h
        assert "X-Backend-Rule: be2\r\n" in h and "X-Backend-Rule: be\r\n" not in h, h
        assert "x-resp: yes" in head and "x-after: 1" in head, head

    t.case("the same rules for an HTTP/2 client; use_backend sees the frontend's edits",
           headers_h2)

    def uri_actions():
        r = request(p, "GET", "/p?k=1")
        assert seen(r).startswith("GET /headers?q=1 HTTP/1.1"), seen(r)
        r = request(p, "GET", "/m")
        assert seen(r).startswith("PUT /echo?uri HTTP/1.1"), seen(r)

    t.case("set-path, set-query, set-method and set-uri", uri_actions)

    def deny():
        r = request(p, "GET", "/admin/x")
        assert r.status == 403 and b"403 Forbidden" in r.body, (r.status, r.body)
        assert r.header("X-After") == "1", r.headers
        r = request(p, "GET", "/admin/open")
        assert r.status == 404, r.status  # allowed: the backend's own 404
        r = request(p, "GET", "/rl")
        assert r.status == 429 and r.body == b"slow down", (r.status, r.body)
        assert r.header("X-Why") == "from 127.0.0.1" and r.header("Content-Type") == "text/plain"
        r = request(p, "GET", "/headers/deny", headers=[("X-To", "two")])
        assert r.status == 403 and r.body == b"be2 denies\n", (r.status, r.body)
        head, _ = h2(p, "/admin/y")
        assert head.startswith("HTTP/2 403"), head

    t.case("deny (403 page, deny_status, content and hdr), allow stops the rules, a backend's "
           "deny with its errorfile",
           deny)

    def ret():
        r = request(p, "GET", "/ret")
        assert r.status == 201 and r.body == b"hi 127.0.0.1", (r.status, r.body)
        assert r.header("X-A") == "b", r.headers

    t.case("return status, lf-string body, hdr", ret)

    def redirects():
        r = request(p, "GET", "/sec/a?b=1")
        assert r.status == 301, r.status
        assert r.header("Location") == "https://localhost/sec/a?b=1", r.header("Location")
        r = request(p, "GET", "/old/x?y=2")
        assert r.status == 302 and r.header("Location") == "/new/old/x", r.headers
        assert r.header("Cache-Control") == "no-cache", r.headers
        r = request(p, "GET", "/loc")
        assert r.status == 303 and r.header("Location") == "/loc", r.headers
        assert r.header("Set-Cookie") == "SEEN=1; path=/;", r.headers
        r = request(p, "GET", "/slash")
        assert r.header("Location") == "/base/slash/", r.headers
        r = request(p, "GET", "/tls")  # the usual `unless { ssl_fc }`: no TLS here
        assert r.status == 308 and r.header("Location") == "https://localhost/tls", r.headers
        r = request(p, "GET", "/kwredir")
        assert r.status == 307 and r.header("Location") == "/kw", r.headers
        head, _ = h2(p, "/sec/z")
        assert head.startswith("HTTP/2 301"), head
        assert "location: https://%s:%d/sec/z" % (HOST, p) in head, head

    t.case("redirect scheme/prefix/location, code, drop-query, append-slash, set-cookie, "
           "the redirect keyword", redirects)

    def tarpit():
        import time
        t0 = time.monotonic()
        r = request(p, "GET", "/tar")
        took = time.monotonic() - t0
        assert r.status == 429, r.status
        assert took >= 0.35, took

    t.case("tarpit holds the request for timeout tarpit, then answers deny_status", tarpit)

    def capture():
        r = request(p, "GET", "/name", headers=[("X-Cap", "abcdef")])
        assert r.status in (200, 299), r.status
        assert r.header("X-Cap-Seen") == "abc", r.headers  # capture.req.hdr(0), cut to len 3
        r = request(p, "GET", "/name")
        assert r.header("X-Cap-Seen") is None, r.headers  # nothing captured: the fetch fails

    t.case("capture request/response header (logged below), capture.req.hdr", capture)

    def more_actions():
        import socket
        import time
        # normalize-uri: merged slashes, .. resolved, %41 decoded, query sorted
        r = request(p, "GET", "//x/../echo?z=1&a=2&%%41=3".replace("%%", "%"))
        assert seen(r).startswith("GET /echo?A=3&a=2&z=1 HTTP/1.1"), seen(r)[:80]
        # a decoded CR LF never reaches the server as a second field (or request)
        before = b1.counters()["requests"]
        r = request(p, "GET", "/headers?d=%0d%0aX-Injected:%201")
        assert r.status == 500, r.status
        assert b1.counters()["requests"] == before, "the server got the request"
        r = request(p, "GET", "/x%zz")
        assert r.status == 400, r.status  # percent-decode-unreserved strict
        # set-timeout server: the backend's 5 s becomes 300 ms for /hang
        t0 = time.monotonic()
        r = request(p, "GET", "/hang")
        assert r.status == 504 and time.monotonic() - t0 < 3, (r.status, time.monotonic() - t0)
        r = request(p, "GET", "/headers", headers=[("X-Dst", "1")])
        assert "X-Dst-Port: 8443\r\n" in seen(r), seen(r)
        # silent-drop: the connection ends without a byte of answer
        s2 = socket.create_connection((HOST, p), timeout=5)
        s2.sendall(b"GET /drop HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s2.recv(100)
        except ConnectionResetError:
            data = b""
        s2.close()
        assert data == b"", data
        request(p, "GET", "/quiet")

    t.case("normalize-uri, set-timeout server, set-dst-port, silent-drop, set-log-level",
           more_actions)

    def auth():
        r = request(p, "GET", "/auth")
        assert r.status == 401, r.status
        assert r.header("WWW-Authenticate") == 'Basic realm="Zone"', r.headers

    t.case("auth realm", auth)

    def response_rules():
        r = request(p, "GET", "/name")
        assert r.status == 299 and r.reason == "Custom", (r.status, r.reason)
        assert r.header("X-Seen-Path") == "/name", r.headers
        r = request(p, "GET", "/name", headers=[("X-To", "two")])
        assert r.status == 200 and r.body.strip() == b"b2", (r.status, r.body)
        r = request(p, "GET", "/nothing", headers=[("X-To", "two")])
        assert r.status == 502, r.status

    t.case("http-response set-status, a backend's http-response deny", response_rules)

    def logs():
        s.stop()
        text = open(log).read()
        assert "fe/<NOSRV>" in text and " 301 " in text, text[-2000:]
        lines = [ln for ln in text.splitlines() if '"GET /admin/x ' in ln]
        assert lines and " PR-- " in lines[0], lines
        lines = [ln for ln in text.splitlines() if '"GET /ret ' in ln]
        assert lines and " LR-- " in lines[0], lines
        lines = [ln for ln in text.splitlines() if '"GET /tar ' in ln]
        assert lines and " PT-- " in lines[0] and " 429 " in lines[0], lines
        lines = [ln for ln in text.splitlines() if "{abc}" in ln]
        assert lines and "{b1}" in lines[0], text[-1500:]
        lines = [ln for ln in text.splitlines() if '"GET /loc ' in ln]
        assert lines and "{} {}" in lines[0], lines
        assert '"GET /quiet ' not in text, "set-log-level silent"
        lines = [ln for ln in text.splitlines() if '"GET /drop ' in ln]
        assert lines and " PR-- " in lines[0], lines
        lines = [ln for ln in text.splitlines() if '"GET /hang ' in ln]
        assert lines and " 504 " in lines[0] and " sH-- " in lines[0], lines

    t.case("access log: deny PR, tarpit PT, return and redirect LR, <NOSRV>, captures", logs)

    def check_errors():
        bad = TMO + """
frontend fe
    bind %s:%d
    http-request set-header X-A
    http-request frobnicate
    http-request set-nice 10
    http-request redirect location /x code 305
    http-response set-path /x
    default_backend be
backend be
    server s %s:%d
""" % (HOST, free_port(), HOST, b1.port)
        path = t.dir + "/bad.cfg"
        open(path, "w").write(bad)
        proc = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=20)
        rc, text = proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")
        assert rc != 0, text
        for line, what in ((9, "expects exactly 2 arguments"), (10, "frobnicate"),
                           (11, "not supported by spillway"), (12, "'code' expects"),
                           (13, "set-path")):
            assert ("bad.cfg:%d" % line) in text and what in text, (line, what, text)
        open(path, "w").write(TMO + "frontend fe\n    bind %s:%d\n    reqadd X-Foo:\\ bar\n"
                              % (HOST, free_port()))
        proc = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=20)
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        assert proc.returncode != 0 and "bad.cfg:8" in text, text
        assert "not supported anymore since HAProxy 2.1. Use 'http-request add-header'" in text

    t.case("-c names each bad rule with file:line", check_errors)
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("hrules").run(main)
