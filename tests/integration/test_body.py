#!/usr/bin/env python3
"""Issue 20: the request body in http rules, seen from outside.

`option http-buffer-request` waits for the body before the frontend's rules so that they read
it (req.body, req.body_len, req.body_size, req.body_param), over HTTP/1.1 (content-length and
chunked) and HTTP/2; `http-request wait-for-body time T [at-least N]` pauses the rules at its
place (what the rules before it did is kept; `at-least` lets them go on with part of the body;
its time running out is HAProxy 2.6's 408); a body larger than the buffer reaches the server
whole while the rules see its first part; `timeout http-request` bounds the buffering (408);
the stats page's POST answer waits for its body; `-c` refuses what spillway does not do.

sp-testbackend's /echo returns the request head and the decoded body it received: each check
asserts what the server saw and what the client got.
"""

import os
import socket
import subprocess
import time

import h2client
import lib
from lib import HOST, SPILLWAY, Suite, free_port

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def curl_post(port, path, data_file, h2=False, chunked=False, extra=()):
    args = ["-i", "--data-binary", "@" + data_file, "-H", "Content-Type: application/x-www-form-urlencoded"]
    if h2:
        args.append("--http2-prior-knowledge")
    if chunked:
        args += ["-H", "Transfer-Encoding: chunked"]
    args += list(extra)
    rc, out, err = lib.curl(args + ["http://%s:%d%s" % (HOST, port, path)])
    assert rc == 0, (rc, err)
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    while out.startswith(interim):
        out = out[len(interim):]
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), body


def status_of(head):
    return int(head.split(None, 2)[1])


def echoed(body):
    """(head the server received, body it received) from /echo's answer."""
    h, _, b = body.partition(b"\r\n\r\n")
    return h.decode(errors="replace"), b


def field(head, name):
    for line in head.split("\r\n"):
        n, _, v = line.partition(":")
        if n.strip().lower() == name.lower():
            return v.strip()
    return None


def raw_conn(port):
    s = socket.create_connection((HOST, port), timeout=5)
    return s


def read_all(s, limit=5.0):
    """Everything until the server closes or `limit` seconds pass."""
    s.settimeout(limit)
    out = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
        if b"\r\n\r\n" in out:
            h, _, rest = out.partition(b"\r\n\r\n")
            cl = field(h.decode(errors="replace"), "content-length")
            if cl is not None and len(rest) >= int(cl):
                break
    return out


def main(t):
    b1 = t.backend("b1")
    p1, p2, p3, p4 = free_port(), free_port(), free_port(), free_port()
    cfg = """global
    tune.bufsize 16384
%s
frontend fe
    bind %s:%d
    option http-buffer-request
    timeout http-request 400ms
    http-request deny if { req.body -m sub forbidden }
    http-request set-header X-Len %%[req.body_len]
    http-request set-header X-Size %%[req.body_size]
    http-request set-header X-User %%[req.body_param(user)] if { req.body_param(user) -m found }
    http-request set-header X-Any %%[req.body_param] if { query any }
    default_backend be

frontend fe2
    bind %s:%d
    http-request set-var(txn.before) req.body_len
    http-request set-header X-Early %%[req.body_len]
    http-request wait-for-body time 600ms at-least 10 if { query least }
    http-request wait-for-body time 300ms if { query time }
    http-request wait-for-body time 3s if { query long }
    http-request set-header X-Before %%[var(txn.before)]
    http-request set-header X-After %%[req.body_len]
    default_backend be

frontend fe3
    bind %s:%d
    timeout http-request 2s
    stats enable
    stats uri /stats
    default_backend be

frontend fe4
    bind %s:%d
    default_backend bbuf

backend be
    server s1 %s:%d

backend bbuf
    option http-buffer-request
    http-request set-header X-Be-Len %%[req.body_len]
    server s1 %s:%d
""" % (TMO, HOST, p1, HOST, p2, HOST, p3, HOST, p4, HOST, b1.port, HOST, b1.port)
    sp = t.spillway(cfg, port=p1)
    d = t.dir

    def wfile(name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    form = wfile("form", b"a=1&user=alice&x=2")
    bad = wfile("bad", b"a=1&this is forbidden here")
    big = bytes((i * 7 + 3) % 251 for i in range(200000))
    bigf = wfile("big", big)

    # -- option http-buffer-request over HTTP/1 (content-length, chunked) and HTTP/2 --
    def deny(h2, chunked):
        head, _ = curl_post(p1, "/echo", bad, h2=h2, chunked=chunked)
        assert status_of(head) == 403, head

    def passes(h2, chunked):
        head, body = curl_post(p1, "/echo", form, h2=h2, chunked=chunked)
        assert status_of(head) == 200, head
        sh, sb = echoed(body)
        assert sb == b"a=1&user=alice&x=2", sb
        assert field(sh, "x-len") == "18", sh
        assert field(sh, "x-size") == "18", sh
        assert field(sh, "x-user") == "alice", sh
        if chunked and not h2:
            assert field(sh, "transfer-encoding") == "chunked", sh

    for h2, chunked, name in ((False, False, "h1 content-length"), (False, True, "h1 chunked"),
                              (True, False, "h2")):
        t.case("buffer-request: req.body deny (%s)" % name, deny, h2, chunked)
        t.case("buffer-request: body intact, req.body_len/size/param (%s)" % name, passes, h2,
               chunked)

    def expect_100():
        # HAProxy answers 100 Continue itself when it waits for the body, and drops the field
        t0 = time.monotonic()
        head, body = curl_post(p1, "/echo", form, extra=("-H", "Expect: 100-continue"))
        el = time.monotonic() - t0
        assert status_of(head) == 200, head
        sh, sb = echoed(body)
        assert sb == b"a=1&user=alice&x=2" and field(sh, "expect") is None, (sh, sb)
        assert el < 0.8, "curl waited %.2fs for its 100 Continue" % el

    t.case("buffer-request: Expect: 100-continue answered, not forwarded", expect_100)

    def any_param():
        head, body = curl_post(p1, "/echo?any", form)
        sh, _ = echoed(body)
        assert field(sh, "x-any") == "1", sh  # req.body_param without a name: the first value

    t.case("req.body_param without a name", any_param)

    # -- a body larger than the buffer: the rules see its first part, the server all of it --
    def bigbody(h2, chunked):
        head, body = curl_post(p1, "/echo", bigf, h2=h2, chunked=chunked)
        assert status_of(head) == 200, head
        sh, sb = echoed(body)
        assert sb == big, "server got %d bytes, not the %d sent" % (len(sb), len(big))
        n = int(field(sh, "x-len"))
        assert 0 < n < len(big), n
        if not chunked:
            assert field(sh, "x-size") == str(len(big)), sh

    for h2, chunked, name in ((False, False, "h1 content-length"), (False, True, "h1 chunked"),
                              (True, False, "h2")):
        t.case("body larger than tune.bufsize reaches the server whole (%s)" % name, bigbody, h2,
               chunked)

    # -- timeout http-request bounds the buffering: 408 --
    def buffer_timeout():
        s = raw_conn(p1)
        t0 = time.monotonic()
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n0123456789")
        out = read_all(s, 4)
        el = time.monotonic() - t0
        s.close()
        assert out.startswith(b"HTTP/1.1 408"), out[:200]
        assert 0.3 < el < 3, el

    t.case("buffer-request: timeout http-request answers 408", buffer_timeout)

    # -- the backend's option http-buffer-request: before the backend's rules --
    def be_buffer():
        s = raw_conn(p4)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 12\r\n\r\n")
        time.sleep(0.15)
        s.sendall(b"hello ")
        time.sleep(0.15)
        s.sendall(b"world!")
        out = read_all(s, 4)
        s.close()
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        sh, sb = echoed(out.partition(b"\r\n\r\n")[2])
        assert field(sh, "x-be-len") == "12", sh
        assert sb == b"hello world!", sb

    t.case("backend option http-buffer-request: its rules see the body", be_buffer)

    # -- wait-for-body at its place in the rules --
    def at_least():
        s = raw_conn(p2)
        s.sendall(b"POST /echo?least HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 20\r\n\r\n")
        time.sleep(0.2)
        s.sendall(b"0123456789ab")
        time.sleep(0.3)
        s.sendall(b"cdefghij")
        out = read_all(s, 4)
        s.close()
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        sh, sb = echoed(out.partition(b"\r\n\r\n")[2])
        assert field(sh, "x-before") == "0", sh  # the rule before the pause ran once, before
        assert field(sh, "x-early") == "0", sh  # and its edit of the message was kept
        assert field(sh, "x-after") == "12", sh  # at-least 10: on with 12 of the 20 bytes
        assert sb == b"0123456789abcdefghij", sb

    t.case("wait-for-body at-least: rules go on with part of the body, earlier ones kept",
           at_least)

    def whole_in_time():
        s = raw_conn(p2)
        s.sendall(b"POST /echo?time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        time.sleep(0.1)
        s.sendall(b"5\r\nhello\r\n")
        time.sleep(0.1)
        s.sendall(b"6\r\n world\r\n0\r\n\r\n")
        out = read_all(s, 4)
        s.close()
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        sh, sb = echoed(out.partition(b"\r\n\r\n")[2])
        assert field(sh, "x-after") == "11", sh
        assert sb == b"hello world", sb

    t.case("wait-for-body: a chunked body complete in time", whole_in_time)

    def time_runs_out():
        s = raw_conn(p2)
        t0 = time.monotonic()
        s.sendall(b"POST /echo?time HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n01234")
        out = read_all(s, 4)
        el = time.monotonic() - t0
        s.close()
        assert out.startswith(b"HTTP/1.1 408"), out[:200]  # HAProxy 2.6: http_wait_for_msg_body()
        assert 0.2 < el < 2.5, el

    t.case("wait-for-body: its time running out answers 408", time_runs_out)

    def others_go_on():
        # a paused request does not hold the worker: another connection is served meanwhile
        s = raw_conn(p2)
        s.sendall(b"POST /echo?long HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n01234")
        t0 = time.monotonic()
        r = lib.request(p2, "GET", "/echo")
        el = time.monotonic() - t0
        s.close()
        assert r.status == 200 and el < 2, (r.status, el)

    t.case("a paused request does not hold the worker", others_go_on)

    def h2_wait():
        head, body = curl_post(p2, "/echo?least", form, h2=True)
        assert status_of(head) == 200, head
        sh, sb = echoed(body)
        assert sb == b"a=1&user=alice&x=2", sb
        assert int(field(sh, "x-after")) >= 10, sh

    t.case("wait-for-body over HTTP/2", h2_wait)

    def h2_frames():
        # HTTP/2 by hand: a stream paused at-least 10 bytes goes on with 12 of its 20, a stream
        # whose wait runs out gets its 408, and another stream is served meanwhile
        c = h2client.H2(p2)
        try:
            a = c.new_stream()
            c.send(c.headers_frames(a, c.req_fields("POST", "/echo?least",
                                                    extra=[("content-length", "20")]),
                                    end_stream=False))
            b = c.new_stream()
            t0 = time.monotonic()
            c.send(c.headers_frames(b, c.req_fields("POST", "/echo?time",
                                                    extra=[("content-length", "20")]),
                                    end_stream=False) + c.frame(h2client.DATA, 0, b, b"01234"))
            ln = c.new_stream()
            c.send(c.headers_frames(ln, c.req_fields("POST", "/echo?long",
                                                     extra=[("content-length", "20")]),
                                    end_stream=False))
            g = c.get("/echo")
            assert g.status == 200 and not c.streams[ln].done(), g.status
            c.send(c.rst(ln))
            time.sleep(0.1)
            c.send(c.frame(h2client.DATA, 0, a, b"0123456789ab"))
            time.sleep(0.1)
            c.send(c.frame(h2client.DATA, h2client.END_STREAM, a, b"cdefghij"))
            sa, sb = c.streams[a], c.streams[b]
            c.pump(lambda: sa.done() and sb.done(), 4)
            el = time.monotonic() - t0
            assert sa.status == 200, sa.status
            sh, body = echoed(bytes(sa.data))
            assert field(sh, "x-before") == "0" and field(sh, "x-after") == "12", sh
            assert body == b"0123456789abcdefghij", body
            assert sb.status == 408 and 0.2 < el < 2.5, (sb.status, el)
        finally:
            c.close()

    t.case("HTTP/2: at-least, the wait's 408, other streams go on", h2_frames)

    def keepalive():
        # paused and buffered requests one after the other on one connection, then two
        # chunked requests in one packet (the second waits in the buffer behind the first)
        with lib.Conn(p1) as c:
            for body in (b"user=bob", b"a=2&user=carol&z=" + b"9" * 3000):
                out, r = lib.send(c, "POST", "/echo", body=body)
                assert out == "200", out
                sh, sb = echoed(r.body)
                assert sb == body and field(sh, "x-len") == str(len(body)), sh
            two = b"".join(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"4\r\nuser\r\n2\r\n=%d\r\n0\r\n\r\n" % i for i in (1, 2))
            c.send(two)
            for i in (1, 2):
                r = c.read_response(timeout=4)
                sh, sb = echoed(r.body)
                assert r.status == 200 and sb == b"user=%d" % i, (r.status, sb)
                assert field(sh, "x-user") == str(i), sh

    t.case("keep-alive and pipelined requests through the buffering", keepalive)

    def pipelined_pause():
        # the paused request's head sits behind another in the read buffer: the body that
        # fills the buffer moves it to the front while the rules wait (their message follows)
        body = bytes(65 + i % 26 for i in range(15000))
        with lib.Conn(p1) as c:
            c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 2000 + b"\r\n\r\n"
                   b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Marker: abc\r\nContent-Length: 15000\r\n\r\n")
            r1 = c.read_response(timeout=4)
            assert r1.status == 200, r1.status
            time.sleep(0.05)
            c.send(body)
            r2 = c.read_response(timeout=4)
            sh, sb = echoed(r2.body)
            assert r2.status == 200 and sb == body, (r2.status, len(sb))
            assert field(sh, "x-marker") == "abc" and field(sh, "host") == "x", sh
            assert field(sh, "x-len") == "15000", sh

    t.case("a paused request behind another in the buffer keeps its head", pipelined_pause)

    # -- the stats page's POST answers once its body is in --
    def stats_post():
        s = raw_conn(p3)
        s.sendall(b"POST /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 21\r\n\r\n"
                  b"action=x")
        s.settimeout(0.25)
        early = b""
        try:
            early = s.recv(100)
        except socket.timeout:
            pass
        s.sendall(b"&s=srv1&b=be1")
        out = early + read_all(s, 4)
        s.close()
        assert early == b"", early[:100]
        # no `stats admin` here: HAProxy's answer to the POST, a 303 to the page with DENY
        assert out.startswith(b"HTTP/1.1 303") and b";st=DENY\r\n" in out, out[:200]

    t.case("stats page POST: the answer waits for the body", stats_post)

    def stats_post_h2():
        c = h2client.H2(p3)
        try:
            a = c.new_stream()
            c.send(c.headers_frames(a, c.req_fields("POST", "/stats",
                                                    extra=[("content-length", "21")]),
                                    end_stream=False) + c.frame(h2client.DATA, 0, a, b"action=x"))
            sa = c.streams[a]
            c.pump(lambda: sa.status is not None, 0.25)
            assert sa.status is None, sa.status
            c.send(c.frame(h2client.DATA, h2client.END_STREAM, a, b"&s=srv1&b=be1"))
            c.pump(lambda: sa.done(), 4)
            # no `stats admin` here: a 303 to the page with DENY, as over HTTP/1
            assert sa.status == 303, sa.status
        finally:
            c.close()

    t.case("stats page POST over HTTP/2: the answer waits for the body", stats_post_h2)

    def bad_chunk():
        s = raw_conn(p1)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\nzz\r\n")
        out = read_all(s, 3)
        s.close()
        assert out.startswith(b"HTTP/1.1 400"), out[:200]

    t.case("buffer-request: a chunked framing error answers 400", bad_chunk)

    # -- configuration errors --
    def refused(snippet, what):
        path = os.path.join(d, "bad.cfg")
        with open(path, "w") as f:
            f.write(TMO + "frontend f\n    bind %s:%d\n%s\n    default_backend be\nbackend be\n"
                    "    server s1 %s:%d\n" % (HOST, free_port(), snippet, HOST, b1.port))
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0 and what in out and "bad.cfg:" in out, out

    t.case("-c: http-response wait-for-body refused",
           refused, "    http-response wait-for-body time 1s", "not supported by spillway")
    t.case("-c: wait-for-body without time refused",
           refused, "    http-request wait-for-body", "time")
    t.case("-c: req.body_param takes one argument (2.6)",
           refused, "    http-request set-header X %[req.body_param(a,i)]", "argument")

    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("body").run(main)
