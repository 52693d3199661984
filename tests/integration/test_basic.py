#!/usr/bin/env python3
"""Basic proxying: methods, body framings both ways, forwarded-for, hop-by-hop fields,
pipelining and Expect: 100-continue."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Conn, Suite, config, curl, free_port, pattern_bytes, request  # noqa: E402


def checksum(data):
    return "bytes=%d sum=%d\n" % (len(data), sum(data) % 2**32)


def echo_head_lines(resp):
    """The request head the backend received, as a list of lines (no CRLF)."""
    head = resp.body.split(b"\r\n\r\n", 1)[0]
    return [ln.decode(errors="replace") for ln in head.split(b"\r\n")]


def fields(lines, name):
    return [ln.split(":", 1)[1].strip() for ln in lines[1:]
            if ":" in ln and ln.split(":", 1)[0].strip().lower() == name.lower()]


def main(t):
    be = t.backend("b1")
    port = free_port()
    t.spillway(config(port, [("s1", be.port)]), port)
    url = "http://127.0.0.1:%d" % port
    blob = os.urandom(300000)
    blob_path = os.path.join(t.dir, "blob.bin")
    with open(blob_path, "wb") as f:
        f.write(blob)

    def get():
        rc, out, err = curl(["-o", "-", "-w", "\n%{http_code}", url + "/name"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out == b"b1\n\n200", "got %r" % out

    def head():
        rc, out, err = curl(["-I", url + "/size/1000"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        text = out.decode(errors="replace")
        assert text.startswith("HTTP/1.1 200"), text[:200]
        assert "content-length: 1000" in text.lower(), text

    def head_raw():
        r = request(port, "HEAD", "/size/1000")
        assert r.status == 200 and r.body == b"", r
        assert r.header("Content-Length") == "1000", r.headers

    def post():
        rc, out, err = curl(["--data-binary", "@" + blob_path, url + "/sink"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out.decode() == checksum(blob), "got %r want %r" % (out, checksum(blob))

    def post_chunked():
        rc, out, err = curl(["-H", "Transfer-Encoding: chunked", "--data-binary",
                             "@" + blob_path, url + "/sink"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out.decode() == checksum(blob), "got %r want %r" % (out, checksum(blob))

    def echo_chunked():
        r = request(port, "POST", "/echo", [("Transfer-Encoding", "chunked")],
                    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert r.status == 200, r
        assert r.body.endswith(b"\r\n\r\nhello world"), r.body[-100:]

    def chunked_response():
        rc, out, err = curl([url + "/size/100000?mode=chunked"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out == pattern_bytes(100000), "body differs (%d bytes)" % len(out)

    def close_response():
        rc, out, err = curl([url + "/size/50000?mode=close"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out == pattern_bytes(50000), "body differs (%d bytes)" % len(out)

    def xff_added():
        lines = echo_head_lines(request(port, "GET", "/echo"))
        xff = fields(lines, "X-Forwarded-For")
        assert xff == ["127.0.0.1"], "X-Forwarded-For fields: %r" % xff

    def xff_kept():
        r = request(port, "GET", "/echo", [("X-Forwarded-For", "10.9.8.7")])
        xff = fields(echo_head_lines(r), "X-Forwarded-For")
        assert xff == ["10.9.8.7", "127.0.0.1"], "X-Forwarded-For fields: %r" % xff

    def hop_by_hop():
        r = request(port, "GET", "/echo", [
            ("Connection", "foo"), ("Foo", "bar"), ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"), ("TE", "gzip, deflate"), ("X-Keep", "yes")])
        lines = echo_head_lines(r)
        for name in ("Foo", "Keep-Alive", "Proxy-Connection", "TE"):
            assert not fields(lines, name), "%s forwarded: %r" % (name, lines)
        for v in fields(lines, "Connection"):
            assert "foo" not in v.lower(), "Connection: %s forwarded" % v
        assert fields(lines, "X-Keep") == ["yes"], "end-to-end field lost: %r" % lines
        # TE is hop-by-hop, but "trailers" goes on, alone (HAProxy keeps it; gRPC needs it)
        r = request(port, "GET", "/echo", [("TE", "gzip, trailers")])
        lines = echo_head_lines(r)
        assert fields(lines, "TE") == ["trailers"], "TE toward the server: %r" % lines

    def pipelining():
        reqs = (b"GET /name HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /size/10 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz")
        with Conn(port, timeout=10) as c:
            c.send(reqs)
            r1 = c.read_response()
            r2 = c.read_response()
            r3 = c.read_response()
        assert (r1.status, r1.body) == (200, b"b1\n"), r1
        assert (r2.status, r2.body) == (200, pattern_bytes(10)), r2
        assert r3.status == 200 and r3.body.startswith(b"POST /echo "), r3.body[:60]
        assert r3.body.endswith(b"xyz"), r3.body[-20:]

    def expect_continue():
        t0 = time.monotonic()
        rc, out, err = curl(["-H", "Expect: 100-continue", "--data-binary",
                             "@" + blob_path, url + "/sink"])
        took = time.monotonic() - t0
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out.decode() == checksum(blob), "got %r" % out
        # curl waits 1 s for the 100 before sending anyway: a stall means no 100 came back
        assert took < 0.9, "took %.2fs: no 100 Continue relayed" % took

    t.case("GET via curl", get)
    t.case("HEAD via curl", head)
    t.case("HEAD raw: Content-Length, no body", head_raw)
    t.case("POST 300 kB via curl", post)
    t.case("chunked request body via curl", post_chunked)
    t.case("chunked request body decoded at /echo", echo_chunked)
    t.case("chunked response 100000 bytes intact", chunked_response)
    t.case("close-delimited response 50000 bytes intact", close_response)
    t.case("X-Forwarded-For: 127.0.0.1 added", xff_added)
    t.case("client X-Forwarded-For kept, ours appended", xff_kept)
    t.case("hop-by-hop fields not forwarded", hop_by_hop)
    t.case("3 pipelined requests answered in order", pipelining)
    t.case("Expect: 100-continue POST", expect_continue)

    def client_reset_mid_response():
        # a client that resets while spillway waits for room to write a large response: the
        # server side ends too and the connection goes (it used to stay open with no timer
        # left, holding a graceful stop)
        import socket
        import struct
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /size/50000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        s.recv(1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.3)
        sp = t.spillways[0]
        sp.signal(15)
        assert sp.wait_exit(5.0) is not None, "spillway did not stop: a connection was left"

    t.case("a client reset mid-response frees both sides (graceful stop completes)",
           client_reset_mid_response)


if __name__ == "__main__":
    Suite("basic").run(main)
