#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py - writes the seed corpora of tests/fuzz/corpus/ (committed; run this
again only to regenerate them, then review the diff).

Seeds are small, meaningful inputs: valid messages, the tricky cases the unit tests already
name (extracted from tests/http/test_h1.c, tests/balance/test_acl.c and tests/core/test_config.c),
and attacks (smuggling, floods, limits). Each harness's control bytes (see the header of
tests/fuzz/fuzz_<name>.c) come first where it has them."""
import hashlib
import os
import re
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.normpath(os.path.join(ROOT, "..", ".."))
OUT = os.path.join(ROOT, "corpus")


def write(name, seeds, limit=None):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    n = 0
    for label, data in seeds:
        if data in seen:
            continue
        seen.add(data)
        fn = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40] or "seed"
        fn += "-" + hashlib.sha1(data).hexdigest()[:8]
        with open(os.path.join(d, fn), "wb") as f:
            f.write(data)
        n += 1
        if limit and n >= limit:
            break
    print(f"{name}: {n} seeds")


# ---- C string literals from the unit tests ----

ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "'": b"'", "0": b"\0",
       "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v", "?": b"?"}


def c_unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = s[i + 1]
        if n == "x":
            m = re.match(r"[0-9a-fA-F]+", s[i + 2:])
            out.append(int(m.group(0), 16) & 0xFF)
            i += 2 + len(m.group(0))
        elif n in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out += ESC.get(n, n.encode())
            i += 2
    return bytes(out)


LIT = r'"((?:[^"\\\n]|\\.)*)"'


def literal_runs(text, macros=None):
    """Adjacent string literals (and macros standing for literals) joined, as the compiler does."""
    macros = macros or {}
    tok = re.compile(LIT + "|" + "|".join([r"\b%s\b" % m for m in macros] or [r"(?!x)x"]))
    runs, cur, last_end = [], [], None
    for m in tok.finditer(text):
        gap = text[last_end:m.start()] if last_end is not None else None
        piece = c_unescape(m.group(1)) if m.group(1) is not None else macros[m.group(0)]
        if cur and gap is not None and gap.strip() == "":
            cur.append(piece)
        else:
            if cur:
                runs.append(b"".join(cur))
            cur = [piece]
        last_end = m.end()
    if cur:
        runs.append(b"".join(cur))
    return runs


def read(rel):
    with open(os.path.join(TREE, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


# ---- HTTP/1 ----

def ctl(flags, cut1, cut2):
    return struct.pack(">BHH", flags, cut1, cut2)


REQS = [
    ("get", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("get-params", b"GET /a/b.php?id=7&q=x;z=1 HTTP/1.1\r\nHost: www.example.com\r\n"
     b"Cookie: sid=abc; a=3\r\nCookie: b=4\r\nX-Forwarded-For: 10.1.1.1, 192.168.0.1\r\n"
     b"User-Agent: a-bot/1\r\nAccept: text/html, application/json;q=\"a,b\"\r\n\r\n"),
    ("post-cl", b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"),
    ("post-chunked", b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5;ext=1;q=\"x y\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"),
    ("chunked-1byte", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"1\r\nx\r\n" * 60 + b"0\r\n\r\n"),
    ("http10-nohost", b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("absolute", b"GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n"),
    ("absolute-mismatch", b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n"),
    ("absolute-noslash", b"GET http://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"),
    ("fragment", b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("h2c-upgrade", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
     b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
    ("expect", b"PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"),
    ("conn-cl", b"POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\n"
     b"Content-Length: 28\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
    ("conn-te", b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close, Transfer-Encoding\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("conn-host", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Host, keep-alive\r\n\r\n"),
    ("cl-te", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
     b"\r\n0\r\n\r\n"),
    ("cl-twice", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
    ("te-list", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
    ("te-gzip", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
    ("te-trailers", b"GET / HTTP/1.1\r\nHost: a\r\nTE: trailers, deflate\r\nConnection: TE\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
    ("bare-lf", b"GET / HTTP/1.1\nHost: a\n\n"),
    ("space-colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    ("leading-crlf", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("keepalive-pipeline", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("many-fields", b"GET / HTTP/1.1\r\nHost: a\r\n"
     + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(99)) + b"\r\n"),
    ("long-uri", b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("host-port", b"GET / HTTP/1.1\r\nHost: a.com:80x\r\n\r\n"),
    ("host-v6", b"OPTIONS * HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n"),
    ("connect", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
    ("head", b"HEAD /x HTTP/1.1\r\nHost: a\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 5\r\n\r\n"),
    ("xff", b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 192.168.1.9\r\n\r\n"),
    ("obs-text", b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \x80\xff\r\n\r\n"),
    ("ctl-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"),
    ("version-12", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    ("version-09", b"GET /\r\n\r\n"),
]

CHUNKS = [
    ("chunk-basic", b"5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-ext", b"3;a=b;c=\"d\\\"e\" \r\nabc\r\n0;x\r\n\r\n"),
    ("chunk-trailer", b"2\r\nab\r\n0\r\nA: 1\r\nB: 2\r\n\r\n"),
    ("chunk-upper", b"1F\r\n" + b"x" * 31 + b"\r\n0\r\n\r\n"),
    ("chunk-overflow", b"ffffffffffffffffff\r\n"),
    ("chunk-bare-lf", b"1\nx\n0\n\n"),
    ("chunk-bws", b"1 \t;a\r\nx\r\n0\r\n\r\n"),
    ("chunk-bad-end", b"1\r\nxy\r\n0\r\n\r\n"),
    ("chunk-tiny-many", b"1\r\nx\r\n" * 200 + b"0\r\n\r\n"),
    ("chunk-zero-lead", b"0005\r\nhello\r\n00\r\n\r\n"),
]


def h1_tests(kind):
    """Messages from tests/http/test_h1.c: requests or responses."""
    out = []
    for s in literal_runs(read("tests/http/test_h1.c")):
        if b"\r\n" not in s and b"\n" not in s:
            continue
        is_resp = s.startswith(b"HTTP/")
        if (kind == "resp") == is_resp:
            out.append(s)
    return out


def h1_request():
    seeds = []
    for label, r in REQS:
        seeds.append((label, ctl(0x00, len(r) // 2, len(r) - 3) + r))
    # the same with small buffers, XFF, close, and a byte at a time
    for label, r in REQS[1:5]:
        seeds.append((label + "-small", ctl(0x02 | 0x08 | 0x10 | 0x80, 7, 20) + r))
        seeds.append((label + "-v6", ctl(0x01 | 0x20 | 0x10 | 0x40, 3, 9) + r))
    for label, c in CHUNKS:
        seeds.append((label, ctl(0x04, len(c) // 3, len(c) // 2) + c))
    for i, r in enumerate(h1_tests("req")[:12]):
        seeds.append(("test-h1-%d" % i, ctl(0x08 if len(r) < 200 else 0, len(r) // 2, 5) + r))
    return seeds


RESPS = [
    ("200-cl", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc"),
    ("200-chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n"
     b"3\r\nabc\r\n0\r\nX: 1\r\n\r\n"),
    ("200-close", b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close"),
    ("200-close11", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody"),
    ("204", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"),
    ("304", b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 100\r\n\r\n"),
    ("100-then-200", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ("101", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    ("empty-reason", b"HTTP/1.1 503 \r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"),
    ("no-reason-sp", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    ("obs-text-reason", b"HTTP/1.1 200 \xc3\x89t\xe9 ok\r\nContent-Length: 0\r\n\r\n"),
    ("status-999", b"HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n"),
    ("cl-te", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("conn-cl", b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"),
    ("hop-fields", b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nProxy-Connection: close\r\n"
     b"Connection: X-Custom, keep-alive\r\nX-Custom: 1\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n"),
    ("set-cookie", b"HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
     b"Content-Length: 0\r\n\r\n"),
    ("upper-names", b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 1\r\nX-UPPER-Case: V\r\n\r\nx"),
    ("http10-ka", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
    ("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
    ("many-fields", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(99))
     + b"Content-Length: 0\r\n\r\n"),
]


def h1_response():
    seeds = []
    for label, r in RESPS:
        seeds.append((label, ctl(0x00, len(r) // 2, len(r) - 2) + r))
    for label, r in RESPS[:10]:
        seeds.append((label + "-c10", ctl(0x04 | 0x08 | 0x10, 5, 17) + r))
    for label, r in RESPS[:4]:
        seeds.append((label + "-small", ctl(0x03, 2, 4) + r))
    for i, r in enumerate(h1_tests("resp")[:15]):
        seeds.append(("test-h1-%d" % i, ctl(0x08 if len(r) < 200 else 0, len(r) // 2, 3) + r))
    return seeds


# ---- configuration ----

CONFIGS = [
    ("readme", b"""frontend webserver
    bind *:80
    mode http
    maxconn 310
    option forwardfor
    option httplog
    acl too_many_connections fe_conn(webserver) gt 300
    use_backend pbcoffee if too_many_connections
    default_backend ade
backend ade
    server a1 127.0.0.1:8081
backend pbcoffee
    server p1 127.0.0.1:8082
"""),
    ("full", b"""global
    nbthread 4
    cpu-map auto:1/1-4 0-3
    maxconn 20000
    tune.bufsize 16384
    tune.maxaccept 64
    tune.h2.max-concurrent-streams 100
    stats socket /run/spillway.sock mode 600 level admin
    log stdout format raw local0 info
    hard-stop-after 30s
    decision-log 100
defaults base
    mode http
    log global
    option httplog
    option dontlognull
    option http-keep-alive
    option redispatch 1
    retries 3
    timeout client 30s
    timeout server 30s
    timeout connect 5s
    timeout http-request 10s
    timeout http-keep-alive 2s
    timeout queue 1m
frontend fe from base
    bind 127.0.0.1:8080 name plain backlog 1024 maxconn 500
    bind [::1]:8080
    bind unix@/tmp/spillway.sock
    option forwardfor except 10.0.0.0/8 header X-Client if-none
    acl api path_beg /api
    acl static path_end .css .js
    acl bad hdr_cnt(host) gt 1
    acl h2 req.ver 2.0
    acl local src 127.0.0.1 ::1
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
    stats refresh 5s
    stats auth admin:secret
    use_backend api if api !bad || h2 local
    use_backend st if static
    default_backend web
backend api
    balance roundrobin
    fullconn 100
    server a1 127.0.0.1:9001 weight 10 maxconn 50 maxqueue 10 check inter 2s rise 2 fall 3
    server a2 localhost:9002 backup
    server a3 127.0.0.1:9003 disabled
backend st
    option httpclose
    server s1 [::1]:9010
backend web
    server w1 127.0.0.1:9020
listen both
    bind :9999
    server l1 127.0.0.1:9030
"""),
    ("quotes", b"""frontend "fe 1"
    bind :80
    acl q hdr(x-a) "two words" 'single \\'q\\'' escaped\\ space \\x41\\x1b
    acl e path_reg "^/a\\.b$"
    use_backend "be 1" if q e # comment
    default_backend "be 1"
backend "be 1"
    server s 127.0.0.1:80
"""),
    ("errors", b"""frontend f
    bind :80-85
    bind host.example:80
    tcp-request content accept
    maxconn x
    timeout client 10q
    acl x nosuchfetch foo
    use_backend missing if x
    default_backend missing
backend b
    server s 999.1.1.1:80
    server s2 127.0.0.1:99999
    balance leastconn
    mode tcp
"""),
    ("unsupported", b"""global
    lua-load /x.lua
    ssl-default-bind-ciphers X
peers p
    peer a 127.0.0.1:1
userlist u
    user a password x
frontend f
    bind :443 ssl crt /x.pem
    http-request set-header X 1
    compression algo gzip
    default_backend b
backend b
    http-check expect status 200
    server s 127.0.0.1:1 ssl verify none
"""),
    ("acl-file", b"""frontend f
    bind :80
    acl a path_beg -f pats
    acl i src -f ips
    acl n hdr(x) -m int -f ints
    acl e path -f empty
    acl m path -f missing
    use_backend b if a || i n
    default_backend b
backend b
    server s 127.0.0.1:80
"""),
    ("escapes-in-acl", b"""frontend f
    bind :80
    acl x "p\\x1bth" /a
    acl y path "a\\tb"
    default_backend b
backend b
    server s 127.0.0.1:80
"""),
    ("long-line", b"frontend f\n    bind :80\n    acl x path " + b" /a" * 70 + b"\n"),
    ("crlf", b"frontend f\r\n    bind :80\r\n    default_backend b\r\nbackend b\r\n    server s 127.0.0.1:80\r\n"),
    ("nul", b"frontend f\n    bind :80\x00\n    default_backend b\n"),
]


def config():
    seeds = list(CONFIGS)
    text = read("tests/core/test_config.c")
    m = re.search(r"#define TMO((?:.*\\\n)+.*)", text)
    macros = {"TMO": b"".join(c_unescape(x) for x in re.findall(LIT, m.group(1)))} if m else {}
    calls = re.finditer(r"\b(load_ok_w|load_ok|expect_errors|load_err|parse_ok)\s*\(", text)
    i = 0
    for c in calls:
        runs = literal_runs(text[c.end():c.end() + 2000], macros)
        if runs and b"\n" in runs[0]:
            seeds.append(("test-config-%d" % i, runs[0]))
            i += 1
    return seeds[:60]


# ---- ACLs ----

ACL_REQ = (b"GET /a/b.php?id=7&q=x;z=1 HTTP/1.1\r\nHost: www.example.com\r\n"
           b"Cookie: sid=abc; a=3\r\nCookie: b=\"4,5\"\r\nX-Forwarded-For: 10.1.1.1, 192.168.0.1\r\n"
           b"X-Num: 7\r\nX-Zero: 0\r\nX-Word: abc\r\nX-Ip: 10.2.3.4\r\nX-Ip6: 2001:db8::5\r\n"
           b"Accept: text/html, application/json\r\nX-Q: \"a,b\", c\r\n\r\n")


def acl():
    text = read("tests/balance/test_acl.c")
    cases = []
    for m in re.finditer(r"\b(acl1|run)\(" + LIT + r"(?:\s*,\s*" + LIT + r")?", text):
        fn, a, cond = m.group(1), c_unescape(m.group(2)), m.group(3)
        if fn == "acl1":
            cases.append(b"acl x " + a + b"\nif x\n")
        else:
            lines = b"".join(b"acl " + l + b"\n" for l in a.split(b"\n") if l)
            cases.append(lines + (c_unescape(cond) + b"\n" if cond is not None else b""))
    seeds = [
        ("readme", b"acl too_many_connections fe_conn(webserver) gt 300\nif too_many_connections\n"),
        ("anon", b"if { path_beg /x } or !{ hdr_cnt(host) eq 1 } || { url_param(id) -m int gt 5 }\n"),
        ("builtins", b"if HTTP_1.1 METH_GET LOCALHOST or HTTP_CONTENT or HTTP_URL_ABS TRUE !FALSE\n"),
        ("files", b"acl a path_beg -f pats\nacl i src -f ips\nacl n hdr(x-num) -m int -f ints\n"
         b"acl e path -f empty\nif a || i || n || e\n"),
        ("regex", b"acl r path_reg -i ^/a/[a-z]+\\.php$\nacl h hdr_reg(host) (www\\.)?example\nif r h\n"),
        ("ops", b"acl a hdr_val(x-num) ge 5\nacl b url_param(id) -m int lt 10\n"
         b"acl c hdr(x-num) -m int 1:9\nif a b c\nunless !a\n"),
        ("cookies", b"acl c req.cook(sid) abc\nacl d req.cook_cnt(b) eq 1\nacl e hdr_cnt(cookie) eq 1\n"
         b"acl f req.fhdr(cookie,-1) -m sub 4\nif c d e f\n"),
    ]
    for i in range(0, len(cases), 8):
        group = b"".join(cases[i:i + 8])
        seeds.append(("test-acl-%d" % (i // 8), group + b"--\n" + ACL_REQ))
    # requests of other shapes under the same rules
    seeds.append(("h10", cases[0] + b"--\nGET http://a.example/p?x=1 HTTP/1.0\r\n\r\n" if cases else b""))
    seeds.append(("no-req", b"acl x url_param(q,;) -m beg a\nacl y url_param(z,&) 1\nif x y\n"))
    return [s for s in seeds if s[1]]


# ---- HTTP/2 ----

PREFACE_LEN = 24


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def settings(pairs=((3, 100), (4, 65535))):
    return frame(4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hpack_str(s):
    assert len(s) < 127
    return bytes([len(s)]) + s


def hpack(fields, indexed=False):
    out = b""
    for n, v in fields:
        if indexed and (n, v) == (b":method", b"GET"):
            out += b"\x82"
        elif indexed and (n, v) == (b":path", b"/"):
            out += b"\x84"
        elif indexed and (n, v) == (b":scheme", b"http"):
            out += b"\x86"
        else:
            out += b"\x00" + hpack_str(n) + hpack_str(v)  # literal, never indexed name
    return out


END_STREAM, END_HEADERS, PADDED, PRIORITY = 1, 4, 8, 0x20
GET = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"example.com")]


def headers(sid, fields, flags=END_STREAM | END_HEADERS, **kw):
    return frame(1, flags, sid, hpack(fields, **kw))


def h2ctl(flags, cut):
    return struct.pack(">BH", flags, cut)


def h2():
    S = settings()
    ack = frame(4, 1, 0, b"")
    post = [(b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/up?x=1"),
            (b":authority", b"a.example:8443")]
    cases = [
        ("get", S + headers(1, GET)),
        ("get-indexed", S + ack + headers(1, GET, indexed=True)),
        ("get-host-only", S + headers(1, GET[:3] + [(b"host", b"h.example")])),
        ("authority-and-host", S + headers(1, GET + [(b"host", b"other.example")])),
        ("two-hosts", S + headers(1, GET[:3] + [(b"host", b"a"), (b"host", b"b")])),
        ("no-authority", S + headers(1, GET[:3])),
        ("post-cl", S + headers(1, post + [(b"content-length", b"5")], END_HEADERS)
         + frame(0, END_STREAM, 1, b"hello")),
        ("post-chunked", S + headers(1, post, END_HEADERS) + frame(0, 0, 1, b"abc")
         + frame(0, END_STREAM, 1, b"def")),
        ("post-empty-end", S + headers(1, post, END_HEADERS) + frame(0, END_STREAM, 1, b"")),
        ("post-cl-mismatch", S + headers(1, post + [(b"content-length", b"10")], END_HEADERS)
         + frame(0, END_STREAM, 1, b"abc")),
        ("continuation", S + frame(1, END_STREAM, 1, hpack(GET[:2]))
         + frame(9, END_HEADERS, 1, hpack(GET[2:] + [(b"x-long", b"v" * 60)]))),
        ("cookies", S + headers(1, GET + [(b"cookie", b"a=1"), (b"x", b"y"), (b"cookie", b"b=2"),
                                          (b"cookie", b"sid=abc")])),
        ("head", S + headers(1, [(b":method", b"HEAD")] + GET[1:])),
        ("connect", S + headers(1, [(b":method", b"CONNECT"), (b":authority", b"a:443")])),
        ("te", S + headers(1, GET + [(b"te", b"trailers")])),
        ("upper-name", S + headers(1, GET + [(b"X-Upper", b"v")])),
        ("bad-value", S + headers(1, GET + [(b"x", b"a\x01b")])),
        ("pseudo-after", S + headers(1, GET[:3] + [(b"x", b"1"), (b":authority", b"late")])),
        ("unknown-pseudo", S + headers(1, GET + [(b":protocol", b"websocket")])),
        ("two-streams", S + headers(1, GET) + headers(3, GET[:3] + [(b":authority", b"b")])),
        ("trailers", S + headers(1, post, END_HEADERS) + frame(0, 0, 1, b"x")
         + headers(1, [(b"x-trailer", b"1")])),
        ("rst-ping-wu", S + headers(1, post, END_HEADERS) + frame(3, 0, 1, b"\0\0\0\x08")
         + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, b"\0\0\x10\0") + frame(8, 0, 1, b"\0\0\x10\0")),
        ("priority", S + frame(2, 0, 3, b"\0\0\0\x01\x10")
         + frame(1, END_STREAM | END_HEADERS | PRIORITY, 1, b"\0\0\0\0\x10" + hpack(GET))),
        ("padded", S + headers(1, post, END_HEADERS) + frame(0, PADDED, 1, b"\x03abc\0\0\0")
         + frame(0, PADDED, 1, b"\x02\0\0") + frame(0, PADDED | END_STREAM, 1, b"\x00")),
        ("empty-data-flood", S + headers(1, post, END_HEADERS) + frame(0, 0, 1, b"") * 40),
        ("empty-data-closed", S + headers(1, GET) + frame(0, 0, 1, b"") * 10),
        ("goaway", S + headers(1, GET) + frame(7, 0, 0, b"\0\0\0\x01\0\0\0\0")),
        ("window-overflow", S + headers(1, post, END_HEADERS) + frame(0, 0, 1, b"z" * 16000) * 5),
        ("many-fields", S + headers(1, GET + [(b"x-%d" % i, b"v") for i in range(105)])),
        ("big-list", S + headers(1, GET, END_STREAM)
         + headers(3, GET + [(b"x-big-%d" % i, b"b" * 100) for i in range(12)])),
        ("settings-bad", settings(((4, 0x80000000),)) + headers(1, GET)),
        ("push-promise", S + frame(5, END_HEADERS, 1, b"\0\0\0\x02" + hpack(GET))),
        ("stream-even", S + headers(2, GET)),
        ("dup-path", S + headers(1, GET + [(b":path", b"/again")])),
        ("path-bad", S + headers(1, [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"a b")])),
        ("path-star", S + headers(1, [(b":method", b"OPTIONS"), (b":scheme", b"http"), (b":path", b"*"),
                                      (b":authority", b"x")])),
        ("cl-bad", S + headers(1, post + [(b"content-length", b"1,1")], END_HEADERS)),
        ("cl-twice", S + headers(1, post + [(b"content-length", b"3"), (b"content-length", b"3")],
                                 END_HEADERS) + frame(0, END_STREAM, 1, b"abc")),
        ("xff", S + headers(1, GET + [(b"x-forwarded-for", b"1.2.3.4")])),
    ]
    seeds = []
    for label, data in cases:
        seeds.append((label, h2ctl(0x00, len(data) // 2) + data))
    for label, data in cases[:5]:
        seeds.append((label + "-opts", h2ctl(0x03 | 0x04 | 0x10 | 0x20, 9) + data))
        seeds.append((label + "-xff-ifnone", h2ctl(0x01 | 0x04 | 0x08, 30) + data))
    return seeds


def main():
    write("h1_request", h1_request())
    write("h1_response", h1_response())
    write("config", config())
    write("acl", acl())
    write("h2", h2())


if __name__ == "__main__":
    sys.exit(main())
