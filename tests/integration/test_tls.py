#!/usr/bin/env python3
"""TLS termination on `bind ... ssl` (net/tls.c, http/tlsconn.c), HAProxy 2.6 semantics.

Certificates are made at test time (EC P-256, self-signed, one per name). One spillway serves:
an HTTPS bind with a directory of two certificates chosen by SNI and `alpn h2,http/1.1`, a
plain bind that redirects to https (`redirect scheme https if !{ ssl_fc }`), a bind with
`ssl-min-ver TLSv1.3`, and a tcp frontend offloading TLS to a plain server. curl, openssl
s_client, h2load and python sockets check from outside: the headers the backend received
(X-Forwarded-Proto set `if { ssl_fc }`, the ssl_fc_* fetches), ALPN's choice of protocol, the
certificate SNI picks, the version floor, 1 MB each way intact over HTTP/1.1 and HTTP/2, a load
of 2000 requests, plain bytes and a stalled handshake closed (with HAProxy's log lines), and
`-c` naming the file and line of a missing certificate or of a key that does not match."""

import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (HOST, SPILLWAY, Suite, curl, free_port, h2load_ok, no_sanitizer_report,  # noqa: E402
                 pattern_bytes, wait_until)


def make_cert(d, name, sans):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + sans[0],
                    "-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans),
                    "-keyout", key, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    with open(crt) as c, open(key) as k:
        pem = c.read() + k.read()
    return crt, key, pem


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def s_client(port, *args, timeout=10):
    p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, port)] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


TMO = ("defaults\n  mode http\n  log global\n  timeout client 5s\n  timeout server 5s\n"
       "  timeout connect 2s\n  timeout http-request 1s\n")


def main(t):
    d = t.dir
    a_crt, _, a_pem = make_cert(d, "a", ["a.example.com"])
    b_crt, _, b_pem = make_cert(d, "b", ["b.example.com", "*.b.example.org"])
    certs = os.path.join(d, "certs")
    os.mkdir(certs)
    write(os.path.join(certs, "1-a.pem"), a_pem)
    write(os.path.join(certs, "2-b.pem"), b_pem)
    write(os.path.join(certs, "2-b.pem.ocsp"), "ignored: not a certificate\n")
    write(os.path.join(d, "a.pem"), a_pem)
    b1 = t.backend("b1")
    tls, plain, tls13, tcptls, pxtls = (free_port(), free_port(), free_port(), free_port(),
                                        free_port())
    cfg = ("global\n  nbthread 2\n  log stdout format raw local0\n  crt-base %s\n"
           "  ssl-default-bind-options no-sslv3 no-tls-tickets\n" % d + TMO +
           "frontend fe\n"
           "  log-format \"fe=%%ft sni=%%[ssl_fc_sni] v=%%sslv c=%%sslc st=%%ST\"\n"
           "  bind %s:%d ssl crt certs alpn h2,http/1.1\n"
           "  bind %s:%d\n"
           "  bind %s:%d ssl crt a.pem ssl-min-ver TLSv1.3 prefer-client-ciphers\n"
           "  bind %s:%d accept-proxy ssl crt a.pem\n"
           "  http-request redirect scheme https code 301 if !{ ssl_fc }\n"
           "  http-request set-header X-Forwarded-Proto https if { ssl_fc }\n"
           "  http-request set-header X-TLS %%[ssl_fc_protocol]/%%[ssl_fc_alpn]/%%[ssl_fc_sni]\n"
           "  http-request set-header X-Bits %%[ssl_fc_use_keysize]\n"
           "  default_backend be\n"
           "frontend tcpfe\n  mode tcp\n  log-format \"tcp=%%ft\"\n  bind %s:%d ssl crt a.pem\n"
           "  default_backend betcp\n"
           "backend be\n  server s1 %s:%d\n"
           "backend betcp\n  mode tcp\n  server s1 %s:%d\n"
           % (HOST, tls, HOST, plain, HOST, tls13, HOST, pxtls, HOST, tcptls, HOST, b1.port, HOST,
              b1.port))
    sp = t.spillway(cfg, tls)
    res = lambda name, port=tls: ["--resolve", "%s:%d:%s" % (name, port, HOST)]  # noqa: E731
    url = lambda name, path, port=tls: "https://%s:%d%s" % (name, port, path)  # noqa: E731

    def case_h1():
        rc, out, err = curl(["--http1.1", "--cacert", a_crt] + res("a.example.com") +
                            [url("a.example.com", "/headers")])
        assert rc == 0, err
        body = out.decode()
        assert "X-Forwarded-Proto: https" in body, body
        assert "X-TLS: TLSv1.3/http/1.1/a.example.com" in body, body
        assert re.search(r"X-Bits: (128|256)\r?\n", body), body
    t.case("HTTPS over HTTP/1.1 (ALPN http/1.1): X-Forwarded-Proto https if { ssl_fc }, "
           "ssl_fc_protocol/alpn/sni/use_keysize", case_h1)

    def case_h2():
        rc, out, err = curl(["--http2", "--cacert", a_crt, "-w", "\nversion=%{http_version}"] +
                            res("a.example.com") + [url("a.example.com", "/headers")])
        assert rc == 0, err
        body = out.decode()
        assert body.endswith("version=2"), body
        assert "X-Forwarded-Proto: https" in body and "X-TLS: TLSv1.3/h2/a.example.com" in body
    t.case("HTTPS over HTTP/2 chosen by ALPN h2", case_h2)

    def case_sni():
        # a wildcard name of the second file: its certificate verifies against b.crt only
        rc, out, err = curl(["--cacert", b_crt] + res("x.b.example.org") +
                            [url("x.b.example.org", "/name")])
        assert rc == 0, err
        rc, _, err = curl(["--cacert", a_crt] + res("x.b.example.org") +
                          [url("x.b.example.org", "/name")])
        assert rc != 0, "b's name served a's certificate"
        rc, out = s_client(tls, "-servername", "b.example.com")
        assert "CN = b.example.com" in out, out[-1500:]
        # no SNI, or a name no certificate has: the first file of the directory
        rc, out = s_client(tls, "-noservername")
        assert re.search(r"subject=CN ?= ?a\.example\.com", out), out[-1500:]
        rc, out = s_client(tls, "-servername", "nobody.example.net")
        assert re.search(r"subject=CN ?= ?a\.example\.com", out), out[-1500:]
    t.case("SNI picks among a directory's certificates (exact, wildcard), else the first", case_sni)

    def case_redirect():
        rc, out, err = curl(["-i", "http://%s:%d/x?y=1" % (HOST, plain)])
        head = out.decode(errors="replace")
        assert rc == 0 and head.startswith("HTTP/1.1 301"), head
        assert re.search(r"(?i)location: https://127\.0\.0\.1:%d/x\?y=1\r\n" % plain, head), head
    t.case("plain port: redirect scheme https code 301 if !{ ssl_fc }", case_redirect)

    def case_proxy():
        # the PROXY header, then TLS: the bytes after the header reach OpenSSL first
        rc, out, err = curl(["--haproxy-protocol", "--http1.1", "--cacert", a_crt] +
                            res("a.example.com", pxtls) +
                            [url("a.example.com", "/headers", pxtls)])
        body = out.decode()
        assert rc == 0 and "X-Forwarded-Proto: https" in body, (rc, err, body)
        # the header and the ClientHello in one write: OpenSSL must read the hello from
        # the connection's buffer, where the header's reader left it
        ctx = ssl.create_default_context(cafile=a_crt)
        inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, outb, server_hostname="a.example.com")
        got = bytearray()
        with socket.create_connection((HOST, pxtls), timeout=5) as sk:
            pending = b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 443\r\n"
            for _ in range(20):
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sk.sendall(pending + outb.read())
                    pending = b""
                    data = sk.recv(65536)
                    assert data, "closed during the handshake"
                    inc.write(data)
            obj.write(b"GET /headers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            sk.sendall(outb.read())
            for _ in range(200):
                data = sk.recv(65536)
                if not data:
                    break
                inc.write(data)
                try:
                    for _ in range(200):
                        chunk = obj.read(65536)
                        if not chunk:  # close_notify
                            break
                        got += chunk
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
        assert got.startswith(b"HTTP/1.1 200") and b"X-Forwarded-Proto: https" in got, got
    t.case("bind ... accept-proxy ssl: the PROXY header, then the TLS handshake", case_proxy)

    def case_minver():
        rc, out = s_client(tls13, "-tls1_2")
        assert rc != 0 and "alert protocol version" in out and "Cipher is (NONE)" in out, \
            out[-1500:]
        rc, out = s_client(tls13, "-tls1_3")
        assert rc == 0 and "New, TLSv1.3, Cipher is TLS_" in out, out[-1500:]
        rc, out = s_client(tls, "-tls1_2")  # the default floor is TLSv1.2: accepted there
        assert rc == 0 and "New, TLSv1.2, Cipher is ECDHE-" in out, out[-1500:]
        # the server's order of TLS 1.3 suites (AES-256 first), or the client's with
        # prefer-client-ciphers
        suites = ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"]
        rc, out = s_client(tls, "-tls1_3", *suites)
        assert rc == 0 and "Cipher is TLS_AES_256_GCM_SHA384" in out, out[-1500:]
        rc, out = s_client(tls13, "-tls1_3", *suites)
        assert rc == 0 and "Cipher is TLS_CHACHA20_POLY1305_SHA256" in out, out[-1500:]
    t.case("ssl-min-ver TLSv1.3 refuses a TLS 1.2 client; the default bind takes it; "
           "prefer-client-ciphers: the client's order of TLS 1.3 suites", case_minver)

    def case_big():
        want = pattern_bytes(1 << 20)
        body = os.urandom(1 << 20)
        path = write(os.path.join(d, "post.bin"), "")
        with open(path, "wb") as f:
            f.write(body)
        for v in ("--http1.1", "--http2"):
            rc, out, err = curl([v, "--cacert", a_crt] + res("a.example.com") +
                                [url("a.example.com", "/size/%d" % (1 << 20))])
            assert rc == 0 and out == want, (v, rc, len(out), err)
            rc, out, err = curl([v, "--cacert", a_crt, "--data-binary", "@" + path] +
                                res("a.example.com") + [url("a.example.com", "/echo")])
            assert rc == 0 and out.endswith(body), (v, rc, len(out), err)
    t.case("1 MB response and 1 MB POST body intact over TLS, HTTP/1.1 and HTTP/2", case_big)

    def case_slow_reader():
        # a small receive window and a pause: spillway's writes meet a full socket, and
        # OpenSSL's retry rule (the same bytes again) holds across many partial records
        ctx = ssl.create_default_context(cafile=a_crt)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.settimeout(10)
        raw.connect((HOST, tls))
        with ctx.wrap_socket(raw, server_hostname="a.example.com") as s:
            s.sendall(b"GET /size/8388608 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            time.sleep(0.3)  # spillway's socket buffer fills (8 MB is more than it holds)
            got = bytearray()
            for _ in range(100000):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        assert body == pattern_bytes(8 << 20), len(body)
    t.case("8 MB to a slow TLS reader (small window): intact, the write retries hold",
           case_slow_reader)

    def case_load():
        p = subprocess.run(["h2load", "-n", "2000", "-c", "10", "-m", "4",
                            "https://%s:%d/name" % (HOST, tls)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        why = h2load_ok(p.stdout.decode(errors="replace"), 2000)
        assert not why, why
    t.case("h2load over TLS (ALPN h2): 2000 requests on 10 connections, all 2xx", case_load)

    def case_tcp():
        ctx = ssl.create_default_context(cafile=a_crt)
        ctx.check_hostname = False
        with socket.create_connection((HOST, tcptls), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.example.com") as s:
                s.sendall(b"GET /name HTTP/1.0\r\nHost: x\r\n\r\n")
                got = b""
                for _ in range(100):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
        assert got.startswith(b"HTTP/1.") and b" 200 " in got.split(b"\r\n")[0], got[:200]
        assert got.rstrip().endswith(b"b1"), got[-100:]
    t.case("mode tcp frontend with bind ... ssl: TLS offload to a plain tcp server", case_tcp)

    def case_plaintext():
        t0 = time.monotonic()
        with socket.create_connection((HOST, tls), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            for _ in range(10):
                chunk = s.recv(4096)  # a reset would raise: the close must be clean (a FIN)
                if not chunk:
                    break
                data += chunk
        assert time.monotonic() - t0 < 3, "not closed at once"
        assert not data.startswith(b"HTTP/"), data[:100]
        assert wait_until(lambda: "SSL handshake failure" in sp.log(limit=1 << 22), 3), sp.log()
    t.case("plain HTTP on the TLS port: closed at once, logged 'SSL handshake failure'",
           case_plaintext)

    def case_stall():
        t0 = time.monotonic()
        with socket.create_connection((HOST, tls), timeout=8) as s:
            s.sendall(b"\x16\x03\x01\x00\xc8\x01\x00")  # a ClientHello that never ends
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
        took = time.monotonic() - t0
        assert data == b"" and 0.8 <= took < 5, (data, took)
        assert wait_until(lambda: "Timeout during SSL handshake" in sp.log(limit=1 << 22), 3), sp.log()
    t.case("a client that stops mid-handshake is closed by timeout http-request (1 s)",
           case_stall)

    def case_log():
        log = lambda: sp.log(limit=1 << 22)  # noqa: E731
        assert wait_until(lambda: re.search(r"fe=fe~ sni=a\.example\.com v=TLSv1\.3 "
                                            r"c=TLS_AES_\w+ st=200", log()), 3), sp.log()
        assert "tcp=tcpfe~" in log(), sp.log()
    t.case("access log: %ft with '~' for TLS, %[ssl_fc_sni], %sslv, %sslc", case_log)

    def check(text):
        path = write(os.path.join(d, "check-%d.cfg" % time.monotonic_ns()), text)
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace"), os.path.basename(path)

    def case_check():
        mism = write(os.path.join(d, "mism.pem"), open(a_crt).read() + open(
            os.path.join(d, "b.key")).read())
        nokey = write(os.path.join(d, "nokey.pem"), open(a_crt).read())
        split = write(os.path.join(d, "split.pem"), open(a_crt).read())
        write(split + ".key", open(os.path.join(d, "a.key")).read())
        base = TMO + "frontend f\n  bind %s:1 ssl crt %%s\n  default_backend b\n" \
                     "backend b\n  server s %s:2\n" % (HOST, HOST)
        for crt, msg in ((os.path.join(d, "missing.pem"), "cannot open certificate"),
                         (mism, "inconsistencies between private key and certificate"),
                         (nokey, "No Private Key found")):
            rc, out, name = check(base % crt)
            assert rc != 0 and re.search(r"%s:9: bind '127\.0\.0\.1:1' in proxy 'f': .*%s"
                                         % (re.escape(name), msg), out), out
        rc, out, _ = check(base % split)  # the key beside the certificate, as HAProxy 2.6
        assert rc == 0 and "Configuration file is valid" in out, out
        rc, out, name = check(base % (a_crt + " verify required"))
        assert rc != 0 and "bind option 'verify' not supported by spillway" in out, out
    t.case("-c: a missing certificate, a key mismatch, no key: errors with file:line; "
           "FILE.key beside", case_check)

    t.case("no sanitizer report", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("tls").run(main)
