#!/usr/bin/env python3
"""Routing with use_backend rules: the fe_conn overflow pattern (evaluated per HTTP/1 request
and per HTTP/2 stream with the live count, summed over workers), frontend maxconn holding
extra connections in the kernel's accept queue, routing by path, Host, method and source
address, and `spillway -c` on rule errors.

Backends are sp-testbackends whose /name answers the name they were started with, so the body
of GET /name says which backend a request went to."""

import os
import re
import select
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h2client  # noqa: E402
from lib import HOST, SPILLWAY, Conn, Suite, curl, free_port, wait_until  # noqa: E402

SILENT_S = 1.0  # how long a connection held in the backlog must stay unanswered
POLL_TRIES = 100  # requests spent waiting for spillway to notice a close
POLL_SLEEP = 0.05


def cfg_text(port, backends, fe_lines, maxconn=12, nbthread=2, default="ade"):
    """A config with frontend `webserver` on port and one backend per (name, port)."""
    lines = ["global", "    nbthread %d" % nbthread,
             "defaults", "    mode http", "    timeout client 10s", "    timeout server 5s",
             "    timeout connect 2s",
             "frontend webserver", "    bind %s:%d" % (HOST, port), "    maxconn %d" % maxconn]
    lines += ["    " + ln for ln in fe_lines]
    lines += ["    default_backend %s" % default]
    for name, bport in backends:
        lines += ["backend %s" % name, "    server s1 %s:%d" % (HOST, bport)]
    return "\n".join(lines) + "\n"


def overflow_lines(threshold):
    return ["acl too_many_connections fe_conn(webserver) gt %d" % threshold,
            "use_backend pbcoffee if too_many_connections"]


# ---------------------------------------------------------------------------------------------
# HTTP/1.1 keep-alive connections


class H1(Conn):
    """A keep-alive connection; ask() sends GET /name and returns the backend's name."""

    def __init__(self, port, source=None, timeout=10.0):
        # no super().__init__: the socket may be bound to a source address first
        self.sock = socket.create_connection((HOST, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def send_get(self, path="/name", method="GET", headers=(), body=None):
        hdrs = [("Host", "localhost")] + list(headers)
        if body is not None:
            hdrs.append(("Content-Length", str(len(body))))
        raw = ("%s %s HTTP/1.1\r\n" % (method, path)).encode()
        raw += b"".join(("%s: %s\r\n" % (n, v)).encode() for n, v in hdrs) + b"\r\n"
        self.send(raw + (body or b""))

    def ask(self, path="/name", timeout=None, **kw):
        self.send_get(path, **kw)
        return self.answer(timeout)

    def answer(self, timeout=None):
        r = self.read_response(timeout=timeout)
        assert r.status == 200, "status %d: %r" % (r.status, r.body[:200])
        return r.body.decode(errors="replace").strip()

    def silent_for(self, seconds):
        """True if nothing at all arrives (no data, no close) within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except OSError:
            return False
        self.buf += data
        if not data:
            self.eof = True
        return False


def open_h1(port, n, want=None, source=None):
    """Opens n connections one after the other, each asking once; returns them. With want,
    checks every answer (a function of the connection's 1-based position, or a name)."""
    conns = []
    for k in range(1, n + 1):
        c = H1(port, source)
        conns.append(c)
        got = c.ask()
        exp = want(k) if callable(want) else want
        assert exp is None or got == exp, "connection %d answered %r, want %r" % (k, got, exp)
    return conns


def close_all(conns):
    for c in conns:
        try:
            c.close()
        except OSError:
            pass


def readable(conns, timeout):
    """The connections among conns with something to read within timeout seconds (all of
    those ready after the first one is, plus a short grace for simultaneous arrivals)."""
    socks = {c.sock: c for c in conns}
    r, _, _ = select.select(list(socks), [], [], timeout)
    if r:
        r2, _, _ = select.select(list(socks), [], [], 0.05)
        r = set(r) | set(r2)
    return [socks[x] for x in socks if x in r]


def poll_answer(ask, want, tries=POLL_TRIES):
    """Asks until the answer is `want` (spillway saw a close); returns the answers seen."""
    seen = []
    for _ in range(tries):
        got = ask()
        seen.append(got)
        if got == want:
            break
        time.sleep(POLL_SLEEP)
    return seen


# ---------------------------------------------------------------------------------------------
# HTTP/2 through h2client's raw client: GETs whose body names the backend.


class H2(h2client.H2):
    def start(self, path="/name", authority="localhost", method="GET"):
        return self.request(method, path, authority=authority)[0]

    def wait(self, sids, timeout=10.0, check=True):
        """Reads until every stream in sids is complete; returns their bodies (with check,
        asserts each is a complete 200)."""
        self.pump(lambda: all(self.streams[s].done() for s in sids), timeout)
        out = []
        for s in sids if check else ():
            st = self.streams[s]
            assert st.done(), "stream %d not complete (eof=%s)" % (s, self.eof)
            assert st.rst is None, "stream %d reset with %d" % (s, st.rst)
            assert st.status == 200, "stream %d status %r" % (s, st.status)
            out.append(bytes(st.data).decode(errors="replace").strip())
        return out

    def ask(self, **kw):
        return self.wait([self.start(**kw)])[0]


def curl_h2(port, path="/name"):
    """GET over h2c prior knowledge with curl: (body text, http version)."""
    rc, out, err = curl(["--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version}",
                         "http://%s:%d%s" % (HOST, port, path)], timeout=10)
    assert rc == 0, "curl rc=%d %s" % (rc, err)
    body, _, version = out.decode(errors="replace").rpartition("\n")
    return body.strip(), version.strip()


# ---------------------------------------------------------------------------------------------


def main(t):
    ade = t.backend("ade")
    pbc = t.backend("pbcoffee")
    two_be = [("ade", ade.port), ("pbcoffee", pbc.port)]

    def start(fe_lines, maxconn=12, nbthread=2, backends=None):
        port = free_port()
        sp = t.spillway(cfg_text(port, backends or two_be, fe_lines, maxconn, nbthread), port)
        sp.maxconn = maxconn
        return sp, port

    def finish(sp, conns):
        close_all(conns)
        sp.stop()
        # spillway logs the highest fe_conn at exit (where it does): never above maxconn
        m = re.search(r"highest fe_conn (\d+) \(maxconn (\d+)\)", sp.log())
        if m:
            assert int(m.group(1)) <= sp.maxconn, "log says: %s" % m.group(0)

    # 1. HTTP/1: the 11th connection and every later request go to pbcoffee ----------------
    def h1_overflow():
        sp, port = start(overflow_lines(10))
        conns = []
        try:
            conns = open_h1(port, 10, "ade")
            c11 = H1(port)
            conns.append(c11)
            got = c11.ask()
            assert got == "pbcoffee", "11th connection answered %r" % got
            # evaluated per request: an old keep-alive connection follows the live count
            got = conns[0].ask()
            assert got == "pbcoffee", "connection 1 with 11 open answered %r" % got
            got = conns[9].ask()
            assert got == "pbcoffee", "connection 10 with 11 open answered %r" % got
            conns[10].close()
            conns[9].close()
            seen = poll_answer(conns[0].ask, "ade")
            assert seen[-1] == "ade", \
                "connection 1 never back to ade after 2 closes: %r" % seen[-5:]
            # and it stays there: 9 open
            for k in range(3):
                got = conns[k].ask()
                assert got == "ade", "connection %d with 9 open answered %r" % (k + 1, got)
            # one more (10 open) is still ade, the next (11 open) pbcoffee again
            conns.append(H1(port))
            # the second close may still be on its way to the other worker (9 or 10 open
            # answer alike): once it is seen, 10 are open
            seen = poll_answer(conns[-1].ask, "ade")
            assert seen[-1] == "ade", "10th open connection not ade: %r" % seen[-5:]
            conns.append(H1(port))
            got = conns[-1].ask()
            assert got == "pbcoffee", "11th open connection (again) answered %r" % got
        finally:
            finish(sp, conns)

    # 2. maxconn 12: the 13th and 14th wait in the backlog until two others close ------------
    def backlog():
        sp, port = start(overflow_lines(10))
        conns = []
        try:
            conns = open_h1(port, 12, lambda k: "ade" if k <= 10 else "pbcoffee")
            waiting = [H1(port), H1(port)]  # connect() succeeds: the kernel completes it
            conns += waiting
            for w in waiting:
                w.send_get()
            for i, w in enumerate(waiting):
                assert w.silent_for(SILENT_S / 2 if i else SILENT_S), \
                    "connection %d answered (or closed) while 12 were open: %r" % (
                        13 + i, w.buf[:80])
            # 12 open: still pbcoffee, not refused
            got = conns[0].ask()
            assert got == "pbcoffee", "connection 1 with 12 open answered %r" % got
            assert sp.proc.poll() is None, "spillway exited"
            conns[0].close()
            conns[1].close()
            # now accepted (fe_conn back to 11, then 12): both routed past the threshold
            for i, w in enumerate(waiting):
                got = w.answer(timeout=5.0)
                assert got == "pbcoffee", "connection %d answered %r once accepted" % (13 + i, got)
            # they are ordinary keep-alive connections now
            assert waiting[0].ask() == "pbcoffee"
            # a 15th waits again: 12 are open
            c15 = H1(port)
            conns.append(c15)
            c15.send_get()
            assert c15.silent_for(SILENT_S), "15th connection answered with 12 open"
            waiting[1].close()
            got = c15.answer(timeout=5.0)
            assert got == "pbcoffee", "15th answered %r" % got
        finally:
            finish(sp, conns)

    # 2b. the gate never lets a 13th in: with `gt 12` nothing may ever reach pbcoffee --------
    def never_past_maxconn():
        sp, port = start(overflow_lines(12))
        conns = []
        try:
            conns = open_h1(port, 12, "ade")
            extra = [H1(port) for _ in range(4)]
            conns += extra
            for c in extra:
                c.send_get()
            assert all(c.silent_for(0.3) for c in extra), "a 13th connection was answered"
            for k, c in enumerate(conns[:12]):
                got = c.ask()
                assert got == "ade", "connection %d answered %r: fe_conn > 12" % (k + 1, got)
            # free slots one by one: each close lets exactly one waiting connection in (which
            # one depends on the shard the kernel queued it on)
            pending = list(extra)
            for k in range(4):
                conns[k].close()
                ready = readable(pending, 5.0)
                assert ready, "a close freed a slot but no waiting connection was accepted " \
                    "within 5 s (the slot hand-off bug slot_handoff checks)"
                assert len(ready) == 1, \
                    "%d waiting connections answered after one close" % len(ready)
                got = ready[0].answer(timeout=5.0)
                assert got == "ade", "waiting connection answered %r: fe_conn > 12" % got
                pending.remove(ready[0])
                assert not readable(pending, 0.2), "a second waiting connection was answered"
            for c in conns[4:]:
                got = c.ask()
                assert got == "ade", "answered %r with 12 open: fe_conn > 12" % got
        finally:
            finish(sp, conns)

    # 2c. every freed slot goes to a waiting connection, whichever worker frees it or holds
    # the queued connection (no lost wake-up, no slot left free by two racing workers)
    def slot_handoff():
        rounds = 150
        sp, port = start([], maxconn=4, nbthread=2)
        conns = []
        try:
            held = open_h1(port, 4, "ade")
            conns += held
            waiting = []
            for r in range(rounds):
                while len(waiting) < 2:
                    c = H1(port)
                    conns.append(c)
                    c.send_get()
                    waiting.append(c)
                held.pop(0).close()
                ready = readable(waiting, 3.0)
                if not ready:
                    held.pop(0).close()
                    after = len(readable(waiting, 3.0))
                    raise AssertionError(
                        "round %d: a close freed a slot but no waiting connection was accepted "
                        "within 3 s; after one more close %d were accepted at once" % (r, after))
                assert len(ready) == 1, "round %d: %d accepted for one close" % (r, len(ready))
                got = ready[0].answer(timeout=5.0)
                assert got == "ade", "round %d: answered %r" % (r, got)
                waiting.remove(ready[0])
                held.append(ready[0])
        finally:
            finish(sp, conns)

    # 3. HTTP/2: per-stream decisions on one connection, curl on an extra connection --------
    def h2_streams():
        sp, port = start(overflow_lines(10))
        conns = []
        h2 = None
        try:
            conns = open_h1(port, 9, "ade")
            h2 = H2(port)  # the 10th connection
            got = h2.ask()
            assert got == "ade", "H2 stream 1 with 10 open answered %r" % got
            conns.append(H1(port))  # the 11th
            assert conns[-1].ask() == "pbcoffee", "11th (HTTP/1) not pbcoffee"
            # the same H2 connection: new streams see the live count
            got = h2.ask()
            assert got == "pbcoffee", "H2 stream 3 with 11 open answered %r" % got
            sids = [h2.start() for _ in range(5)]  # concurrent streams
            got = h2.wait(sids)
            assert got == ["pbcoffee"] * 5, "5 concurrent streams with 11 open: %r" % got
            conns[-1].close()
            seen = poll_answer(h2.ask, "ade")
            assert seen[-1] == "ade", "H2 streams never back to ade: %r" % seen[-5:]
            sids = [h2.start() for _ in range(5)]
            got = h2.wait(sids)
            assert got == ["ade"] * 5, "5 concurrent streams with 10 open: %r" % got
        finally:
            if h2:
                h2.close()
            finish(sp, conns)

    def h2_curl():
        sp, port = start(overflow_lines(10))
        conns = []
        try:
            conns = open_h1(port, 9, "ade")
            body, ver = curl_h2(port)  # the 10th connection
            assert ver == "2", "curl used HTTP/%s" % ver
            assert body == "ade", "curl as 10th connection got %r" % body
            conns.append(H1(port))  # 10 idle keep-alive connections
            assert conns[-1].ask() == "ade"

            def curl_body():
                return curl_h2(port)[0]

            body = curl_body()  # the 11th connection
            assert body == "pbcoffee", "curl as 11th connection got %r" % body
            conns[-1].close()
            # curl's own connection is closed between calls: 10 once the close is noticed
            seen = poll_answer(curl_body, "ade", tries=40)
            assert seen[-1] == "ade", "curl never back to ade with 9 open: %r" % seen[-5:]
        finally:
            finish(sp, conns)

    def h2_backlog():
        sp, port = start(overflow_lines(10))
        conns = []
        h2 = None
        try:
            conns = open_h1(port, 12, lambda k: "ade" if k <= 10 else "pbcoffee")
            h2 = H2(port)  # the 13th: waits in the backlog, preface and request sent
            sid = h2.start()
            h2.wait([sid], timeout=SILENT_S, check=False)
            st = h2.streams[sid]
            assert not st.done() and not h2.eof and not st.data, \
                "H2 request on a 13th connection answered with 12 open: status %s data %r" % (
                    st.status, bytes(st.data))
            conns[0].close()
            got = h2.wait([sid], timeout=5.0)
            assert got == ["pbcoffee"], "H2 13th connection once accepted: %r" % got
        finally:
            if h2:
                h2.close()
            finish(sp, conns)

    # 4. routing by request and connection properties -----------------------------------------
    def by_request():
        names = ["api", "example", "post", "two"]
        extra_be = [t.backend(n) for n in names]
        extra = [(b.name, b.port) for b in extra_be]
        sp, port = start(["acl is_api path_beg /api",
                          "acl is_example hdr(host) -i example.com",
                          "acl is_post method POST",
                          "acl from_two src 127.0.0.2",
                          "use_backend api if is_api",
                          "use_backend example if is_example",
                          "use_backend post if is_post",
                          "use_backend two if from_two"],
                         maxconn=100, backends=two_be + extra)
        conns = []
        try:
            c = H1(port)
            conns.append(c)
            all_be = [ade, pbc] + extra_be

            def routed_to(fn):
                """The backends that received fn()'s request (/stats calls are not counted)."""
                before = [b.stats()[1] for b in all_be]
                fn()
                after = [b.stats()[1] for b in all_be]
                return [b.name for b, x, y in zip(all_be, before, after) if y != x]

            def get_any(path, conn=None, **kw):
                cc = conn or c
                cc.send_get(path, **kw)
                r = cc.read_response()
                assert r.status in (200, 404, 405), "%s: status %d" % (path, r.status)

            for path, want in [("/name", "ade"), ("/api", "api"), ("/api/v1/x", "api"),
                               ("/api?x=1", "api"), ("/ap", "ade"), ("/name?/api", "ade"),
                               ("/API", "ade")]:
                got = routed_to(lambda: get_any(path))
                assert got == [want], "GET %s went to %r, want %s" % (path, got, want)
            got = c.ask("/name", headers=[("X-Host", "example.com")])
            assert got == "ade", "X-Host: example.com answered %r" % got

            def host_req(host):
                raw = ("GET /name HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
                c.send(raw)
                return c.answer()

            for host, want in [("example.com", "example"), ("EXAMPLE.Com", "example"),
                               ("www.example.com", "ade"), ("localhost", "ade")]:
                got = host_req(host)
                assert got == want, "Host: %s answered %r, want %r" % (host, got, want)
            for method, want in [("POST", "post"), ("PUT", "ade"), ("HEAD", "ade")]:
                body = None if method == "HEAD" else b"x"

                def req():
                    c.send_get("/name", method=method, body=body)
                    r = c.read_response(head_request=method == "HEAD")
                    assert r.status in (200, 405), "%s: status %d" % (method, r.status)

                got = routed_to(req)
                assert got == [want], "%s went to %r, want %s" % (method, got, want)
            c2 = H1(port, source="127.0.0.2")
            conns.append(c2)
            got = c2.ask()
            assert got == "two", "from 127.0.0.2 answered %r" % got
            got = routed_to(lambda: get_any("/api/x", conn=c2))
            assert got == ["api"], "GET /api/x from 127.0.0.2 went to %r (rule order)" % got
            # HTTP/2: :authority is the Host
            h2 = H2(port)
            try:
                got = h2.ask(authority="example.com")
                assert got == "example", "H2 :authority example.com answered %r" % got
                got = h2.ask(authority="localhost")
                assert got == "ade", "H2 :authority localhost answered %r" % got
            finally:
                h2.close()
        finally:
            finish(sp, conns)

    # 5. two workers: the count is summed over them ----------------------------------------
    def two_workers():
        sp, port = start(overflow_lines(18), maxconn=30, nbthread=2)
        conns = []
        try:
            conns = open_h1(port, 20, lambda k: "ade" if k <= 18 else "pbcoffee")
            for k in (0, 5, 17):
                got = conns[k].ask()
                assert got == "pbcoffee", "connection %d with 20 open answered %r" % (k + 1, got)
            conns[19].close()
            conns[18].close()
            seen = poll_answer(conns[0].ask, "ade")
            assert seen[-1] == "ade", "never back to ade with 18 open: %r" % seen[-5:]
            for k in range(18):
                got = conns[k].ask()
                assert got == "ade", "connection %d with 18 open answered %r" % (k + 1, got)
        finally:
            finish(sp, conns)

    def many_workers_peer_ports():
        """Same with 4 workers and connections from many source ports: more spread."""
        sp, port = start(overflow_lines(18), maxconn=30, nbthread=4)
        conns = []
        try:
            conns = open_h1(port, 20, lambda k: "ade" if k <= 18 else "pbcoffee")
            got = [c.ask() for c in conns]
            assert got == ["pbcoffee"] * 20, "with 20 open over 4 workers: %r" % got
        finally:
            finish(sp, conns)

    # 6. spillway -c on rule errors -----------------------------------------------------------
    def check_cfg(fe_lines, words):
        port = free_port()
        path = os.path.join(t.dir, "check-%d.cfg" % time.monotonic_ns())
        text = cfg_text(port, two_be, fe_lines)
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=10)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 1, "exit %d, want 1: %s" % (p.returncode, out[-500:])
        bad = [i + 1 for i, ln in enumerate(text.splitlines()) if "use_backend" in ln]
        where = "%s:%d" % (path, bad[0])
        assert where in out, "no %s in: %s" % (where, out[-800:])
        for w in words:
            assert w in out, "no %r in: %s" % (w, out[-800:])
        assert "Configuration file is valid" not in out, out

    def check_unknown_acl():
        check_cfg(["acl too_many_connections fe_conn(webserver) gt 10",
                   "use_backend pbcoffee if too_many_conections"],
                  ["too_many_conections", "use_backend"])

    def check_and():
        check_cfg(["acl too_many_connections fe_conn(webserver) gt 10",
                   "acl is_get method GET",
                   "use_backend pbcoffee if too_many_connections and is_get"],
                  ["'and'", "use_backend"])

    def check_valid():
        port = free_port()
        path = os.path.join(t.dir, "check-ok.cfg")
        with open(path, "w") as f:
            f.write(cfg_text(port, two_be, overflow_lines(10)))
        p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=10)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, "exit %d: %s" % (p.returncode, out[-500:])

    t.case("HTTP/1: 10 connections -> ade, 11th -> pbcoffee, old ones follow, back after 2 "
           "closes", h1_overflow)
    t.case("maxconn 12: 13th and 14th wait in the backlog, answered after 2 closes", backlog)
    t.case("maxconn 12 with gt 12: no request ever routed past the limit", never_past_maxconn)
    t.case("maxconn 4, 2 workers: 150 closes each hand their slot to a waiting connection",
           slot_handoff)
    t.case("HTTP/2: each stream evaluated with the live fe_conn", h2_streams)
    t.case("HTTP/2 curl --http2-prior-knowledge: 10th -> ade, 11th -> pbcoffee", h2_curl)
    t.case("HTTP/2 13th connection waits in the backlog", h2_backlog)
    t.case("path_beg, hdr(host) -i, method, src 127.0.0.2, H2 :authority", by_request)
    t.case("2 workers: 20 open with gt 18 -> 19th+ pbcoffee (sum over workers)", two_workers)
    t.case("4 workers: 20 open with gt 18 -> every request pbcoffee", many_workers_peer_ports)
    t.case("spillway -c: unknown ACL in use_backend -> exit 1, file:line, name", check_unknown_acl)
    t.case("spillway -c: 'and' is not an operator -> exit 1, file:line, 'and'", check_and)
    t.case("spillway -c: the overflow config is valid", check_valid)


if __name__ == "__main__":
    Suite("routing").run(main)
