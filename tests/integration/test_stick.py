#!/usr/bin/env python3
"""Issue 20: stick tables seen from outside.

One spillway (nbthread 2) with two frontends:
- `rl`: HAProxy's classic rate limit (`stick-table type ip size 100k expire 30s store
  http_req_rate(10s)`, `http-request track-sc0 src`, `http-request deny deny_status 429 if
  { sc_http_req_rate(0) gt 100 }`). h2load sends 300 requests over 3 HTTP/2 connections (the
  workers share the entry) well inside one 10 s period: HAProxy counts every tracked request
  before the deny rule runs, so the request that makes the rate 101 and every one after it is
  refused: exactly 100 pass and 200 get 429 (balance/stktable.h: counters are exact and a rate
  within one period is its count). A client from another address (127.0.0.2) is not limited.
- `fx`: a string table keyed on a header, with sc-inc-gpc0, sc-set-gpt0, a ban on gpc0, HTTP
  errors counted from the server's 4xx, the sc*/src*/table_* fetches in lf-strings, and the
  table's size bound (least recently used entry purged).
`show table` and `clear table` on the stats socket, and `spillway -c` errors for what the
table lines and rules get wrong. A second spillway: `stick on src` over three servers.
"""

import re
import socket
import subprocess
import time

import lib
from lib import HOST, SPILLWAY, Suite, free_port

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def body(port, path, user=None, iface=None):
    args = ["-i"]
    if user:
        args += ["-H", "X-User: " + user]
    if iface:
        args += ["--interface", iface]
    rc, out, err = lib.curl(args + ["http://%s:%d%s" % (HOST, port, path)])
    assert rc == 0, (rc, err)
    head, _, b = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), b.decode()

cli = lib.stats_cli  # one command line on the stats socket


def fields(text):
    return dict(kv.split("=", 1) for kv in text.split())


def main(t):
    b1 = t.backend("b1")
    p1, p2 = free_port(), free_port()
    sock = t.dir + "/stats.sock"
    log = t.dir + "/access.log"
    cfg = """global
    nbthread 2
    stats socket %s level admin
    log %s format raw local0
%s
frontend rl
    bind %s:%d
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
    default_backend be

frontend fx
    bind %s:%d
    log global
    log-format "cnt=%%[sc1_http_req_cnt] err=%%[sc1_http_err_cnt] st=%%ST"
    stick-table type string len 16 size 3 expire 30s store http_req_cnt,gpc0,gpc0_rate(10s),gpt0,http_err_cnt,http_err_rate(10s),conn_cur,bytes_out_cnt
    http-request track-sc1 req.hdr(X-User)
    http-request sc-inc-gpc0(1) if { path /inc }
    http-request sc-set-gpt0(1) 7 if { path /gpt }
    http-request return status 200 content-type text/plain lf-string "cnt=%%[sc1_http_req_cnt] gpc0=%%[sc1_get_gpc0] gpt0=%%[sc1_get_gpt0] err=%%[sc1_http_err_cnt] errrate=%%[sc_http_err_rate(1)] cur=%%[sc1_conn_cur] tc=%%[table_cnt] avl=%%[table_avl] t0=%%[sc0_tracked] t1=%%[sc1_tracked] trk=%%[sc1_trackers] rl=%%[src_http_req_rate(rl)] conv=%%[req.hdr(X-User),table_http_req_cnt(fx)] in=%%[str(nobody),in_table(fx)] inme=%%[req.hdr(X-User),in_table(fx)] rlconv=%%[src,table_http_req_rate(rl)]" if { path /info }
    http-request deny deny_status 403 if { sc1_gpc0 gt 2 }
    http-request return status 200 content-type text/plain string ok if { path /inc } || { path /gpt }
    default_backend be

backend be
    server s1 %s:%d
""" % (sock, log, TMO, HOST, p1, HOST, p2, HOST, b1.port)
    t.spillway(cfg, port=p1)

    def classic():
        out = subprocess.run(["h2load", "-n", "300", "-c", "3", "-m", "10",
                              "http://%s:%d/name" % (HOST, p1)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                             stdin=subprocess.DEVNULL).stdout.decode(errors="replace")
        f = lib.parse_h2load(out)
        assert f["text"], out[-1500:]
        # h2load counts a 4xx as "failed": done is what came back
        assert f["2xx"] == 100 and f["4xx"] == 200 and f["done"] == 300, f["text"]
    t.case("classic rate limit: 300 requests at once, exactly 100 pass, 200 get 429", classic)

    def other_src():
        st, _ = body(p1, "/name", iface="127.0.0.2")
        assert st == 200, st
        st, _ = body(p1, "/name")
        assert st == 429, st
    t.case("another source address is not limited; the first still is", other_src)

    def counters():
        st, b = body(p2, "/info", user="alice")
        assert st == 200, (st, b)
        f = fields(b)
        assert f["cnt"] == "1" and f["gpc0"] == "0" and f["gpt0"] == "0", f
        assert f["cur"] == "1" and f["trk"] == "1" and f["t0"] == "0" and f["t1"] == "1", f
        assert f["tc"] == "1" and f["avl"] == "2", f
        # the other frontend's table, looked up by this client's address: 300+ requests
        assert int(f["rl"]) >= 300, f
        # the same through the table_* and in_table converters
        assert f["conv"] == "1" and f["in"] == "0" and f["inme"] == "1", f
        assert f["rlconv"] == f["rl"], f
        for i in range(2):
            st, _ = body(p2, "/inc", user="alice")
            assert st == 200, (i, st)
        st, _ = body(p2, "/gpt", user="alice")
        assert st == 200, st
        st, _ = body(p2, "/status/404", user="alice")
        assert st == 404, st
        f = fields(body(p2, "/info", user="alice")[1])
        assert f["cnt"] == "6" and f["gpc0"] == "2" and f["gpt0"] == "7", f
        assert f["err"] == "1" and f["errrate"] == "1", f
        # the third increment bans alice (deny after the increment), not bob
        st, _ = body(p2, "/inc", user="alice")
        assert st == 403, st
        st, _ = body(p2, "/name", user="alice")
        assert st == 403, st
        st, _ = body(p2, "/name", user="bob")
        assert st == 200, st
        f = fields(body(p2, "/info", user="alice")[1])
        assert f["gpc0"] == "3" and f["err"] == "3", f  # the two 403s count as HTTP errors
        # the access log's log-format reads the tracked counters at the end of the stream
        want = "cnt=8 err=3 st=403"
        assert lib.wait_until(lambda: want in open(log).read(), 5), open(log).read()
    t.case("sc-inc-gpc0, sc-set-gpt0, http_err on 4xx, the sc1/src/table fetches, a ban", counters)

    def untracked():
        # no X-User header: no key, nothing tracked, the sc1 fetches fail (empty)
        st, b = body(p2, "/info")
        assert st == 200, (st, b)
        f = fields(b.replace("= ", "=- ").rstrip() + " ")
        assert f["t1"] == "0" and f["cnt"] in ("-", ""), f
    t.case("a request without the key is not tracked; sc1 fetches fail", untracked)

    def size_bound():
        for u in ("u1", "u2", "u3", "u4"):
            st, _ = body(p2, "/name", user=u)
            assert st == 200, (u, st)
        f = fields(body(p2, "/info", user="u4")[1])
        assert f["tc"] == "3" and f["avl"] == "0", f
        # alice was the least recently used: purged, her ban gone with her entry
        st, _ = body(p2, "/name", user="alice")
        assert st == 200, st
    t.case("size 3: new keys purge the least recently used entries", size_bound)

    def show_clear():
        out = cli(sock, "show table")
        assert "# table: rl, type: ip, size:102400, used:2\n" in out, out
        assert "# table: fx, type: string, size:3, used:3\n" in out, out
        out = cli(sock, "show table rl key 127.0.0.2")
        lines = out.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("# table: rl"), out
        assert re.match(r"0x[0-9a-f]+: key=127\.0\.0\.2 use=0 exp=\d+ "
                        r"http_req_rate\(10000\)=1$", lines[1]), out
        out = cli(sock, "show table fx data.http_req_cnt ge 2")
        assert "key=u4 " in out and "key=u3" not in out, out
        cli(sock, "clear table fx key u4")
        out = cli(sock, "show table fx")
        assert "used:2" in out and "key=u4" not in out and "key=u3 " in out, out
        assert "No such table" in cli(sock, "show table nope")
        assert "Data type not stored" in cli(sock, "show table rl data.gpc0 gt 1")
        cli(sock, "clear table rl")
        assert "used:0" in cli(sock, "show table rl")
        # the limit went with the entry
        assert body(p1, "/name")[0] == 200
    t.case("show table [NAME [data.T op V] [key K]] and clear table on the stats socket",
           show_clear)

    def check_errors():
        bad = t.dir + "/bad.cfg"
        with open(bad, "w") as f:
            f.write(TMO + "frontend f\n    bind 127.0.0.1:%d\n"
                    "    stick-table type ip size 1k peers mypeers\n"
                    "    http-request track-sc3 src\n"
                    "    http-request track-sc0 src table nosuch\n"
                    "    http-request deny if { sc0_http_req_rate(f) gt 1 }\n"
                    "    http-request sc-inc-gpc0(5)\n"
                    "    default_backend b\n"
                    "backend b\n    server s 127.0.0.1:1\n" % free_port())
        p = subprocess.run([SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0, out
        for want in ("bad.cfg:8: 'stick-table': 'peers': not supported by spillway",):
            assert want in out, (want, out)
        # the table line was refused: fix it and look at the rules' errors
        with open(bad) as f:
            text = f.read().replace(" peers mypeers", " store gpc0")
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0, out
        for want in ("bad.cfg:9:", "track-sc0, track-sc1 and track-sc2",
                     "bad.cfg:10:", "no stick-table 'nosuch'",
                     "bad.cfg:11:", "does not store 'http_req_rate'",
                     "bad.cfg:12:", "sticky counter number 0 to 2"):
            assert want in out, (want, out)
    t.case("-c: peers refused, bad counters, tables and data named with file:line", check_errors)

    persistence(t)
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


def persistence(t):
    """stick on src: a client goes back to the server stored for its address."""
    bs = [t.backend("s%d" % i) for i in (1, 2, 3)]
    p = free_port()
    sock = t.dir + "/stats2.sock"
    cfg = """global
    stats socket %s level admin
%s
frontend fe
    bind %s:%d
    default_backend be
backend be
    stick-table type ip size 10 expire 30s
    stick on src
%s
""" % (sock, TMO, HOST, p, "".join("    server %s %s:%d\n" % (b.name, HOST, b.port) for b in bs))
    t.spillway(cfg, port=p)

    def name(iface=None):
        st, b = body(p, "/name", iface=iface)
        assert st == 200, st
        return b.strip()

    def sticky():
        first = name()
        got = [name() for _ in range(6)]
        assert got == [first] * 6, (first, got)
        other = name("127.0.0.2")
        assert [name("127.0.0.2") for _ in range(3)] == [other] * 3
        out = cli(sock, "show table be")
        ids = dict(re.findall(r"key=(127\.0\.0\.[12]) use=0 exp=\d+ server_id=(\d)", out))
        sid = {"s1": "1", "s2": "2", "s3": "3"}
        assert ids.get("127.0.0.1") == sid[first] and ids.get("127.0.0.2") == sid[other], out
        # the stored server goes into maintenance: another one takes the client, and is stored
        cli(sock, "disable server be/%s" % first)
        moved = name()
        assert moved != first, moved
        cli(sock, "enable server be/%s" % first)
        assert [name() for _ in range(3)] == [moved] * 3
    t.case("stick on src: the same server for the same address; a server in maintenance "
           "hands its clients over, who then stay", sticky)

    def check_errors():
        def check(text, wants):
            bad = t.dir + "/bad2.cfg"
            with open(bad, "w") as f:
                f.write(TMO + "backend b\n    mode tcp\n    stick-table type ip size 1k\n" +
                        text + "    server s 127.0.0.1:1\n")
            pr = subprocess.run([SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=20)
            out = pr.stdout.decode(errors="replace")
            assert pr.returncode != 0, out
            for want in wants:
                assert want in out, (want, out)
        check("    stick store-response src\n",
              ["bad2.cfg:9: 'stick store-response': in a tcp backend: not supported by "
               "spillway"])
        check("    stick on req.cook(SRV)\n    stick match src table nosuch\n",
              ["bad2.cfg:9: 'stick on': pattern 'req.cook(SRV)' reads the request bytes: not "
               "supported by spillway", "bad2.cfg:10: 'stick match': no stick-table 'nosuch'"])
    t.case("-c: a tcp backend's stick rules reading the request or the response, unknown "
           "tables", check_errors)


if __name__ == "__main__":
    Suite("stick").run(main)
