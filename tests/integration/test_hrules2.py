#!/usr/bin/env python3
"""Issue 20: the remaining http-request / http-response actions of HAProxy 2.6, from outside.

- http-response return (the server's answer replaced, its body not relayed, the client's
  connection going on) and http-response redirect, with http-after-response on the answer;
- http-request reject: HTTP/1 gets a close and no byte, HTTP/2 a RST_STREAM and a GOAWAY
  (ENHANCE_YOUR_CALM), the log PR;
- set-src / set-src-port: the server's X-Forwarded-For and PROXY header, src fetches in later
  rules, the log's %ci:%cp; the connection's next request sees its real source again (HAProxy 2.6: the stream's);
- set-tos / set-mark: the client socket's TOS and fwmark as `ss --tos -e` reports them;
- early-hint: a 103 with the consecutive rules' Link fields before the final answer, over
  HTTP/1.1 (curl -v) and HTTP/2 (nghttp -v), none to an HTTP/1.0 client;
- strict-mode: a failed rewrite answers 500, ignored under strict-mode off;
- disable-l7-retry: the server sees one request where retry-on 503 sends three;
- tune.vars.{txn,reqres,sess}-max-size: a set-var past its scope's limit fails, hierarchically
  (sess includes the connection's transactions), and a transaction's share is released at
  its end;
- set-priority-class / set-priority-offset: the server queue (maxconn 1) serves by class,
  then offset; prio_class / prio_offset;
- `-c` errors for the bad forms (file:line, the reason set-nice is refused).
"""

import subprocess
import threading
import time

import lib
from h2client import H2
from lib import HOST, SPILLWAY, Conn, Suite, free_port, request
from test_proxyproto import Origin

ENHANCE_YOUR_CALM = 0xb

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def ask(c, path, headers=(), version="HTTP/1.1"):
    """one request on an open Conn, the response read"""
    raw = "GET %s %s\r\nHost: localhost\r\n" % (path, version)
    raw += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
    c.send(raw.encode())
    return c.read_response()


def main(t):
    b1 = t.backend("b1")
    b2 = t.backend("b2")
    origin = Origin()  # reads the PROXY header
    try:
        run(t, b1, b2, origin)
    finally:
        origin.close()


def run(t, b1, b2, origin):
    p = free_port()
    log = t.dir + "/access.log"
    fill = "f" * 6000
    cfg = """global
    nbthread 1
    log %s format raw local0
%s
frontend fe
    bind %s:%d
    log global
    log-format "%%ci:%%cp %%ST %%tsc %%{+Q}r src=%%[src]"
    option forwardfor
    http-request reject if { path /reject }
    http-request set-src hdr(x-real-ip) if { hdr(x-real-ip) -m found }
    http-request set-src-port int(4242) if { hdr(x-real-ip) -m found }
    http-request set-header X-Src %%[src]:%%[src_port]
    http-request set-tos 0x20 if { path /tos }
    http-request set-mark 0x2a if { path /tos }
    http-request strict-mode off if { path /soft }
    http-request set-header X-Big %%[req.hdr(x-fill)]%%[req.hdr(x-fill)]%%[req.hdr(x-fill)] if { req.hdr(x-fill) -m found }
    http-request set-header X-Big2 %%[req.hdr(x-fill)]%%[req.hdr(x-fill)]%%[req.hdr(x-fill)] if { req.hdr(x-fill) -m found }
    http-request set-header X-After-Fail yes
    http-request set-path /headers if { path /soft }
    http-request set-var(txn.path) path
    http-after-response set-header X-After 1
    use_backend rb if { path /status/503 }
    use_backend eh if { path /eh }
    use_backend pp if { path /pp }
    use_backend pq if { path_beg /pq }
    default_backend be
backend rb
    retry-on 503
    retries 2
    http-request disable-l7-retry if { hdr(x-noretry) 1 }
    server s2 %s:%d
backend pq
    http-request set-timeout server 900ms if { path /pq/hang }
    http-request set-priority-class int(-1) if { hdr(x-vip) 1 }
    http-request set-priority-offset int(-2000) if { hdr(x-vip) 2 }
    http-request set-header X-Prio %%[prio_class]/%%[prio_offset]
    http-request set-path /headers if { path /pq }
    http-request set-path /hang if { path /pq/hang }
    server s5 %s:%d maxconn 1
backend pp
    server s4 %s:%d send-proxy
backend eh
    http-request early-hint Link "</a.css>; rel=preload; as=style"
    http-request early-hint Link "</b.js>; rel=preload; as=script"
    http-request early-hint X-Two %%[req.hdr(x-two)] if { req.hdr(x-two) -m found }
    http-request set-path /headers
    server s3 %s:%d
backend be
    http-response return status 203 content-type text/plain string "replaced" hdr X-R yes if { status 404 }
    http-response return status 200 content-type text/plain lf-string "small %%[var(txn.path)]" if { var(txn.path) -m beg /size/ }
    http-response redirect location /elsewhere code 303 set-cookie GONE=1 if { status 410 }
    server s1 %s:%d
""" % (log, TMO, HOST, p, HOST, b2.port, HOST, b1.port, HOST, origin.port, HOST, b1.port,
       HOST, b1.port)
    s = t.spillway(cfg, port=p)

    def seen(r):
        return r.body.decode(errors="replace")

    def response_return():
        with Conn(p) as c:
            r = ask(c, "/status/404")
            assert r.status == 203 and r.body == b"replaced", (r.status, r.body)
            assert r.reason == "Non-Authoritative Information", r.reason
            assert r.header("X-R") == "yes" and r.header("X-After") == "1", r.headers
            assert r.header("Content-Type") == "text/plain", r.headers
            # a big body from the server is not relayed: the answer replaces it
            r = ask(c, "/size/300000")
            assert r.status == 200 and r.body == b"small /size/300000", (r.status, r.body[:80])
            r = ask(c, "/status/410")
            assert r.status == 303 and r.header("Location") == "/elsewhere", (r.status, r.headers)
            assert (r.header("Set-Cookie") or "").startswith("GONE=1"), r.headers
            # the same client connection goes on, and the next response is the server's own
            r = ask(c, "/name")
            assert r.status == 200 and r.body.strip() == b"b1", (r.status, r.body)
        # over HTTP/2: the stream gets the answer, the connection goes on
        c = H2(p)
        st = c.get("/size/300000")
        assert st.status == 200 and st.data == b"small /size/300000", (st.status, st.data[:80])
        st = c.get("/name")
        assert st.status == 200 and st.data.strip() == b"b1", (st.status, st.data)
        c.close()

    t.case("http-response return / redirect replace the server's answer", response_return)

    def reject_h1():
        with Conn(p) as c:
            c.send(b"GET /reject HTTP/1.1\r\nHost: localhost\r\n\r\n")
            c.sock.settimeout(3)
            try:
                data = c.sock.recv(100)
            except ConnectionResetError:
                data = b""
            assert data == b"", data

    t.case("reject: HTTP/1 close, no response", reject_h1)

    def reject_h2():
        c = H2(p)
        ok = c.get("/headers")  # a stream that completes first
        assert ok.status == 200, ok.status
        sid, _ = c.request("GET", "/reject")
        c.pump(lambda: c.eof, 5)
        st = c.streams[sid]
        assert st.status is None and st.rst == ENHANCE_YOUR_CALM, (st.status, st.rst)
        assert c.goaway and c.goaway[1] == ENHANCE_YOUR_CALM, c.goaway
        assert c.eof, "the connection stays open"
        c.close()

    t.case("reject: HTTP/2 RST_STREAM + GOAWAY, no response", reject_h2)

    def set_src():
        with Conn(p) as c:
            r = ask(c, "/headers", [("X-Real-IP", "10.1.2.3")])
            h = seen(r)
            assert "X-Forwarded-For: 10.1.2.3\r\n" in h, h
            assert "X-Src: 10.1.2.3:4242\r\n" in h, h
            r = ask(c, "/headers", [("X-Real-IP", "2001:db8::7")])
            h = seen(r)
            assert "X-Forwarded-For: 2001:db8::7\r\n" in h and "X-Src: 2001:db8::7:4242" in h, h
            # the connection's next request: its own source again
            r = ask(c, "/headers")
            h = seen(r)
            assert "X-Forwarded-For: 127.0.0.1\r\n" in h, h
            assert "X-Src: 127.0.0.1:" in h and ":4242" not in h, h
        r = request(p, "GET", "/headers", headers=[("X-Real-IP", "not an address")])
        assert "X-Forwarded-For: 127.0.0.1\r\n" in seen(r), seen(r)
        # the PROXY header to a send-proxy server
        r = request(p, "GET", "/pp", headers=[("X-Real-IP", "10.9.8.7")])
        assert r.status == 200, r.status
        conns = [c for c in origin.snapshot() if "/pp" in c["paths"]]
        assert conns and conns[0]["pp"].startswith(b"PROXY TCP4 10.9.8.7 "), conns
        assert conns[0]["pp"].split()[4] == b"4242" and conns[0]["xff"] == ["10.9.8.7"], conns

    t.case("set-src / set-src-port: X-Forwarded-For, src fetches, next request", set_src)

    def tos_mark():
        with Conn(p) as c:
            cport = c.sock.getsockname()[1]
            r = ask(c, "/tos")
            assert r.status == 203, r.status  # the server's 404, returned
            out = subprocess.run(["ss", "-tnie", "--tos", "state", "established",
                                  "( sport = :%d and dport = :%d )" % (p, cport)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
            text = out.stdout.decode(errors="replace")
            assert "tos:0x20" in text, text
            assert "fwmark:0x2a" in text, text

    t.case("set-tos / set-mark on the client socket (ss --tos -e)", tos_mark)

    def early_hint_h1():
        rc, out, err = lib.curl(["-v", "-o", "/dev/null", "http://%s:%d/eh" % (HOST, p)])
        assert rc == 0, (rc, err)
        i103 = err.find("< HTTP/1.1 103 Early Hints")
        i200 = err.find("< HTTP/1.1 200")
        assert 0 <= i103 < i200, err
        hints = err[i103:i200]
        assert "< Link: </a.css>; rel=preload; as=style" in hints, hints
        assert "< Link: </b.js>; rel=preload; as=script" in hints, hints
        assert hints.count("103 Early Hints") == 1, hints
        # a conditional early-hint rule starts a 103 of its own (HAProxy 2.6.2 and later)
        rc, out, err = lib.curl(["-v", "-o", "/dev/null", "-H", "X-Two: 2",
                                 "http://%s:%d/eh" % (HOST, p)])
        assert rc == 0, (rc, err)
        hints = err[:err.find("< HTTP/1.1 200")]
        assert hints.count("< HTTP/1.1 103 Early Hints") == 2, hints
        assert hints.rfind("< X-Two: 2") > hints.rfind("103 Early Hints") > hints.rfind("b.js"), \
            hints
        # an HTTP/1.0 client gets the final answer only
        with Conn(p) as c:
            r = ask(c, "/eh", version="HTTP/1.0")
            assert r.status == 200 and "GET /headers HTTP/1.0" in seen(r), (r.status, seen(r))

    t.case("early-hint: 103 then 200 over HTTP/1.1, none to HTTP/1.0", early_hint_h1)

    def early_hint_h2():
        out = subprocess.run(["nghttp", "-v", "-t", "5", "http://%s:%d/eh" % (HOST, p)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        text = out.stdout.decode(errors="replace")
        i103 = text.find(":status: 103")
        i200 = text.find(":status: 200")
        assert out.returncode == 0 and 0 <= i103 < i200, text[-2000:]
        assert "link: </a.css>; rel=preload; as=style" in text[i103:i200], text[i103:i200]
        assert "link: </b.js>; rel=preload; as=script" in text[i103:i200], text[i103:i200]

    t.case("early-hint: 103 HEADERS then the response over HTTP/2", early_hint_h2)

    def strict_mode():
        r = request(p, "GET", "/headers", headers=[("X-Fill", fill)])
        assert r.status == 500, r.status
        # strict-mode off: the failed set-header is ignored, the later rules run
        r = request(p, "GET", "/soft", headers=[("X-Fill", fill)])
        h = seen(r)
        assert r.status == 200 and "X-After-Fail: yes\r\n" in h, (r.status, h[-300:])
        assert not ("X-Big:" in h and "X-Big2:" in h), h[-300:]
        r = request(p, "GET", "/headers", headers=[("X-Fill", "small")])
        h = seen(r)
        assert r.status == 200 and "X-Big2: smallsmallsmall\r\n" in h, (r.status, h[-300:])

    t.case("strict-mode: a failed rewrite answers 500, ignored when off", strict_mode)

    def l7_retry():
        # sp-testbackend's /stats does not count itself
        before = b2.counters()["requests"]
        r = request(p, "GET", "/status/503")
        assert r.status == 503, r.status
        mid = b2.counters()["requests"]
        r = request(p, "GET", "/status/503", headers=[("X-Noretry", "1")])
        assert r.status == 503, r.status
        after = b2.counters()["requests"]
        assert mid - before == 3, (before, mid)
        assert after - mid == 1, (mid, after)

    t.case("disable-l7-retry: one try where retry-on 503 makes three", l7_retry)

    def priority():
        # one connection to the server: /pq/hang holds it 900 ms while three more queue; the
        # queue serves class -1 first, then offset -2000, then the ordinary one
        done = []
        lock = threading.Lock()

        def go(name, hdrs, path="/pq"):
            with Conn(p) as c:
                r = ask(c, path, hdrs)
                with lock:
                    done.append((name, r.status, seen(r)))

        hold = threading.Thread(target=go, args=("hang", [], "/pq/hang"))
        hold.start()
        time.sleep(0.15)
        th = []
        for name, hdrs in (("plain", []), ("offset", [("X-Vip", "2")]),
                           ("class", [("X-Vip", "1")])):
            th.append(threading.Thread(target=go, args=(name, hdrs, "/pq?" + name)))
            th[-1].start()
            time.sleep(0.05)
        for x in th + [hold]:
            x.join(10)
        assert len(done) == 4 and all(d[1] == 200 for d in done if d[0] != "hang"), done
        # the order spillway served them in: its access log's (one worker)
        def served():
            text = open(log).read()
            return [n for ln in text.splitlines() for n in ("plain", "offset", "class")
                    if ('"GET /pq?%s ' % n) in ln]
        lib.wait_until(lambda: len(served()) == 3, 5)
        assert served() == ["class", "offset", "plain"], served()
        prio = {d[0]: d[2].split("X-Prio: ", 1)[1].split("\r\n", 1)[0] for d in done
                if d[0] != "hang"}
        assert prio == {"class": "-1/0", "offset": "0/-2000", "plain": "0/0"}, prio

    t.case("set-priority-class / -offset: the server queue's order, prio_* fetches", priority)

    def logs():
        s.stop()
        text = open(log).read()
        lines = [ln for ln in text.splitlines() if "/reject HTTP/" in ln]
        assert len(lines) >= 2 and all(" PR-- " in ln for ln in lines), lines
        lines = [ln for ln in text.splitlines() if "src=10.1.2.3" in ln]
        assert lines and lines[0].startswith("10.1.2.3:4242 "), lines
        lines = [ln for ln in text.splitlines() if '"GET /status/404 ' in ln]
        assert lines and " 203 LH-- " in lines[0], lines

    t.case("access log: reject PR, set-src %ci:%cp, http-response return LH", logs)

    def check_errors():
        bad = TMO + """
frontend fe
    bind %s:%d
    http-request set-nice 10
    http-request set-priority-class
    http-request set-tos 0x300
    http-request early-hint Link
    http-request strict-mode maybe
    http-response reject
    http-after-response return status 200
    http-request set-src
    http-request set-mark x1
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
        for line, what in ((9, "'set-nice' is not supported by spillway"),
                           (10, "expects a sample expression"),
                           (11, "from 0 to 255"), (12, "expects exactly 2 arguments"),
                           (13, "expects 'on' or 'off'"), (14, "'reject'"),
                           (15, "'return'"), (16, "expects a sample expression"),
                           (17, "invalid value 'x1'")):
            assert ("bad.cfg:%d" % line) in text and what in text, (line, what, text)

    t.case("-c names each bad rule with file:line", check_errors)
    tune_vars(t, b1)
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


def tune_vars(t, b1):
    """each variable counts its entry (48 bytes in spillway) plus its value's bytes"""
    p = free_port()
    cfg = """global
    tune.vars.txn-max-size 250
    tune.vars.reqres-max-size 120
    tune.vars.sess-max-size 300
%s
frontend fe
    bind %s:%d
    http-request set-var(txn.a) str(aaaaaaaaaa)
    http-request set-var(txn.b) req.hdr(x-b)
    http-request set-var(req.r) req.hdr(x-r) if { req.hdr(x-r) -m found }
    http-request set-var(sess.s) req.hdr(x-s) if { req.hdr(x-s) -m found }
    http-request set-header X-A %%[var(txn.a)]
    http-request set-header X-B %%[var(txn.b)]
    http-request set-header X-R %%[var(req.r)]
    http-request set-header X-S %%[var(sess.s)]
    default_backend be
backend be
    server s1 %s:%d
""" % (TMO, HOST, p, HOST, b1.port)
    t.spillway(cfg, port=p)

    def got(c, hdrs):
        r = ask(c, "/headers", hdrs)
        assert r.status == 200, r.status
        h = r.body.decode(errors="replace")
        # the value each set-header gave ("-": the variable is not set)
        return {n: h.split("\r\n%s: " % n, 1)[1].split("\r\n", 1)[0]
                for n in ("X-A", "X-B", "X-R", "X-S")}

    def limits():
        with Conn(p) as c:
            v = got(c, [("X-B", "b" * 10), ("X-R", "r" * 10)])
            assert v["X-A"] == "a" * 10 and v["X-B"] == "b" * 10 and v["X-R"] == "r" * 10, v
            v = got(c, [("X-B", "b" * 200)])  # 58 + 248 > txn 250
            assert v["X-A"] == "a" * 10 and v["X-B"] == "-", v
            v = got(c, [("X-B", "b"), ("X-R", "r" * 100)])  # 148 > reqres 120
            assert v["X-B"] == "b" and v["X-R"] == "-", v
        with Conn(p) as c:
            # sess counts the transaction's: 116 + 148 fits in 300, 174 + 148 does not
            v = got(c, [("X-B", "b" * 10), ("X-R", "r" * 10), ("X-S", "s" * 100)])
            assert v["X-R"] == "r" * 10 and v["X-S"] == "-", v
            v = got(c, [("X-B", "b" * 10), ("X-S", "s" * 100)])
            assert v["X-S"] == "s" * 100, v
            # the next request of the connection: the last one's share was released
            v = got(c, [("X-B", "b" * 10)])
            assert v["X-A"] == "a" * 10 and v["X-B"] == "b" * 10 and v["X-S"] == "s" * 100, v

    t.case("tune.vars.*-max-size: txn, reqres, sess (hierarchical), released", limits)


if __name__ == "__main__":
    Suite("hrules2").run(main)
