#!/usr/bin/env python3
"""Sample expressions from outside: use_backend rules on ACLs with converters
(hdr(host),lower; req.hdr(x-id),mul(2); path,map_beg(FILE); url_param(x),regsub(...)),
a log-format with %[...] nodes read back from the access log (stdout), and configuration
errors (unknown converter, missing map file, bad %[...]) refused by `spillway -c` with
file:line. One spillway, five sp-testbackend origins (each names itself in X-Backend)."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (HOST, SPILLWAY, Suite, curl, free_port, raw_exchange, request,  # noqa: E402
                 wait_until)

NAMES = ["host", "big", "api", "bob", "def"]


def cfg(port, ports, mapfile):
    lines = [
        "global",
        "    log stdout format raw local0",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 5s",
        "    timeout server 5s",
        "frontend fe",
        "    bind %s:%d" % (HOST, port),
        "    log global",
        '    log-format "SMP %[src] %{+Q}[str(hello),upper] %[var(txn.none)] '
        '%[req.hdr(host)] %[status] %ST %[src,ipmask(8)] %[str(abc),length,mul(2)] '
        '%{+Q}[str(\'a b\'),concat(-,,-)] %[nbsrv] %[var(txn.p)] %[var(sess.n),add(1)] %b"',
        # set-var as a converter: the variables live until the log line (txn) and the
        # connection's end (sess); the rule itself never matches
        "    acl setv path,set-var(txn.p),length,set-var(sess.n) -m found",
        "    use_backend be_def if setv FALSE",
        "    acl host_ex hdr(host),lower -m str example.com",
        "    acl big_id req.hdr(x-id),mul(2) gt 10",
        "    acl api path,map_beg(%s) -m str be_api" % mapfile,
        "    acl user_bob url_param(user),regsub(^u-,),lower -m str bob",
        "    use_backend be_host if host_ex",
        "    use_backend be_big if big_id",
        "    use_backend be_api if api",
        "    use_backend be_bob if user_bob",
        "    default_backend be_def",
    ]
    for name, p in zip(NAMES, ports):
        lines += ["backend be_%s" % name, "    server s1 %s:%d" % (HOST, p)]
    return "\n".join(lines) + "\n"


def log_lines(sp, prefix):
    try:
        with open(sp.log_path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    data = data[: data.rfind(b"\n") + 1]
    return [ln for ln in data.decode(errors="replace").splitlines() if ln.startswith(prefix)]


def check_cfg(t, name, text, want):
    path = os.path.join(t.dir, "check-%d.cfg" % free_port())
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=10)
    out = p.stdout.decode(errors="replace")
    assert p.returncode != 0, "%s: exit 0: %s" % (name, out[-300:])
    for w in want:
        assert w in out, "%s: %r not in %r" % (name, w, out[-500:])


def main(t):
    origins = [t.backend(n) for n in NAMES]
    mapfile = os.path.join(t.dir, "paths.map")
    with open(mapfile, "w") as f:
        f.write("# prefix backend\n/api/ be_api\n/api/v2/ be_other\n/static/ be_api\n")
    port = free_port()
    sp = t.spillway(cfg(port, [o.port for o in origins], mapfile), port)

    def routed(path, headers=None):
        r = request(port, "GET", path, headers=headers)
        return r.header("x-backend")

    def routing():
        # request() sends Host: localhost first; a second Host would be a 400: use paths
        # and headers that leave Host alone, except where Host is the point
        got = routed("/x", [])
        assert got == "def", "plain request -> %r" % got
        r = request(port, "GET", "/x", headers=[("X-Id", "6")])
        assert r.header("x-backend") == "big", "x-id 6 (mul 2 = 12 > 10) -> %r" % r.header("x-backend")
        r = request(port, "GET", "/x", headers=[("X-Id", "5")])
        assert r.header("x-backend") == "def", "x-id 5 (10, not > 10) -> %r" % r.header("x-backend")
        assert routed("/api/users") == "api", "map_beg /api/ -> be_api"
        assert routed("/api/v2/users") == "def", "longest prefix /api/v2/ -> be_other, no match"
        assert routed("/static/a.css") == "api", "map_beg /static/"
        assert routed("/apix") == "def", "no prefix"
        assert routed("/x?user=u-BOB") == "bob", "url_param,regsub,lower"
        assert routed("/x?user=BOB") == "bob", "url_param,lower"
        assert routed("/x?user=u-bobby") == "def", "url_param mismatch"

    def host_lower():
        # hdr(host),lower: the request's own Host, in capitals
        raw = ("GET /x HTTP/1.1\r\nHost: EXAMPLE.Com\r\nConnection: close\r\n\r\n").encode()
        r = raw_exchange(port, raw)
        assert r.header("x-backend") == "host", "Host EXAMPLE.Com -> %r" % r.header("x-backend")
        raw = ("GET /x HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n").encode()
        r = raw_exchange(port, raw)
        assert r.header("x-backend") == "def", "Host example.org -> %r" % r.header("x-backend")

    t.case("use_backend on req.hdr(x-id),mul(2), path,map_beg(FILE), url_param,regsub", routing)
    t.case("use_backend on hdr(host),lower", host_lower)

    def h2():
        # HTTP/2: the :authority is the Host the ACL lowers
        rc, out, err = curl(["--http2-prior-knowledge", "-o", "/dev/null", "-D", "-",
                             "-H", "Host: EXAMPLE.com", "http://%s:%d/x" % (HOST, port)])
        assert rc == 0, "curl: %s" % err
        assert b"x-backend: host" in out.lower(), out

    t.case("HTTP/2 (curl --http2-prior-knowledge): hdr(host),lower on the :authority", h2)

    def logs():
        ok = wait_until(lambda: len(log_lines(sp, "SMP ")) >= 13, 5.0)
        lines = log_lines(sp, "SMP ")
        # the origins answer 404 to /x, /api/..., which %[status] and %ST both show
        assert ok, "%d log lines: %r" % (len(lines), lines[-3:])
        want = 'SMP 127.0.0.1 "HELLO" - - 404 404 127.0.0.0 6 "a b--" 1 /x 3 be_big'
        assert want in lines, "no %r in %r" % (want, lines[:3])
        assert any(ln.endswith(" be_host") for ln in lines), lines

    t.case("log-format %[src] %{+Q}[str,upper] %[var] %[req.hdr] (gone: -) %[status] "
           "%[src,ipmask] %[...,length,mul] %{+Q}[concat] %[nbsrv], variables set by "
           "set-var converters in an ACL (txn and sess)", logs)

    def errors():
        base = ("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n"
                "    timeout server 1s\nfrontend fe\n    bind %s:%d\n" % (HOST, free_port()))
        tail = "    default_backend b\nbackend b\n    server s 127.0.0.1:1\n"
        check_cfg(t, "converter", base + "    acl x hdr(host),nosuch foo\n"
                  "    use_backend b if x\n" + tail, ["unknown converter 'nosuch'", ":8"])
        check_cfg(t, "stick", base + "    acl x src,table_http_req_rate(t) gt 1\n"
                  "    use_backend b if x\n" + tail, ["no stick-table 't'", ":8"])
        check_cfg(t, "map", base + "    acl x path,map_beg(/nonexistent/x.map) -m found\n"
                  "    use_backend b if x\n" + tail, ["/nonexistent/x.map"])
        check_cfg(t, "var", base + "    acl x var(txn.a) foo\n    use_backend b if x\n" + tail,
                  ["matching method must be specified first"])
        check_cfg(t, "status", base + "    acl x status 200\n    use_backend b if x\n" + tail,
                  ["'HTTP response headers'"])

    t.case("spillway -c: unknown converter, table_*, missing map, var() without -m, status",
           errors)


if __name__ == "__main__":
    Suite("samples").run(main)
