#!/usr/bin/env python3
"""Issue 19: the proxy-side keywords every deployment carries, each seen from outside.

default-server (from defaults and in the backend, with no-check / no-backup); option
http-server-close, abortonclose, logasap, prefer-last-server, http-buffer-request,
http-ignore-probes, clitcpka / srvtcpka (with their -idle settings); monitor-uri and monitor
fail; description, disabled; stats hide-version, realm, show-node, show-desc, show-legends,
scope; server minconn with fullconn; backend and server `source`; a server address without a
port (the client's destination port) and with a port offset; bind v4v6 / v6only; unix binds
with mode, user, group and global unix-bind.

Everything runs on 127.0.0.0/8 (and ::1): 127.0.0.2 and 127.0.0.3 serve as the other hosts.
"""

import grp
import os
import pwd
import re
import socket
import stat
import subprocess
import threading
import time

import lib
from lib import HOST, Conn, Suite, free_port, request, send, wait_until

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def stats_csv(port, uri="/stats;csv", headers=None):
    r = request(port, "GET", uri, headers=headers)
    assert r.status == 200, "stats: %d %r" % (r.status, r.body[:200])
    lines = r.body.decode().splitlines()
    cols = lines[0].lstrip("# ").split(",")
    rows = {}
    for ln in lines[1:]:
        if ln:
            f = dict(zip(cols, ln.split(",")))
            rows[(f["pxname"], f["svname"])] = f
    return rows


class PeerServer:
    """An HTTP/1.1 origin (Python threads) that answers every request with the client's
    address as it sees it, "IP:PORT LOCALPORT", then closes."""

    def __init__(self, host, port=0, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        for _ in range(10 ** 6):
            if self._stop:
                return
            try:
                c, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c, peer), daemon=True).start()

    def _serve(self, c, peer):
        c.settimeout(5)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            self.peers.append(peer[0])
            body = ("%s:%d %d" % (peer[0], peer[1], c.getsockname()[1])).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(body) + body)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self._stop = True
        self.sock.close()


def port_free_on(host, port):
    with socket.socket() as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def keepalive_timers(local_port, peer_port=None):
    """The keep-alive timer seconds `ss` shows for established TCP sockets whose local port
    is local_port (and whose peer port is peer_port when given)."""
    out = subprocess.run(["ss", "-tnoH", "state", "established"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=10).stdout.decode()
    found = []
    for ln in out.splitlines():
        f = ln.split()
        if len(f) < 4:
            continue
        lp = f[2].rsplit(":", 1)[1]
        pp = f[3].rsplit(":", 1)[1]
        if lp != str(local_port) or (peer_port is not None and pp != str(peer_port)):
            continue
        m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?", ln)
        found.append(int(m.group(1) or 0) * 60 + int(m.group(2) or 0) if m else None)
    return found


def main(t):
    b1 = t.backend("b1")
    b2 = t.backend("b2")
    b3 = t.backend("b3")
    dead = free_port()

    # ---- default-server ------------------------------------------------------------------
    p = free_port()
    cfg = TMO + """    default-server check inter 100ms fall 1 rise 1 maxconn 7
frontend fe
    bind %s:%d
    stats uri /stats
    default_backend be
backend be
    server live1 %s:%d
    server dead %s:%d
    default-server backup
    server bk %s:%d
    server live3 %s:%d no-backup no-check
""" % (HOST, p, HOST, b1.port, HOST, dead, HOST, b2.port, HOST, b3.port)
    s = t.spillway(cfg, port=p)

    def default_server():
        ok = wait_until(lambda: stats_csv(p)[("be", "dead")]["status"] == "DOWN", 5)
        rows = stats_csv(p)
        assert ok, "the dead server (check from default-server) is %s" % rows[("be", "dead")]
        assert rows[("be", "live1")]["status"] == "UP", rows[("be", "live1")]
        assert rows[("be", "live1")]["slim"] == "7", "maxconn from defaults: %s" % rows[
            ("be", "live1")]["slim"]
        assert rows[("be", "bk")]["bck"] == "1", "backup from the backend's default-server"
        assert rows[("be", "live3")]["bck"] == "0" and rows[("be", "live3")]["status"] == \
            "no check", "no-backup no-check: %s" % rows[("be", "live3")]
        names = set()
        for _ in range(8):
            r = request(p, "GET", "/name")
            assert r.status == 200, r.status
            names.add(r.body.decode().strip())
        assert names == {"b1", "b3"}, "served by %s (the backup and the dead one must not)" % names

    t.case("default-server: check/inter/fall/maxconn from defaults, backup from the backend's, "
           "no-backup and no-check on the line", default_server)
    s.stop()

    # ---- http-server-close, prefer-last-server -------------------------------------------
    p1, p2, p3 = free_port(), free_port(), free_port()
    cfg = TMO + """frontend f_scl
    bind %s:%d
    default_backend be_scl
frontend f_ka
    bind %s:%d
    default_backend be_ka
frontend f_pref
    bind %s:%d
    default_backend be_pref
backend be_scl
    option http-server-close
    server s %s:%d
backend be_ka
    server s %s:%d
backend be_pref
    option prefer-last-server
    server a %s:%d
    server b %s:%d
""" % (HOST, p1, HOST, p2, HOST, p3, HOST, b1.port, HOST, b2.port, HOST, b1.port, HOST, b2.port)
    s = t.spillway(cfg, port=p1)

    def server_close(port, backend, expect_new):
        before, _ = backend.stats()
        with Conn(port) as c:
            for i in range(3):
                out, r = send(c, "GET", "/name")
                assert out == "200", "request %d: %s" % (i, out)
                assert (r.header("Connection") or "").lower() != "close", \
                    "the client side must stay alive: %r" % r.headers
        after, _ = backend.stats()
        # b.stats()'s own connection counts as one accept
        assert after - before - 1 == expect_new, "%d server connections for 3 requests" % (
            after - before - 1)

    t.case("option http-server-close: 3 requests on one client connection, 3 server "
           "connections, the client kept alive", server_close, p1, b1, 3)
    t.case("without it: one server connection reused", server_close, p2, b2, 1)

    def prefer_last(port, expect_same):
        with Conn(port) as c:
            got = []
            for _ in range(4):
                out, r = send(c, "GET", "/name")
                assert out == "200", out
                got.append(r.body.decode().strip())
        if expect_same:
            assert len(set(got)) == 1, "prefer-last-server: %s" % got
        else:
            assert len(set(got)) == 2, "round robin: %s" % got

    t.case("option prefer-last-server: a keep-alive client stays on its server",
           prefer_last, p3, True)
    s.stop()
    p4 = free_port()
    s = t.spillway(TMO + "frontend f\n bind %s:%d\n default_backend b\nbackend b\n"
                   " server a %s:%d\n server b %s:%d\n" % (HOST, p4, HOST, b1.port, HOST,
                                                          b2.port), port=p4)
    t.case("roundrobin without prefer-last-server alternates on one connection",
           prefer_last, p4, False)
    s.stop()

    # ---- abortonclose --------------------------------------------------------------------
    pa, pb = free_port(), free_port()
    # one worker: maxconn 1 is then one slot for both requests (each worker owns its share)
    cfg = """global
    nbthread 1
    log stdout format raw local0
""" + TMO + """    log global
    option httplog
frontend f_abort
    bind %s:%d
    default_backend be_abort
frontend f_plain
    bind %s:%d
    default_backend be_plain
backend be_abort
    option abortonclose
    server s %s:%d maxconn 1
backend be_plain
    server s %s:%d maxconn 1
""" % (HOST, pa, HOST, pb, HOST, b1.port, HOST, b2.port)
    s = t.spillway(cfg, port=pa)

    def abort_queued(port, backend, expect_served):
        _, before = backend.stats()
        holder = Conn(port)
        holder.send(b"GET /slow/1200 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        q = socket.create_connection((HOST, port))
        q.sendall(b"GET /name?queued HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        q.shutdown(socket.SHUT_WR)  # the client leaves while its request waits for a slot
        r = holder.read_response(timeout=5)
        assert r.status == 200, r.status
        holder.close()
        time.sleep(0.5)
        q.close()
        _, after = backend.stats()
        served = after - before - 1  # /slow (the origin does not count /stats)
        assert served == expect_served, "the queued request reached the server %d times" % served

    t.case("option abortonclose: a queued request whose client closed never reaches the "
           "server", abort_queued, pa, b1, 0)
    t.case("without it the queued request is served (HTTP-compliant half-close)",
           abort_queued, pb, b2, 1)
    t.check("the aborted request is logged with CQ",
            wait_until(lambda: re.search(r"f_abort be_abort/\S+ .* CQ", s.log()), 3), s.log())
    s.stop()

    # ---- logasap, http-ignore-probes -----------------------------------------------------
    pl, pi, pn = free_port(), free_port(), free_port()
    cfg = """global
    log stdout format raw local0
""" + TMO + """    log global
    option httplog
    timeout http-request 400ms
frontend f_asap
    bind %s:%d
    option logasap
    default_backend be
frontend f_probe
    bind %s:%d
    option http-ignore-probes
    default_backend be
frontend f_noprobe
    bind %s:%d
    default_backend be
backend be
    server s %s:%d
""" % (HOST, pl, HOST, pi, HOST, pn, HOST, b1.port)
    s = t.spillway(cfg, port=pl)

    def logasap():
        with Conn(pl) as c:
            c.send(b"GET /slowbody/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            line = wait_until(lambda: re.search(r"^.*f_asap be/s .*$", s.log(), re.M), 1.0)
            assert line, "no log line while the body is still on its way: %s" % s.log()
            r = c.read_response(timeout=5)
            assert r.body == b"slowbody!\n", r.body
        ln = line.group(0)
        m = re.search(r" \d+/\d+/\d+/\d+/\+(\d+) 200 \+(\d+) ", ln)
        assert m, "no '+' on Ta and B: %s" % ln
        assert int(m.group(1)) < 1500, "logged after the body: %s" % ln

    t.case("option logasap: the line goes out with the response headers, '+' on the total "
           "time and the bytes", logasap)

    def probe(port, expect_408):
        before = s.log()
        with Conn(port) as c:
            c.sock.settimeout(3)
            data = b""
            try:
                for _ in range(10):
                    d = c.sock.recv(4096)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
        time.sleep(0.2)
        new = s.log()[len(before):]
        name = "f_probe" if port == pi else "f_noprobe"
        if expect_408:
            assert data.startswith(b"HTTP/1.1 408"), "expected a 408, got %r" % data[:80]
            assert re.search(name + r" .* 408 .*<BADREQ>", new), "no 408 log line: %r" % new
        else:
            assert data == b"", "expected a silent close, got %r" % data[:80]
            assert name not in new, "logged: %r" % new

    t.case("a connection that sends nothing gets HAProxy's 408 and a log line", probe, pn, True)
    t.case("option http-ignore-probes: closed silently, not logged", probe, pi, False)
    s.stop()

    # ---- http-buffer-request -------------------------------------------------------------
    pbuf, pstream = free_port(), free_port()
    cfg = TMO + """    timeout http-request 1s
frontend f_buf
    bind %s:%d
    option http-buffer-request
    default_backend be
frontend f_stream
    bind %s:%d
    default_backend be
backend be
    server s %s:%d
""" % (HOST, pbuf, HOST, pstream, HOST, b3.port)
    s = t.spillway(cfg, port=pbuf)

    def buffer_request(port, buffered):
        _, before = b3.stats()
        with Conn(port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
            time.sleep(0.4)
            _, mid = b3.stats()
            reached = mid - before
            c.send(b"56789")
            r = c.read_response(timeout=5)
            assert r.status == 200 and r.body.endswith(b"\r\n\r\n0123456789"), (r.status, r.body)
        if buffered:
            assert reached == 0, "the request reached the server before its body was in"
        else:
            assert reached == 1, "a streamed request reaches the server at once (%d)" % reached

    t.case("option http-buffer-request: the server sees the request once the whole body is in",
           buffer_request, pbuf, True)
    t.case("without it the request goes out with its head", buffer_request, pstream, False)

    def buffer_timeout():
        with Conn(pbuf) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n012")
            r = c.read_response(timeout=4)
            assert r.status == 408, r.status

    t.case("http-buffer-request: a body that does not come within timeout http-request: 408",
           buffer_timeout)
    s.stop()

    # ---- tcpka ---------------------------------------------------------------------------
    pk = free_port()
    cfg = TMO + """frontend f
    bind %s:%d
    option clitcpka
    clitcpka-idle 77
    default_backend be
backend be
    option srvtcpka
    srvtcpka-idle 88s
    server s %s:%d
""" % (HOST, pk, HOST, b2.port)
    s = t.spillway(cfg, port=pk)

    def tcpka():
        with Conn(pk) as c:
            out, _ = send(c, "GET", "/name")
            assert out == "200", out
            cli = keepalive_timers(pk, c.sock.getsockname()[1])
            assert cli and cli[0] is not None and 70 <= cli[0] <= 77, \
                "client side keep-alive timer %s (ss)" % cli
            # the idle server connection: spillway's end has the server port as its peer
            out = subprocess.run(["ss", "-tnoH", "state", "established", "dport", "= :%d" %
                                  b2.port], stdout=subprocess.PIPE, timeout=10).stdout.decode()
            m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?", out)
            assert m, "no keep-alive timer on the server connection: %r" % out
            secs = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
            assert 80 <= secs <= 88, "server side keep-alive timer %ds: %r" % (secs, out)

    t.case("option clitcpka / srvtcpka with -idle: SO_KEEPALIVE and TCP_KEEPIDLE on both "
           "sides (ss shows the timers)", tcpka)
    s.stop()

    # ---- monitor-uri, monitor fail, description, disabled, stats page ---------------------
    pm, pdis, pst = free_port(), free_port(), free_port()
    cfg = """global
    log stdout format raw local0
    node gnode
    description global words
""" + TMO + """    log global
    option httplog
frontend fm
    bind %s:%d
    monitor-uri /alive
    acl down nbsrv(bdead) lt 1
    monitor fail if down { path /alive } { hdr(x-fail) yes }
    description the monitored front
    stats uri /stats
    stats hide-version
    stats realm Secret\\ Zone
    stats auth u:p
    stats show-node
    stats show-desc
    stats show-legends
    stats scope .
    stats scope bdead
    default_backend bok
listen offline
    bind %s:%d
    disabled
    server s %s:%d
backend bok
    server s %s:%d
backend bdead
    description nobody home
    server s %s:%d check inter 100ms fall 1 rise 1
backend boff
    disabled
    server s %s:%d
""" % (HOST, pm, HOST, pdis, HOST, b1.port, HOST, b1.port, HOST, dead, HOST, b1.port)
    s = t.spillway(cfg, port=pm)
    auth = [("Authorization", "Basic dTpw")]

    def monitor():
        with Conn(pm) as c:
            out, r = send(c, "GET", "/alive")
            assert out == "200", out
            assert b"Service ready." in r.body, r.body
            assert c.wait_closed(2), "the connection must close after the monitor answer"
        r = request(pm, "GET", "/alive", headers=[("X-Fail", "yes")])
        ok = wait_until(lambda: request(pm, "GET", "/alive", headers=[("X-Fail", "yes")])
                        .status == 503, 5)
        assert ok, "monitor fail with the dead backend: %d" % r.status
        assert request(pm, "GET", "/alive").status == 200, "the condition's other terms"
        assert request(pm, "GET", "/alive?q=1").status == 200, "a path monitor-uri ignores "
        time.sleep(0.2)
        assert " fm " not in s.log(), "monitor requests are not logged: %s" % s.log()

    t.case("monitor-uri answers 200 itself (closed, not logged), 503 under monitor fail",
           monitor)

    def disabled():
        assert not lib.can_connect(pdis), "a disabled listen section must not listen"
        rows = stats_csv(pm, headers=auth)
        # scope: this frontend and bdead only
        pxs = {k[0] for k in rows}
        assert pxs == {"fm", "bdead"}, "stats scope: %s" % pxs
        assert rows[("fm", "FRONTEND")]["status"] == "OPEN"

    t.case("disabled: the listen section does not listen; stats scope limits the rows",
           disabled)

    def stats_page():
        r = request(pm, "GET", "/stats")
        assert r.status == 401, r.status
        assert r.header("WWW-Authenticate") == 'Basic realm="Secret Zone"', r.headers
        r = request(pm, "GET", "/stats", headers=auth)
        page = r.body.decode()
        assert r.status == 200, r.status
        assert "version" not in page and "0.1.0" not in page, "hide-version: %s" % page[:600]
        assert 'on <span class="node">gnode</span>' in page, "show-node (global node)"
        assert ': <span class="desc">global words</span>' in page, "show-desc (global)"
        assert "the monitored front" in page and "nobody home" in page, "descriptions"
        assert "cap: frontend, mode: http, id: 1" in page, "legends for the proxy"
        assert re.search(r"IPv4: 127\.0\.0\.1:%d, id: 1" % dead, page), "legends for servers"
        assert "<caption>bok" not in page, "scope hides bok"

    t.case("stats realm, hide-version, show-node, show-desc, show-legends, description on "
           "the page", stats_page)
    s.stop()

    pd = free_port()
    s = t.spillway(TMO + "frontend f\n bind %s:%d\n stats uri /stats\n default_backend boff\n"
                   "backend boff\n disabled\n server s %s:%d\n" % (HOST, pd, HOST, b1.port),
                   port=pd)

    def disabled_backend():
        _, before = b1.stats()
        r = request(pd, "GET", "/name")
        assert r.status == 503, r.status
        _, after = b1.stats()
        assert after == before, "the disabled backend's server got the request"
        rows = stats_csv(pd)
        assert rows[("boff", "BACKEND")]["status"] == "STOP", rows[("boff", "BACKEND")]

    t.case("a disabled backend takes no traffic (503) and shows STOP", disabled_backend)
    s.stop()

    # ---- minconn / fullconn --------------------------------------------------------------
    def peak_conns(port, backend, n):
        peak = [0]
        done = threading.Event()

        def poll():
            for _ in range(400):
                if done.is_set():
                    return
                try:
                    c = backend.counters()["conns"] - 1
                    peak[0] = max(peak[0], c)
                except Exception:  # noqa: BLE001
                    pass
                time.sleep(0.02)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        res = []

        def one():
            res.append(request(port, "GET", "/slow/400").status)

        ths = [threading.Thread(target=one) for _ in range(n)]
        for x in ths:
            x.start()
        for x in ths:
            x.join(10)
        done.set()
        th.join(5)
        assert res == [200] * n, res
        return peak[0]

    pmin, pmax = free_port(), free_port()
    bm = t.backend("bmin")
    bs = t.backend("bstatic")
    cfg = "global\n    nbthread 1\n" + TMO + """frontend fmin
    bind %s:%d
    default_backend bmin
frontend fmax
    bind %s:%d
    default_backend bstatic
backend bmin
    fullconn 100
    server s %s:%d minconn 2 maxconn 10
backend bstatic
    fullconn 100
    server s %s:%d maxconn 10
""" % (HOST, pmin, HOST, pmax, HOST, bm.port, HOST, bs.port)
    s = t.spillway(cfg, port=pmin)

    def minconn():
        peak = peak_conns(pmin, bm, 6)
        assert peak <= 2, "6 requests with fullconn 100: dynamic maxconn max(2, 6*10/100) = 2, " \
                          "the server saw %d connections" % peak
        peak = peak_conns(pmax, bs, 6)
        assert peak >= 5, "without minconn the static maxconn 10 lets all 6 in (%d)" % peak

    t.case("server minconn with fullconn: HAProxy's dynamic maxconn", minconn)
    s.stop()

    # ---- source, port-less servers --------------------------------------------------------
    origin = PeerServer(HOST)
    ps1 = free_port()
    cfg = TMO + """frontend f
    bind %s:%d
    use_backend b_srv if { path_beg /srv }
    default_backend b_be
backend b_be
    source 127.0.0.2
    server s %s:%d
backend b_srv
    source 127.0.0.2
    server s %s:%d source 127.0.0.3
""" % (HOST, ps1, HOST, origin.port, HOST, origin.port)
    s = t.spillway(cfg, port=ps1)

    def source():
        r = request(ps1, "GET", "/")
        assert r.status == 200 and r.body.startswith(b"127.0.0.2:"), r.body
        r = request(ps1, "GET", "/srv")
        assert r.status == 200 and r.body.startswith(b"127.0.0.3:"), r.body

    t.case("backend source and server source: the server sees that address", source)
    s.stop()
    origin.stop()

    pp = None
    for _ in range(20):
        c = free_port()
        if port_free_on("127.0.0.2", c) and port_free_on("127.0.0.2", c + 7):
            pp = c
            break
    assert pp, "no port free on both 127.0.0.1 and 127.0.0.2"
    o1 = PeerServer("127.0.0.2", pp)
    o2 = PeerServer("127.0.0.2", pp + 7)
    pq = free_port()
    cfg = TMO + """frontend f
    bind %s:%d
    bind %s:%d
    use_backend b_off if { dst_port %d }
    default_backend b_dst
backend b_dst
    server s 127.0.0.2
backend b_off
    server s 127.0.0.2:%+d
""" % (HOST, pp, HOST, pq, pq, pp + 7 - pq)
    s = t.spillway(cfg, port=pp)

    def portless():
        for _ in range(2):  # twice: no pooled connection may carry the second elsewhere
            r = request(pp, "GET", "/")
            assert r.status == 200 and r.body.endswith(b" %d" % pp), r.body
        r = request(pq, "GET", "/")
        assert r.status == 200 and r.body.endswith(b" %d" % (pp + 7)), (r.status, r.body)

    t.case("a server without a port gets the client's destination port; ':+N'/':-N' add N",
           portless)
    s.stop()
    o1.stop()
    o2.stop()

    # ---- bind v4v6 / v6only, unix sockets -------------------------------------------------
    p46, p6 = free_port(), free_port()
    d = t.dir
    me = pwd.getpwuid(os.getuid()).pw_name
    other_gid = next((g.gr_gid for g in grp.getgrall() if g.gr_gid != os.getgid()), os.getgid())
    other = grp.getgrgid(other_gid).gr_name
    cfg = """global
    unix-bind prefix %s/ mode 660
""" % d + TMO + """frontend f
    bind [::]:%d v4v6
    bind [::]:%d v6only
    bind unix@a.sock
    bind unix@b.sock mode 604 user %s group %s
    default_backend be
backend be
    server s %s:%d
""" % (p46, p6, me, other, HOST, b1.port)
    s = t.spillway(cfg, port=p46)

    def v4v6():
        assert lib.can_connect(p46), "v4v6: IPv4 clients on [::]"
        assert not lib.can_connect(p6), "v6only: no IPv4 client"
        with socket.create_connection(("::1", p6), timeout=2):
            pass

    t.case("bind v4v6 accepts IPv4 on [::], v6only does not", v4v6)

    def unix():
        a, b = os.path.join(d, "a.sock"), os.path.join(d, "b.sock")
        sa, sb = os.stat(a), os.stat(b)
        assert stat.S_IMODE(sa.st_mode) == 0o660, "unix-bind mode: %o" % stat.S_IMODE(sa.st_mode)
        assert stat.S_IMODE(sb.st_mode) == 0o604, "bind mode: %o" % stat.S_IMODE(sb.st_mode)
        assert sb.st_uid == os.getuid() and sb.st_gid == other_gid, (sb.st_uid, sb.st_gid)
        rc, out, err = lib.curl(["--unix-socket", a, "http://x/name"])
        assert rc == 0 and out.strip() == b"b1", (rc, out, err)

    t.case("unix binds: unix-bind prefix and mode, bind mode/user/group on the socket file",
           unix)
    s.stop()
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("deploy").run(main)
