#!/usr/bin/env python3
"""Routing fetches as HAProxy 2.6 evaluates them, and two HTTP/2 hardening points (issue 11).

Fidelity: each case sends one request that a `use_backend yes if ...` rule must (or must not)
send to backend `yes` instead of the default `no`; both are sp-testbackends whose /name answers
their name, and which backend a request reached is read from their request counters (some
targets are not /name). Every rule is gated by an `x-case` header, so the cases of one spillway
do not see each other's rules. References are HAProxy 2.6's sources:
  - HTTP/2 `url` is the absolute form scheme://authority/path (src/h2.c
    h2_prepare_htx_reqline()); without :authority it is the path;
  - HTTP/2 cookie crumbs are one header (src/h2.c h2_make_htx_request());
  - url_param (src/http_fetch.c smp_fetch_url_param(), src/http.c
    http_find_url_param_pos(), include/haproxy/http.h http_is_param_delimiter());
  - header lists split on commas outside quotes (src/http.c http_find_hdr_value_end()), and
    req.cook over them (smp_fetch_cookie(), http_extract_cookie_value());
  - strings cast to integers (src/sample.c c_str2int(), src/tools.c read_int64());
  - req.fhdr_cnt (smp_fetch_fhdr_cnt()).

HTTP/2 hardening: a flood of empty DATA frames ends in GOAWAY ENHANCE_YOUR_CALM while normal
clients (h2load, a client sending a few empty frames) keep working; errors spillway makes
itself answer a HEAD request over HTTP/2 with HEADERS and END_STREAM, no DATA."""

import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h2client  # noqa: E402
from h2client import DATA, END_STREAM, HEADERS, H2  # noqa: E402
from lib import h2load_ok  # noqa: E402
from lib import HOST, Conn, Suite, curl, free_port  # noqa: E402

ENHANCE_YOUR_CALM = 0xb
FLOOD = 3000  # empty DATA frames in a flood (spillway allows 1,000 at once)


def cfg_text(port, backends, fe_lines, default="no", fe_extra=(), be_lines=None):
    """A frontend on port and a backend per (name, port); be_lines[name] replaces the server
    line of that backend when port is None, and comes before it otherwise."""
    lines = ["global", "    nbthread 2",
             "defaults", "    mode http", "    timeout client 10s", "    timeout server 5s",
             "    timeout connect 2s",
             "frontend fe", "    bind %s:%d" % (HOST, port)]
    lines += ["    " + ln for ln in list(fe_extra) + list(fe_lines)]
    lines += ["    default_backend %s" % default]
    for name, bport in backends:
        lines += ["backend %s" % name]
        lines += ["    " + ln for ln in (be_lines or {}).get(name, [])]
        if bport is not None:
            lines += ["    server s1 %s:%d" % (HOST, bport)]
    return "\n".join(lines) + "\n"


def run_tool(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "", "%s did not finish in %ss" % (cmd[0], timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def h1_get(port, target, headers=()):
    """One HTTP/1.1 GET with exactly these fields; returns the status."""
    raw = "GET %s HTTP/1.1\r\nHost: fid.example\r\nConnection: close\r\n" % target
    raw += "".join("%s: %s\r\n" % (n, v) for n, v in headers) + "\r\n"
    with Conn(port, 10) as c:
        c.send(raw.encode())
        return c.read_response().status


def h2_get(port, path, authority="fid.example", extra=()):
    """One HTTP/2 GET through the raw client; returns the status."""
    with H2(port) as h:
        st = h.get(path, authority=authority, extra=list(extra), timeout=10)
        assert st.ended and st.rst is None, "stream: status %s rst %s eof %s" % (
            st.status, st.rst, h.eof)
        return st.status


def main(t):
    yes = t.backend("yes")
    no = t.backend("no")
    two = [("yes", yes.port), ("no", no.port)]

    def routed(send):
        """The backends that received send()'s request."""
        before = [b.stats()[1] for b in (yes, no)]
        send()
        after = [b.stats()[1] for b in (yes, no)]
        return [b.name for b, x, y in zip((yes, no), before, after) if y != x]

    # case -> condition after the x-case gate
    rules = {
        "h2-url-abs": "{ url_beg http://fid.example/name }",
        "h2-url-path": "{ url /name } !{ url_beg http:// }",
        "h2-url-sub": "{ url_param(id) 7 } { url_reg ^http://fid.example/name[?]id=7$ }"
                      " { url_len 28 } { url_end /name?id=7 }",
        "h2-same": "{ path /name } { base fid.example/name } { query id=7 }",
        "h2-curl": "{ url_beg http://127.0.0.1: } { url_end :%(port)d/name }",
        "h2-cookie": "{ hdr_cnt(cookie) 1 } { req.fhdr(cookie) -m reg ^a=1;.b=2$ }",
        "cook-b": "{ req.cook(b) 2 }",
        "urlp-flag": "{ url_param(flag) -m found }",
        "urlp-semi": "{ url_param(b) 2 }",
        "urlp-delim": "{ url_param(sid,;) abc }",
        "hdr-quoted": "{ hdr_cnt(x-tag) 2 } { hdr(x-tag) -m sub a,b }",
        "int-neg": "{ hdr(x-n) -m int lt 0 }",
        "int-word": "{ hdr(x-n) -m int eq 0 }",
        "int-big": "{ hdr(x-n) -m int ge 9223372036854775807 }",
        "bool-plus": "{ hdr(x-n) -m bool }",
    }
    port = free_port()
    fe = ["use_backend yes if { req.hdr(x-case) %s } %s" % (k, v % {"port": port})
          for k, v in rules.items()]
    sp = t.spillway(cfg_text(port, two, fe,
                             fe_extra=["stats enable", "stats uri /fidstats"]), port)

    def case(name, want, send):
        def f():
            got = routed(send)
            assert got == [want], "went to %r, want %s" % (got, want)
        return f

    def gate(name):
        return [("x-case", name)]

    # 3. HTTP/2 url is the absolute form with :authority, the path without ---------------------
    t.case("h2: url with :authority is scheme://authority/path", case(
        "h2-url-abs", "yes", lambda: h2_get(port, "/name", extra=gate("h2-url-abs"))))
    t.case("h2: url without :authority (host field only) is the path", case(
        "h2-url-path", "yes",
        lambda: h2_get(port, "/name", authority=None,
                       extra=gate("h2-url-path") + [("host", "fid.example")])))
    t.case("h2: url_param, url_reg, url_len, url_end on the absolute form", case(
        "h2-url-sub", "yes", lambda: h2_get(port, "/name?id=7", extra=gate("h2-url-sub"))))
    t.case("h2: path, base, query as before", case(
        "h2-same", "yes", lambda: h2_get(port, "/name?id=7", extra=gate("h2-same"))))

    def curl_h2():
        rc, out, err = curl(["--http2-prior-knowledge", "-H", "x-case: h2-curl",
                             "http://%s:%d/name" % (HOST, port)], timeout=10)
        assert rc == 0 and out == b"yes\n", "curl rc=%d out=%r %s" % (rc, out, err)

    def nghttp_h2():
        rc, out, err = run_tool(["nghttp", "-H", "x-case: h2-curl",
                                 "http://%s:%d/name" % (HOST, port)], 20)
        assert rc == 0 and out.strip() == "yes", "nghttp rc=%d %r %s" % (rc, out, err)

    t.case("h2 curl --http2-prior-knowledge: url_beg http://127.0.0.1:PORT/", curl_h2)
    t.case("h2 nghttp: url_beg http://127.0.0.1:PORT/", nghttp_h2)

    def stats_h2():
        """The stats page is found by its path, not by the absolute URI."""
        with H2(port) as h:
            st = h.get("/fidstats", authority="fid.example", timeout=10)
            assert st.ended and st.status == 200, "status %s rst %s" % (st.status, st.rst)

    t.case("h2: stats uri still matches the path of an absolute URI", stats_h2)

    # 4. HTTP/2 cookie crumbs are one header before the rules run --------------------------------
    crumbs = [("cookie", "a=1"), ("cookie", "b=2")]
    t.case("h2: two cookie fields: hdr_cnt(cookie) 1, req.fhdr(cookie) 'a=1; b=2'", case(
        "h2-cookie", "yes", lambda: h2_get(port, "/name", extra=gate("h2-cookie") + crumbs)))
    t.case("h2: req.cook over joined crumbs", case(
        "cook-b", "yes", lambda: h2_get(port, "/name", extra=gate("cook-b") + crumbs)))

    # 5. url_param --------------------------------------------------------------------------------
    t.case("url_param(flag) -m found: '?flag' has no '=', no parameter", case(
        "urlp-flag", "no", lambda: h1_get(port, "/name?flag", gate("urlp-flag"))))
    t.case("url_param(flag) -m found: '?flag=' is one", case(
        "urlp-flag", "yes", lambda: h1_get(port, "/name?flag=", gate("urlp-flag"))))
    t.case("url_param(b): ';' separates parameters", case(
        "urlp-semi", "yes", lambda: h1_get(port, "/name?a=1;b=2", gate("urlp-semi"))))
    t.case("h2: url_param(b): ';' separates parameters", case(
        "urlp-semi", "yes", lambda: h2_get(port, "/name?a=1;b=2", extra=gate("urlp-semi"))))
    t.case("url_param(sid,;): the delimiter opens the list, no '?' needed", case(
        "urlp-delim", "yes", lambda: h1_get(port, "/name;sid=abc", gate("urlp-delim"))))
    t.case("url_param(sid,;): not after '?'", case(
        "urlp-delim", "no", lambda: h1_get(port, "/name?sid=abc", gate("urlp-delim"))))

    # 6. lists: quotes, commas in Cookie ---------------------------------------------------------
    t.case("hdr: a comma inside quotes does not split", case(
        "hdr-quoted", "yes",
        lambda: h1_get(port, "/name", gate("hdr-quoted") + [("X-Tag", '"a,b", c')])))
    t.case("h2: hdr: a comma inside quotes does not split", case(
        "hdr-quoted", "yes",
        lambda: h2_get(port, "/name", extra=gate("hdr-quoted") + [("x-tag", '"a,b", c')])))
    t.case("req.cook splits a Cookie header on ','", case(
        "cook-b", "yes", lambda: h1_get(port, "/name", gate("cook-b") + [("Cookie", "a=1, b=2")])))

    # 7. strings as integers ----------------------------------------------------------------------
    for name, value, want in [("int-neg", "-5", "yes"), ("int-neg", "5", "no"),
                              ("int-word", "abc", "yes"), ("int-word", "7", "no"),
                              ("int-big", "99999999999999999999", "yes"),
                              ("int-big", "9223372036854775806", "no"),
                              ("bool-plus", "+1", "yes"), ("bool-plus", "x", "no")]:
        t.case("-m int/-m bool: %s %r -> %s" % (name, value, want), case(
            name, want, lambda n=name, v=value: h1_get(port, "/name", gate(n) + [("X-N", v)])))

    # 8. req.fhdr_cnt (its own spillway: an older one refuses the configuration) -----------------
    def fhdr_cnt():
        p2 = free_port()
        s2 = t.spillway(cfg_text(p2, two, [
            "use_backend yes if { req.fhdr_cnt(x-m) 2 } { hdr_cnt(x-m) 3 } { req.fhdr_cnt 4 }"]),
            p2)
        try:
            got = routed(lambda: h1_get(p2, "/name", [("X-M", "a, b"), ("X-M", "c")]))
            assert got == ["yes"], "went to %r" % got
            got = routed(lambda: h1_get(p2, "/name", [("X-M", "a, b, c")]))
            assert got == ["no"], "one field: went to %r" % got
        finally:
            s2.stop()

    t.case("req.fhdr_cnt counts fields, hdr_cnt values", fhdr_cnt)

    # 2. errors answered to HEAD over HTTP/2: HEADERS with END_STREAM, no DATA ------------------
    ep = free_port()
    dead = free_port()  # nothing listens there; the server is disabled anyway
    esp = t.spillway(cfg_text(ep, two + [("dead", None), ("slow", yes.port)], [
        "use_backend dead if { path_beg /dead }",
        "use_backend slow if { path_beg /slow }"],
        fe_extra=["stats enable", "stats uri /st", "stats auth u:p"],
        be_lines={"dead": ["server s0 %s:%d disabled" % (HOST, dead)],
                  "slow": ["timeout server 300ms"]}), ep)

    def h2_error(method, path, want, authority="fid.example", extra=()):
        with H2(ep) as h:
            sid, _ = h.request(method, path, authority=authority, extra=list(extra))
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.gone(), 10)
            data = [f for f in h.frames if f[0] == DATA and f[2] == sid]
            hdrs = [f for f in h.frames if f[0] == HEADERS and f[2] == sid]
            assert st.status == want, "status %s, want %d (rst %s)" % (st.status, want, st.rst)
            assert st.ended and st.rst is None, "not ended cleanly: rst %s" % st.rst
            return hdrs, data, bytes(st.data)

    def head_error(path, want, **kw):
        def f():
            hdrs, data, _ = h2_error("HEAD", path, want, **kw)
            assert not data, "HEAD %s: %d DATA frame(s)" % (path, len(data))
            assert hdrs and hdrs[0][1] & END_STREAM, "HEADERS without END_STREAM: %r" % hdrs
            # the same request with GET does get a body: the check sees what it must
            _, _, body = h2_error("GET", path, want, **kw)
            assert body, "GET %s: no body" % path
        return f

    userinfo = [("host", "u@h.example")]  # nghttp2 lets it through; HTTP/1.1 may not carry it
    big = [("x-big-%d" % i, "v" * 4000) for i in range(5)]
    t.case("h2 HEAD, 503 (no server): no DATA", head_error("/dead/x", 503))
    t.case("h2 HEAD, 502 (garbage from the server): no DATA", head_error("/garbage", 502))
    t.case("h2 HEAD, 504 (server timeout): no DATA", head_error("/slow/3000", 504))
    t.case("h2 HEAD, 400 (userinfo in host): no DATA",
           head_error("/name", 400, authority=None, extra=userinfo))
    t.case("h2 HEAD, 431 (header list too large): no DATA", head_error("/name", 431, extra=big))
    t.case("h2 HEAD, 401 (stats auth): no DATA", head_error("/st", 401))

    def upgrade_head():
        """HEAD with Upgrade: h2c: stream 1's 503 carries no DATA either."""
        with H2(ep, preface=False) as h:
            h.send(("HEAD /dead/y HTTP/1.1\r\nHost: fid.example\r\n"
                    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").encode())
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in h.buf:
                assert h._fill(deadline), "no 101: %r" % h.buf[:200]
            head, h.buf = h.buf.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 101"), head[:200]
            h.streams[1] = h2client.Stream(1)
            h.next_id = 3
            h.send(h2client.PREFACE + h.settings_frame({}))
            st = h.streams[1]
            h.pump(lambda: st.done() or h.gone(), 10)
            data = [f for f in h.frames if f[0] == DATA and f[2] == 1]
            assert st.status == 503 and st.ended, "status %s rst %s" % (st.status, st.rst)
            assert not data, "%d DATA frame(s)" % len(data)

    t.case("h2c upgrade HEAD, 503: no DATA", upgrade_head)

    # 1. empty DATA frames -------------------------------------------------------------------------
    def flood_open():
        with H2(ep) as h:
            sid, _ = h.request("POST", "/sink", body=None, send=False)
            h.send(h.headers_frames(sid, h.req_fields("POST", "/sink"), end_stream=False))
            try:
                h.send(h.frame(DATA, 0, sid) * FLOOD)
            except OSError:
                pass
            # until the GOAWAY, not until EOF: acknowledging the SETTINGS may meet the reset
            # of the closed connection while frames still wait in the client's buffer
            h.pump(lambda: h.goaway is not None, 5)
            assert h.goaway and h.goaway[1] == ENHANCE_YOUR_CALM, \
                "goaway %r eof %s" % (h.goaway, h.eof)

    def flood_closed():
        """On a stream already closed, where nghttp2 drops DATA without a word."""
        with H2(ep) as h:
            st = h.get("/name", timeout=10)
            assert st.ended and st.status == 200, (st.status, st.rst)
            try:
                h.send(h.frame(DATA, 0, st.id) * FLOOD)
            except OSError:
                pass
            # until the GOAWAY, not until EOF: acknowledging the SETTINGS may meet the reset
            # of the closed connection while frames still wait in the client's buffer
            h.pump(lambda: h.goaway is not None, 5)
            assert h.goaway and h.goaway[1] == ENHANCE_YOUR_CALM, \
                "goaway %r eof %s" % (h.goaway, h.eof)

    def few_empty():
        """A client sending a few empty DATA frames is served."""
        body = b"x" * 5000
        with H2(ep) as h:
            for _ in range(3):
                sid, _ = h.request("POST", "/sink", send=False)
                h.send(h.headers_frames(sid, h.req_fields("POST", "/sink"), end_stream=False) +
                       h.frame(DATA, 0, sid) * 50 + h.frame(DATA, END_STREAM, sid, body))
                st = h.streams[sid]
                h.pump(lambda: st.done() or h.gone(), 10)
                assert st.ended and st.status == 200, (st.status, st.rst, h.goaway)
                assert b"bytes=5000" in bytes(st.data), bytes(st.data)[:200]
            assert h.goaway is None, h.goaway

    def h2load():
        url = "http://%s:%d/name" % (HOST, ep)
        rc, out, err = run_tool(["h2load", "-c10", "-m10", "-n4000", url], 120)
        assert rc == 0, "h2load rc=%d %s %s" % (rc, out[-800:], err[-800:])
        why = h2load_ok(out, 4000)
        assert why is None, why
        path = os.path.join(t.dir, "post.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(20000))
        rc, out, err = run_tool(["h2load", "-c4", "-m10", "-n1000", "-d", path,
                                 "http://%s:%d/sink" % (HOST, ep)], 120)
        assert rc == 0, "h2load -d rc=%d %s %s" % (rc, out[-800:], err[-800:])
        why = h2load_ok(out, 1000)
        assert why is None, why

    def alive():
        rc, out, err = curl(["--http2-prior-knowledge", "http://%s:%d/name" % (HOST, ep)])
        assert rc == 0 and out == b"no\n", "curl rc=%d %r %s" % (rc, out, err)
        assert esp.proc.poll() is None, "spillway exited"

    t.case("h2: %d empty DATA frames on an open stream: GOAWAY ENHANCE_YOUR_CALM" % FLOOD,
           flood_open)
    t.case("h2: %d empty DATA frames on a closed stream: GOAWAY ENHANCE_YOUR_CALM" % FLOOD,
           flood_closed)
    t.case("h2: 50 empty DATA frames before a body: served", few_empty)
    t.case("h2load -c10 -m10 (GET) and -d (POST): all 2xx", h2load)
    t.case("spillway serves after the floods", alive)
    assert sp.proc.poll() is None, "spillway exited"


if __name__ == "__main__":
    Suite("fidelity").run(main)
