#!/usr/bin/env python3
"""Issue 20: stick-table counters at the session level and on the tcp side, seen from outside.

One spillway (nbthread 2):
- `web`: the common rate-limit configuration (tcp-request connection track-sc0 src, a
  connection rate refused at accept, a concurrent-connection cap in tcp-request content, a
  request rate answered 429). From one source address: 10 keep-alive connections pass, the
  11th is closed without an answer by `sc_conn_cur(0) gt 10`; their 100 requests pass and the
  next one gets 429 (every request of the tracked connections counted, the rejected one not);
  conn_cur drops as connections close (`show table`); the 21st connection in the rate period
  is refused by `sc_conn_rate(0) gt 20` while nothing else is open.
- `ct`: tcp-request content rules in an http frontend, per request: track-sc1 of a header
  (conn_cnt and http_req_cnt per request of one keep-alive connection), sc-inc-gpc0,
  set-var(txn.*), reject (HTTP/1: closed without an answer; HTTP/2: GOAWAY
  ENHANCE_YOUR_CALM; a backend's reject too), tcp-request session set-dst-port,
  http-response sc-inc-gpc0 and track-sc2.
- `tt`: a mode tcp frontend with tcp-request connection track-sc0 src: conn_cnt, sess_cnt,
  bytes in and out, conn_cur while the session runs (use_backend reads it), and a refusal by
  sc0_conn_cnt; the
  backend's tcp-response content sc-inc-gpc0(0) counts in the session's entry.
- `fp`/`bp`: `stick store-response res.cook(SESSID)` + `stick match req.cook(SESSID)` (cookie
  persistence) over two servers.

The counters asserted are HAProxy 2.6's: this script passes against haproxy 2.6.12 too (run it
with SPILLWAY set to a script that execs `haproxy -db "$@"`).
"""

import re
import socket
import subprocess
import time

import lib
from lib import HOST, Suite, free_port
from test_stick import TMO, cli, fields


def conn_from(port, src):
    """A lib.Conn from source address `src`."""
    c = lib.Conn.__new__(lib.Conn)
    c.sock = socket.create_connection((HOST, port), timeout=5, source_address=(src, 0))
    c.timeout = 5.0
    c.buf = b""
    c.eof = False
    return c


def refused(port, src):
    """Whether a connection from `src` is closed (or reset, even at connect) without an
    answer to its request."""
    try:
        c = conn_from(port, src)
        c.send(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
    except (ConnectionResetError, BrokenPipeError):
        return True
    closed = c.wait_closed(5)
    c.close()
    return closed


def get(c, path, headers=""):
    c.send(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, headers)).encode())
    return c.read_response()


def entry(sock, table, key):
    """The data of `key` in `table` from `show table`, as a dict (use= included)."""
    out = cli(sock, "show table %s key %s" % (table, key))
    lines = out.strip().splitlines()
    if len(lines) < 2:
        return {}
    return fields(lines[1].split(": ", 1)[1])


def main(t):
    b1, b2 = t.backend("b1"), t.backend("b2")
    p1, p2, p3, p4, ph2 = free_port(), free_port(), free_port(), free_port(), free_port()
    sock = t.dir + "/stats.sock"
    log = t.dir + "/access.log"
    cfg = """global
    nbthread 2
    stats socket %s level admin
    log %s format raw local0
%s
frontend web
    bind %s:%d
    stick-table type ip size 100k expire 30s store conn_cur,conn_cnt,conn_rate(10s),sess_cnt,http_req_cnt,http_req_rate(10s),http_err_cnt
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc_conn_rate(0) gt 20 }
    tcp-request content reject if { sc_conn_cur(0) gt 10 }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
    http-request return status 200 content-type text/plain lf-string "cur=%%[sc0_conn_cur] req=%%[sc0_http_req_cnt] sess=%%[sc_sess_cnt(0)] trk=%%[sc0_tracked] src=%%[src_conn_cnt]" if { path /info }
    default_backend be

frontend ct
    bind %s:%d
    bind %s:%d proto h2
    log global
    option httplog
    stick-table type string len 16 size 1k expire 30s store conn_cur,conn_cnt,http_req_cnt,gpc0,gpt0
    tcp-request inspect-delay 5s
    tcp-request session set-dst-port int(4242) if { src 127.0.0.1 }
    tcp-request content track-sc1 req.hdr(X-User)
    tcp-request content reject if { path /bad }
    tcp-request content sc-inc-gpc0(1) if { url_param(inc) -m found }
    tcp-request content set-var(txn.who) req.hdr(X-User),upper
    http-request return status 200 content-type text/plain lf-string "req=%%[sc1_http_req_cnt] cnt=%%[sc1_conn_cnt] cur=%%[sc1_conn_cur] gpc0=%%[sc1_get_gpc0] who=%%[var(txn.who)] t2=%%[sc2_tracked] dp=%%[dst_port]" if { path /info }
    http-response sc-inc-gpc0(1) if { status 404 }
    http-response track-sc2 src table ct2
    default_backend be

backend ct2
    stick-table type ip size 1k expire 30s store http_req_cnt,http_err_cnt

frontend tt
    bind %s:%d
    mode tcp
    stick-table type ip size 1k expire 30s store conn_cur,conn_cnt,sess_cnt,bytes_in_cnt,bytes_out_cnt,gpc0
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_cnt gt 3 }
    tcp-request session track-sc1 src table ses
    tcp-request session reject if { src_conn_rate(ses) gt 100 }
    use_backend bt if { sc0_tracked } { sc0_conn_cur gt 0 }

backend ses
    stick-table type ip size 1k expire 30s store conn_cur,conn_rate(10s),sess_cnt

backend bt
    mode tcp
    tcp-response content sc-inc-gpc0(0)
    server s1 %s:%d

backend be
    tcp-request content reject if { path /bebad }
    server s1 %s:%d

frontend fp
    bind %s:%d
    default_backend bp

backend bp
    stick-table type string len 32 size 1k expire 30s
    stick store-response res.cook(SESSID)
    stick match req.cook(SESSID)
    server s1 %s:%d
    server s2 %s:%d
""" % (sock, log, TMO, HOST, p1, HOST, p2, HOST, ph2, HOST, p3, HOST, b1.port, HOST, b1.port, HOST,
       p4, HOST, b1.port, HOST, b2.port)
    t.spillway(cfg, port=p1)

    conns = []

    def classic():
        src = "127.0.0.2"
        for i in range(10):
            c = conn_from(p1, src)
            conns.append(c)
            r = get(c, "/info")
            assert r.status == 200, (i, r.status)
            f = fields(r.body.decode())
            assert f["cur"] == str(i + 1) and f["trk"] == "1", (i, f)
            assert f["req"] == str(i + 1) and f["sess"] == str(i + 1), (i, f)
            assert f["src"] == str(i + 1), (i, f)
        # the 11th concurrent connection: its request is rejected by the content rule, no
        # answer, the connection closed
        c = conn_from(p1, src)
        c.send(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.wait_closed(5), "11th connection not closed"
        c.close()
        # 90 more requests on the ten keep-alive connections: 100 counted in all, all pass;
        # the 101st gets 429 (the rejected request was not counted)
        for i in range(90):
            r = get(conns[i % 10], "/name")
            assert r.status == 200, (i, r.status)
        r = get(conns[0], "/name")
        assert r.status == 429, r.status
        e = entry(sock, "web", src)
        assert e.get("conn_cur") == "10" and e["conn_cnt"] == "11", e
        assert e["http_req_cnt"] == "101" and e["http_err_cnt"] == "1", e
        assert e["sess_cnt"] == "11" and e["use"] == "10", e
        # conn_cur drops as connections close
        for c in conns[:6]:
            c.close()
        assert lib.wait_until(lambda: entry(sock, "web", src).get("conn_cur") == "4", 5), \
            entry(sock, "web", src)
        for c in conns[6:]:
            c.close()
        assert lib.wait_until(lambda: entry(sock, "web", src).get("use") == "0", 5), \
            entry(sock, "web", src)
        assert entry(sock, "web", src)["conn_cur"] == "0"
        # connections 12 to 20 of the period are accepted (a 429 each: the request rate),
        # the 21st is refused at accept by sc_conn_rate(0) gt 20 with nothing else open
        for i in range(9):
            c = conn_from(p1, src)
            r = get(c, "/name")
            assert r.status == 429, (i, r.status)
            c.close()
        assert refused(p1, src), "21st connection not refused"
        e = entry(sock, "web", src)
        assert e["conn_cnt"] == "21" and e["conn_rate(10000)"] == "21", e
        # another address has its own entry
        c = conn_from(p1, "127.0.0.3")
        assert get(c, "/name").status == 200
        c.close()
    t.case("tcp-request connection track-sc0: conn_rate refused at accept, conn_cur capped "
           "in tcp-request content, the request rate across keep-alive requests, conn_cur "
           "down as connections close", classic)

    def content_http():
        c = lib.Conn(p2)
        for i in range(3):
            r = get(c, "/info", "X-User: alice\r\n")
            assert r.status == 200, r.status
            f = fields(r.body.decode())
            # tracked per request (stream): each request a connection count and a request
            assert f["req"] == str(i + 1) and f["cnt"] == str(i + 1) and f["cur"] == "1", f
            assert f["who"] == "ALICE" and f["gpc0"] == "0", f
        r = get(c, "/name?inc=1", "X-User: alice\r\n")
        assert r.status == 200, r.status
        r = get(c, "/status/404", "X-User: alice\r\n")
        assert r.status == 404, r.status
        f = fields(get(c, "/info", "X-User: alice\r\n").body.decode())
        # the content rule's increment and the http-response one on the 404
        # the session rule's set-dst-port: the connection's destination
        assert f["gpc0"] == "2" and f["req"] == "6" and f["dp"] == "4242", f
        # http-response track-sc2 ran on the two server responses (not on the local answers
        # of http-request return, as in HAProxy): two requests, one 404
        e = entry(sock, "ct2", HOST)
        assert e.get("http_req_cnt") == "2" and e["http_err_cnt"] == "1", e
        c.send(b"GET /bad HTTP/1.1\r\nHost: x\r\nX-User: alice\r\n\r\n")
        assert c.wait_closed(5), "rejected request: connection not closed"
        c.close()
        # the backend's content rules run when the request enters it
        c = lib.Conn(p2)
        assert get(c, "/name", "X-User: alice\r\n").status == 200
        c.send(b"GET /bebad HTTP/1.1\r\nHost: x\r\nX-User: alice\r\n\r\n")
        assert c.wait_closed(5), "rejected by the backend: connection not closed"
        c.close()
        e = entry(sock, "ct", "alice")
        assert e["http_req_cnt"] == "8" and e["conn_cnt"] == "9", e
        # denied requests of the frontend (the backend's rule too), not of the backend
        rows = {tuple(l.split(",")[:2]): l.split(",") for l in cli(sock, "show stat").split("\n")
                if l.count(",") > 10}
        assert rows[("ct", "FRONTEND")][10] == "2", rows[("ct", "FRONTEND")][:12]
        assert rows[("be", "BACKEND")][10] in ("", "0"), rows[("be", "BACKEND")][:12]
        # logged as HAProxy does: no server, -1, PR--
        assert lib.wait_until(lambda: re.search(r" ct ct/<NOSRV> \S+ -1 0 - - PR-- .*/bad",
                                                open(log).read()), 5), open(log).read()
        assert lib.wait_until(lambda: entry(sock, "ct", "alice").get("conn_cur") == "0", 5)
    t.case("tcp-request content in an http frontend: track-sc1, sc-inc-gpc0 and set-var per "
           "request, reject closes; tcp-request session set-dst-port; http-response "
           "sc-inc-gpc0 and track-sc2", content_http)

    def content_h2():
        out = subprocess.run(["nghttp", "-v", "-H", "x-user: bob",
                              "http://%s:%d/info" % (HOST, ph2)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                             stdin=subprocess.DEVNULL).stdout.decode(errors="replace")
        assert "req=1 cnt=1 cur=1 gpc0=0 who=BOB" in out, out[-2000:]
        out = subprocess.run(["nghttp", "-v", "http://%s:%d/bad" % (HOST, ph2)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                             stdin=subprocess.DEVNULL).stdout.decode(errors="replace")
        # HAProxy 2.6: RST_STREAM and GOAWAY ENHANCE_YOUR_CALM (h2c_error), no answer
        assert re.search(r"recv RST_STREAM frame.*\n.*error_code=ENHANCE_YOUR_CALM", out), \
            out[-2000:]
        assert ":status" not in out.split("send HEADERS")[-1], out
    t.case("tcp-request content reject on an HTTP/2 stream: reset ENHANCE_YOUR_CALM, no "
           "answer", content_h2)

    def tcp_mode():
        c = conn_from(p3, "127.0.0.4")
        r = get(c, "/name")
        assert r.status == 200 and r.body == b"b1\n", (r.status, r.body)
        e = entry(sock, "tt", "127.0.0.4")
        assert e["conn_cur"] == "1" and e["conn_cnt"] == "1" and e["sess_cnt"] == "1", e
        c.close()
        assert lib.wait_until(
            lambda: entry(sock, "tt", "127.0.0.4").get("conn_cur") == "0" and
            int(entry(sock, "tt", "127.0.0.4")["bytes_out_cnt"]) > 0, 5), \
            entry(sock, "tt", "127.0.0.4")
        e = entry(sock, "tt", "127.0.0.4")
        assert int(e["bytes_in_cnt"]) > 20 and e["gpc0"] == "1", e
        # the session rule's tracker: counted once, released at the close
        e = entry(sock, "ses", "127.0.0.4")
        assert e["sess_cnt"] == "1" and e["conn_cur"] == "0" and e["use"] == "0", e
        for i in range(2):
            c = conn_from(p3, "127.0.0.4")
            assert get(c, "/name").status == 200, i
            c.close()
        assert refused(p3, "127.0.0.4"), "4th connection not refused"
    t.case("mode tcp: tcp-request connection track-sc0 counts the session, its bytes and "
           "conn_cur; tcp-response sc-inc-gpc0; sc0_conn_cnt refuses the 4th", tcp_mode)

    def store_response():
        raw = b"HTTP/1.1 200 OK\r\nSet-Cookie: SESSID=abc123; path=/\r\nContent-Length: 2\r\n\r\nok"
        c = lib.Conn(p4)
        r = get(c, "/raw?hex=" + raw.hex())
        assert r.status == 200 and r.body == b"ok", (r.status, r.body)
        c.close()
        e = entry(sock, "bp", "abc123")
        assert e.get("server_id") in ("1", "2"), e
        want = b"b%s\n" % e["server_id"].encode()
        c = lib.Conn(p4)
        for i in range(4):
            r = get(c, "/name", "Cookie: x=1; SESSID=abc123\r\n")
            assert r.status == 200 and r.body == want, (i, r.body, want)
        # without the cookie (or with an unknown one) the servers take turns
        seen = {get(c, "/name", "Cookie: SESSID=zzz\r\n" if i % 2 else "").body
                for i in range(4)}
        assert seen == {b"b1\n", b"b2\n"}, seen
        c.close()
    t.case("stick store-response res.cook(SESSID) + stick match req.cook(SESSID): the "
           "server that set the cookie keeps its clients", store_response)

    def check_errors():
        bad = t.dir + "/bad.cfg"
        with open(bad, "w") as f:
            f.write(TMO + "frontend f\n    bind %s:%d\n"
                    "    stick-table type ip size 1k store gpc0\n"
                    "    tcp-request content set-dst-port int(1)\n"
                    "    tcp-request connection sc-inc-gpc(0,0)\n"
                    "    tcp-request session track-sc3 src\n"
                    "    tcp-request content track-sc0 src table nosuch\n"
                    "    default_backend b\n"
                    "backend b\n    server s 127.0.0.1:1\n"
                    "backend bt\n    mode tcp\n    tcp-response content track-sc0 src\n"
                    % (HOST, free_port()))
        p = subprocess.run([lib.SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0, out
        for want in ("bad.cfg:10: 'tcp-request connection sc-inc-gpc(0,0)': not supported by "
                     "spillway (the gpc/gpt array",
                     "bad.cfg:18: 'tcp-response content track-sc0': keyword not supported",):
            assert want in out, (want, out)
        # the parser's errors fixed, the compiler's
        with open(bad) as f:
            text = f.read()
        text = text.replace("    tcp-request connection sc-inc-gpc(0,0)\n", "")
        text = text.replace("    tcp-response content track-sc0 src\n", "")
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([lib.SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0, out
        for want in ("bad.cfg:9:", "'set-dst-port' in an http proxy's content rules is not "
                     "supported by spillway", "bad.cfg:10:", "track-sc0, track-sc1 and track-sc2",
                     "bad.cfg:11:", "no stick-table 'nosuch'"):
            assert want in out, (want, out)
    t.case("-c: what is refused, with file:line", check_errors)

    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("stick2").run(main)
