#!/usr/bin/env python3
"""Health-check protocols, HAProxy 2.6's way (src/tcpcheck.c): `option tcp-check` with and
without `tcp-check` rules, `option mysql-check`, `option ssl-hello-chk`, and the statuses
`show stat` reports for each (check_status, check_code, last_chk).

Fake servers run in this process (threads on 127.0.0.1, each accept and read bounded in
time): a Redis-like line server (master, and a replica that closes after its answer), a
server that never answers, a MySQL server that greets (and accepts the login, or refuses it
with error 1130), and `openssl s_server` for the TLS hello (a server that answers it
with an HTTP 400: L6RSP). All servers use `check inter 100ms fall 1 rise 1`. Then `spillway -c`
on bad `tcp-check` / `option mysql-check` lines. Every status and message asserted here is
what HAProxy 2.6 reports for the same servers and configuration (compared by hand): the error names the file, line and reason.
A second spillway (nbthread 2, mode tcp) checks `on-marked-down shutdown-sessions` (tcp
sessions through a server are closed when its check port stops answering; a server without
the option keeps them) and `on-marked-up shutdown-backup-sessions` (sessions on a backup end
when the active server's check passes).
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (HOST, SPILLWAY, Suite, closed_port, free_port, no_sanitizer_report,  # noqa: E402
                 wait_until)
from test_health_stats import Cli, expect_row, number, parse_csv  # noqa: E402

CHK = "check inter 100ms fall 1 rise 1"
SETTLE_S = 10.0


class FakeServer:
    """A listening socket whose connections are served by `handler(conn)` on threads."""

    def __init__(self, handler, port=0):
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        deadline = time.monotonic() + 120  # bounded: the whole test takes seconds
        while not self.stopped and time.monotonic() < deadline:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            c.settimeout(2.0)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            self.handler(c)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


def recv_line(c, buf):
    """One CRLF line from c (buf: carried bytes), None at EOF."""
    for _ in range(100):
        if b"\r\n" in buf[0]:
            line, buf[0] = buf[0].split(b"\r\n", 1)
            return line
        d = c.recv(4096)
        if not d:
            return None
        buf[0] += d
    return None


def redis(role, close_after_info=False):
    def handler(c):
        buf = [b""]
        for _ in range(10):
            line = recv_line(c, buf)
            if line is None:
                return
            if line == b"PING":
                c.sendall(b"+PONG\r\n")
            elif line == b"info replication":
                c.sendall(b"$20\r\n# Replication\r\nrole:%s\r\n" % role.encode())
                if close_after_info:
                    return
            elif line == b"QUIT":
                c.sendall(b"+OK\r\n")
                return
            else:
                c.sendall(b"-ERR unknown\r\n")
    return handler


def silent(c):
    """Reads and never answers, until the peer closes (bounded by the socket timeout)."""
    for _ in range(50):
        try:
            if not c.recv(4096):
                return
        except socket.timeout:
            return


def echo(c):
    """Echoes until the peer closes (bounded: 200 reads, 10 s each)."""
    c.settimeout(10)
    for _ in range(200):
        d = c.recv(4096)
        if not d:
            return
        c.sendall(d)


def accept_only(c):
    """A check port: accepts and closes."""


def http400(c):
    """Answers the first bytes with an HTTP 400 and closes, as an HTTP server does."""
    if c.recv(4096):
        c.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


def mysql_packet(seq, payload):
    n = len(payload)
    return bytes([n & 0xff, (n >> 8) & 0xff, n >> 16, seq]) + payload


GREETING = mysql_packet(0, b"\x0a" + b"5.7.99-fake\x00" + b"\x01\x00\x00\x00" + b"abcdefgh\x00"
                        + b"\xff\xf7\x21\x02\x00" + b"\x00" * 13 + b"ijklmnopqrst\x00")


def mysql(allow, seen):
    """Greets; a client's auth packet (and QUIT) gets an OK packet, or error 1130."""
    def handler(c):
        c.sendall(GREETING)
        data = b""
        for _ in range(20):
            try:
                d = c.recv(4096)
            except socket.timeout:
                return
            if not d:
                break
            data += d
            if len(data) >= 4 and len(data) >= 4 + data[0] + (data[1] << 8):
                seen.append(data)
                if allow:
                    c.sendall(mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))
                else:
                    c.sendall(mysql_packet(2, b"\xff\x6a\x04#HY000Host '127.0.0.1' is not "
                                              b"allowed"))
                return
    return handler


def openssl_server(tmp):
    """`openssl s_server -www` on a fresh self-signed certificate: (proc, port) or None."""
    if not shutil.which("openssl"):
        return None
    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "2", "-subj", "/CN=localhost"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    if r.returncode:
        return None
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-www", "-accept", "%s:%d" % (HOST, port),
                          "-key", key, "-cert", crt, "-quiet"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    s = socket.socket()
    ok = wait_until(lambda: s.connect_ex((HOST, port)) == 0, 10)
    s.close()
    if not ok:
        p.kill()
        p.wait()
        return None
    return p, port


def cfg_text(port, sock, p):
    srv = lambda name, prt, extra="": "    server %s %s:%d %s %s" % (  # noqa: E731
        name, HOST, prt, CHK, extra)
    redis_rules = [
        "    option tcp-check",
        "    tcp-check connect",
        '    tcp-check send "PING\\r\\n"',
        "    tcp-check expect string +PONG",
        '    tcp-check send "info replication\\r\\n"',
        "    tcp-check comment 'the role of the node: master or replica'",
        "    tcp-check expect string role:master",
        '    tcp-check send "QUIT\\r\\n"',
        "    tcp-check expect string +OK",
    ]
    lines = [
        "global",
        "    nbthread 2",
        "    stats socket %s mode 600" % sock,
        "defaults",
        "    mode tcp",
        "    timeout client 10s",
        "    timeout server 10s",
        "    timeout connect 1s",
        "    timeout check 400ms",
        "frontend fe",
        "    bind %s:%d" % (HOST, port),
        "    default_backend rd",
        "backend rd",
    ] + redis_rules + [
        srv("master", p["master"]),
        srv("replica", p["replica"]),
        srv("hang", p["silent"]),
        srv("refused", p["closed"]),
        "backend bin",
        "    option tcp-check",
        "    tcp-check send-binary 50494e470d0a",
        "    tcp-check expect binary 2b504f4e47 comment pong",
        "    tcp-check expect rstring ^.PO[N]G",
        "    tcp-check expect min-recv 5 ! string -ERR",
        srv("b1", p["master"]),
        "backend plain",
        "    option tcp-check",
        srv("up", p["master"]),
        srv("down", p["closed"]),
        "backend myanon",
        "    option mysql-check",
        srv("m1", p["mysql_ok"]),
        "backend myuser",
        "    option mysql-check user haproxy",
        srv("m2", p["mysql_ok"]),
        srv("m3", p["mysql_deny"]),
        "backend myold",
        "    option mysql-check user old pre-41",
        srv("m4", p["mysql_old"]),
        "backend tls",
        "    option ssl-hello-chk",
    ]
    if p.get("tls"):
        lines.append(srv("s1", p["tls"]))
    lines.append(srv("http", p["http"]))
    return "\n".join(lines) + "\n"


def body(t):
    servers = {
        "master": FakeServer(redis("master")),
        "replica": FakeServer(redis("slave", close_after_info=True)),
        "silent": FakeServer(silent),
    }
    old_seen, user_seen = [], []
    servers["mysql_ok"] = FakeServer(mysql(True, user_seen))
    servers["mysql_deny"] = FakeServer(mysql(False, []))
    servers["mysql_old"] = FakeServer(mysql(True, old_seen))
    ports = {k: v.port for k, v in servers.items()}
    ports["closed"] = closed_port()
    tls = openssl_server(t.dir)
    if tls:
        ports["tls"] = tls[1]
    servers["http"] = FakeServer(http400)
    ports["http"] = servers["http"].port
    port = free_port()
    sock = os.path.join(t.dir, "stats.sock")
    try:
        sp = t.spillway(cfg_text(port, sock, ports), port)
        cli = Cli(sock)
        rows = lambda: parse_csv(cli("show stat"))  # noqa: E731
        want_done = [("rd", "master"), ("rd", "replica"), ("rd", "hang"), ("rd", "refused"),
                     ("bin", "b1"), ("plain", "up"), ("plain", "down"), ("myanon", "m1"),
                     ("myuser", "m2"), ("myuser", "m3"), ("myold", "m4"), ("tls", "http")]
        if tls:
            want_done.append(("tls", "s1"))

        def settled():
            r = rows()
            return all(r[k]["check_status"].lstrip("* ") not in ("", "INI") for k in want_done)
        if not wait_until(settled, SETTLE_S, 0.1):
            raise AssertionError("checks did not all finish: %r" % {
                k: rows()[k]["check_status"] for k in want_done})
        # a check under way shows "* " before the status: wait for a quiet moment per row
        r = rows()

        def row(px, sv):
            for _ in range(40):
                v = r[(px, sv)]
                if not v["check_status"].startswith("* "):
                    return v
                time.sleep(0.02)
                r.update(rows())
            return r[(px, sv)]

        def tcp_rules():
            expect_row(row("rd", "master"), {"status": "UP", "check_status": "L7OK",
                                             "check_code": 0, "last_chk": "(tcp-check)",
                                             "check_desc": "Layer7 check passed",
                                             "check_duration": number}, "rd/master")
            expect_row(row("rd", "replica"), {
                "status": "DOWN", "check_status": "L7RSP",
                "last_chk": "TCPCHK did not match content 'role:master' at step 6 "
                            "comment: the role of the node: master or replica",
                "check_desc": "Layer7 invalid response"}, "rd/replica")
            expect_row(row("rd", "hang"), {
                "status": "DOWN", "check_status": "L7TOUT",
                "last_chk": " at step 3 of tcp-check (expect string '+PONG')",
                "check_desc": "Layer7 timeout"}, "rd/hang")
            expect_row(row("rd", "refused"), {
                "status": "DOWN", "check_status": "L4CON",
                "last_chk": "Connection refused at step 1 of tcp-check (connect)"},
                "rd/refused")
        t.case("tcp-check connect/send/expect string (Redis-like): master UP L7OK "
               "'(tcp-check)'; replica DOWN L7RSP naming the step and comment; silent server "
               "L7TOUT after `timeout check`; closed port L4CON at the connect step", tcp_rules)

        def tcp_binary():
            expect_row(row("bin", "b1"), {"status": "UP", "check_status": "L7OK",
                                          "last_chk": "(tcp-check)"}, "bin/b1")
        t.case("tcp-check send-binary, expect binary, rstring and min-recv ! string: L7OK (implicit "
               "connect)", tcp_binary)

        def plain():
            expect_row(row("plain", "up"), {"status": "UP", "check_status": "L4OK",
                                            "last_chk": ""}, "plain/up")
            expect_row(row("plain", "down"), {
                "status": "DOWN", "check_status": "L4CON",
                "last_chk": "Connection refused at initial connection step of tcp-check"},
                "plain/down")
        t.case("option tcp-check without rules: a connect check (L4OK; L4CON 'at initial "
               "connection step of tcp-check')", plain)

        def mysql_checks():
            expect_row(row("myanon", "m1"), {"status": "UP", "check_status": "L7OK",
                                             "check_code": 0, "last_chk": ""}, "myanon/m1")
            expect_row(row("myuser", "m2"), {"status": "UP", "check_status": "L7OK",
                                             "check_code": 0, "last_chk": ""}, "myuser/m2")
            expect_row(row("myuser", "m3"), {
                "status": "DOWN", "check_status": "L7STS", "check_code": 1130,
                "last_chk": "#HY000Host '127.0.0.1' is not allowed",
                "check_desc": "Layer7 wrong status"}, "myuser/m3")
            expect_row(row("myold", "m4"), {"status": "UP", "check_status": "L7OK"},
                       "myold/m4")
            # the login packets, byte for byte as HAProxy builds them
            u41 = (bytes([7 + 7 + 27, 0, 0, 1]) + bytes.fromhex("00820000008000012100") +
                   b"\x00" * 22 + b"haproxy\x00\x00" + bytes.fromhex("0100000001"))
            assert user_seen and user_seen[0] == u41, "post-41 login: %r" % user_seen[:1]
            u40 = (bytes([3 + 7, 0, 0, 1]) + bytes.fromhex("0080000001") + b"old\x00\x00" +
                   bytes.fromhex("0100000001"))
            assert old_seen and old_seen[0] == u40, "pre-41 login: %r" % old_seen[:1]
        t.case("option mysql-check: greeting L7OK; with user (post-41, pre-41) HAProxy's "
               "login packet + QUIT, OK packet L7OK; error packet L7STS code 1130 with its "
               "message", mysql_checks)

        def ssl_hello():
            if tls:
                expect_row(row("tls", "s1"), {"status": "UP", "check_status": "L6OK",
                                              "check_desc": "Layer6 check passed",
                                              "last_chk": ""}, "tls/s1")
            expect_row(row("tls", "http"), {"status": "DOWN", "check_status": "L6RSP",
                                            "check_desc": "Layer6 invalid response",
                                            "last_chk": ""},
                       "tls/http")
            assert tls, "openssl s_server could not be started"
        t.case("option ssl-hello-chk: openssl s_server L6OK; an HTTP server L6RSP", ssl_hello)

        def traffic():
            # rd's only UP server is master: a tcp session reaches it
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(b"PING\r\n")
            got = s.recv(100)
            s.close()
            assert got == b"+PONG\r\n", got
        t.case("traffic goes to the server the tcp-check keeps UP", traffic)
        sp.stop()
    finally:
        for s in servers.values():
            s.stop()
        if tls:
            tls[0].kill()
            tls[0].wait()

    # spillway -c: bad lines are errors with file, line and why --------------------------
    bad = [
        ("tcp-check expect foo bar", "'tcp-check expect': expects 'min-recv'"),
        ("tcp-check send", "'tcp-check send': 'send' expects a string as argument"),
        ("tcp-check send-binary 4g", "is not a valid hex string"),
        ("tcp-check send-lf %[date]", "not supported by spillway"),
        ("tcp-check connect ssl", "'ssl' is not supported by spillway"),
        ("tcp-check expect string a on-error x", "'on-error' is not supported by spillway"),
        ("tcp-check expect ok-status L9OK string a", "'ok-status' only supports"),
        ("tcp-check bogus", "expects 'comment', 'connect'"),
        ("option mysql-check user", "'user' expects <username>"),
        ("option mysql-check login x", "only supports optional values: 'user'"),
        ("option mysql-check user u post-42", "only supports 'post-41' and 'pre-41'"),
    ]

    def dash_c():
        bad_out = []
        for i, (line, want) in enumerate(bad):
            path = os.path.join(t.dir, "bad%d.cfg" % i)
            with open(path, "w") as f:
                f.write("defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n"
                        "    timeout connect 1s\nbackend b\n    option tcp-check\n"
                        "    %s\n    server s %s:1 check\n" % (line, HOST))
            p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = p.stdout.decode(errors="replace")
            if p.returncode == 0 or "bad%d.cfg:8" % i not in out or want not in out:
                bad_out.append("%r: rc %d, %r" % (line, p.returncode, out[-300:]))
        # connect must come first; a second connect is refused
        path = os.path.join(t.dir, "order.cfg")
        for rules, want in ((["tcp-check send x", "tcp-check connect"], "first step MUST"),
                            (["tcp-check connect", "tcp-check connect port 2"],
                             "second 'connect'")):
            with open(path, "w") as f:
                f.write("defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n"
                        "    timeout connect 1s\nbackend b\n    option tcp-check\n" +
                        "".join("    %s\n" % r for r in rules) +
                        "    server s %s:1 check\n" % HOST)
            p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = p.stdout.decode(errors="replace")
            if p.returncode == 0 or want not in out:
                bad_out.append("%r: rc %d, %r" % (rules, p.returncode, out[-300:]))
        # rules without the option: a warning, the configuration loads
        with open(path, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n"
                    "    timeout connect 1s\nfrontend f\n    bind %s:1\n    default_backend b\n"
                    "backend b\n    tcp-check send x\n"
                    "    server s %s:1 check\n" % (HOST, HOST))
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        if p.returncode != 0 or "without 'option tcp-check', so the rules are ignored" not in out:
            bad_out.append("rules without the option: rc %d, %r" % (p.returncode, out[-300:]))
        assert not bad_out, "; ".join(bad_out)
    t.case("spillway -c: bad tcp-check / mysql-check lines are errors naming file:line and "
           "the reason; unsupported forms say 'not supported by spillway'; rules without "
           "`option tcp-check` warn", dash_c)


def shutdown_sessions(t):
    """on-marked-down shutdown-sessions / on-marked-up shutdown-backup-sessions, nbthread 2
    (sessions on both workers, the check on one of them)."""
    data = FakeServer(echo)
    chk = FakeServer(accept_only)
    chk_port = chk.port
    up_port = free_port()  # b3's active server's check port: closed at first
    p1, p2, p3, p4 = free_port(), free_port(), free_port(), free_port()
    sock = os.path.join(t.dir, "stats2.sock")
    srv = "    server %s %s:%d check port %d inter 100ms fall 1 rise 1"
    cfg = "\n".join([
        "global", "    nbthread 2", "    stats socket %s mode 600 level admin" % sock,
        "defaults", "    mode tcp", "    timeout client 20s", "    timeout server 20s",
        "    timeout connect 1s",
        "listen kill", "    bind %s:%d" % (HOST, p1),
        "    default-server on-marked-down shutdown-sessions",
        srv % ("k1", HOST, data.port, chk_port),
        "listen keep", "    bind %s:%d" % (HOST, p2),
        srv % ("s1", HOST, data.port, chk_port),
        "listen bk", "    bind %s:%d" % (HOST, p3),
        srv % ("act", HOST, data.port, up_port) + " on-marked-up shutdown-backup-sessions",
        srv % ("bak", HOST, data.port, chk_port) + " backup",
        "listen cli", "    bind %s:%d" % (HOST, p4),
        "    server c1 %s:%d on-marked-down shutdown-sessions" % (HOST, data.port),
    ]) + "\n"
    late = None
    try:
        t.spillway(cfg, p1)
        cli = Cli(sock)
        rows = lambda: parse_csv(cli("show stat"))  # noqa: E731
        ok = wait_until(lambda: rows()[("kill", "k1")]["status"] == "UP" and
                        rows()[("bk", "act")]["status"] == "DOWN", SETTLE_S, 0.05)
        assert ok, "initial states: %r" % {k: v["status"] for k, v in rows().items()}

        def opened(port, n):
            ss = []
            for i in range(n):
                s = socket.create_connection((HOST, port), timeout=5)
                s.sendall(b"hi%d" % i)
                assert s.recv(16) == b"hi%d" % i, "no echo through port %d" % port
                ss.append(s)
            return ss

        def closed_soon(s, timeout=5.0):
            s.settimeout(timeout)
            try:
                return s.recv(16) == b""
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False

        kill_ss, keep_ss, bak_ss = opened(p1, 4), opened(p2, 2), opened(p3, 2)
        chk.stop()  # k1, s1 and bak go DOWN
        dead = [closed_soon(s) for s in kill_ss]
        kept = []
        for i, s in enumerate(keep_ss):
            s.sendall(b"x%d" % i)
            kept.append(s.recv(16) == b"x%d" % i)
        t.check("on-marked-down shutdown-sessions: the 4 tcp sessions on the server are "
                "closed when its check fails (nbthread 2); a server without it keeps its "
                "sessions", all(dead) and all(kept), "closed %r, kept %r" % (dead, kept))
        for s in kill_ss + keep_ss:
            s.close()
        # bk: its active server comes UP (its check port opens): the backup's sessions end
        late = FakeServer(accept_only, up_port)
        dead = [closed_soon(s) for s in bak_ss]
        st = rows()[("bk", "act")]["status"]
        t.check("on-marked-up shutdown-backup-sessions: the sessions on the backup server are "
                "closed when the active server comes UP", all(dead) and st == "UP",
                "closed %r, act %s" % (dead, st))
        for s in bak_ss:
            s.close()
        # a server without a check, put in maintenance from the stats socket
        cli_ss = opened(p4, 2)
        out = cli("set server cli/c1 state maint")
        dead = [closed_soon(s) for s in cli_ss]
        t.check("on-marked-down shutdown-sessions: also when the stats socket sets the server "
                "to maintenance (no check on it)", all(dead), "closed %r (cli said %r)" % (
                    dead, out))
        for s in cli_ss:
            s.close()
    finally:
        data.stop()
        chk.stop()
        if late:
            late.stop()

    def dash_c():
        path = os.path.join(t.dir, "om.cfg")
        with open(path, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n"
                    "    timeout connect 1s\nlisten l\n    bind %s:1\n"
                    "    server s %s:1 check on-marked-down shutdown\n" % (HOST, HOST))
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        assert p.returncode != 0 and "om.cfg:8" in out and \
            "'on-marked-down' expects 'shutdown-sessions'" in out, out
    t.case("spillway -c: on-marked-down with another action is an error", dash_c)


def main(t):
    body(t)
    shutdown_sessions(t)
    t.case("no sanitizer report from spillway", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("checks2").run(main)
