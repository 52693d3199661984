#!/usr/bin/env python3
"""`balance` end to end: static-rr's order, first filling a server up to its maxconn,
leastconn avoiding a busy server, random spreading, and the hash algorithms (uri map-based
and consistent, over HTTP/1.1 and HTTP/2, hdr(), url_param, source) sending the same key to
the same server whichever worker takes the connection, with HAProxy 2.6's choices where they
are known; a server going down under consistent hashing moves only its own keys; and
`spillway -c` on bad `balance` / `hash-type` lines.

Every sp-testbackend answers any path with an `X-Backend: NAME` field, which says where a
request went. Requests that must stay in flight for a while ask for part of a response head that the
server completes with a close after a delay (/headcut/N?then=fin&wait=MS)."""

import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, SPILLWAY, Conn, Suite, curl, free_port, wait_until  # noqa: E402

M32 = 0xFFFFFFFF


def sdbm(s):
    h = 0
    for c in s.encode():
        h = (c + (h << 6) + (h << 16) - h) & M32
    return h


def section(name, port, lines, servers):
    """A frontend on `port` whose default backend `name` has `lines` and `servers`
    [(name, port, options)]."""
    out = ["frontend f_%s" % name, "    bind %s:%d" % (HOST, port),
           "    default_backend %s" % name, "backend %s" % name]
    out += ["    " + ln for ln in lines]
    out += ["    server %s %s:%d %s" % (n, HOST, p, o) for n, p, o in servers]
    return out


def cfg(nbthread, sections):
    lines = ["global", "    nbthread %d" % nbthread,
             "defaults", "    mode http", "    timeout client 10s", "    timeout server 10s",
             "    timeout connect 1s"]
    for s in sections:
        lines += s
    return "\n".join(lines) + "\n"


def get(port, path, headers=(), source=None, timeout=5.0):
    """One request on a fresh connection (so a multi-worker spillway may take it on any
    worker): (status, X-Backend)."""
    sock = socket.create_connection((HOST, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    c = Conn.__new__(Conn)
    c.sock, c.timeout, c.buf, c.eof = sock, timeout, b"", False
    try:
        hdrs = [("Host", "localhost"), ("Connection", "close")] + list(headers)
        raw = ("GET %s HTTP/1.1\r\n" % path).encode()
        raw += b"".join(("%s: %s\r\n" % (n, v)).encode() for n, v in hdrs) + b"\r\n"
        c.send(raw)
        r = c.read_response(timeout=timeout)
        return r.status, r.header("X-Backend")
    finally:
        c.close()


class KeepAlive(Conn):
    """One keep-alive connection (one worker): ask() returns the X-Backend of each answer."""

    def ask(self, path="/name", headers=()):
        hdrs = [("Host", "localhost")] + list(headers)
        raw = ("GET %s HTTP/1.1\r\n" % path).encode()
        raw += b"".join(("%s: %s\r\n" % (n, v)).encode() for n, v in hdrs) + b"\r\n"
        self.send(raw)
        r = self.read_response(timeout=5.0)
        assert r.status in (200, 404), "status %d: %r" % (r.status, r.body[:200])
        return r.header("X-Backend")

    def seq(self, n, path="/name"):
        return [self.ask(path) for _ in range(n)]


def hang(port, ms):
    """A request that stays in flight for about `ms` ms: the server sends part of a response
    head, then closes (spillway answers 502). Ending it from the client side would not do:
    spillway, as HAProxy without abortonclose, carries on after a client's FIN, and it does
    not abort a request waiting on its server when the client resets either."""
    c = Conn(port, 10.0)
    c.send(("GET /headcut/20?then=fin&wait=%d HTTP/1.1\r\nHost: localhost\r\n\r\n"
            % ms).encode())
    return c


def main(t):
    b = [t.backend("s1"), t.backend("s2"), t.backend("s3")]
    names = ["s1", "s2", "s3"]

    def srv(opts=("", "", "")):
        return [(names[i], b[i].port, opts[i]) for i in range(3)]

    def reqs(i):
        return b[i].stats()[1]

    # ---- one worker: the orders and the load-aware algorithms ----------------------------
    p = {k: free_port() for k in ("srr", "first", "lc", "rnd")}
    t.spillway(cfg(1, [
        section("srr", p["srr"], ["balance static-rr"],
                srv(("weight 3", "weight 2", "weight 1"))),
        section("first", p["first"], ["balance first"],
                srv(("maxconn 2", "maxconn 2", ""))),
        section("lc", p["lc"], ["balance leastconn"], srv()),
        section("rnd", p["rnd"], ["balance random"], srv()),
    ]), p["srr"])

    def static_rr():
        with KeepAlive(p["srr"]) as c:
            got = c.seq(12)
        want = "s1 s1 s2 s1 s2 s3 s1 s1 s2 s1 s2 s3".split()  # HAProxy 2.6, weights 3,2,1
        assert got == want, "got %s" % got

    def first():
        hangs = []
        try:
            with KeepAlive(p["first"]) as c:
                assert c.seq(3) == ["s1"] * 3
                # s1 at its maxconn (2): the next server takes the requests
                base = reqs(0)
                hangs += [hang(p["first"], 1500), hang(p["first"], 1500)]
                assert wait_until(lambda: reqs(0) >= base + 2, 5), "hangs did not reach s1"
                got = c.seq(3)
                assert got == ["s2"] * 3, "s1 full: got %s" % got
                # s2 full too: s3
                base = reqs(1)
                hangs += [hang(p["first"], 4000), hang(p["first"], 4000)]
                assert wait_until(lambda: reqs(1) >= base + 2, 5), "hangs did not reach s2"
                got = c.seq(2)
                assert got == ["s3"] * 2, "s1, s2 full: got %s" % got
                # s1's requests end (s2's still run): back to s1
                assert wait_until(lambda: c.ask() == "s1", 5), "s1 not used again"
        finally:
            for h in hangs:
                h.close()

    def leastconn():
        with KeepAlive(p["lc"]) as c:
            assert c.seq(3) == ["s1", "s2", "s3"], "idle servers rotate"
            base = [reqs(i) for i in range(3)]
            h = hang(p["lc"], 1500)  # to s1, next in the rotation
            try:
                assert wait_until(lambda: reqs(0) > base[0], 5), "hang did not reach s1"
                got = c.seq(6)
                assert "s1" not in got and set(got) == {"s2", "s3"}, "got %s" % got
                # the request ends: s1 is the least loaded again
                assert wait_until(lambda: c.ask() == "s1", 5), "s1 not used again"
            finally:
                h.close()

    def random_spread():
        with KeepAlive(p["rnd"]) as c:
            got = c.seq(90)
        n = [got.count(x) for x in names]
        assert min(n) >= 10, "random: %s" % n

    t.case("static-rr 3,2,1 gives s1 s1 s2 s1 s2 s3", static_rr)
    t.case("first fills s1 up to its maxconn, then s2, then s3", first)
    t.case("leastconn rotates idle servers and avoids the busy one", leastconn)
    t.case("random spreads over every server", random_spread)

    # ---- four workers, a fresh connection per request: the hashes ----------------------------
    q = {k: free_port() for k in ("uri", "uric", "path", "hdr", "param", "src")}
    t.spillway(cfg(4, [
        section("uri", q["uri"], ["balance uri"], srv()),
        section("uric", q["uric"], ["balance uri", "hash-type consistent"], srv()),
        section("path", q["path"], ["balance uri path-only"], srv()),
        section("hdr", q["hdr"], ["balance hdr(X-User)"], srv()),
        section("param", q["param"], ["balance url_param user"], srv()),
        section("src", q["src"], ["balance source"], srv()),
    ]), q["uri"])

    def map_of(key):
        return names[sdbm(key) % 3]  # three servers of weight 1: the map is s1 s2 s3

    def uri_map():
        for path in ["/foo", "/bar", "/baz/qux", "/a/1", "/b/2", "/img/x.png", "/index.html"]:
            for _ in range(3):
                st, who = get(q["uri"], path)
                assert who == map_of(path), "%s: %s, want %s" % (path, who, map_of(path))
        st, who = get(q["uri"], "/foo?x=1")
        assert who == map_of("/foo"), "the query string is not hashed: %s" % who

    def uri_consistent():
        want = {"/foo": "s2", "/bar": "s1", "/baz/qux": "s2"}  # HAProxy 2.6, observed
        for path, w in want.items():
            for _ in range(3):
                st, who = get(q["uric"], path)
                assert who == w, "%s: %s, want %s" % (path, who, w)

    def uri_h2():
        # HTTP/2 with :authority: HAProxy hashes http://authority/path; path-only: /path
        for port, key in ((q["uri"], "http://%s:%d/foo" % (HOST, q["uri"])),
                          (q["path"], "/foo")):
            for _ in range(3):
                rc, out, err = curl(["--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                                     "http://%s:%d/foo" % (HOST, port)], timeout=10)
                assert rc == 0, "curl rc=%d %s" % (rc, err)
                heads = out.decode(errors="replace").lower()
                assert "x-backend: %s" % map_of(key) in heads, "%s: %s" % (key, heads)

    def hdr():
        seen = set()
        for i in range(12):
            user = "user%d" % i
            for _ in range(2):
                st, who = get(q["hdr"], "/name", [("X-User", user)])
                assert who == map_of(user), "%s: %s, want %s" % (user, who, map_of(user))
            seen.add(who)
        assert len(seen) >= 2, "one server for every user: %s" % seen
        # no such field: round-robin (on one connection, so on one worker)
        with KeepAlive(q["hdr"]) as c:
            got = c.seq(6)
        assert sorted(got) == ["s1", "s1", "s2", "s2", "s3", "s3"], "no key: %s" % got

    def url_param():
        for user in ("bob", "alice", "carol", "dave"):
            for path in ("/x?user=%s" % user, "/y?a=1&user=%s&z=2" % user):
                st, who = get(q["param"], path)
                assert who == map_of(user), "%s: %s, want %s" % (path, who, map_of(user))

    def source():
        # 127.0.0.N as an integer modulo 3: .1 -> s3 (HAProxy 2.6, observed), .2 -> s1, .3 -> s2
        for src, w in (("127.0.0.1", "s3"), ("127.0.0.2", "s1"), ("127.0.0.3", "s2")):
            for _ in range(3):
                st, who = get(q["src"], "/name", source=src)
                assert who == w, "%s: %s, want %s" % (src, who, w)

    t.case("uri (map-based): the same URI to the same server on every worker", uri_map)
    t.case("uri (consistent): /foo, /bar, /baz/qux as HAProxy 2.6", uri_consistent)
    t.case("uri over HTTP/2: absolute form, and path-only", uri_h2)
    t.case("hdr(X-User): sticky per user; absent field: round-robin", hdr)
    t.case("url_param user: sticky per value", url_param)
    t.case("source: sticky per client address", source)

    # ---- consistent hashing when a server goes down: only its keys move ----------------------
    k = [t.backend("k1"), t.backend("k2"), t.backend("k3")]
    r = free_port()
    chk = "check inter 100ms fall 1 rise 1"
    t.spillway(cfg(2, [section("down", r, ["balance uri", "hash-type consistent", "retries 0"],
                               [("k%d" % (i + 1), k[i].port, chk) for i in range(3)])]), r)

    def down_moves_only_its_keys():
        paths = ["/k%d" % i for i in range(30)]
        before = {}
        for path in paths:
            st, before[path] = get(r, path)
            assert st in (200, 404), "%s: status %d" % (path, st)
        assert set(before.values()) == {"k1", "k2", "k3"}, before
        k[1].stop()
        mine = [x for x in paths if before[x] == "k2"]

        def moved():
            return all(get(r, x)[1] not in (None, "k2") for x in mine)

        assert wait_until(moved, 8, interval=0.1), "k2's keys did not move"
        for path in paths:
            st, now = get(r, path)
            if before[path] != "k2":
                assert now == before[path], "%s moved: %s -> %s" % (path, before[path], now)
            else:
                assert now in ("k1", "k3"), "%s: %s" % (path, now)

    t.case("consistent: a server going down moves only its own keys", down_moves_only_its_keys)

    # ---- spillway -c -------------------------------------------------------------------------
    def check(lines, words):
        path = os.path.join(t.dir, "check-%d.cfg" % time.monotonic_ns())
        text = cfg(1, [section("x", free_port(), lines, srv())])
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=10)
        out = proc.stdout.decode(errors="replace")
        assert proc.returncode == 1, "exit %d: %s" % (proc.returncode, out[-500:])
        bad = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == lines[-1]]
        where = "%s:%d" % (path, bad[0])
        assert where in out, "no %s in: %s" % (where, out[-800:])
        for w in words:
            assert w in out, "no %r in: %s" % (w, out[-800:])

    t.case("-c: balance uri len abc",
           lambda: check(["balance uri len abc"], ["'len' expects a positive integer"]))
    t.case("-c: balance random(0)",
           lambda: check(["balance random(0)"], ["number of draws must be at least 1"]))
    t.case("-c: balance hdr without a name",
           lambda: check(["balance hdr"], ["hdr requires an http header field name"]))
    t.case("-c: hash-type bad word",
           lambda: check(["balance uri", "hash-type circle"],
                         ["only supports 'consistent' and 'map-based'"]))
    t.case("-c: balance rdp-cookie",
           lambda: check(["balance rdp-cookie"], ["not supported by spillway"]))
    t.case("-c: hash-balance-factor",
           lambda: check(["balance uri", "hash-type consistent", "hash-balance-factor 150"],
                         ["not supported by spillway"]))


if __name__ == "__main__":
    Suite("balance").run(main)
