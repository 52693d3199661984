#!/usr/bin/env python3
"""The PROXY protocol (issue 19), as HAProxy 2.6 speaks it (src/connection.c conn_recv_proxy(),
make_proxy_line(); src/backend.c connect_server(); doc/proxy-protocol.txt).

`bind ... accept-proxy`: python clients send v1 and v2 headers (curl --haproxy-protocol too);
the address they carry is what X-Forwarded-For, the access log (%ci:%cp, %fi:%fp) and a `src`
ACL see. Every kind of bad header (none, invalid, unknown protocol, truncated, nothing, too
slow) closes the connection without an answer and logs HAProxy's line; spillway keeps serving.

`server ... send-proxy | send-proxy-v2 [proxy-v2-options ...]`: a python origin reads the header
each server connection begins with; the header carries the real client, and a server
connection never carries requests of two clients (HAProxy keys reuse on the header). Checks
send it too (check-send-proxy, or send-proxy without port/addr): v1 with the check's own
addresses, v2 LOCAL."""

import os
import re
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, Conn, Suite, curl, free_port, wait_until  # noqa: E402

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def v2(cmd, fam, body):
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def v2_tcp4(src, sport, dst, dport, tlvs=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst) +
              struct.pack("!HH", sport, dport) + tlvs)


def v2_tcp6(src, sport, dst, dport):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport))


def tlv(t, v):
    return bytes([t]) + struct.pack("!H", len(v)) + v


class Origin:
    """A keep-alive HTTP/1.1 origin that reads the PROXY header each connection begins with.
    For every connection: the header (bytes), the requests (X-Forwarded-For of each) and
    whether it ended. Answers each request with 'conn=N'."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # dicts: pp, xff list, paths
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                s, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        rec = {"pp": None, "xff": [], "paths": [], "err": None}
        with self.lock:
            self.conns.append(rec)
            n = len(self.conns)
        s.settimeout(10)
        buf = b""
        try:
            while len(buf) < 16:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
                if buf.startswith(b"PROXY ") and b"\r\n" in buf:
                    break
            if buf.startswith(b"PROXY "):
                i = buf.index(b"\r\n") + 2
                rec["pp"], buf = buf[:i], buf[i:]
            elif buf.startswith(SIG):
                ln = 16 + struct.unpack("!H", buf[14:16])[0]
                while len(buf) < ln:
                    d = s.recv(4096)
                    if not d:
                        break
                    buf += d
                rec["pp"], buf = buf[:ln], buf[ln:]
            else:
                rec["err"] = "no PROXY header: %r" % buf[:40]
            while True:
                while b"\r\n\r\n" not in buf:
                    d = s.recv(4096)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                rec["paths"].append(lines[0].split(" ")[1])
                xff = [l.split(":", 1)[1].strip() for l in lines[1:]
                       if l.lower().startswith("x-forwarded-for:")]
                rec["xff"].append(xff[-1] if xff else None)
                body = b"conn=%d" % n
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            s.close()

    def snapshot(self):
        with self.lock:
            return [dict(c) for c in self.conns]

    def close(self):
        self.stop = True
        self.sock.close()


def cfg(fe_port, be_lines, fe_lines=(), bind_extra="accept-proxy", extra_fe=()):
    lines = ["global", "    nbthread 2", "    log stdout format raw local0",
             "defaults", "    mode http", "    timeout client 1s", "    timeout server 5s",
             "    timeout connect 2s",
             "frontend fe", "    bind %s:%d %s name pxbind" % (HOST, fe_port, bind_extra),
             "    log global", "    option forwardfor",
             "    log-format \"ci=%ci cp=%cp fi=%fi fp=%fp b=%b st=%ST\""]
    lines += ["    " + l for l in fe_lines]
    lines += ["    default_backend be", "backend be"] + ["    " + l for l in be_lines]
    lines += list(extra_fe)
    return "\n".join(lines) + "\n"


def exchange(port, data, timeout=5.0):
    """Sends `data` (bytes, or a list of pieces sent apart), reads until the server closes
    or timeout: (bytes received, closed by the server)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        for piece in (data if isinstance(data, list) else [data]):
            s.sendall(piece)
            if isinstance(data, list):
                time.sleep(0.02)
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return got, False
            except ConnectionResetError:
                return got, True
            if not d:
                return got, True
            got += d
            if b"\r\n\r\n" in got and b"Connection: close" not in got and b"conn=" in got:
                pass
        return got, False
    finally:
        s.close()


GET_CLOSE = b"GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def body_xff(resp):
    m = re.findall(rb"X-Forwarded-For: ([^\r\n]*)", resp)
    return m[-1].decode() if m else None


def test_accept(t):
    port = free_port()
    b1 = t.backend("b1")
    b2 = t.backend("b2")
    sp = t.spillway(cfg(port, ["server s1 %s:%d" % (HOST, b1.port)],
                        fe_lines=["acl lb src 192.0.2.0/24", "use_backend be2 if lb"],
                        extra_fe=["backend be2", "    server s2 %s:%d" % (HOST, b2.port)]),
                    port)

    def log_has(pat, timeout=3.0):
        return wait_until(lambda: re.search(pat, sp.log()), timeout)

    def case_v1():
        got, _ = exchange(port, b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n" + GET_CLOSE)
        assert b" 200 " in got.split(b"\r\n")[0], got[:200]
        assert body_xff(got) == "192.0.2.7", got
        assert log_has(r"ci=192\.0\.2\.7 cp=56324 fi=198\.51\.100\.1 fp=443 b=be2 st=200"), sp.log()
    t.case("v1 TCP4: XFF, %ci:%cp and %fi:%fp are the header's, the src ACL routes on it", case_v1)

    def case_v1_pieces():
        hdr = b"PROXY TCP6 2001:db8::7 2001:db8::1 1234 80\r\n"
        pieces = [hdr[i:i + 1] for i in range(len(hdr))] + [GET_CLOSE]
        got, _ = exchange(port, pieces)
        assert body_xff(got) == "2001:db8::7", got
        assert log_has(r"ci=2001:db8::7 cp=1234 fi=2001:db8::1 fp=80 b=be st=200"), sp.log()
    t.case("v1 TCP6 sent a byte at a time, then the request", case_v1_pieces)

    def case_v1_unknown():
        got, _ = exchange(port, b"PROXY UNKNOWN\r\n" + GET_CLOSE)
        assert body_xff(got) == "127.0.0.1", got
    t.case("v1 UNKNOWN keeps the connection's own address", case_v1_unknown)

    def case_curl():
        rc, out, err = curl(["--haproxy-protocol", "http://%s:%d/headers" % (HOST, port)])
        assert rc == 0 and b"X-Forwarded-For: 127.0.0.1" in out, (rc, out, err)
        rc, out, err = curl(["--haproxy-protocol", "--http2-prior-knowledge",
                             "http://%s:%d/headers" % (HOST, port)])
        assert rc == 0 and b"X-Forwarded-For: 127.0.0.1" in out, (rc, out, err)
    t.case("curl --haproxy-protocol, HTTP/1.1 and HTTP/2 prior knowledge", case_curl)

    def case_v2():
        auth = tlv(0x02, b"example.com")
        body = (socket.inet_aton("192.0.2.9") + socket.inet_aton("198.51.100.2") +
                struct.pack("!HH", 40000, 8443) + tlv(0xEE, b"skip me") + auth +
                tlv(0x03, b"\0\0\0\0"))
        hdr = bytearray(v2(1, 0x11, body))
        crc = crc32c(bytes(hdr))
        hdr[-4:] = struct.pack("!I", crc)
        got, _ = exchange(port, bytes(hdr) + GET_CLOSE)
        assert body_xff(got) == "192.0.2.9", got
        assert log_has(r"ci=192\.0\.2\.9 cp=40000 fi=198\.51\.100\.2 fp=8443 b=be2"), sp.log()
        got, _ = exchange(port, v2_tcp6("2001:db8::9", 7, "::1", 80) + GET_CLOSE)
        assert body_xff(got) == "2001:db8::9", got
        # LOCAL, UNIX, UNSPEC: the connection's own address
        for h in (v2(0, 0x00, b""), v2(1, 0x31, b"/a".ljust(108, b"\0") + b"/b".ljust(108, b"\0")),
                  v2(1, 0x00, b"")):
            got, _ = exchange(port, h + GET_CLOSE)
            assert body_xff(got) == "127.0.0.1", (h, got)
    t.case("v2 TCP4 with TLVs and a crc32c, TCP6, LOCAL, UNIX, UNSPEC", case_v2)

    def case_pipeline():
        # the header and two requests in one write, on one connection
        req = b"GET /headers HTTP/1.1\r\nHost: x\r\n\r\n"
        got, _ = exchange(port, v2_tcp4("192.0.2.10", 1, "10.0.0.1", 2) + req + GET_CLOSE)
        assert got.count(b"X-Forwarded-For: 192.0.2.10") == 2, got
    t.case("bytes after the header are the requests, pipelined", case_pipeline)

    bad = [
        ("no header", GET_CLOSE,
         r"pxbind: Received something which does not look like a PROXY protocol header\."),
        ("an invalid v1 line", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n" + GET_CLOSE,
         r"pxbind: Received an invalid PROXY protocol header\."),
        ("an unknown protocol", b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n" + GET_CLOSE,
         r"pxbind: Received an unhandled protocol in the PROXY protocol header\."),
        ("a v1 line that never ends", b"PROXY TCP4 " + b"1" * 200,
         r"pxbind: Received an invalid PROXY protocol header\."),
        ("a v2 with a bad crc32c", v2_tcp4("1.2.3.4", 1, "5.6.7.8", 2, tlv(0x03, b"abcd")),
         r"pxbind: Received an invalid PROXY protocol header\."),
        ("a v2 TLV past the end", v2_tcp4("1.2.3.4", 1, "5.6.7.8", 2, b"\x02\x00\x09a"),
         r"pxbind: Received an invalid PROXY protocol header\."),
        ("a v2 longer than a buffer", SIG + b"\x21\x11\xff\xff" + b"\0" * 100,
         r"pxbind: Truncated PROXY protocol header received\."),
        ("a v2 command 2", v2(2, 0x11, b"\0" * 12),
         r"pxbind: Received an invalid PROXY protocol header\."),
    ]
    for name, data, pat in bad:
        def case_bad(data=data, pat=pat):
            full = (r"127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:[\d:.]+\] fe/pxbind: " +
                    pat.split("pxbind: ")[1])
            before = len(re.findall(full, sp.log(limit=1 << 20)))
            got, closed = exchange(port, data, timeout=3.0)
            assert closed and got == b"", (got, closed)
            assert wait_until(lambda: len(re.findall(full, sp.log(limit=1 << 20))) > before, 3), \
                sp.log()
        t.case("%s: closed without an answer, logged" % name, case_bad)

    def case_truncated():
        s = socket.create_connection((HOST, port), timeout=3)
        s.sendall(b"PROXY TCP4 1.2.3.4")
        s.shutdown(socket.SHUT_WR)
        got = s.recv(100)
        s.close()
        assert got == b""
        assert log_has(r"fe/pxbind: Truncated PROXY protocol header received\."), sp.log()
        s = socket.create_connection((HOST, port), timeout=3)
        s.close()
        assert log_has(r"fe/pxbind: Connection closed while waiting for PROXY protocol header\."), \
            sp.log()
    t.case("a header cut by the client's close, an empty connection: logged", case_truncated)

    def case_timeout():
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(b"PROXY TCP4 1.2")
        t0 = time.monotonic()
        got = s.recv(100)
        took = time.monotonic() - t0
        s.close()
        assert got == b"" and 0.5 < took < 3.0, (got, took)
        assert log_has(r"fe/pxbind: Timeout while waiting for PROXY protocol header\."), sp.log()
    t.case("a header that stops coming: closed after timeout client (1s)", case_timeout)

    def case_alive():
        got, _ = exchange(port, b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\r\n" + GET_CLOSE)
        assert b" 200 " in got.split(b"\r\n")[0], got[:200]
        assert sp.proc.poll() is None
    t.case("still serving after every bad header", case_alive)

    # dontlognull drops the lines of connections that sent nothing
    port2 = free_port()
    sp2 = t.spillway(cfg(port2, ["server s1 %s:%d" % (HOST, b1.port)],
                         fe_lines=["option dontlognull"]), port2)

    def case_dontlognull():
        s = socket.create_connection((HOST, port2), timeout=3)
        s.close()
        exchange(port2, GET_CLOSE, timeout=3)
        assert wait_until(lambda: "does not look like" in sp2.log(), 3), sp2.log()
        assert "Connection closed while waiting" not in sp2.log(), sp2.log()
    t.case("option dontlognull: an empty connection is not logged, a bad header is", case_dontlognull)


def test_send(t):
    origin = Origin()
    try:
        _test_send(t, origin)
    finally:
        origin.close()


def _test_send(t, origin):
    port = free_port()
    sp = t.spillway(cfg(port, ["server s1 %s:%d send-proxy maxconn 1" % (HOST, origin.port)]),
                    port)

    def keepalive(c, n, path):
        out = []
        for _ in range(n):
            c.send(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
            r = c.read_response(timeout=5)
            out.append(r.body.decode())
        return out

    def case_v1():
        a = Conn(port, 5)
        b = Conn(port, 5)
        try:
            a.send(b"PROXY TCP4 192.0.2.1 198.51.100.1 1111 80\r\n")
            b.send(b"PROXY TCP4 192.0.2.2 198.51.100.1 2222 80\r\n")
            # alternating: with maxconn 1 the other client's idle connection makes room
            ra = keepalive(a, 2, "/a") + keepalive(b, 2, "/b") + keepalive(a, 1, "/a")
        finally:
            a.close()
            b.close()
        conns = [c for c in origin.snapshot() if c["paths"]]
        for c in conns:
            assert c["pp"] is not None, conns
            src = c["pp"].split()[2].decode()
            assert all(x == src for x in c["xff"]), ("a connection mixed clients", conns)
        pps = sorted(c["pp"] for c in conns)
        assert b"PROXY TCP4 192.0.2.1 198.51.100.1 1111 80\r\n" in pps, pps
        assert b"PROXY TCP4 192.0.2.2 198.51.100.1 2222 80\r\n" in pps, pps
        a_conns = [c for c in conns if b"192.0.2.1 " in c["pp"]]
        assert sum(len(c["paths"]) for c in a_conns) == 3, conns
        assert len(ra) == 5
    t.case("send-proxy: each server connection begins with its client's header and carries "
           "that client's requests alone (maxconn 1)", case_v1)

    def case_reuse_same_client():
        before = len(origin.snapshot())
        c = Conn(port, 5)
        try:
            c.send(b"PROXY TCP4 192.0.2.3 198.51.100.1 3333 80\r\n")
            bodies = keepalive(c, 3, "/same")
        finally:
            c.close()
        assert len(set(bodies)) == 1, bodies
        assert len(origin.snapshot()) == before + 1
    t.case("requests of one client connection reuse its server connection", case_reuse_same_client)

    port2 = free_port()
    t.spillway(cfg(port2, ["server s1 %s:%d send-proxy-v2 proxy-v2-options crc32c,authority,ssl"
                           % (HOST, origin.port)]), port2)

    def case_v2():
        auth = tlv(0x02, b"www.example.org")
        got, _ = exchange(port2, v2_tcp4("192.0.2.44", 4444, "198.51.100.4", 443, auth) +
                          b"GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"conn=" in got, got
        conns = [c for c in origin.snapshot() if "/v2" in c["paths"]]
        assert len(conns) == 1, conns
        pp = conns[0]["pp"]
        assert pp.startswith(SIG) and pp[12] == 0x21 and pp[13] == 0x11, pp
        assert pp[16:28] == socket.inet_aton("192.0.2.44") + socket.inet_aton("198.51.100.4") + \
            struct.pack("!HH", 4444, 443), pp
        tl = pp[28:]
        found = {}
        while tl:
            typ, ln = tl[0], struct.unpack("!H", tl[1:3])[0]
            found[typ] = tl[3:3 + ln]
            tl = tl[3 + ln:]
        assert found.get(0x02) == b"www.example.org", found
        assert found.get(0x20) == b"\0" * 5, found
        crc = found[0x03]
        i = pp.index(b"\x03\x00\x04") + 3
        zeroed = pp[:i] + b"\0\0\0\0" + pp[i + 4:]
        assert struct.unpack("!I", crc)[0] == crc32c(zeroed), (crc, pp)
    t.case("send-proxy-v2 with crc32c, authority (from the client's header) and ssl", case_v2)

    # health checks: send-proxy (v1: the check's own addresses), send-proxy-v2 (LOCAL)
    o1, o2 = Origin(), Origin()
    try:
        port3 = free_port()
        t.spillway(cfg(port3, ["server c1 %s:%d check inter 200ms send-proxy" % (HOST, o1.port),
                               "server c2 %s:%d check inter 200ms send-proxy-v2" % (HOST, o2.port),
                               ]), port3)

        def case_checks():
            assert wait_until(lambda: len(o1.snapshot()) >= 2 and len(o2.snapshot()) >= 2, 5)
            pp1 = o1.snapshot()[0]["pp"]
            m = re.match(rb"PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 (\d+) (\d+)\r\n$", pp1 or b"")
            assert m and int(m.group(2)) == o1.port, pp1
            pp2 = o2.snapshot()[0]["pp"]
            assert pp2 == SIG + b"\x20\x00\x00\x00", pp2
        t.case("checks send the header: v1 with their own addresses, v2 LOCAL", case_checks)
    finally:
        o1.close()
        o2.close()


def test_config(t):
    import subprocess
    from lib import SPILLWAY

    def check(text):
        path = os.path.join(t.dir, "c%d.cfg" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")

    base = ("defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n"
            "  timeout connect 1s\nfrontend f\n  bind 127.0.0.1:1 accept-proxy\n"
            "  default_backend b\nbackend b\n")

    def case_ok():
        rc, out = check(base + "  server s 127.0.0.1:2 send-proxy check-send-proxy check\n"
                        "  server t 127.0.0.1:3 send-proxy-v2 proxy-v2-options crc32c,authority\n")
        assert rc == 0, out
    t.case("-c: accept-proxy, send-proxy, send-proxy-v2, proxy-v2-options accepted", case_ok)

    def case_refused():
        rc, out = check(base + "  server s 127.0.0.1:2 send-proxy-v2 "
                        "proxy-v2-options cert-cn,unique-id,bogus\n")
        assert rc != 0, out
        assert "'cert-cn' not supported by spillway" in out, out
        assert "'unique-id' not supported by spillway" in out, out
        assert "'bogus' : proxy v2 option not implemented" in out, out
    t.case("-c: proxy-v2-options spillway cannot send are named, each", case_refused)


def test_tcp(t):
    """accept-proxy on a mode tcp frontend: the header is read, the relay carries the rest,
    and the tcplog line names the client the header gave."""
    b = t.backend("t1")
    port = free_port()
    cfg = ("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n"
           "  timeout server 5s\nfrontend f\n  bind %s:%d accept-proxy\n  option tcplog\n"
           "  log stdout format raw local0\n  default_backend b\nbackend b\n"
           "  server s %s:%d\n" % (HOST, port, HOST, b.port))
    sp = t.spillway(cfg, port)

    def case():
        with socket.create_connection((HOST, port), timeout=5) as c:
            c.sendall(b"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nGET /name HTTP/1.1\r\n"
                      b"Host: x\r\nConnection: close\r\n\r\n")
            got = b""
            for _ in range(100):
                d = c.recv(65536)
                if not d:
                    break
                got += d
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"t1\n"), got[:200]
        assert wait_until(lambda: re.search(r"^1\.2\.3\.4:1111 \[.*\] f b/s ", sp.log(),
                                            re.M), 3), sp.log()
    t.case("accept-proxy on a tcp frontend: relayed after the header, logged with its client",
           case)


def test_expect(t):
    # `tcp-request connection expect-proxy layer4 if COND` on a plain bind: the connections the
    # condition picks read a PROXY header first, the others are plain HTTP
    port = free_port()
    b1 = t.backend("bx")
    sp = t.spillway(cfg(port, ["server s1 %s:%d" % (HOST, b1.port)],
                        fe_lines=["tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }"],
                        bind_extra=""), port)

    def case():
        got, _ = exchange(port, b"PROXY TCP4 192.0.2.9 198.51.100.1 4000 80\r\n" + GET_CLOSE)
        assert b" 200 " in got.split(b"\r\n")[0], got[:200]
        assert body_xff(got) == "192.0.2.9", got
        s = socket.create_connection((HOST, port), timeout=5,
                                     source_address=("127.0.0.2", 0))
        s.sendall(GET_CLOSE)
        data = s.recv(4096)
        s.close()
        assert data.startswith(b"HTTP/1.1 200") and b"X-Forwarded-For: 127.0.0.2" in data, data
        assert wait_until(lambda: re.search(r"ci=192\.0\.2\.9 cp=4000", sp.log()), 3), sp.log()

    t.case("tcp-request connection expect-proxy layer4 if COND: a header for the chosen "
           "clients, plain HTTP for the others", case)
    sp.stop()


def main(t):
    test_config(t)
    test_expect(t)
    test_accept(t)
    test_send(t)
    test_tcp(t)


if __name__ == "__main__":
    Suite("proxyproto").run(main)
