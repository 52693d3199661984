#!/usr/bin/env python3
"""HTTP compression (`compression algo|type|offload`) as HAProxy 2.6 does it, driven from
outside: one spillway with three frontends in front of sp-testbackend and a real nginx, curl
over HTTP/1.1 and HTTP/2 (prior knowledge), raw sockets for exact heads.

fe1: `compression algo gzip deflate` (HAProxy's list: deflate first), no type list.
fe2: `compression algo gzip`, `compression type text/html text/plain`, `compression offload`.
fe3: no compression itself; backend be_comp (paths /size/...) has `compression algo gzip`.

Checks: Content-Encoding, Vary, no Content-Length, chunked framing, decoded bodies identical
byte for byte (H1 and H2), the negotiation (q=0, "*", deflate), every skip condition (no
Accept-Encoding, already encoded, no-transform, multipart, listed types, 304, 404, HEAD,
Content-Length: 0, HTTP/1.0 request), ETag made weak, offload (the server does not see
Accept-Encoding, and does when nothing was chosen), a stalled client with incompressible data
(back-pressure: bounded RSS, every byte arrives), client aborts (h1, h2) and a server cut
mid-body, the comp_* counters in the CSV and Prometheus, no sanitizer report.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import zlib

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2client import H2  # noqa: E402
from lib import (HOST, Conn, SetupError, Suite, can_connect, curl, free_port,  # noqa: E402
                 no_sanitizer_report, pattern_bytes, request, wait_until)

RAND_SIZE = 12 * 1024 * 1024  # incompressible: the stalled-client check
TEXT_SIZE = 6 * 1024 * 1024
# growth allowed while the client reads nothing: the kernel holds some MiB of the 12 on
# each side; spillway itself, a zlib state and a few 16 KiB buffers
STALL_RSS_KIB = 4 * 1024


def start_nginx(t, port):
    """nginx on HOST:port serving t.dir/www with a few types, its pid file in t.dir."""
    if not shutil.which("nginx"):
        raise SetupError("nginx not installed")
    d = os.path.join(t.dir, "nginx")
    for sub in ("logs", "tmp", "www/ngx"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    user = "user root;" if os.getuid() == 0 else ""
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/logs/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path %s/tmp;
    proxy_temp_path %s/tmp;
    fastcgi_temp_path %s/tmp;
    uwsgi_temp_path %s/tmp;
    scgi_temp_path %s/tmp;
    types { text/html html; text/plain txt; image/png png;
            application/octet-stream bin; }
    server {
        listen %s:%d;
        gzip off;
        etag on;
        root %s/www;
    }
}
""" % ((user,) + (d,) * 7 + (HOST, port, d)))
    proc = subprocess.Popen(["nginx", "-p", d, "-c", conf], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_until(lambda: can_connect(port), 5.0):
        proc.kill()
        raise SetupError("nginx did not listen on %d" % port)
    return proc, os.path.join(d, "www", "ngx")


def raw_get(port, path, headers=(), method="GET", version="HTTP/1.1"):
    """One request on a fresh connection; returns the Response (head fields, decoded framing:
    r.body is what came after the head, de-chunked)."""
    with Conn(port) as c:
        hdrs = [("Host", "t")] + list(headers) + [("Connection", "close")]
        raw = ("%s %s %s\r\n" % (method, path, version)).encode()
        raw += b"".join(("%s: %s\r\n" % h).encode() for h in hdrs) + b"\r\n"
        c.send(raw)
        return c.read_response(head_request=method == "HEAD")


def raw_hex(status_line, fields, body):
    """A /raw?hex= path for a response with these fields and a Content-Length body."""
    head = status_line + "\r\n" + "".join("%s: %s\r\n" % f for f in fields)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return "/raw?hex=" + (head.encode() + body).hex()


def gunzip(b, wbits=31):
    d = zlib.decompressobj(wbits)
    out = d.decompress(b) + d.flush()
    assert d.eof, "the compressed stream has no end"
    return out


def main(t):
    be = t.backend("b1")
    ngx_port = free_port()
    ngx, www = start_nginx(t, ngx_port)
    try:
        run(t, be, ngx_port, www, ngx)
    finally:
        ngx.terminate()
        try:
            ngx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            ngx.kill()


def run(t, be, ngx_port, www, ngx):
    rnd = random.Random(20)
    rand_data = rnd.randbytes(RAND_SIZE)
    words = [b"spillway", b"compress", b"proxy", b"haproxy", b"zlib", b"stream", b"\n"]
    block = b" ".join(rnd.choice(words) for _ in range(40000))  # ~256 KiB, beyond the window
    text = (block * (TEXT_SIZE // len(block) + 1))[:TEXT_SIZE]
    html = b"<html><body>" + b"<p>hello compression</p>" * 4000 + b"</body></html>"
    for name, data in (("rand.bin", rand_data), ("big.txt", text), ("page.html", html),
                       ("img.png", html)):
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)

    p1, p2, p3, pst = free_port(), free_port(), free_port(), free_port()
    cfg = """global
    nbthread 1
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 2s
frontend fe1
    bind {h}:{p1}
    compression algo gzip deflate
    use_backend be_ngx if {{ path_beg /ngx/ }}
    default_backend be_tb
frontend fe2
    bind {h}:{p2}
    compression algo gzip
    compression type text/html text/plain
    compression offload
    use_backend be_ngx if {{ path_beg /ngx/ }}
    default_backend be_tb
frontend fe3
    bind {h}:{p3}
    use_backend be_comp if {{ path_beg /size/ }}
    default_backend be_tb
frontend st
    bind {h}:{pst}
    stats enable
    stats uri /stats
    http-request use-service prometheus-exporter if {{ path /metrics }}
backend be_tb
    server s1 {h}:{tb}
backend be_ngx
    server n1 {h}:{ngx}
backend be_comp
    compression algo gzip
    server s1 {h}:{tb}
""".format(h=HOST, p1=p1, p2=p2, p3=p3, pst=pst, tb=be.port, ngx=ngx_port)
    sp = t.spillway(cfg, p1)
    wait_until(lambda: can_connect(p2) and can_connect(p3) and can_connect(pst), 5.0)
    ae_gzip = [("Accept-Encoding", "gzip")]
    compressed_fe1 = [0]

    def h1_gzip():
        r = raw_get(p1, "/size/300000", ae_gzip)
        assert r.status == 200, r
        assert r.header("content-encoding") == "gzip", r
        assert r.header("vary") == "Accept-Encoding", r
        assert r.header("content-length") is None, r
        assert r.header("transfer-encoding") == "chunked", r
        assert gunzip(r.body) == pattern_bytes(300000), "decoded body differs"
        compressed_fe1[0] += 1
    t.case("h1: gzip, chunked, Vary, no Content-Length, body identical", h1_gzip)

    def curl_h1_h2():
        for extra in ([], ["--http2-prior-knowledge"]):
            hdr = os.path.join(t.dir, "h")
            rc, out, err = curl(extra + ["--compressed", "-D", hdr,
                                         "http://%s:%d/ngx/big.txt" % (HOST, p1)])
            assert rc == 0, err
            with open(hdr, "rb") as f:
                head = f.read().decode().lower()
            # curl lists "deflate, gzip, ...": its first one that we have wins
            assert "content-encoding: deflate" in head, head
            assert "content-length" not in head, head
            assert "etag: w/\"" in head, "strong ETag not made weak: %s" % head
            assert out == text, "curl %s: %d bytes, differ" % (extra, len(out))
            compressed_fe1[0] += 1
    t.case("nginx 6 MiB text: curl --compressed h1 and h2, identical, weak ETag", curl_h1_h2)

    def h2_raw():
        rc, out, err = curl(["--http2-prior-knowledge", "-H", "Accept-Encoding: gzip", "-D", "-",
                             "-o", os.path.join(t.dir, "h2body"),
                             "http://%s:%d/size/100000" % (HOST, p1)])
        assert rc == 0, err
        head = out.decode().lower()
        assert "content-encoding: gzip" in head and "content-length" not in head, head
        with open(os.path.join(t.dir, "h2body"), "rb") as f:
            assert gunzip(f.read()) == pattern_bytes(100000)
        compressed_fe1[0] += 1
    t.case("h2: gzip as DATA frames, no content-length, body identical", h2_raw)

    def negotiation():
        r = raw_get(p1, "/size/5000", [("Accept-Encoding", "deflate")])
        assert r.header("content-encoding") == "deflate", r
        assert gunzip(r.body, 15) == pattern_bytes(5000)
        r = raw_get(p1, "/size/5000", [("Accept-Encoding", "*")])
        assert r.header("content-encoding") == "deflate", "'*': the first of HAProxy's list"
        r = raw_get(p1, "/size/5000", [("Accept-Encoding", "deflate;q=0.5, gzip;q=0.9")])
        assert r.header("content-encoding") == "gzip", r
        compressed_fe1[0] += 3
        for ae in ("gzip;q=0", "br", "identity"):
            r = raw_get(p1, "/size/5000", [("Accept-Encoding", ae)])
            assert r.header("content-encoding") is None, (ae, r)
            assert r.header("content-length") == "5000" and r.body == pattern_bytes(5000), ae
    t.case("negotiation: deflate, '*', q-values, refused and unknown codings", negotiation)

    def skips():
        r = raw_get(p1, "/size/5000")
        assert r.header("content-encoding") is None and r.header("content-length") == "5000"
        assert r.body == pattern_bytes(5000)
        body = b"already-compressed-bytes" * 10
        cases = [
            ("HTTP/1.1 200 OK", [("Content-Encoding", "br")], "already encoded"),
            ("HTTP/1.1 200 OK", [("Cache-Control", "public, no-transform")], "no-transform"),
            ("HTTP/1.1 200 OK", [("Content-Type", "multipart/mixed; boundary=x")], "multipart"),
            ("HTTP/1.1 200 OK", [("ETag", "bad-etag")], "invalid ETag"),
            ("HTTP/1.1 206 Partial", [("Content-Range", "bytes 0-239/999")], "206"),
            ("HTTP/1.0 200 OK", [], "HTTP/1.0 response"),
        ]
        r = raw_get(p1, raw_hex("HTTP/1.1 200 OK", [], b""), ae_gzip)
        assert r.header("content-encoding") is None and r.header("content-length") == "0", r
        for line, fields, why in cases:
            r = raw_get(p1, raw_hex(line, fields, body), ae_gzip)
            assert r.header("content-encoding") in (None, "br"), (why, r)
            assert r.body == body, why
        r = raw_get(p1, "/raw?hex=" + b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n".hex(),
                    ae_gzip)
        assert r.status == 304 and r.header("content-encoding") is None, r
        r = raw_get(p1, "/status/404", ae_gzip)
        assert r.status == 404 and r.header("content-encoding") is None, r
        r = raw_get(p1, "/size/5000", ae_gzip, method="HEAD")
        assert r.header("content-encoding") is None and r.header("content-length") == "5000", r
        r = raw_get(p1, "/size/5000", ae_gzip, version="HTTP/1.0")
        assert r.header("content-encoding") is None and r.body == pattern_bytes(5000), r
        # a strong ETag on a compressed response turns weak
        r = raw_get(p1, raw_hex("HTTP/1.1 200 OK", [("ETag", '"v1"')], body), ae_gzip)
        assert r.header("content-encoding") == "gzip" and r.header("etag") == 'W/"v1"', r
        assert gunzip(r.body) == body
        compressed_fe1[0] += 1
    t.case("skips: no Accept-Encoding, encoded, no-transform, multipart, bad ETag, 206, CL 0, "
           "1.0 response, 304, 404, HEAD, 1.0 request; ETag made weak", skips)

    def types_and_offload():
        r = raw_get(p2, "/ngx/page.html", ae_gzip)
        assert r.header("content-encoding") == "gzip", r
        assert gunzip(r.body) == html
        r = raw_get(p2, "/ngx/img.png", ae_gzip)
        assert r.header("content-encoding") is None and r.body == html, r
        r = raw_get(p2, "/size/500", ae_gzip)  # no Content-Type, a list is configured
        assert r.header("content-encoding") is None, r
        # offload: the server does not see the field once an algorithm was chosen
        r = raw_get(p2, "/headers", ae_gzip + [("X-Probe", "1")])
        assert b"x-probe: 1" in r.body.lower(), r.body
        assert b"accept-encoding" not in r.body.lower(), r.body
        rc, out, err = curl(["--http2-prior-knowledge", "-H", "Accept-Encoding: gzip",
                             "http://%s:%d/headers" % (HOST, p2)])
        assert rc == 0 and b"accept-encoding" not in out.lower(), (err, out)
        # ...and does when nothing was chosen, or without offload
        r = raw_get(p2, "/headers", [("Accept-Encoding", "br")])
        assert b"accept-encoding: br" in r.body.lower(), r.body
        r = raw_get(p1, "/headers", [("Accept-Encoding", "identity")])
        assert b"accept-encoding: identity" in r.body.lower(), r.body
    t.case("type list (nginx html yes, png no, none no) and offload (h1, h2)",
           types_and_offload)

    def backend_side():
        r = raw_get(p3, "/headers", ae_gzip)
        assert r.header("content-encoding") is None, r
        r = raw_get(p3, "/size/50000", ae_gzip)
        assert r.header("content-encoding") == "gzip", r
        assert gunzip(r.body) == pattern_bytes(50000)
    t.case("compression in the backend alone applies; none elsewhere", backend_side)

    def stalled_client():
        # incompressible bytes, a client that reads nothing for a while: the server side
        # must stop at the buffers, not pile the body up in spillway
        rss0 = sp.mem()[0]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(20)
        s.connect((HOST, p1))
        s.sendall(b"GET /ngx/rand.bin HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
                  b"Connection: close\r\n\r\n")
        time.sleep(1.0)
        rss1 = sp.mem()[0]
        assert rss1 - rss0 < STALL_RSS_KIB, "RSS grew %d KiB while stalled" % (rss1 - rss0)
        chunks = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
        s.close()
        data = b"".join(chunks)
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"content-encoding: gzip" in head.lower(), head
        out, pos = [], 0
        while True:  # de-chunk
            eol = body.index(b"\r\n", pos)
            n = int(body[pos:eol].split(b";")[0], 16)
            if n == 0:
                break
            out.append(body[eol + 2: eol + 2 + n])
            pos = eol + 2 + n + 2
        assert gunzip(b"".join(out)) == rand_data, "12 MiB random body differs"
        compressed_fe1[0] += 1
        print("# stalled client: RSS %d -> %d KiB" % (rss0, rss1))
    t.case("stalled client, 12 MiB incompressible: bounded RSS, every byte", stalled_client)

    def counters():
        rc, out, err = curl(["http://%s:%d/stats;csv" % (HOST, pst)])
        assert rc == 0, err
        lines = out.decode().splitlines()
        cols = lines[0].lstrip("# ").split(",")
        rows = {tuple(x.split(",")[:2]): dict(zip(cols, x.split(","))) for x in lines[1:] if x}
        fe1 = rows[("fe1", "FRONTEND")]
        cin, cout, crsp = int(fe1["comp_in"]), int(fe1["comp_out"]), int(fe1["comp_rsp"])
        assert crsp == compressed_fe1[0], "comp_rsp %d, expected %d" % (crsp, compressed_fe1[0])
        assert cin > RAND_SIZE + TEXT_SIZE and 0 < cout < cin, fe1
        assert int(rows[("fe3", "FRONTEND")]["comp_rsp"]) == 1  # the backend's setting
        assert int(rows[("be_ngx", "BACKEND")]["comp_in"]) > RAND_SIZE
        assert fe1["comp_byp"] == "0"
        rc, out, err = curl(["http://%s:%d/metrics" % (HOST, pst)])
        text_m = out.decode()
        want = 'haproxy_frontend_http_comp_bytes_in_total{proxy="fe1"} %d' % cin
        assert want in text_m, want
        assert 'haproxy_backend_http_comp_responses_total{proxy="be_ngx"}' in text_m
    t.case("comp_in/out/rsp in the CSV and Prometheus", counters)

    def aborts():
        # the client leaves mid-body, the server cuts its body: the compressor's state goes
        # with the transaction either way (the sanitizer build checks for leaks at exit)
        # (h1: the body comes 300 ms after the head, to a client gone by then; a client that
        # resets while spillway waits for room to write is not noticed at all, compression
        # or not: a limit of spillway's HTTP/1 side, not exercised here)
        s = socket.create_connection((HOST, p1), timeout=10)
        s.sendall(b"GET /slowbody/300 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head = s.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and b"gzip" in head, head
        s.close()
        with H2(p1) as h:  # a stream reset once its first DATA came
            sid, _ = h.request("GET", "/ngx/rand.bin", extra=[("accept-encoding", "gzip")])
            st = h.streams[sid]
            assert h.pump(lambda: len(st.data) > 0 or st.done(), 10), "no DATA"
            assert not st.done(), "the stream ended already"
            h.send(h.rst(sid))
            # this client sends no WINDOW_UPDATE: the connection's window is spent, so the
            # next check goes over a connection of its own
        rc, out, err = curl(["--http2-prior-knowledge", "--compressed",
                             "http://%s:%d/size/1000" % (HOST, p1)])
        assert rc == 0 and out == pattern_bytes(1000), (rc, err)
        s = socket.create_connection((HOST, p1), timeout=10)
        s.sendall(b"GET /cut/100000?mode=chunked HTTP/1.1\r\nHost: t\r\n"
                  b"Accept-Encoding: gzip\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        assert b"content-encoding: gzip" in data.lower(), data[:300]
        assert not data.endswith(b"\r\n0\r\n\r\n"), "a cut body was ended as complete"
        r = raw_get(p1, "/size/1000", ae_gzip)
        assert gunzip(r.body) == pattern_bytes(1000), "the next request"
    t.case("client aborts (h1, h2) and a server cut mid-body", aborts)

    if ngx.poll() is not None:
        t.not_ok("nginx", "exited with %s" % ngx.returncode)
    t.case("no sanitizer report", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("compress").run(main)
