#!/usr/bin/env python3
"""Cookie-based persistence: `cookie NAME insert|rewrite|prefix ...` and server `cookie VALUE`
(HAProxy 2.6 semantics, http_ana.c's client- and server-side cookie handling).

One spillway, two sp-testbackend servers (/name tells which answered):
- `bi` (insert indirect nocache, option redispatch): the first response sets
  `SRV=<value>; path=/` and `Cache-control: private`; with curl's cookie jar the next
  requests stick to that server and get no Set-Cookie again; a request carrying the other
  server's cookie goes there; the cookie never reaches the server (/headers), other cookies
  on the same line do; an unknown value is balanced and re-set; a server put in maintenance
  over the stats socket moves its client, who gets the other server's cookie; the same over
  HTTP/2 (curl --http2-prior-knowledge); the access log's %tsc carries the cookie letters
  (--NI, --VN, --DI).
- `ba` (insert postonly preserve httponly secure domain attr): attributes of the inserted
  cookie, only on POST; the server's own cookie of that name is kept (preserve); without
  indirect the cookie goes on to the server.
- `br` (rewrite) and `bp` (prefix): the server's Set-Cookie (made by an http-response rule,
  which runs before the cookie step as in HAProxy) gets the server's value instead of its
  own (rewrite) or in front of it, `s1~` (prefix); the prefix is taken off the request's
  cookie before it reaches the server, and chooses the server.
- `spillway -c` errors, with file:line, for bad `cookie` lines and server values.
"""

import os
import re
import subprocess
import time

import lib
from lib import HOST, Suite, free_port
from test_stick import cli


def curl(args):
    rc, out, err = lib.curl(["-i"] + args, timeout=10)
    assert rc == 0, "curl rc %d: %s" % (rc, err)
    text = out.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    return head, body


def set_cookies(head):
    return [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
            if ln.lower().startswith("set-cookie:")]


def get(port, path, cookie=None, method="GET", body=None):
    hdrs = [("Cookie", cookie)] if cookie else []
    return lib.request(port, method, path, hdrs, body=body)


def main(t):
    b1, b2 = t.backend("b1"), t.backend("b2")
    pi, pih2, pa, pr, pp = free_port(), free_port(), free_port(), free_port(), free_port()
    sock = t.dir + "/stats.sock"
    log = t.dir + "/access.log"
    cfg = """global
    stats socket %(sock)s level admin
    log %(log)s format raw local0
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fi
    bind %(h)s:%(pi)d
    bind %(h)s:%(pih2)d proto h2
    log global
    log-format "%%b/%%s %%tsc"
    default_backend bi
backend bi
    option redispatch
    cookie SRV insert indirect nocache
    server s1 %(h)s:%(p1)d cookie a1
    server s2 %(h)s:%(p2)d cookie a2
frontend fa
    bind %(h)s:%(pa)d
    default_backend ba
backend ba
    cookie SRV insert postonly preserve httponly secure domain .example.com domain .example.org attr SameSite=Lax
    http-response add-header Set-Cookie "SRV=app-own; Path=/" if { status 201 }
    server s1 %(h)s:%(p1)d cookie a1
    server s2 %(h)s:%(p2)d cookie a2
frontend fr
    bind %(h)s:%(pr)d
    default_backend br
backend br
    cookie JSESSIONID rewrite
    http-response add-header Set-Cookie "JSESSIONID=opaque42; Path=/app"
    server s1 %(h)s:%(p1)d cookie r1
    server s2 %(h)s:%(p2)d cookie r2
frontend fp
    bind %(h)s:%(pp)d
    default_backend bp
backend bp
    cookie JSESSIONID prefix
    http-response add-header Set-Cookie "JSESSIONID=opaque42; Path=/app"
    server s1 %(h)s:%(p1)d cookie p1
    server s2 %(h)s:%(p2)d cookie p2
""" % dict(sock=sock, log=log, h=HOST, pi=pi, pih2=pih2, pa=pa, pr=pr, pp=pp, p1=b1.port,
           p2=b2.port)
    t.spillway(cfg, port=pi)
    name_of = {"a1": "b1", "a2": "b2"}
    base = "http://%s:%d" % (HOST, pi)
    jar = t.dir + "/jar"

    def insert_first():
        head, body = curl(["-c", jar, base + "/name"])
        sc = set_cookies(head)
        assert len(sc) == 1 and re.fullmatch(r"SRV=a[12]; path=/", sc[0]), sc
        assert re.search(r"(?im)^cache-control: private\r?$", head), head
        val = sc[0][4:6]
        assert body.strip() == name_of[val], (val, body)
        state["val"] = val

    state = {}
    t.case("insert: the first response sets the cookie of the server that answered, "
           "Cache-control: private (nocache)", insert_first)

    def insert_sticks():
        want = name_of[state["val"]]
        for _ in range(4):
            head, body = curl(["-b", jar, "-c", jar, base + "/name"])
            assert body.strip() == want, (want, body)
            assert not set_cookies(head), head  # indirect: not sent again
            assert "cache-control" not in head.lower(), head
    t.case("insert indirect: the following requests stick, the cookie is not re-sent", insert_sticks)

    def other_cookie():
        other = "a2" if state["val"] == "a1" else "a1"
        for _ in range(2):
            r = get(pi, "/name", "SRV=%s" % other)
            assert r.body.decode().strip() == name_of[other], r.body
            assert not r.header_all("set-cookie"), r.headers
    t.case("a request with the other server's cookie goes there", other_cookie)

    def indirect_strips():
        r = get(pi, "/headers", "a=1; SRV=a1; b=2")
        text = r.body.decode()
        assert r.status == 200, r.status
        assert re.search(r"(?im)^cookie: a=1; b=2\r?$", text), text
        assert "SRV" not in text, text
        r = get(pi, "/headers", "SRV=a2")
        assert "cookie" not in r.body.decode().lower(), r.body
        # a second field, the name alone in it: that field goes, the first stays
        r = lib.raw_exchange(pi, ("GET /headers HTTP/1.1\r\nHost: x\r\nCookie: x=9\r\n"
                                  "Cookie: SRV=a1\r\nConnection: close\r\n\r\n").encode())
        text = r.body.decode()
        assert re.search(r"(?im)^cookie: x=9\r?$", text) and "SRV" not in text, text
    t.case("insert indirect: the cookie is removed from the request toward the server "
           "(other cookies kept)", indirect_strips)

    def unknown_value():
        r = get(pi, "/name", "SRV=zz")
        sc = r.header_all("set-cookie")
        assert len(sc) == 1 and re.fullmatch(r"SRV=a[12]; path=/", sc[0]), sc
        assert r.body.decode().strip() == name_of[sc[0][4:6]], (sc, r.body)
    t.case("an unknown cookie value is balanced and the cookie set again", unknown_value)

    def maint_moves():
        val = state["val"]
        srv = "s1" if val == "a1" else "s2"
        out = cli(sock, "set server bi/%s state maint" % srv)
        assert out.strip() == "", out
        try:
            head, body = curl(["-b", jar, "-c", jar, base + "/name"])
            other = "a2" if val == "a1" else "a1"
            assert body.strip() == name_of[other], body
            sc = set_cookies(head)
            assert sc == ["SRV=%s; path=/" % other], sc
            head, body = curl(["-b", jar, "-c", jar, base + "/name"])
            assert body.strip() == name_of[other] and not set_cookies(head), (head, body)
        finally:
            cli(sock, "set server bi/%s state ready" % srv)
        # ready again: the client stays where its cookie now says
        head, body = curl(["-b", jar, base + "/name"])
        assert body.strip() == name_of["a2" if val == "a1" else "a1"], body
    t.case("a server in maintenance (stats socket) moves its client, who gets the new "
           "server's cookie", maint_moves)

    def h2():
        h2base = "http://%s:%d" % (HOST, pih2)
        j2 = t.dir + "/jar2"
        head, body = curl(["--http2-prior-knowledge", "-c", j2, h2base + "/name"])
        assert head.startswith("HTTP/2 200"), head
        sc = set_cookies(head)
        assert len(sc) == 1 and re.fullmatch(r"SRV=a[12]; path=/", sc[0]), sc
        want = name_of[sc[0][4:6]]
        for _ in range(3):
            head, body = curl(["--http2-prior-knowledge", "-b", j2, h2base + "/name"])
            assert body.strip() == want and not set_cookies(head), (head, body)
        # HTTP/2 cookie crumbs: joined, ours removed
        head, body = curl(["--http2-prior-knowledge", "-H", "Cookie: a=1", "-H", "Cookie: SRV=a1",
                           "-H", "Cookie: b=2", h2base + "/headers"])
        assert re.search(r"(?im)^cookie: a=1; b=2\r?$", body) and "SRV" not in body, body
    t.case("HTTP/2 client: set, sticks, cookie removed toward the server", h2)

    def log_flags():
        ok = lib.wait_until(lambda: os.path.exists(log) and
                            len(open(log).read().splitlines()) >= 10, 5)
        lines = open(log).read().splitlines()
        assert ok, lines
        assert re.fullmatch(r"bi/s[12] --NI", lines[0]), lines[:3]
        assert re.fullmatch(r"bi/s[12] --VN", lines[1]), lines[:3]
        assert any(re.fullmatch(r"bi/s[12] --II", ln) for ln in lines), lines  # SRV=zz
        assert any(re.fullmatch(r"bi/s[12] --DI", ln) for ln in lines), lines  # maint
    t.case("access log %tsc: cookie status letters (NI, VN, II, DI)", log_flags)

    def attrs():
        r = get(pa, "/name")
        assert not r.header_all("set-cookie"), r.headers  # postonly
        r = get(pa, "/echo", method="POST", body=b"x")
        sc = r.header_all("set-cookie")
        assert len(sc) == 1 and re.fullmatch(
            r"SRV=a[12]; path=/; domain=\.example\.com; domain=\.example\.org; HttpOnly; "
            r"Secure; SameSite=Lax", sc[0]), sc
        # no indirect: the cookie reaches the server; a valid one is not re-set
        r = get(pa, "/echo", "SRV=a2", method="POST", body=b"")
        assert re.search(r"(?im)^cookie: SRV=a2\r?$", r.body.decode()), r.body
        assert not r.header_all("set-cookie"), r.headers
        # preserve: the server's own cookie of that name stays, none is inserted
        r = get(pa, "/status/201", method="POST", body=b"")
        assert r.header_all("set-cookie") == ["SRV=app-own; Path=/"], r.headers
    t.case("insert postonly preserve httponly secure domain attr", attrs)

    def rewrite():
        seen = set()
        for _ in range(12):  # round-robin is per worker: both servers within a few
            if len(seen) == 2:
                break
            r = get(pr, "/name")
            sc = r.header_all("set-cookie")
            who = r.body.decode().strip()
            want = "r1" if who == "b1" else "r2"
            assert sc == ["JSESSIONID=%s; Path=/app" % want], (who, sc)
            seen.add(who)
        assert seen == {"b1", "b2"}, seen
        for v, who in (("r1", "b1"), ("r2", "b2"), ("r1", "b1")):
            r = get(pr, "/name", "JSESSIONID=%s" % v)
            assert r.body.decode().strip() == who, (v, r.body)
        # rewrite mode leaves the request's cookie as it is
        r = get(pr, "/headers", "JSESSIONID=r2")
        assert re.search(r"(?im)^cookie: JSESSIONID=r2\r?$", r.body.decode()), r.body
    t.case("rewrite: the server's Set-Cookie carries the server's value, which then chooses "
           "the server", rewrite)

    def prefix():
        r = get(pp, "/name")
        sc = r.header_all("set-cookie")
        who = r.body.decode().strip()
        want = "p1" if who == "b1" else "p2"
        assert sc == ["JSESSIONID=%s~opaque42; Path=/app" % want], (who, sc)
        for v, who in (("p2", "b2"), ("p1", "b1"), ("p2", "b2")):
            r = get(pp, "/headers", "x=1; JSESSIONID=%s~opaque42; y=2" % v)
            text = r.body.decode()
            assert re.search(r"(?im)^cookie: x=1; JSESSIONID=opaque42; y=2\r?$", text), text
            r = get(pp, "/name", "JSESSIONID=%s~opaque42" % v)
            assert r.body.decode().strip() == who, (v, r.body)
    t.case("prefix: the server's value goes in front of its cookie, and comes off the "
           "request's cookie", prefix)

    def check_errors():
        bad = [
            ("cookie", "'cookie' expects <cookie_name>"),
            ("cookie SRV insert rewrite", "incompatible"),
            ("cookie SRV rewrite indirect", "incompatible"),
            ("cookie SRV preserve", "'preserve' requires"),
            ("cookie SRV insert maxidle 30m", "'maxidle' not supported by spillway"),
            ("cookie SRV insert dynamic", "'dynamic' not supported by spillway"),
            ("cookie SRV insert bogus", "got 'bogus'"),
            ("cookie SRV insert domain", "'domain' expects"),
            ("cookie SRV insert attr a;b", "not permitted"),
            ("server s9 127.0.0.1:1 cookie", "'cookie' expects a value"),
        ]
        for line, msg in bad:
            path = t.dir + "/bad.cfg"
            with open(path, "w") as f:
                f.write("defaults\n    mode http\nbackend b\n    %s\n" % line)
            p = subprocess.run([os.environ["SPILLWAY"], "-c", "-f", path], capture_output=True,
                               text=True, timeout=10)
            assert p.returncode != 0, (line, p.stdout, p.stderr)
            assert "%s:4:" % path in p.stderr and msg in p.stderr, (line, p.stderr)
        with open(path, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
                    "    timeout server 1s\nfrontend f\n    bind 127.0.0.1:1\n"
                    "    default_backend b\nbackend b\n    cookie SRV insert\n"
                    "    server s1 127.0.0.1:1 cookie a\n")
        p = subprocess.run([os.environ["SPILLWAY"], "-c", "-f", path], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 0 and "'cookie' statement ignored" in p.stderr, p.stderr
    t.case("spillway -c: bad cookie lines are errors with file:line", check_errors)

    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("cookie").run(main)
