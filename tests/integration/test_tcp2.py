#!/usr/bin/env python3
"""Mode tcp, the rest of issue 19's TCP side: `tcp-request session` rules (after the PROXY
header), a backend's `tcp-request content` rules, `tcp-response content accept|reject|close`
over the server's first bytes (res.len, res.payload), and the refusals of what is not done
yet, each driven from outside against loopback servers this test starts (test_tcp.py's echo
server). One spillway carries every frontend, so the whole script costs one start."""

import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (HOST, SPILLWAY, Suite, curl, free_port, no_sanitizer_report,  # noqa: E402
                 wait_until)
from test_tcp import (TCPLOG, Server, _servers, echo, log_lines, recv_all,  # noqa: E402
                      sock_ready, stat_rows, wait_log)


def rules_cases(t):
    es = Server(echo)
    p = {n: free_port() for n in ("sess", "sess2", "pxsess", "guard", "resp", "upg", "hweb")}
    web = t.backend("web1")
    sock = os.path.join(t.dir, "tcp2.sock")
    cfg = """global
    nbthread 2
    log stdout format raw local0
    stats socket %(sock)s mode 600
defaults
    mode tcp
    timeout client 10s
    timeout server 10s
    timeout connect 2s
    log global
    option tcplog
frontend sess
    bind %(h)s:%(sess)d name first
    bind %(h)s:%(sess2)d maxconn 5
    option socket-stats
    tcp-request session reject if { src 127.0.0.2 }
    default_backend plain
frontend pxsess
    bind %(h)s:%(pxsess)d accept-proxy
    tcp-request session reject if { src 10.9.9.9 }
    default_backend plain
frontend guard
    bind %(h)s:%(guard)d
    default_backend guarded
frontend resp
    bind %(h)s:%(resp)d
    default_backend answers
frontend upg
    bind %(h)s:%(upg)d
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.len ge 4 }
    use_backend web if { req.payload(0,4) -m str "GET " }
    default_backend plain
frontend hweb
    mode http
    bind %(h)s:%(hweb)d name h1
    option socket-stats
    default_backend web
backend web
    mode http
    server w %(h)s:%(w)d
backend plain
    server s %(h)s:%(e)d
backend guarded
    tcp-request inspect-delay 2s
    tcp-request content reject if { req.payload(0,3) -m str BAD }
    tcp-request content accept if { req.len ge 4 }
    server s %(h)s:%(e)d
backend answers
    tcp-response inspect-delay 2s
    tcp-response content reject if { res.payload(0,4) -m str EVIL }
    tcp-response content close if { res.payload(0,5) -m str CLOSE }
    tcp-response content accept if { res.len ge 6 }
    server s %(h)s:%(e)d
""" % dict(p, sock=sock, h=HOST, e=es.port, w=web.port)
    sp = t.spillway(cfg, p["sess"])
    sock_ready(sock)

    def talk(port, data, source=None, pause=None, more=b"", fin=False, timeout=5.0):
        """Sends data [, waits, sends more] and reads to EOF: (bytes, how, seconds, my port)."""
        c = socket.create_connection((HOST, port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        me = c.getsockname()[1]
        t0 = time.monotonic()
        c.sendall(data)
        if pause:
            time.sleep(pause)
            c.sendall(more)
        if fin:
            c.shutdown(socket.SHUT_WR)
        got, how = recv_all(c, timeout=timeout)
        took = time.monotonic() - t0
        c.close()
        return got, how, took, me

    def echo_first(port, data, timeout=5.0):
        """The echo of data on a connection kept open, then the connection (caller closes)."""
        c = socket.create_connection((HOST, port), timeout=timeout)
        c.sendall(data)
        c.settimeout(timeout)
        got = b""
        while len(got) < len(data):
            d = c.recv(65536)
            assert d, "closed after %r" % got
            got += d
        return got, c

    def session_reject():
        got, how, _, me = talk(p["sess"], b"hello", source="127.0.0.2")
        assert got == b"" and how in ("eof", "reset"), (got, how)
        # an accepted session goes through, from another source
        got, how, _, _ = talk(p["sess"], b"ok", fin=True)
        assert got == b"ok" and how == "eof", (got, how)
        rows = stat_rows(sock)
        # the backend saw the harness's readiness probe and the accepted session only
        assert rows[("plain", "BACKEND")]["stot"] == "2", rows[("plain", "BACKEND")]["stot"]
        fe = rows[("sess", "FRONTEND")]
        assert fe["dses"] == "1" and fe["dcon"] == "0", (fe["dses"], fe["dcon"])
        # the refused session is a connection (conn_tot), not a session (stot): the harness's
        # readiness probe and the accepted one are
        assert fe["stot"] == "2" and fe["conn_tot"] == "3", (fe["stot"], fe["conn_tot"])
        time.sleep(0.2)
        assert not log_lines(sp, r"^127\.0\.0\.2:%d " % me), "a refused session was logged"

    def session_after_proxy():
        hdr = b"PROXY TCP4 10.9.9.9 127.0.0.1 4444 80\r\n"
        got, how, _, _ = talk(p["pxsess"], hdr + b"hidden")
        assert got == b"" and how in ("eof", "reset"), (got, how)
        # HAProxy 2.6 kills the embryonic session with the text of "no error": Success
        lines = wait_log(sp, 1, r"^10\.9\.9\.9:4444 \[[^\]]+\] pxsess/\S+: Success$")
        assert lines, sp.log()
        got, how, _, _ = talk(p["pxsess"], b"PROXY TCP4 10.9.9.8 127.0.0.1 4445 80\r\nseen",
                              fin=True)
        assert got == b"seen" and how == "eof", (got, how)
        line = wait_log(sp, 1, r"^10\.9\.9\.8:4445 ")[-1]
        assert " pxsess plain/s " in line, line
        fe = stat_rows(sock)[("pxsess", "FRONTEND")]
        assert fe["dses"] == "1" and fe["stot"] == "1", (fe["dses"], fe["stot"])

    def backend_content():
        before = es.accepts
        got, how, _, me = talk(p["guard"], b"BAD things")
        assert got == b"" and how in ("eof", "reset"), (got, how)
        line = wait_log(sp, 1, r"^127\.0\.0\.1:%d " % me)[-1]
        m = TCPLOG.match(line)
        # refused by the backend's rule: the backend is named, no server, PR
        assert m and m.group("ts") == "PR" and m.group("b") == "guarded" and \
            m.group("s") == "<NOSRV>", line
        assert es.accepts == before, "a refused session reached the server"
        assert stat_rows(sock)[("guard", "FRONTEND")]["dreq"] == "1"
        # the backend's own inspect-delay: 2 bytes wait, the next 2 let it through
        got, how, took, _ = talk(p["guard"], b"go", pause=0.4, more=b"od", fin=True)
        assert got == b"good" and how == "eof", (got, how)
        assert took >= 0.35, "decided after %.2fs, before the bytes came" % took

    def response_reject():
        got, how, _, me = talk(p["resp"], b"EVIL payload")
        assert got == b"" and how in ("eof", "reset"), (got, how)
        line = wait_log(sp, 1, r"^127\.0\.0\.1:%d " % me)[-1]
        m = TCPLOG.match(line)
        assert m and m.group("ts") == "PD" and m.group("s") == "s", line
        rows = stat_rows(sock)
        for key in (("resp", "FRONTEND"), ("answers", "BACKEND"), ("answers", "s")):
            assert rows[key]["dresp"] == "1", (key, rows[key]["dresp"])

    def response_close():
        eofs = es.events.count("eof")
        # no FIN from the client: the rule closes the server side, the client gets what the
        # server sent, then the end
        got, how, took, me = talk(p["resp"], b"CLOSE me\n")
        assert got == b"CLOSE me\n" and how == "eof" and took < 1.5, (got, how, took)
        assert wait_until(lambda: es.events.count("eof") > eofs, 3), "the server was not closed"
        line = wait_log(sp, 1, r"^127\.0\.0\.1:%d " % me)[-1]
        assert TCPLOG.match(line).group("ts") == "--", line

    def response_waits():
        # 2 bytes cannot tell EVIL from CLOSE: the echo is held until 6 bytes came back
        c = socket.create_connection((HOST, p["resp"]), timeout=5)
        c.sendall(b"he")
        c.settimeout(0.3)
        try:
            early = c.recv(100)
        except socket.timeout:
            early = b""
        assert early == b"", "forwarded before the rules decided: %r" % early
        c.sendall(b"llo!")
        c.settimeout(5)
        got = b""
        while len(got) < 6:
            d = c.recv(100)
            assert d, got
            got += d
        # accepted: the relay runs both ways from now on
        c.sendall(b" more")
        while len(got) < 11:
            d = c.recv(100)
            assert d, got
            got += d
        c.close()
        assert got == b"hello! more", got

    def socket_stats():
        for i in range(3):
            got, how, _, _ = talk(p["sess2"], b"x" * (i + 1), fin=True)
            assert got == b"x" * (i + 1) and how == "eof", (got, how)
        wait_until(lambda: stat_rows(sock)[("sess", "sock-2")]["scur"] == "0", 5)
        rows = stat_rows(sock)
        first, second = rows[("sess", "first")], rows[("sess", "sock-2")]
        # one row per listener, after FRONTEND: type 3, named by `name` or sock-<luid>
        keys = [k for k in rows if k[0] == "sess"]
        assert keys == [("sess", "FRONTEND"), ("sess", "first"), ("sess", "sock-2")], keys
        assert first["type"] == "3" and first["sid"] == "1" and second["sid"] == "2", \
            (first["type"], first["sid"], second["sid"])
        # first: the readiness probe, the refused session and the accepted one ("ok")
        assert (first["stot"], first["dses"], first["bin"], first["bout"]) == \
            ("3", "1", "2", "2"), (first["stot"], first["dses"], first["bin"], first["bout"])
        # second: three sessions of 1, 2 and 3 bytes each way, its own maxconn
        assert (second["stot"], second["dses"], second["bin"], second["bout"]) == \
            ("3", "0", "6", "6"), (second["stot"], second["dses"], second["bin"], second["bout"])
        assert second["slim"] == "5" and first["slim"] == "0", (second["slim"], first["slim"])
        assert first["status"] == "OPEN" and second["scur"] == "0" and second["smax"] == "1", \
            (first["status"], second["scur"], second["smax"])
        # the frontend row is the sum of its listeners
        fe = rows[("sess", "FRONTEND")]
        assert fe["bin"] == "8" and fe["conn_tot"] == "6", (fe["bin"], fe["conn_tot"])
        assert first["rate"] == "" and first["hrsp_2xx"] == "", "a column HAProxy leaves empty"
        # an http frontend's listener counts its requests' bytes too
        url = "http://%s:%d/name" % (HOST, p["hweb"])
        rc, out, err = curl([url, url])
        assert rc == 0 and out == b"web1\nweb1\n", (out, err)
        # (the second request's bytes are counted as it ends, maybe after curl has them)
        wait_until(lambda: (lambda r: r[("hweb", "h1")]["bout"] == r[("hweb", "FRONTEND")]["bout"]
                            and r[("hweb", "h1")]["bin"] == r[("hweb", "FRONTEND")]["bin"])(
                                stat_rows(sock)), 2)
        rows = stat_rows(sock)
        li, hfe = rows[("hweb", "h1")], rows[("hweb", "FRONTEND")]
        assert li["type"] == "3" and li["mode"] == "http" and li["stot"] == "1", \
            (li["type"], li["mode"], li["stot"])  # curl's one connection, two requests
        assert int(li["bin"]) > 0 and (li["bin"], li["bout"]) == (hfe["bin"], hfe["bout"]), \
            (li["bin"], li["bout"], hfe["bin"], hfe["bout"])

    def upgraded():
        url = "http://%s:%d" % (HOST, p["upg"])
        # two requests on one connection, both answered by the http backend
        rc, out, err = curl([url + "/name", url + "/status/404", "-w",
                             "[%{http_code} %{num_connects}]"])
        assert rc == 0, err
        # the second request reused the connection (no new connect)
        assert out.startswith(b"web1\n[200 1]") and out.endswith(b"[404 0]"), out
        # HTTP/2 with prior knowledge: the preface starts with "PRI ", not "GET ": relayed
        # to the echo server, which echoes it (HAProxy would do the same with this rule)
        got, how, _, _ = talk(p["upg"], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", fin=True)
        assert got.startswith(b"PRI * HTTP/2.0") and how == "eof", (got, how)
        # the frontend's log format is its own (tcplog): one line per request
        lines = wait_log(sp, 2, r" upg web/w ")
        m = [TCPLOG.match(ln) for ln in lines]
        assert len(lines) == 2 and all(x and x.group("ts") == "--" for x in m), lines
        assert wait_log(sp, 1, r" upg plain/s ")
        # a request that is not HTTP, once upgraded: HTTP's 400
        got, how, _, _ = talk(p["upg"], b"GET this is not http\r\n\r\n", fin=True)
        assert got.startswith(b"HTTP/1.1 400 "), got

    t.case("tcp-request session reject by src: closed, dses, no session, not logged",
           session_reject)
    t.case("a tcp frontend routing to an http backend: the connection becomes HTTP (curl, "
           "keep-alive, tcplog lines)", upgraded)
    t.case("option socket-stats: one row per listener (name / sock-N), its own counts",
           socket_stats)
    t.case("tcp-request session after the PROXY header: its source refused, 'Success' logged",
           session_after_proxy)
    t.case("a backend's tcp-request content reject on the payload: PR, guarded/<NOSRV>; its "
           "inspect-delay waits for req.len", backend_content)
    t.case("tcp-response content reject on res.payload: nothing forwarded, PD, dresp x3",
           response_reject)
    t.case("tcp-response content close: the server's bytes reach the client, then the end",
           response_close)
    t.case("tcp-response inspect-delay: the server's bytes wait for res.len, then flow",
           response_waits)


def pp2_cases(t):
    def first_bytes(c, srv):
        c.settimeout(3)
        data = b""
        while len(data) < 28:
            d = c.recv(28 - len(data))
            if not d:
                break
            data += d
        srv.note(data)

    hs = Server(first_bytes)
    port = free_port()
    cfg = """global
    pp2-never-send-local
defaults
    mode tcp
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen l
    bind %(h)s:%(p)d
    server c %(h)s:%(s)d check inter 200ms send-proxy-v2
""" % {"h": HOST, "p": port, "s": hs.port}
    t.spillway(cfg, port)

    def checks_carry_addresses():
        assert wait_until(lambda: any(len(e) == 28 for e in hs.events), 5), hs.events
        pp = [e for e in hs.events if len(e) == 28][0]
        sig = b"\r\n\r\n\x00\r\nQUIT\n"
        # PROXY (not LOCAL), TCP over IPv4, the check connection's own addresses
        assert pp[:12] == sig and pp[12] == 0x21 and pp[13] == 0x11, pp
        assert struct.unpack("!H", pp[14:16])[0] == 12, pp
        src, dst = socket.inet_ntoa(pp[16:20]), socket.inet_ntoa(pp[20:24])
        sport, dport = struct.unpack("!HH", pp[24:28])
        assert src == HOST and dst == HOST and dport == hs.port and sport > 0, \
            (src, dst, sport, dport)

    t.case("pp2-never-send-local: a check's PROXY v2 header carries its addresses, not LOCAL",
           checks_carry_addresses)


def config_cases(t):
    def check(text):
        path = os.path.join(t.dir, "c.cfg")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([SPILLWAY, "-c", "-f", path], capture_output=True, timeout=30)
        return r.returncode, (r.stdout + r.stderr).decode(errors="replace")

    base = ("defaults\n mode tcp\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
            "frontend f\n bind %s:%d\n default_backend b\n%s"
            "backend b\n%s server s %s:1\n")

    def later():
        rc, out = check(base % (HOST, free_port(), " tcp-request content set-var(txn.x) int(1)\n",
                                "", HOST))
        assert rc != 0
        assert re.search(r"c\.cfg:9: 'tcp-request content': 'set-var\(txn\.x\)': a tcp-request "
                         r"content rule runs before any transaction", out), out
        rc, out = check(base % (HOST, free_port(), " tcp-request content set-var(sess.x) int(1)\n"
                                " tcp-request content use-service prometheus-exporter\n", "",
                                HOST))
        assert rc != 0
        assert re.search(r"c\.cfg:10: 'tcp-request content use-service': not supported by "
                         r"spillway yet", out), out

    def misplaced():
        rc, out = check(base % (HOST, free_port(), " tcp-response content reject\n",
                                " tcp-request session reject\n", HOST))
        assert rc != 0
        assert re.search(r"c\.cfg:9: 'tcp-response content': is only allowed in 'backend' "
                         r"sections", out), out
        assert re.search(r"c\.cfg:11: 'tcp-request session': is not allowed because backend "
                         r"'b' is not a frontend", out), out
        # the fetches of one direction in the rules of the other (the routing stage)
        rc, out = check(base % (HOST, free_port(), " tcp-request content reject if { res.len gt 1 }\n",
                                " tcp-response content accept if { req.len gt 1 }\n", HOST))
        assert rc != 0
        assert re.search(r"c\.cfg:9: 'tcp-request content': .*'res\.len', which extracts "
                         r"information from 'response buffer contents'", out), out
        assert re.search(r"c\.cfg:11: 'tcp-response content': .*'req\.len', which reads the "
                         r"request", out), out

    t.case("-c: set-var(txn.*) refused in tcp rules, use-service 'not supported by spillway "
           "yet', file:line", later)
    t.case("-c: tcp-response in a frontend, session rules in a backend, req.len on a response",
           misplaced)


def var_cases(t):
    es = Server(echo)
    port = free_port()
    log = os.path.join(t.dir, "vars.log")
    cfg = """global
    log %(log)s format raw local0
defaults
    mode tcp
    timeout client 5s
    timeout server 5s
    timeout connect 2s
    log global
frontend f
    bind %(h)s:%(p)d
    log-format "vars %%[var(sess.who)] %%[var(sess.first)]"
    tcp-request connection set-var(sess.who) str(tcpclient)
    tcp-request inspect-delay 2s
    tcp-request content set-var(sess.first) req.payload(0,3) if { req.len ge 3 }
    tcp-request content reject if { var(sess.first) -m str BAD }
    tcp-request content unset-var(sess.who) if { var(sess.first) -m str UNS }
    default_backend b
backend b
    server s %(h)s:%(e)d
""" % {"log": log, "h": HOST, "p": port, "e": es.port}
    s = t.spillway(cfg, port=port)

    def run():
        with socket.create_connection((HOST, port), timeout=5) as c:
            c.sendall(b"GOOD")
            assert c.recv(4) == b"GOOD"
        with socket.create_connection((HOST, port), timeout=5) as c:
            c.sendall(b"BADX")
            try:
                data = c.recv(10)
            except ConnectionResetError:
                data = b""
            assert data == b"", data
        with socket.create_connection((HOST, port), timeout=5) as c:
            c.sendall(b"UNSX")
            assert c.recv(4) == b"UNSX"
        s.stop()
        text = open(log).read()
        assert "vars tcpclient GOO" in text, text
        assert "vars - UNS" in text, text

    t.case("tcp-request connection/content set-var and unset-var (sess.*): read by a rule and "
           "by the log line", run)


def main(t):
    var_cases(t)
    rules_cases(t)
    pp2_cases(t)
    config_cases(t)
    for s in _servers:
        s.stop()
    t.case("no sanitizer report in any spillway's output", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("tcp2").run(main)
