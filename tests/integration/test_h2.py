#!/usr/bin/env python3
"""HTTP/2 on the client side: h2c with prior knowledge and by HTTP/1.1 upgrade, through real
clients (curl, nghttp, h2load) and a raw-socket client written here for the abuse cases
(flow-control stalls, stream resets, malformed requests, oversized header lists, GOAWAY on
stop and on idle)."""

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import h2load_ok  # noqa: E402
from lib import HOST, Suite, config, curl, free_port, pattern_bytes, wait_until  # noqa: E402
from h2client import (  # noqa: E402
    DATA, HEADERS, RST_STREAM, GOAWAY, WINDOW_UPDATE, END_STREAM, S_INITIAL_WINDOW, NO_ERROR, CANCEL, H2)

RSS_LIMIT_KIB = 64 * 1024

# ---------------------------------------------------------------------------------------------


def run_tool(cmd, timeout):
    """(rc, stdout text, stderr text); rc -9 on timeout (the child is killed by subprocess)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "", "%s did not finish in %ss" % (cmd[0], timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def checksum(data):
    return "bytes=%d sum=%d\n" % (len(data), sum(data) % 2**32)


def echo_lines(body):
    head = bytes(body).split(b"\r\n\r\n", 1)[0]
    return [ln.decode(errors="replace") for ln in head.split(b"\r\n")]


def fields(lines, name):
    return [ln.split(":", 1)[1].strip() for ln in lines[1:]
            if ":" in ln and ln.split(":", 1)[0].strip().lower() == name.lower()]


def main(t):
    be = t.backend("b1")
    port = free_port()
    sp = t.spillway(config(port, [("s1", be.port)]), port)
    url = "http://127.0.0.1:%d" % port
    pk = ["--http2-prior-knowledge"]
    blob = os.urandom(300000)
    blob_path = os.path.join(t.dir, "blob.bin")
    with open(blob_path, "wb") as f:
        f.write(blob)
    big = os.urandom(5000000)
    big_path = os.path.join(t.dir, "big.bin")
    with open(big_path, "wb") as f:
        f.write(big)

    def curl_v(args, want_version="2"):
        """curl with the HTTP version and status appended; returns (body, status)."""
        rc, out, err = curl(args + ["-o", "-", "-w", "\n%{http_version} %{http_code}"],
                            timeout=60)
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        body, _, tail = out.rpartition(b"\n")
        ver, code = tail.decode().split()
        if want_version is not None:
            assert ver == want_version, "HTTP version %s, want %s" % (ver, want_version)
        return body, int(code)

    # ---- real clients, prior knowledge and upgrade ----

    def get_pk():
        body, code = curl_v(pk + [url + "/name"])
        assert (code, body) == (200, b"b1\n"), (code, body)

    def head_pk():
        rc, out, err = curl(pk + ["-I", url + "/size/1000"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        text = out.decode(errors="replace")
        assert text.startswith("HTTP/2 200"), text[:200]
        assert "content-length: 1000" in text.lower(), text

    def post_pk():
        body, code = curl_v(pk + ["--data-binary", "@" + blob_path, url + "/sink"])
        assert code == 200 and body.decode() == checksum(blob), (code, body)

    def echo_pk():
        body, code = curl_v(pk + [url + "/echo?q=1"])
        lines = echo_lines(body)
        assert code == 200, code
        assert lines[0] == "GET /echo?q=1 HTTP/1.1", lines[0]
        assert fields(lines, "Host") == ["127.0.0.1:%d" % port], lines
        assert fields(lines, "X-Forwarded-For") == ["127.0.0.1"], lines

    def get_upgrade():
        body, code = curl_v(["--http2", url + "/echo"])
        lines = echo_lines(body)
        assert code == 200, code
        assert lines[0] == "GET /echo HTTP/1.1", lines[0]
        assert fields(lines, "Host") == ["127.0.0.1:%d" % port], lines
        assert fields(lines, "X-Forwarded-For") == ["127.0.0.1"], lines
        for name in ("Upgrade", "HTTP2-Settings", "Connection"):
            assert not fields(lines, name), "%s forwarded: %r" % (name, lines)

    def head_upgrade():
        rc, out, err = curl(["--http2", "-I", url + "/size/1000"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        text = out.decode(errors="replace")
        assert "HTTP/2 200" in text, text[:400]
        assert "content-length: 1000" in text.lower(), text

    def post_upgrade():
        # a request with a body is not upgraded (RFC 7540 3.2 lets the server decline): the
        # answer may come over HTTP/1.1, but it must be the right one
        body, code = curl_v(["--http2", "--data-binary", "@" + blob_path, url + "/sink"],
                            want_version=None)
        assert code == 200 and body.decode() == checksum(blob), (code, body)
        # the connection then upgrades on a later bodyless request and carries on
        rc, out, err = curl(["--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                             url + "/name", "--next", "--http2", "--data-binary",
                             "@" + blob_path, url + "/sink"])
        assert rc == 0, "curl rc=%d %s" % (rc, err)
        assert out.startswith(b"2 200"), out
        assert checksum(blob).encode() in out, out

    def nghttp_get():
        rc, out, err = run_tool(["nghttp", "-v", url + "/echo"], 30)
        assert rc == 0, "nghttp rc=%d %s %s" % (rc, out[-500:], err[-500:])
        assert re.search(r"recv \(stream_id=\d+\) :status: 200", out), out[-2000:]
        assert "host: 127.0.0.1:%d" % port in out.lower(), out[-2000:]
        assert "x-forwarded-for: 127.0.0.1" in out.lower(), out[-2000:]

    def nghttp_upgrade():
        rc, out, err = run_tool(["nghttp", "-v", "-u", url + "/name"], 30)
        assert rc == 0, "nghttp rc=%d %s %s" % (rc, out[-500:], err[-500:])
        assert "HTTP Upgrade success" in out, out[-2000:]
        assert re.search(r":status: 200", out), out[-2000:]
        assert out.rstrip().endswith("b1") or "\nb1\n" in out, out[-800:]

    def cookies_raw():
        with H2(port) as h:
            st = h.get("/echo", extra=[("cookie", "a=1"), ("x-mid", "m"), ("cookie", "b=2"),
                                        ("cookie", "c=3")])
            assert st.ended and st.status == 200, "status %s rst %s" % (st.status, st.rst)
            lines = echo_lines(st.data)
            assert fields(lines, "Cookie") == ["a=1; b=2; c=3"], lines
            assert fields(lines, "X-Mid") == ["m"], lines
            assert fields(lines, "Host") == ["spillway.test"], lines

    def host_field_raw():
        # no :authority: the host field is the Host; both: :authority wins, host dropped
        with H2(port) as h:
            st = h.get("/echo", authority=None, extra=[("host", "from-field.test")])
            assert st.ended and st.status == 200, "status %s rst %s" % (st.status, st.rst)
            assert fields(echo_lines(st.data), "Host") == ["from-field.test"], st.data[:300]
            st = h.get("/echo", extra=[("host", "other.test")])
            assert st.ended and st.status == 200, "status %s rst %s" % (st.status, st.rst)
            assert fields(echo_lines(st.data), "Host") == ["spillway.test"], st.data[:300]

    def big_down(mode):
        def f():
            rc, out, err = curl(pk + [url + "/size/5000000" + mode], timeout=60)
            assert rc == 0, "curl rc=%d %s" % (rc, err)
            assert len(out) == 5000000, "got %d bytes" % len(out)
            assert out == pattern_bytes(5000000), "content differs"
        return f

    def big_up():
        body, code = curl_v(pk + ["--data-binary", "@" + big_path, url + "/sink"])
        assert code == 200 and body.decode() == checksum(big), (code, body)

    def big_up_chunked():
        # no content-length: spillway must frame it chunked toward the server
        body, code = curl_v(pk + ["-H", "Transfer-Encoding: chunked", "--data-binary",
                                  "@" + big_path, url + "/sink"])
        assert code == 200 and body.decode() == checksum(big), (code, body)

    def stalled_socket():
        # several large responses at once to a client that stops reading its socket: spillway's
        # gathered writes come up short, what is left waits in order, and every stream arrives
        # intact once the client reads again
        sizes = [2000000 + k * 7919 for k in range(6)]
        with H2(port, settings={S_INITIAL_WINDOW: 2**31 - 1}) as h:
            h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            h.send(h.frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 2**31 - 1 - 65535)))
            sids = [h.request("GET", "/size/%d" % n)[0] for n in sizes]
            time.sleep(1.0)  # nothing read: the socket and its buffers fill up
            done = h.pump(lambda: all(h.streams[i].done() for i in sids), 60)
            assert done, "not all streams ended: %s" % [len(h.streams[i].data) for i in sids]
            for sid, n in zip(sids, sizes):
                st = h.streams[sid]
                assert st.status == 200 and st.rst is None, (sid, st.status, st.rst)
                assert len(st.data) == n, "stream %d: %d bytes of %d" % (sid, len(st.data), n)
                assert bytes(st.data) == pattern_bytes(n), "stream %d: content differs" % sid
            # the frames of the six streams were interleaved (one round carries several)
            order = [sid for (ft, _, sid) in h.frames if ft == DATA]
            switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
            print("# DATA frames %d, stream switches %d" % (len(order), switches))
            assert switches >= 5, switches

    def many_mid_frames():
        # 64 responses of 3000 bytes each, asked for at once: their DATA frames are referenced
        # in place and one output round runs out of iovec entries before it runs out of bytes
        sizes = [3000 + k for k in range(64)]
        with H2(port) as h:
            # this client never acknowledges DATA: open the connection's window for it all
            h.send(h.frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20)))
            reqs = [h.request("GET", "/size/%d" % n, send=False) for n in sizes]
            h.send(b"".join(d for _, d in reqs))
            sids = [sid for sid, _ in reqs]
            done = h.pump(lambda: all(h.streams[i].done() for i in sids), 30)
            assert done, "not all streams ended"
            for sid, n in zip(sids, sizes):
                st = h.streams[sid]
                assert st.status == 200 and st.rst is None, (sid, st.status, st.rst)
                assert bytes(st.data) == pattern_bytes(n), "stream %d: content differs" % sid

    def h2load_many():
        rc, out, err = run_tool(["h2load", "-c4", "-m50", "-n20000", url + "/name"], 120)
        assert rc == 0, "h2load rc=%d %s %s" % (rc, out[-800:], err[-800:])
        why = h2load_ok(out, 20000)
        assert why is None, why

    t.case("h2c prior knowledge: GET /name 200", get_pk)
    t.case("h2c prior knowledge: HEAD, content-length, no body", head_pk)
    t.case("h2c prior knowledge: POST 300 kB intact", post_pk)
    t.case("h2c prior knowledge: Host from :authority, X-Forwarded-For added", echo_pk)
    t.case("h2c upgrade: GET, Host, X-Forwarded-For, no upgrade fields forwarded", get_upgrade)
    t.case("h2c upgrade: HEAD", head_upgrade)
    t.case("h2c upgrade: POST answered intact", post_upgrade)
    t.case("nghttp -v: GET /echo", nghttp_get)
    t.case("nghttp -u: upgrade", nghttp_upgrade)
    t.case("cookie crumbs joined with '; '", cookies_raw)
    t.case("host field without :authority; :authority wins over host", host_field_raw)
    t.case("5 MB response intact (content-length)", big_down(""))
    t.case("5 MB response intact (chunked upstream)", big_down("?mode=chunked"))
    t.case("5 MB upload intact (content-length)", big_up)
    t.case("5 MB upload intact (no content-length)", big_up_chunked)
    t.case("6 x 2 MB at once, client socket stalled 1 s: every stream intact", stalled_socket)
    t.case("64 x 3000 bytes at once: every stream intact", many_mid_frames)
    t.case("h2load -c4 -m50 -n20000: all 2xx", h2load_many)

    # ---- upstream connections bounded by server maxconn ----

    def bounded_upstream():
        b2 = t.backend("b2")
        p2 = free_port()
        cfg = config(p2, [("s1", b2.port)])
        cfg = cfg.replace("server s1 127.0.0.1:%d" % b2.port,
                          "server s1 127.0.0.1:%d maxconn 4" % b2.port)
        assert "maxconn 4" in cfg, cfg
        s2 = t.spillway(cfg, p2)
        a0, _ = b2.stats()
        rc, out, err = run_tool(["h2load", "-c10", "-m100", "-n20000",
                                 "http://127.0.0.1:%d/name" % p2], 120)
        a1, _ = b2.stats()
        s2.stop()
        assert rc == 0, "h2load rc=%d %s %s" % (rc, out[-800:], err[-800:])
        why = h2load_ok(out, 20000)
        assert why is None, why
        upstream = a1 - a0 - 1  # the second /stats connection counts itself
        print("# upstream connections opened for 20000 requests: %d" % upstream)
        assert upstream <= 6, "%d upstream connections with maxconn 4" % upstream

    t.case("maxconn 4: h2load -c10 -m100 -n20000 all 2xx, <= 6 upstream connections",
           bounded_upstream)

    # ---- flow control: a reader that never opens its window ----

    def slow_reader():
        rss0, _ = sp.mem()
        peak = rss0 or 0
        with H2(port, settings={S_INITIAL_WINDOW: 1024}) as h:
            sid, _ = h.request("GET", "/size/50000000")
            st = h.streams[sid]
            h.pump(lambda: len(st.data) >= 1024 or st.done() or h.gone(), 10)
            assert st.status == 200 and len(st.data) == 1024, \
                "status %s, %d bytes, rst %s" % (st.status, len(st.data), st.rst)
            # the stream is stalled; others still move: on this connection ...
            other = h.get("/name", timeout=5)
            assert other.ended and bytes(other.data) == b"b1\n", \
                "other stream: status %s data %r rst %s" % (other.status, other.data, other.rst)
            # ... and on another one
            body, code = curl_v(pk + [url + "/name"])
            assert (code, body) == (200, b"b1\n"), (code, body)
            for _ in range(30):
                time.sleep(0.1)
                rss, _ = sp.mem()
                peak = max(peak, rss or 0)
            h.pump(lambda: False, 0.2)
            assert len(st.data) == 1024, "%d bytes past the window" % len(st.data)
            assert not h.gone() and st.rst is None, "connection or stream ended"
        print("# spillway RSS during the stall: %d KiB at start, %d KiB peak" % (rss0, peak))
        assert peak < RSS_LIMIT_KIB, "RSS %d KiB with one stalled 50 MB stream" % peak
        body, code = curl_v(pk + [url + "/name"])
        assert (code, body) == (200, b"b1\n"), (code, body)

    t.case("slow reader (window 1024, no WINDOW_UPDATE): RSS bounded, others served",
           slow_reader)

    # ---- client resets ----

    def rst_in_flight():
        _, q0 = be.stats()
        with H2(port) as h:
            sid, _ = h.request("GET", "/slow/2000")
            assert wait_until(lambda: be.stats()[1] > q0, 5), "/slow/2000 never reached the backend"
            t0 = time.monotonic()
            h.send(h.rst(sid, CANCEL))
            # the connection goes on; later requests get their own answers at once
            for _ in range(3):
                st = h.get("/name", timeout=5)
                assert st.ended and bytes(st.data) == b"b1\n", \
                    "after RST: status %s data %r rst %s" % (st.status, st.data, st.rst)
            took = time.monotonic() - t0
            assert took < 1.5, "requests after the reset took %.2fs" % took
            st0 = h.streams[sid]
            assert not st0.ended, "the reset stream still got its response"
        # the aborted upstream exchange must not leak into a later one ("slow\n" answering a
        # reused connection's next request), neither now nor once /slow/2000 would have ended
        for delay in (0, 2.2):
            time.sleep(delay)
            for _ in range(4):
                body, code = curl_v(pk + [url + "/name"])
                assert (code, body) == (200, b"b1\n"), (delay, code, body)
        assert sp.proc.poll() is None, "spillway exited"

    def own_spillway():
        """A spillway and a backend of their own, for a case that may take spillway down or
        leave the backend with a backlog of aborted connections (whose requests it would
        count later, in another case's window)."""
        b = t.backend("flood")
        p = free_port()
        return t.spillway(config(p, [("s1", b.port)]), p), p

    def still_serving(s, p):
        time.sleep(0.2)
        assert s.proc.poll() is None, "spillway died (exit status %s)" % s.proc.poll()
        body, code = curl_v(pk + ["http://127.0.0.1:%d/name" % p])
        assert (code, body) == (200, b"flood\n"), (code, body)
        s.stop()

    def rapid_reset():
        s, p = own_spillway()
        with H2(p) as h:
            sent = 0
            # each HEADERS is processed (the request started toward the server) before its
            # RST_STREAM arrives: the reset costs backend work, as in CVE-2023-44487
            for _ in range(1000):
                sid, data = h.request("GET", "/slow/2000", send=False)
                try:
                    h.send(data)
                    time.sleep(0.0005)
                    h.send(h.rst(sid, CANCEL))
                except OSError:
                    break
                sent += 1
                if sent % 50 == 0:
                    h.pump(h.gone, 0.01)
                    if h.gone():
                        break
            h.pump(h.gone, 5)
            print("# rapid reset: %d pairs sent, goaway %r, eof %s" % (sent, h.goaway, h.eof))
            assert h.gone(), "no GOAWAY nor close after %d HEADERS+RST_STREAM" % sent
        still_serving(s, p)

    def rapid_reset_burst():
        # the same flood in one write: nghttp2 sees each RST before spillway starts the request
        s, p = own_spillway()
        with H2(p) as h:
            out = []
            for _ in range(1000):
                sid, data = h.request("GET", "/slow/2000", send=False)
                out.append(data + h.rst(sid, CANCEL))
            try:
                h.send(b"".join(out))
            except OSError:
                pass
            h.pump(lambda: False, 1.0)
            # not required to end the connection (no backend work was done), but then it
            # must still work
            if not h.gone():
                st = h.get("/name", timeout=5)
                assert st.ended and bytes(st.data) == b"flood\n", \
                    "after the burst: status %s rst %s goaway %s" % (st.status, st.rst, h.goaway)
            print("# rapid reset burst: goaway %r, eof %s" % (h.goaway, h.eof))
        still_serving(s, p)

    t.case("RST_STREAM of an in-flight /slow/2000: upstream dropped, later requests fine",
           rst_in_flight)
    t.case("rapid reset: 1000 x HEADERS+RST_STREAM ends with GOAWAY or close", rapid_reset)
    t.case("rapid reset in one burst: spillway stays up", rapid_reset_burst)

    # ---- malformed requests are never forwarded ----

    def refused(name, build, want_rst_or_goaway=True):
        def f():
            with H2(port) as h:
                # a valid request first: the client is sound, and an idle upstream
                # connection is ready to take (and reveal) a request forwarded too early
                ok = h.get("/name", timeout=5)
                assert ok.ended and bytes(ok.data) == b"b1\n", \
                    "valid request: status %s rst %s" % (ok.status, ok.rst)
                _, q0 = be.stats()
                sid = h.new_stream()
                h.send(build(h, sid))
                st = h.streams[sid]
                h.pump(lambda: st.done() or h.gone(), 5)
                ok = st.rst is not None or h.gone() or (st.status is not None and
                                                       400 <= st.status < 500)
                assert ok, "%s: no RST_STREAM/GOAWAY/4xx (status %s)" % (name, st.status)
                assert st.status is None or st.status >= 400, \
                    "%s: answered %s" % (name, st.status)
                print("# %s: status %s, RST_STREAM %s, GOAWAY %s, closed %s"
                      % (name, st.status, st.rst, h.goaway, h.eof))
            time.sleep(0.1)
            _, q1 = be.stats()
            assert q1 == q0, "%s: the backend received %d request(s)" % (name, q1 - q0)
        return f

    def fields_req(extra, path="/name", authority="spillway.test", method="GET"):
        def b(h, sid):
            return h.headers_frames(sid, h.req_fields(method, path, authority, extra))
        return b

    def cl_mismatch(h, sid):
        f = h.req_fields("POST", "/sink", extra=[("content-length", "10")])
        return h.headers_frames(sid, f, end_stream=False) + h.frame(DATA, END_STREAM, sid,
                                                                    b"hello")

    def cl_over(h, sid):
        f = h.req_fields("POST", "/sink", extra=[("content-length", "3")])
        return h.headers_frames(sid, f, end_stream=False) + h.frame(DATA, END_STREAM, sid,
                                                                    b"hello")

    def connect(h, sid):
        # valid HTTP/2 (nghttp2 lets it through), but spillway does not tunnel
        return h.headers_frames(sid, [(":method", "CONNECT"), (":authority", "a.test:443")],
                                end_stream=False)

    def pseudo_after(h, sid):
        f = [(":method", "GET"), (":scheme", "http"), ("x-a", "1"), (":path", "/name"),
             (":authority", "a")]
        return h.headers_frames(sid, f)

    bad = [
        ("uppercase header name", fields_req([("X-Upper", "v")])),
        ("connection: keep-alive", fields_req([("connection", "keep-alive")])),
        ("transfer-encoding: chunked", fields_req([("transfer-encoding", "chunked")])),
        ("te: gzip", fields_req([("te", "gzip")])),
        ("missing :path", fields_req([], path=None)),
        ("content-length 10, 5 bytes of DATA", cl_mismatch),
        ("content-length 3, 5 bytes of DATA", cl_over),
        ("CR in a header value", fields_req([("x-v", "a\rb")])),
        ("LF in a header value", fields_req([("x-v", "a\nx-injected: 1")])),
        ("control character 0x01 in a header value", fields_req([("x-v", "a\x01b")])),
        ("pseudo-header after a regular field", pseudo_after),
        (":authority with userinfo", fields_req([], authority="user@evil.test")),
        (":authority with a space", fields_req([], authority="a b")),
        (":path not starting with /", fields_req([], path="name")),
        (":protocol pseudo-header", fields_req([(":protocol", "websocket")])),
        ("two host fields, no :authority", fields_req([("host", "a"), ("host", "b")],
                                                      authority=None)),
        ("CONNECT", connect),
        # what HTTP/1 refuses is refused over HTTP/2 too (found by tests/fuzz)
        (":path with a fragment", fields_req([], path="/admin#/public")),
        (":path * with GET", fields_req([], path="*")),
        (":authority with two colons", fields_req([], authority="a:b:c")),
        (":authority with a bad percent-encoding", fields_req([], authority="a%zz.test")),
        (":authority with a stray bracket", fields_req([], authority="x]:80")),
        ("host with two colons, no :authority", fields_req([("host", "a:b:c")],
                                                           authority=None)),
    ]
    for name, build in bad:
        t.case("malformed, not forwarded: " + name, refused(name, build))

    def big_header_list():
        _, q0 = be.stats()
        with H2(port) as h:
            extra = [("x-big-%d" % i, "v" * 4000) for i in range(5)]  # > 16 KiB in all
            sid, _ = h.request("GET", "/name", extra=extra)
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.gone(), 5)
            print("# big header list: status %s, RST_STREAM %s, GOAWAY %s, closed %s"
                  % (st.status, st.rst, h.goaway, h.eof))
            assert st.status == 431 or st.rst is not None or h.gone(), \
                "status %s rst %s goaway %s" % (st.status, st.rst, h.goaway)
            if not h.gone():
                # the connection survives its stream's refusal
                st2 = h.get("/name", timeout=5)
                assert st2.ended and bytes(st2.data) == b"b1\n", \
                    "next stream: status %s rst %s" % (st2.status, st2.rst)
        _, q1 = be.stats()
        assert q1 == q0 + (0 if h.gone() else 1), "backend got %d requests" % (q1 - q0)

    t.case("header list > 16 KiB: 431 or RST, not forwarded", big_header_list)
    assert_alive = lambda: curl_v(pk + [url + "/name"])  # noqa: E731
    t.case("spillway still serves after the abuse cases", assert_alive)

    # ---- GOAWAY on stop ----

    def sigterm():
        p3 = free_port()
        s3 = t.spillway(config(p3, [("s1", be.port)]), p3)
        _, q0 = be.stats()
        with H2(p3, timeout=15) as h:
            sid, _ = h.request("GET", "/slow/1500")
            assert wait_until(lambda: be.stats()[1] > q0, 5), "/slow/1500 never reached the backend"
            s3.signal(signal.SIGTERM)
            st = h.streams[sid]
            h.pump(lambda: st.done() and h.goaway is not None, 10)
            assert h.goaway is not None, "no GOAWAY after SIGTERM"
            assert h.goaway[1] == NO_ERROR, "GOAWAY error code %d" % h.goaway[1]
            assert h.goaway[0] >= sid, "GOAWAY last stream %d < %d" % (h.goaway[0], sid)
            assert st.ended and st.status == 200 and bytes(st.data) == b"slow\n", \
                "in-flight stream: status %s data %r rst %s, connection closed %s, last frames " \
                "(type, flags, stream) %r" % (st.status, st.data, st.rst, h.eof, h.frames[-5:])
            h.pump(lambda: h.eof, 5)
            assert h.eof, "connection still open after its last stream"
        rc = s3.wait_exit(5)
        assert rc == 0, "exit status %s" % rc

    t.case("SIGTERM: GOAWAY, in-flight /slow/1500 completes, exit 0", sigterm)

    # ---- idle timeout ----

    def idle_timeout():
        p4 = free_port()
        t.spillway(config(p4, [("s1", be.port)], timeouts={"http-keep-alive": "300ms",
                                                           "client": "10s"}), p4)
        with H2(p4, timeout=15) as h:
            st = h.get("/name")
            assert st.ended and bytes(st.data) == b"b1\n", (st.status, st.data, st.rst)
            t0 = time.monotonic()
            h.pump(lambda: h.eof, 5)
            took = time.monotonic() - t0
            assert h.eof, "idle connection still open after 5s"
            print("# idle h2 connection closed after %.2fs (goaway %r)" % (took, h.goaway))
            assert 0.2 <= took <= 2.0, "closed after %.2fs with http-keep-alive 300ms" % took

    t.case("timeout http-keep-alive 300ms closes an idle HTTP/2 connection", idle_timeout)
    t.check("spillway still running", sp.proc.poll() is None, "exited with %s" % sp.proc.poll())


if __name__ == "__main__":
    Suite("h2").run(main)
