#!/usr/bin/env python3
"""Mode tcp: spillway as a byte relay between real clients and servers.

The servers are small TCP servers this test starts in threads on loopback ports (an echo
server, a greeter that says its name, servers that half-close or stop reading), plus
sp-testbackend behind a tcp frontend driven by curl. Every check drives spillway from outside
and asserts what a client and a server see, and what the log line and `show stat` say."""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (HOST, SPILLWAY, Suite, closed_port, curl, free_port,  # noqa: E402
                 no_sanitizer_report, pattern_bytes, wait_until)

_servers = []


class Server:
    """A loopback TCP server in a daemon thread; `handler(conn, server)` serves one
    connection (in its own thread) and closes it. Records what it saw in `events`."""

    def __init__(self, handler, backlog=128):
        self.lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lst.bind((HOST, 0))
        self.lst.listen(backlog)
        self.port = self.lst.getsockname()[1]
        self.handler = handler
        self.accepts = 0
        self.events = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._loop, daemon=True).start()
        _servers.append(self)

    def _loop(self):
        while not self.stopped:
            try:
                c, _ = self.lst.accept()
            except OSError:
                return
            with self.lock:
                self.accepts += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(30)
        try:
            self.handler(c, self)
        except OSError as e:
            self.note("error %s" % e)
        finally:
            c.close()

    def note(self, ev):
        with self.lock:
            self.events.append(ev)

    def stop(self):
        self.stopped = True
        self.lst.close()


def echo(c, srv):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    srv.note("eof")


def greeter(name):
    def h(c, srv):
        c.sendall(name.encode() + b"\n")
        c.shutdown(socket.SHUT_WR)
        while c.recv(4096):
            pass
    return h


def hold_until(c, ev, limit=20.0):
    """Keeps a server connection open until `ev` is set or the client side closes (the
    readiness probe of the harness is a session too, and must not hold a slot)."""
    c.settimeout(0.05)
    deadline = time.monotonic() + limit
    while not ev.is_set() and time.monotonic() < deadline:
        try:
            if not c.recv(4096):
                return
        except socket.timeout:
            pass


def recv_all(s, timeout=10.0, limit=1 << 30):
    """Everything until EOF (or a reset, or the timeout): (bytes, how) with how in eof, reset,
    timeout."""
    s.settimeout(timeout)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while len(out) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(out), "timeout"
        s.settimeout(left)
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            return bytes(out), "timeout"
        except ConnectionResetError:
            return bytes(out), "reset"
        if not d:
            return bytes(out), "eof"
        out += d
    return bytes(out), "limit"


def tcp_cfg(fe_port, servers, defaults="", fe="", be="", log=True, nbthread=2, listen=False):
    lines = ["global", "    nbthread %d" % nbthread]
    if log:
        lines += ["    log stdout format raw local0"]
    lines += ["defaults", "    mode tcp", "    timeout client 10s", "    timeout server 10s",
              "    timeout connect 2s"]
    if log:
        lines += ["    log global", "    option tcplog"]
    lines += ["    " + x for x in defaults.splitlines() if x.strip()]
    if listen:
        lines += ["listen relay", "    bind %s:%d" % (HOST, fe_port)]
        lines += ["    " + x for x in fe.splitlines() if x.strip()]
    else:
        lines += ["frontend relay", "    bind %s:%d" % (HOST, fe_port)]
        lines += ["    " + x for x in fe.splitlines() if x.strip()]
        lines += ["    default_backend pool", "backend pool"]
    lines += ["    " + x for x in be.splitlines() if x.strip()]
    for i, p in enumerate(servers):
        lines += ["    server s%d %s:%d" % (i + 1, HOST, p)]
    return "\n".join(lines) + "\n"


def log_lines(sp, pattern=r"relay "):
    return [ln for ln in sp.log(limit=1 << 20).splitlines() if re.search(pattern, ln)]


TCPLOG = re.compile(r"^(?P<ci>[\d.]+):(?P<cp>\d+) \[(?P<t>[^\]]+)\] (?P<ft>\S+) (?P<b>\S+)/(?P<s>\S+) "
                    r"(?P<tw>-?\d+)/(?P<tc>-?\d+)/(?P<tt>\d+) (?P<B>\d+) (?P<ts>\S\S) "
                    r"(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) "
                    r"(?P<sq>\d+)/(?P<bq>\d+)$")


def wait_log(sp, n, pattern=r"relay ", timeout=5.0):
    """The log lines matching, once there are at least n (bounded wait)."""
    wait_until(lambda: len(log_lines(sp, pattern)) >= n, timeout)
    return log_lines(sp, pattern)


def sock_ready(path):
    """The stats socket accepts connections (its file appears at bind, before listen)."""
    def ok():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    return wait_until(ok, 5)


def stat_rows(sp_sock):
    """`show stat` on the stats socket: {(pxname, svname): {column: value}}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sp_sock)
    s.sendall(b"show stat\n")
    data, _ = recv_all(s, timeout=5)
    s.close()
    lines = data.decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = {}
    for ln in lines[1:]:
        if not ln:
            continue
        v = ln.split(",")
        rows[(v[0], v[1])] = dict(zip(head, v))
    return rows


# ---------------------------------------------------------------------------------------------


def relay_cases(t):
    es = Server(echo)
    port = free_port()
    sp = t.spillway(tcp_cfg(port, [es.port], listen=True), port)
    t.ok("a tcp listen section starts (mode tcp is no longer refused)")

    def echo_halfclose():
        c = socket.create_connection((HOST, port), timeout=5)
        c.sendall(b"hello, relay")
        c.shutdown(socket.SHUT_WR)  # our FIN reaches the server; its echo still comes back
        data, how = recv_all(c)
        c.close()
        assert data == b"hello, relay", "got %r" % data
        assert how == "eof", how

    def big_both_ways():
        blob = os.urandom(8 << 20)
        c = socket.create_connection((HOST, port), timeout=10)
        got = []

        def reader():
            got.append(recv_all(c, timeout=20))

        th = threading.Thread(target=reader)
        th.start()
        c.sendall(blob)
        c.shutdown(socket.SHUT_WR)
        th.join(30)
        c.close()
        data, how = got[0]
        assert how == "eof", how
        assert data == blob, "echoed %d of %d bytes, equal=%s" % (len(data), len(blob),
                                                                  data == blob[:len(data)])

    def log_line():
        lines = wait_log(sp, 1, r" relay relay/s1 ")
        m = [TCPLOG.match(ln) for ln in lines]
        m = [x for x in m if x and x.group("B") == "12"]
        assert m, "no tcplog line with %%B 12 in %r" % lines[-3:]
        g = m[0]
        assert g.group("ts") == "--", g.group(0)
        assert g.group("tw") == "0" and int(g.group("tc")) >= 0, g.group(0)

    t.case("echo through a listen section, client half-closes first", echo_halfclose)
    t.case("8 MiB each way at once, byte for byte", big_both_ways)
    t.case("option tcplog: HAProxy's format, %B = bytes to the client, ts --", log_line)


def curl_cases(t):
    b1 = t.backend("b1")
    port = free_port()
    t.spillway(tcp_cfg(port, [b1.port]), port)

    def curl_name():
        rc, out, err = curl(["http://%s:%d/name" % (HOST, port)])
        assert rc == 0, err
        assert out.strip() == b"b1", out

    def curl_big():
        rc, out, err = curl(["http://%s:%d/size/5000000" % (HOST, port)])
        assert rc == 0, err
        assert out == pattern_bytes(5000000), "body of %d bytes differs" % len(out)

    def curl_keepalive():
        url = "http://%s:%d/name" % (HOST, port)
        rc, out, err = curl([url, url, url, "-w", "%{num_connects}\n"])
        assert rc == 0, err
        assert out.count(b"b1") == 3, out
        # one relayed connection carries the three requests: spillway does not parse them
        assert out.strip().endswith(b"1") or b"\n0\n" in out or out.strip().split(b"\n")[-1] in (b"0", b"1"), out

    t.case("curl through a tcp frontend to an HTTP server", curl_name)
    t.case("curl: a 5 MB response relayed intact", curl_big)
    t.case("curl: keep-alive requests ride one relayed connection", curl_keepalive)


def halfclose_cases(t):
    # the server half-closes first and keeps reading: the client's bytes still reach it
    def late_reader(c, srv):
        c.sendall(b"bye early\n")
        c.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        srv.note(data)

    ls = Server(late_reader)
    port = free_port()
    t.spillway(tcp_cfg(port, [ls.port]), port)

    def server_first():
        c = socket.create_connection((HOST, port), timeout=5)
        c.settimeout(5)
        got = b""
        while b"\n" not in got:
            d = c.recv(100)
            assert d, "closed before the greeting"
            got += d
        # the server's FIN arrives; our direction must still be open
        rest, how = recv_all(c, timeout=5)
        assert how == "eof", how
        c.sendall(b"after your FIN")
        c.shutdown(socket.SHUT_WR)
        wait_until(lambda: b"after your FIN" in ls.events, 5)
        c.close()
        assert got + rest == b"bye early\n", got + rest
        # (the readiness probe of the test harness was a session too: it sent nothing)
        assert b"after your FIN" in ls.events, ls.events

    t.case("half-close: the server's FIN is passed on, the client's bytes still flow", server_first)


def backpressure_cases(t):
    release = threading.Event()

    def sleepy(c, srv):
        release.wait(30)  # read nothing until told
        n = 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            n += len(d)
        srv.note(n)

    ss = Server(sleepy)
    port = free_port()
    sp = t.spillway(tcp_cfg(port, [ss.port], nbthread=1), port)

    def bounded():
        c = socket.create_connection((HOST, port), timeout=5)
        c.setblocking(False)
        chunk = b"x" * 65536
        sent = 0
        idle_since = None
        rss0 = sp.mem()[0] or 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sent < (256 << 20):
            try:
                sent += c.send(chunk)
                idle_since = None
            except BlockingIOError:
                if idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > 0.5:
                    break  # nothing moves for half a second: the relay stopped reading us
                time.sleep(0.01)
        rss1 = sp.mem()[0] or 0
        blocked = idle_since is not None
        release.set()
        c.setblocking(True)
        c.settimeout(20)
        total = sent
        # now everything flows again: send 1 MiB more, then the FIN
        c.sendall(chunk * 16)
        total += 16 * 65536
        c.shutdown(socket.SHUT_WR)
        wait_until(lambda: total in ss.events, 20)
        c.close()
        assert blocked, "the client could send %d bytes without blocking" % sent
        assert sent < (64 << 20), "%d bytes accepted while the server read nothing" % sent
        assert rss1 - rss0 < 8192, "spillway grew by %d KiB while stalled" % (rss1 - rss0)
        # (the harness's readiness probe was a session too: it read 0)
        assert total in ss.events, "server read %r of %d" % (ss.events, total)

    t.case("back-pressure: a server that does not read stops the client (bounded buffers)",
           bounded)


def balance_cases(t):
    g1, g2 = Server(greeter("one")), Server(greeter("two"))
    dead = closed_port()
    port = free_port()
    t.spillway(tcp_cfg(port, [g1.port, g2.port], be="balance roundrobin", nbthread=1), port)

    def ask(p=port):
        c = socket.create_connection((HOST, p), timeout=5)
        data, _ = recv_all(c, timeout=5)
        c.close()
        return data.strip().decode()

    def roundrobin():
        names = [ask() for _ in range(6)]
        assert sorted(set(names)) == ["one", "two"], names
        assert all(names[i] != names[i + 1] for i in range(5)), names

    t.case("balance roundrobin over two tcp servers", roundrobin)

    # health checks in a tcp backend: a dead server is taken out, no session meets it
    port4 = free_port()
    sp4 = t.spillway(tcp_cfg(port4, [dead, g2.port], nbthread=1,
                             be="option redispatch\nretries 0").replace(
        "server s1 %s:%d" % (HOST, dead), "server s1 %s:%d check inter 100ms fall 1" % (HOST, dead)),
        port4)

    def checked():
        wait_until(lambda: "is DOWN" in sp4.log(), 5)
        names = [ask(port4) for _ in range(4)]
        assert names == ["two"] * 4, names
        assert "Server pool/s1 is DOWN" in sp4.log(), sp4.log()[-500:]

    t.case("health checks in a tcp backend: a DOWN server gets no session", checked)

    # a dead server: retries, then the client is closed without a byte; the log says SC
    port2 = free_port()
    sp2 = t.spillway(tcp_cfg(port2, [dead], be="retries 1", nbthread=1), port2)

    def refused():
        c = socket.create_connection((HOST, port2), timeout=5)
        c.sendall(b"anyone?")
        data, how = recv_all(c, timeout=8)
        c.close()
        assert data == b"" and how in ("eof", "reset"), (data, how)
        lines = [ln for ln in wait_log(sp2, 2, r" relay pool/s1 ") if " SC " in ln]
        assert lines, log_lines(sp2)[-3:]
        m = TCPLOG.match(lines[-1])
        assert m and m.group("rc") == "1" and m.group("tc") == "-1", lines[-1]

    # one dead server and one alive, option redispatch: the session lands on the live one
    port3 = free_port()
    t.spillway(tcp_cfg(port3, [dead, g1.port], be="option redispatch\nretries 2", nbthread=1),
               port3)

    def redispatched():
        names = [ask(port3) for _ in range(4)]
        assert names == ["one"] * 4, names

    t.case("a refused server: retries, then a close and 'SC' in the log", refused)
    t.case("option redispatch moves a session off a dead server", redispatched)


def maxconn_cases(t):
    hold = threading.Event()

    def holder(c, srv):
        c.sendall(b"hi\n")
        hold_until(c, hold)

    hs = Server(holder)
    port = free_port()
    sock = os.path.join(t.dir, "stats.sock")
    cfg = tcp_cfg(port, [hs.port], fe="maxconn 2", be="server-maxconn-placeholder", nbthread=2)
    cfg = cfg.replace("    server-maxconn-placeholder\n", "")
    cfg = cfg.replace("global\n", "global\n    stats socket %s mode 600\n" % sock, 1)
    sp = t.spillway(cfg, port)
    sock_ready(sock)

    def gate():
        wait_log(sp, 1)  # the harness's readiness probe has ended
        # the frontend takes two; the other one waits in the kernel's queue, unanswered (with
        # a listener shard per worker, which one is up to the kernel)
        cs = [socket.create_connection((HOST, port), timeout=5) for _ in range(3)]
        served, waiting = [], []
        deadline = time.monotonic() + 5
        for c in cs:
            c.settimeout(max(0.7, deadline - time.monotonic()) if len(served) < 2 else 0.7)
            try:
                got = c.recv(10)
            except socket.timeout:
                got = None
            (served if got == b"hi\n" else waiting).append(c)
        rows = stat_rows(sock)
        fe = rows[("relay", "FRONTEND")]
        hold.set()
        for c in served:
            c.close()
        late = []
        for c in waiting:
            c.settimeout(5)
            late.append(c.recv(10))
            c.close()
        assert len(served) == 2 and len(waiting) == 1, (len(served), len(waiting))
        assert late == [b"hi\n"], late
        assert fe["scur"] == "2" and fe["mode"] == "tcp", fe

    t.case("frontend maxconn 2: the third tcp connection waits until one closes", gate)


def server_maxconn_cases(t):
    hold = threading.Event()

    def holder(c, srv):
        c.sendall(b"in\n")
        hold_until(c, hold)

    hs = Server(holder)
    port = free_port()
    cfg = tcp_cfg(port, [hs.port], nbthread=1, be="timeout queue 5s")
    cfg = cfg.replace("server s1 %s:%d" % (HOST, hs.port),
                      "server s1 %s:%d maxconn 1" % (HOST, hs.port))
    sp = t.spillway(cfg, port)

    def queued():
        wait_log(sp, 1)  # the harness's readiness probe has ended
        a = socket.create_connection((HOST, port), timeout=5)
        a.settimeout(5)
        assert a.recv(10) == b"in\n"
        b = socket.create_connection((HOST, port), timeout=5)
        b.settimeout(0.7)
        try:
            early = b.recv(10)
        except socket.timeout:
            early = None
        assert early is None, "second session reached the server past maxconn 1: %r" % early
        hold.set()
        a.close()
        b.settimeout(5)
        assert b.recv(10) == b"in\n"
        b.close()
        lines = wait_log(sp, 3, r" relay pool/s1 ")
        ms = [TCPLOG.match(ln) for ln in lines]
        assert any(m and int(m.group("tw")) >= 500 for m in ms), lines[-3:]

    t.case("server maxconn 1: the second session waits in the queue (%Tw)", queued)


def timeout_cases(t):
    es = Server(echo)

    def idle_close(port, sp, expect_ts, lo, hi):
        c = socket.create_connection((HOST, port), timeout=5)
        me = c.getsockname()[1]
        c.sendall(b"ping")
        c.settimeout(5)
        assert c.recv(10) == b"ping"
        t0 = time.monotonic()
        data, how = recv_all(c, timeout=hi + 3)
        took = time.monotonic() - t0
        c.close()
        assert how in ("eof", "reset") and data == b"", (data, how, took)
        assert lo <= took <= hi, "closed after %.2fs" % took
        lines = wait_log(sp, 1, r"^127\.0\.0\.1:%d " % me)
        assert lines and " %s " % expect_ts in lines[-1], lines

    p1 = free_port()
    sp1 = t.spillway(tcp_cfg(p1, [es.port], defaults="timeout client 300ms"), p1)
    t.case("timeout client 300ms closes an idle session: cD",
           idle_close, p1, sp1, "cD", 0.25, 2.5)

    p2 = free_port()
    sp2 = t.spillway(tcp_cfg(p2, [es.port], defaults="timeout server 300ms"), p2)
    t.case("timeout server 300ms closes an idle session: sD",
           idle_close, p2, sp2, "sD", 0.25, 2.5)

    p3 = free_port()
    sp3 = t.spillway(tcp_cfg(p3, [es.port], defaults="timeout client 300ms\ntimeout server 300ms",
                             be="timeout tunnel 1500ms"), p3)

    def tunnel():
        c = socket.create_connection((HOST, p3), timeout=5)
        c.settimeout(5)
        c.sendall(b"a")
        assert c.recv(10) == b"a"
        time.sleep(0.8)  # longer than client and server, shorter than tunnel
        c.sendall(b"b")
        assert c.recv(10) == b"b", "closed while idle for less than timeout tunnel"
        c.close()

    t.case("timeout tunnel 1500ms replaces client/server 300ms once connected", tunnel)
    t.case("...and closes the session idle for 1.5s",
           idle_close, p3, sp3, "cD", 1.3, 4.0)

    def drip(c, srv):
        for _ in range(8):
            c.sendall(b"." * 100)
            time.sleep(0.2)
        c.shutdown(socket.SHUT_WR)
        while c.recv(100):
            pass

    ds = Server(drip)
    p4 = free_port()
    t.spillway(tcp_cfg(p4, [ds.port], defaults="timeout client 500ms"), p4)

    def reader_not_idle():
        c = socket.create_connection((HOST, p4), timeout=5)
        data, how = recv_all(c, timeout=5)
        c.close()
        # 1.6s of a download with a 500ms client timeout: writes to the client count
        assert how == "eof" and len(data) == 800, (len(data), how)

    t.case("a client that only receives is not idle (writes refresh timeout client)",
           reader_not_idle)

    hold = threading.Event()

    def fin_first(c, srv):
        c.sendall(b"hi\n")
        c.shutdown(socket.SHUT_WR)
        hold_until(c, hold, 10)

    fs = Server(fin_first)
    p5 = free_port()
    sp5 = t.spillway(tcp_cfg(p5, [fs.port], fe="timeout client-fin 300ms"), p5)

    def client_fin():
        wait_log(sp5, 1)
        c = socket.create_connection((HOST, p5), timeout=5)
        c.settimeout(5)
        assert c.recv(10) == b"hi\n"
        t0 = time.monotonic()
        data, how = recv_all(c, timeout=5)  # the server's FIN
        assert how == "eof", how
        # we never close: the half-closed client side waits client-fin, not client (10s)
        wait_until(lambda: len(log_lines(sp5)) >= 2, 5)
        took = time.monotonic() - t0
        c.close()
        lines = log_lines(sp5)
        assert len(lines) >= 2 and " cD " in lines[-1], lines[-2:]
        assert took < 3, "session ended after %.2fs" % took

    t.case("timeout client-fin 300ms ends a session the server half-closed: cD", client_fin)

    def reads_then_sits(c, srv):
        while c.recv(100):
            pass
        srv.note("eof")
        hold.wait(10)  # the client's FIN came: never answer, never close

    rs = Server(reads_then_sits)
    p6 = free_port()
    sp6 = t.spillway(tcp_cfg(p6, [rs.port], be="timeout server-fin 300ms"), p6)

    def server_fin():
        wait_log(sp6, 1)
        c = socket.create_connection((HOST, p6), timeout=5)
        c.sendall(b"question")
        c.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        data, how = recv_all(c, timeout=5)
        took = time.monotonic() - t0
        c.close()
        lines = wait_log(sp6, 2)
        assert how in ("eof", "reset") and took < 3, (how, took)
        assert " sD " in lines[-1], lines[-1]

    t.case("timeout server-fin 300ms ends a session the client half-closed: sD", server_fin)
    hold.set()

    hole = blackhole()
    if hole is None:
        print("# skip - connect timeout: a full accept queue does not drop SYNs here")
        return
    lst, fillers, hport = hole
    p7 = free_port()
    sp7 = t.spillway(tcp_cfg(p7, [hport], defaults="timeout connect 300ms", be="retries 1"),
                     p7, wait=False)

    def connect_timeout():
        time.sleep(0.5)
        c = socket.create_connection((HOST, p7), timeout=5)
        t0 = time.monotonic()
        data, how = recv_all(c, timeout=8)
        took = time.monotonic() - t0
        c.close()
        lines = wait_log(sp7, 1)
        assert data == b"" and 0.5 <= took < 4, (data, how, took)
        assert " sC " in lines[-1], lines[-1]
        m = TCPLOG.match(lines[-1])
        assert m and m.group("rc") == "1", lines[-1]

    try:
        t.case("timeout connect 300ms, retries 1: closed after two attempts, sC", connect_timeout)
    finally:
        for s in fillers:
            s.close()
        lst.close()


def blackhole():
    """A loopback port where connect() hangs: a listener with a full accept queue drops SYNs
    (None when this kernel does not behave that way)."""
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind((HOST, 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.3)
        try:
            s.connect((HOST, port))
        except (socket.timeout, OSError):
            s.close()
            return lst, fillers, port
        fillers.append(s)
    for s in fillers:
        s.close()
    lst.close()
    return None


def named(name):
    """Says its name, then reads until EOF and notes what it got."""
    def h(c, srv):
        c.sendall(name.encode() + b"\n")
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        srv.note(data)
    return h


def client_hello(sni):
    """The first flight of a real TLS client (Python's ssl) asking for `sni`."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def first_line(port, data=b"", source=None, pause=None, more=b"", fin=True, timeout=5.0):
    """Connects (from `source`), sends data [, waits `pause`, sends more], half-closes,
    and returns (first line received or b'', seconds until it came)."""
    c = socket.create_connection((HOST, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    t0 = time.monotonic()
    if data:
        c.sendall(data)
    if pause:
        time.sleep(pause)
        c.sendall(more)
    if fin:
        c.shutdown(socket.SHUT_WR)
    got = b""
    c.settimeout(timeout)
    try:
        while b"\n" not in got:
            d = c.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    took = time.monotonic() - t0
    c.close()
    return got.split(b"\n")[0], took


def routing_cases(t):
    one, two, three = Server(named("one")), Server(named("two")), Server(named("three"))
    p1, p2 = free_port(), free_port()
    sock = os.path.join(t.dir, "route.sock")
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
frontend route
    bind %(h)s:%(p1)d %(h)s:%(p2)d
    tcp-request connection reject if { src 127.0.0.2 }
    acl held be_conn(one) ge 1
    use_backend three if { src 127.0.0.3 } || { nbsrv(gone) eq 0 } { dst_port %(p1)d } { src_port 1-1023 }
    use_backend two if { dst_port %(p2)d }
    use_backend two if held { dst %(h)s }
    default_backend one
backend one
    server s %(h)s:%(o)d
backend two
    server s %(h)s:%(w)d
backend three
    server s %(h)s:%(r)d
backend gone
    server s %(h)s:%(r)d disabled
""" % {"sock": sock, "h": HOST, "p1": p1, "p2": p2, "o": one.port, "w": two.port,
       "r": three.port}
    sp = t.spillway(cfg, p1)
    sock_ready(sock)

    def by_port_and_src():
        assert first_line(p2)[0] == b"two"
        assert first_line(p1, source="127.0.0.3")[0] == b"three"
        # `held` (be_conn(one) ge 1) sends to two while an earlier session to one is still
        # counted: its count falls once both of its sides closed, a moment after our close
        got = []
        assert wait_until(lambda: got.append(first_line(p1, b"x")[0]) or got[-1] == b"one", 5), got

    def conn_reject():
        before = one.accepts + two.accepts + three.accepts
        c = socket.create_connection((HOST, p1), timeout=5, source_address=("127.0.0.2", 0))
        me = c.getsockname()[1]
        data, how = recv_all(c, timeout=5)
        c.close()
        assert data == b"" and how in ("eof", "reset"), (data, how)
        time.sleep(0.3)
        assert one.accepts + two.accepts + three.accepts == before, "a server was reached"
        fe = stat_rows(sock)[("route", "FRONTEND")]
        assert fe["dcon"] == "1", fe["dcon"]
        assert int(fe["conn_tot"]) == int(fe["stot"]) + 1, (fe["conn_tot"], fe["stot"])
        assert not log_lines(sp, r"^127\.0\.0\.2:%d " % me), "a refused connection was logged"

    def load_fetches():
        # a session held on `one` makes be_conn(one) 1: the next goes to `two`
        c = socket.create_connection((HOST, p1), timeout=5)
        c.settimeout(5)
        assert c.recv(10) == b"one\n"
        nxt = first_line(p1, b"y")[0]
        c.close()
        assert nxt == b"two", nxt
        wait_until(lambda: stat_rows(sock)[("one", "BACKEND")]["scur"] == "0", 5)
        assert first_line(p1, b"z")[0] == b"one"

    t.case("use_backend on dst_port and src; default_backend", by_port_and_src)
    t.case("tcp-request connection reject: closed before anything, dcon, no log", conn_reject)
    t.case("use_backend on be_conn (a live session counts), nbsrv, dst", load_fetches)

    ssh, tls = Server(named("ssh")), Server(named("tls"))
    p3 = free_port()
    cfg2 = """global
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
frontend sniff
    bind %(h)s:%(p3)d
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.payload(0,3) -m str BAD }
    tcp-request content accept if { req.ssl_hello_type 1 }
    tcp-request content accept if { req.len ge 5 }
    use_backend ssh if { req.payload(0,4) -m str SSH- }
    use_backend tls if { req.ssl_sni -i example.test }
    default_backend one
backend one
    server s %(h)s:%(o)d
backend ssh
    server s %(h)s:%(s)d
backend tls
    server s %(h)s:%(t)d
""" % {"sock": sock + "2", "h": HOST, "p3": p3, "o": one.port, "s": ssh.port, "t": tls.port}
    sp2 = t.spillway(cfg2, p3)
    sock_ready(sock + "2")

    def payload_waits():
        name, took = first_line(p3, b"SS", pause=0.3, more=b"H-2.0\r\n")
        assert name == b"ssh", name
        assert 0.25 <= took < 1.0, "decided after %.2fs" % took
        wait_until(lambda: b"SSH-2.0\r\n" in ssh.events, 5)
        assert b"SSH-2.0\r\n" in ssh.events, ssh.events

    def delay_ends():
        name, took = first_line(p3, b"SS", fin=False)
        assert name == b"one", name
        assert 0.9 <= took < 3.0, "decided after %.2fs (inspect-delay 1s)" % took

    def fin_decides():
        name, took = first_line(p3, b"abc")
        assert name == b"one" and took < 0.5, (name, took)

    def content_reject():
        c = socket.create_connection((HOST, p3), timeout=5)
        me = c.getsockname()[1]
        c.sendall(b"BAD request")
        data, how = recv_all(c, timeout=5)
        c.close()
        assert data == b"", data
        lines = wait_log(sp2, 1, r"^127\.0\.0\.1:%d " % me)
        assert lines and " PR " in lines[-1] and "<NOSRV>" in lines[-1], lines
        fe = stat_rows(sock + "2")[("sniff", "FRONTEND")]
        assert fe["dreq"] == "1", fe["dreq"]

    hello = client_hello("example.test")
    other = client_hello("other.test")

    def sni():
        assert len(hello) > 100 and hello[0] == 0x16, hello[:8]
        assert first_line(p3, hello, fin=False)[0] == b"tls"
        # a hello that comes in two pieces: the rules wait for the whole of it
        name, took = first_line(p3, hello[:30], pause=0.3, more=hello[30:], fin=False)
        assert name == b"tls" and took < 0.9, (name, took)
        name, took = first_line(p3, other, fin=False)
        assert name == b"one" and took < 0.5, (name, took)
        wait_until(lambda: hello in tls.events, 5)
        assert hello in tls.events, "the hello did not reach the server intact"

    t.case("inspect-delay: req.payload waits for its bytes, then use_backend", payload_waits)
    t.case("inspect-delay 1s runs out: rules decide on what came", delay_ends)
    t.case("the client's FIN ends the wait at once", fin_decides)
    t.case("tcp-request content reject: closed, PR in the log, dreq", content_reject)
    t.case("req.ssl_sni / req.ssl_hello_type route a real TLS ClientHello", sni)


def unix_cmd(path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(cmd.encode() + b"\n")
    data, _ = recv_all(s, timeout=5)
    s.close()
    return data.decode(errors="replace")


def stats_cases(t):
    es = Server(echo)
    port = free_port()
    sock = os.path.join(t.dir, "stats-tcp.sock")
    cfg = tcp_cfg(port, [es.port], listen=True, defaults="option dontlognull")
    cfg = cfg.replace("global\n", "global\n    stats socket %s mode 600\n    decision-log 16\n"
                      % sock, 1)
    sp = t.spillway(cfg, port)
    sock_ready(sock)

    def live_and_final():
        # the harness's readiness probe carried no byte: a session, but not logged
        wait_until(lambda: stat_rows(sock)[("relay", "FRONTEND")]["scur"] == "0", 5)
        blob = os.urandom(5000)
        c = socket.create_connection((HOST, port), timeout=5)
        me = c.getsockname()[1]
        c.sendall(blob)
        got = b""
        c.settimeout(5)
        while len(got) < len(blob):
            d = c.recv(65536)
            assert d, "closed early"
            got += d
        # the worker counts what it wrote right after the write: the client may ask first
        keys = (("relay", "FRONTEND"), ("relay", "BACKEND"), ("relay", "s1"))
        live = wait_until(lambda: (lambda r: r if all(r[k]["bout"] == "5000" for k in keys)
                                   else None)(stat_rows(sock)), 2) or stat_rows(sock)
        c.shutdown(socket.SHUT_WR)
        recv_all(c, timeout=5)
        c.close()
        lines = wait_log(sp, 1, r"^127\.0\.0\.1:%d " % me)
        wait_until(lambda: stat_rows(sock)[("relay", "BACKEND")]["scur"] == "0", 5)
        final = stat_rows(sock)
        for key in (("relay", "FRONTEND"), ("relay", "BACKEND"), ("relay", "s1")):
            lv, fv = live[key], final[key]
            # bytes counted while the session runs, not only at its end
            assert lv["scur"] == "1" and int(lv["bin"]) == 5000 and int(lv["bout"]) == 5000, \
                (key, lv["scur"], lv["bin"], lv["bout"])
            assert fv["scur"] == "0" and fv["bin"] == "5000" and fv["bout"] == "5000", \
                (key, fv["scur"], fv["bin"], fv["bout"])
            assert fv["mode"] == "tcp", (key, fv["mode"])
            # no HTTP counters for tcp (HAProxy leaves them empty)
            assert fv["hrsp_2xx"] == "" and fv["req_tot"] == "", (key, fv["hrsp_2xx"],
                                                                  fv["req_tot"])
        assert final[("relay", "FRONTEND")]["stot"] == "2", final[("relay", "FRONTEND")]["stot"]
        assert final[("relay", "BACKEND")]["stot"] == "2"
        assert final[("relay", "s1")]["stot"] == "2"
        m = TCPLOG.match(lines[-1])
        assert m and m.group("B") == "5000" and m.group("ts") == "--", lines
        assert len(log_lines(sp)) == 1, "the empty probe session was logged: %r" % log_lines(sp)
        dec = unix_cmd(sock, "show decisions")
        assert " relay/s1 tcp " in dec, dec

    t.case("show stat: tcp sessions in stot/scur/bin/bout (live), no HTTP counters; "
           "dontlognull; show decisions", live_and_final)


def config_cases(t):
    def check(cfg):
        path = os.path.join(t.dir, "c-%d.cfg" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(cfg)
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")

    base = ("defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
            "frontend f\n bind %s:%d\n mode %s\n default_backend b\n"
            "backend b\n mode %s\n server s %s:1\n")

    def http_to_tcp():
        rc, out = check(base % (HOST, free_port(), "http", "tcp", HOST))
        assert rc == 1 and "cannot use tcp backend" in out, out

    def tcp_to_http():
        # HAProxy upgrades such a connection to HTTP, and so does spillway (test_tcp2.py)
        rc, out = check(base % (HOST, free_port(), "tcp", "http", HOST))
        assert rc == 0, out

    def http_fetch_in_tcp():
        cfg = (base % (HOST, free_port(), "tcp", "tcp", HOST)).replace(
            " default_backend b\n", " use_backend b if { path /x }\n default_backend b\n")
        rc, out = check(cfg)
        assert rc == 1 and ":8:" in out and "not supported by spillway" in out, out

    def content_fetch_in_conn_rule():
        cfg = (base % (HOST, free_port(), "tcp", "tcp", HOST)).replace(
            " default_backend b\n",
            " tcp-request connection reject if { req.len gt 0 }\n default_backend b\n")
        rc, out = check(cfg)
        assert rc == 1 and ":8:" in out and "request buffer contents" in out, out

    t.case("-c: an HTTP fetch in a tcp frontend's rule is refused", http_fetch_in_tcp)
    t.case("-c: req.len in a tcp-request connection rule is refused", content_fetch_in_conn_rule)

    def tcp_ok():
        rc, out = check(base % (HOST, free_port(), "tcp", "tcp", HOST))
        assert rc == 0, out

    t.case("-c: an http frontend using a tcp backend is an error", http_to_tcp)
    t.case("-c: a tcp frontend using an http backend passes (an upgrade to HTTP)", tcp_to_http)
    t.case("-c: tcp frontend and tcp backend pass", tcp_ok)


def main(t):
    relay_cases(t)
    curl_cases(t)
    halfclose_cases(t)
    backpressure_cases(t)
    balance_cases(t)
    maxconn_cases(t)
    server_maxconn_cases(t)
    timeout_cases(t)
    routing_cases(t)
    stats_cases(t)
    config_cases(t)
    for s in _servers:
        s.stop()
    t.case("no sanitizer report in any spillway's output", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("tcp").run(main)
