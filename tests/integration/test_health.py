#!/usr/bin/env python3
"""Servers that go down and come back (issue 12): health checks, backups, the stats socket's
server commands, retry-on, and the kill/restart goal under h2load.

Each case starts sp-testbackend servers and spillway on loopback ports and drives them from
outside: HTTP requests (the server's /name answer says which server took each one), the stats
socket (socat-free: a unix socket client here), and spillway's log, whose state-change lines
must read as HAProxy 2.6 writes them.

The kill/restart case is the issue's goal: two servers with `check inter 200ms fall 2 rise 2`,
`retries 3`, `option redispatch`, `retry-on all-retryable-errors`; under h2load (h2c, then
HTTP/1.1) one server gets SIGKILL and is started again: 0 failed requests and 0 5xx, the server
DOWN within fall x inter + 1 s of the kill and taking traffic again within rise x inter + 1 s
of the restart. bench/health runs the same against HAProxy and reports both.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import (  # noqa: E402
    HOST, Backend, SetupError, Suite, closed_port, free_port, parse_h2load, request, wait_until)
from test_chaos import quiet_port, start_backend  # noqa: E402

INTER_MS = 100

cli = lib.stats_cli  # one command line on the stats socket


def servers_state(sock, be="be"):
    """{server name: dict of `show servers state` fields}."""
    lines = cli(sock, "show servers state " + be).splitlines()
    if len(lines) < 2 or lines[0] != "1":
        raise AssertionError("show servers state: %r" % lines[:3])
    names = lines[1][2:].split()
    out = {}
    for ln in lines[2:]:
        if ln.strip():
            f = dict(zip(names, ln.split()))
            out[f["srv_name"]] = f
    return out


def stat_rows(sock):
    """`show stat` as {(pxname, svname): {column: value}}."""
    lines = [ln for ln in cli(sock, "show stat").splitlines() if ln.strip()]
    cols = lines[0][2:].split(",")
    return {(f[0], f[1]): dict(zip(cols, f)) for f in (ln.split(",") for ln in lines[1:])}


def names(port, n, path="/name"):
    """Who answered n sequential requests (server names, or the status when not 200)."""
    got = []
    for _ in range(n):
        r = request(port, "GET", path, timeout=5)
        got.append(r.body.decode().strip() if r.status == 200 else str(r.status))
    return got


def make_config(fe_port, sock, be_lines, servers, level="admin", defaults="", nbthread=2):
    lines = ["global", "    nbthread %d" % nbthread, "    stats socket %s level %s" % (sock, level),
             "defaults", "    mode http", "    timeout client 5s", "    timeout server 5s",
             "    timeout connect 1s"]
    lines += ["    " + ln for ln in defaults.splitlines() if ln.strip()]
    lines += ["frontend fe", "    bind %s:%d" % (HOST, fe_port), "    default_backend be",
              "backend be"]
    lines += ["    " + ln for ln in be_lines.splitlines() if ln.strip()]
    lines += ["    server %s" % s for s in servers]
    return "\n".join(lines) + "\n"


def wait_log(sp, pattern, timeout):
    rx = re.compile(pattern)
    return wait_until(lambda: rx.search(sp.log(limit=1 << 20)), timeout)


def tcp_checks(t):
    b1 = t.backend("b1")
    dead = quiet_port()
    port, sock = free_port(), os.path.join(t.dir, "tcp.sock")
    chk = "check inter %dms fall 2 rise 2" % INTER_MS
    sp = t.spillway(make_config(port, sock, "", ["s1 %s:%d %s" % (HOST, b1.port, chk),
                                                  "s2 %s:%d %s" % (HOST, dead, chk)]), port)
    t0 = time.monotonic()
    down = wait_log(sp, r"Server be/s2 is DOWN, reason: Layer4 connection problem, info: "
                        r"\"Connection refused\", check duration: \d+ms\. 1 active and 0 backup "
                        r"servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.",
                    3)
    t.check("TCP check: a refused server is logged DOWN as HAProxy words it", down, sp.log())
    st = servers_state(sock)
    t.check("show servers state: s2 op 0, check L4CON (8), failed (2), health 0; s1 op 2, "
            "L4OK (6)",
            (st["s2"]["srv_op_state"], st["s2"]["srv_check_status"],
             st["s2"]["srv_check_result"], st["s2"]["srv_check_health"],
             st["s1"]["srv_op_state"], st["s1"]["srv_check_status"]) ==
            ("0", "8", "2", "0", "2", "6"), st)
    got = names(port, 10)
    t.check("a DOWN server gets no request: 10/10 to s1", got == ["b1"] * 10, got)
    b2 = start_backend(t, "b2", dead)
    t_up = time.monotonic()
    up = wait_log(sp, r"Server be/s2 is UP, reason: Layer4 check passed, check duration: \d+ms\. "
                      r"2 active and 0 backup servers online\. 0 sessions requeued, 0 total in "
                      r"queue\.", 2 * INTER_MS / 1000 + 2)
    took = time.monotonic() - t_up
    t.check("restarted: UP within rise x inter + 1 s (%.2f s)" % took,
            up and took <= 2 * INTER_MS / 1000 + 1, sp.log())
    got = names(port, 10)
    t.check("UP again: traffic to both (%s)" % sorted(set(got)), set(got) == {"b1", "b2"}, got)
    t.check("no startup 'is UP' line for a server that was UP from the start",
            "Server be/s1 is UP" not in sp.log(limit=1 << 20), sp.log())
    b2.stop()
    t0 = time.monotonic()
    down = wait_log(sp, r"Server be/s2 is DOWN", 2 * INTER_MS / 1000 + 2)
    took = time.monotonic() - t0
    t.check("killed again: DOWN within fall x inter + 1 s (%.2f s)" % took,
            down and took <= 2 * INTER_MS / 1000 + 1, sp.log())


def http_checks(t):
    b1, b2 = t.backend("b1"), t.backend("b2")
    port, sock = free_port(), os.path.join(t.dir, "http.sock")
    chk = "check inter %dms fall 1 rise 1" % INTER_MS
    sp = t.spillway(make_config(port, sock, "option httpchk GET /name\nhttp-check expect string b1",
                                ["s1 %s:%d %s" % (HOST, b1.port, chk),
                                 "s2 %s:%d %s" % (HOST, b2.port, chk)]), port)
    down = wait_log(sp, r"Server be/s2 is DOWN, reason: Layer7 invalid response, info: \"HTTP "
                        r"content check did not match\", check duration: \d+ms\.", 3)
    t.check("http-check expect string: the server whose body lacks it is DOWN (L7RSP)", down,
            sp.log())
    st = servers_state(sock)
    t.check("show servers state: s1 L7OK (15) passed, s2 L7RSP (13)",
            (st["s1"]["srv_check_status"], st["s1"]["srv_check_result"],
             st["s2"]["srv_check_status"]) == ("15", "3", "13"), st)
    got = names(port, 6)
    t.check("only s1 takes requests", got == ["b1"] * 6, got)
    t.check("the checks go on every inter: both servers get more check requests",
            wait_until(lambda: b1.counters()["requests"] >= 12 and b2.counters()["requests"] >= 5,
                       3), (b1.counters(), b2.counters()))

    # every server answers 404 to the check: all DOWN with HAProxy's L7STS line, 503 for all
    port2, sock2 = free_port(), os.path.join(t.dir, "http2.sock")
    sp2 = t.spillway(make_config(port2, sock2, "option httpchk GET /status/404",
                                 ["s1 %s:%d %s" % (HOST, b1.port, chk),
                                  "s2 %s:%d %s" % (HOST, b2.port, chk)]), port2)
    ok = wait_log(sp2, r"Server be/s2 is DOWN, reason: Layer7 wrong status, code: 404, info: "
                       r"\"Not Found\", check duration: \d+ms\. 0 active and 0 backup servers "
                       r"left\.", 3)
    t.check("option httpchk GET /status/404: DOWN with 'Layer7 wrong status, code: 404'", ok,
            sp2.log())
    t.check("the last server down: \"backend 'be' has no server available!\"",
            "backend 'be' has no server available!" in sp2.log(limit=1 << 20), sp2.log())
    r = request(port2, "GET", "/name", timeout=5)
    t.check("no server usable: 503", r.status == 503, r.status)
    rows = stat_rows(sock2)
    t.check("show stat: the BACKEND row is DOWN, chkdown 1 (it lost its last server once)",
            (rows[("be", "BACKEND")]["status"], rows[("be", "BACKEND")]["chkdown"],
             rows[("be", "BACKEND")]["algo"]) == ("DOWN", "1", "roundrobin"),
            rows[("be", "BACKEND")])


def backups(t):
    b1, b2, b3 = t.backend("b1"), t.backend("b2"), t.backend("b3")
    dead = closed_port()
    port, sock = free_port(), os.path.join(t.dir, "bk.sock")
    chk = "check inter %dms fall 1 rise 1" % INTER_MS
    srv = ["a1 %s:%d %s" % (HOST, dead, chk), "k1 %s:%d %s backup" % (HOST, b2.port, chk),
           "k2 %s:%d %s backup" % (HOST, b3.port, chk), "a2 %s:%d %s disabled" % (HOST, b1.port, chk)]
    sp = t.spillway(make_config(port, sock, "", srv), port)
    ok = wait_log(sp, r"Server be/a1 is DOWN, .*0 active and 2 backup servers left\. Running on "
                      r"backup\.", 3)
    t.check("the last active server DOWN: 'Running on backup.'", ok, sp.log())
    got = names(port, 6)
    t.check("no active server: the first backup takes everything", got == ["b2"] * 6, got)
    cli(sock, "set server be/a2 state ready")
    wait_until(lambda: servers_state(sock)["a2"]["srv_op_state"] == "2", 2)
    got = wait_until(lambda: names(port, 4) == ["b1"] * 4, 3)
    t.check("a disabled server made ready (and checked UP) takes over from the backups", got,
            names(port, 4))

    port2, sock2 = free_port(), os.path.join(t.dir, "bk2.sock")
    sp2 = t.spillway(make_config(port2, sock2, "option allbackups", srv[:3]), port2)
    wait_until(lambda: servers_state(sock2)["a1"]["srv_op_state"] == "0", 3)
    got = names(port2, 8)
    t.check("option allbackups: both backups share the load", sorted(set(got)) == ["b2", "b3"],
            got)
    del sp, sp2


def socket_commands(t):
    b1, b2 = t.backend("b1"), t.backend("b2")
    port, sock = free_port(), os.path.join(t.dir, "cmd.sock")
    # one worker: the weight checks below count an exact round-robin cycle
    sp = t.spillway(make_config(port, sock, "", ["s1 %s:%d check inter %dms" % (HOST, b1.port, INTER_MS),
                                                  "s2 %s:%d" % (HOST, b2.port)], nbthread=1), port)
    a = cli(sock, "set server be/s1 state maint")
    got = names(port, 4)
    t.check("set server state maint: answer empty, no traffic to s1",
            a == "\n" and got == ["b2"] * 4, (a, got))
    t.check("maintenance logged as HAProxy does",
            wait_log(sp, r"Server be/s1 is going DOWN for maintenance\. 1 active and 0 backup "
                         r"servers left\.", 2), sp.log())
    st = servers_state(sock)
    t.check("show servers state: s1 admin 1, op 0, check paused (14)",
            (st["s1"]["srv_admin_state"], st["s1"]["srv_op_state"],
             st["s1"]["srv_check_state"]) == ("1", "0", "14"), st)
    cli(sock, "set server be/s1 state ready")
    t.check("ready: logged 'is UP/READY (leaving forced maintenance)'",
            wait_log(sp, r"Server be/s1 is UP/READY \(leaving forced maintenance\)\.", 2), sp.log())
    got = names(port, 4)
    t.check("ready: s1 takes requests again", "b1" in got, got)
    cli(sock, "set server be/s2 state drain")
    got = names(port, 4)
    t.check("drain: no new request to s2", got == ["b1"] * 4, got)
    cli(sock, "set server be/s2 state ready; set server be/s1 weight 0")
    got = names(port, 4)
    t.check("weight 0: no request to s1", got == ["b2"] * 4, got)
    a = cli(sock, "get weight be/s1; set server be/s1 weight 300; set server be/s1 weight 3x; "
                  "set server be/s1 weight 200%")
    t.check("get weight / weight errors in HAProxy's words",
            a == "0 (initial 1)\n\nAbsolute weight can only be between 0 and 256 inclusive.\n\n"
                 "Trailing garbage in weight string\n\n", a)
    got = names(port, 6)
    t.check("weight 200%: s1 weight 2 against 1", got.count("b1") == 4 and got.count("b2") == 2,
            got)
    cli(sock, "disable server be/s2")
    got = names(port, 3)
    enabled = cli(sock, "enable server be/s2")
    t.check("disable/enable server", got == ["b1"] * 3 and enabled == "\n", (got, enabled))
    a = cli(sock, "set server be/s1 health down")
    got = names(port, 3)
    t.check("set server health down: 'changed from CLI', no traffic",
            got == ["b2"] * 3 and wait_log(sp, r"Server be/s1 is DOWN, changed from CLI\.", 2),
            (got, a))
    a = cli(sock, "enable health be/s2; disable health be/s1")
    t.check("enable health on an unchecked server is refused",
            a.startswith("Health check was not configured on this server, cannot enable."), a)
    a = cli(sock, "set server be/nope state ready; set server x/s1 state ready; set server be "
                  "state ready; set server be/s1 state up; set server be/s1 health sideways")
    t.check("errors: No such server, No such backend, Require 'backend/server', bad words",
            a == "No such server.\n\nNo such backend.\n\nRequire 'backend/server'.\n\n"
                 "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"
                 "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n", a)
    cli(sock, "set server be/s1 health up")
    a = cli(sock, "set server be/s1 addr 127.0.0.1 port %d" % b2.port)
    got = names(port, 4)
    t.check("set server addr: answer in HAProxy's words, new connections go there",
            a == "no need to change the addr, port changed from '%d' to '%d' by 'stats socket "
                 "command'\n\n" % (b1.port, b2.port) and got == ["b2"] * 4, (a, got))
    t.check("show backend", cli(sock, "show backend") == "# name\nbe\n\n",
            cli(sock, "show backend"))

    port3, sock3 = free_port(), os.path.join(t.dir, "srr.sock")
    t.spillway(make_config(port3, sock3, "balance static-rr", ["s1 %s:%d" % (HOST, b1.port),
                                                               "s2 %s:%d" % (HOST, b2.port)]),
               port3)
    a = cli(sock3, "set server be/s1 weight 5; set server be/s1 weight 0; get weight be/s1; "
                   "set server be/s1 weight 100%; get weight be/s1")
    t.check("static-rr: only weights 0% and 100%, as HAProxy",
            a == "Backend is using a static LB algorithm and only accepts weights '0%' and "
                 "'100%'.\n\n\n0 (initial 1)\n\n\n1 (initial 1)\n\n", a)

    port2, sock2 = free_port(), os.path.join(t.dir, "op.sock")
    t.spillway(make_config(port2, sock2, "", ["s1 %s:%d" % (HOST, b1.port)], level="operator"),
               port2)
    a = cli(sock2, "set server be/s1 state maint; disable server be/s1; get weight be/s1")
    t.check("level operator: changes are refused, reading is not",
            a == "Permission denied\n\nPermission denied\n\n1 (initial 1)\n\n", a)


def retry_on(t):
    b1, b2 = t.backend("b1"), t.backend("b2")
    port, sock = free_port(), os.path.join(t.dir, "ro.sock")
    # /status/503 answers 503 on both: retry-on 503 sends it again (3 retries, redispatched)
    # and the last answer goes out; a 404 is not listed: answered at once
    sp = t.spillway(make_config(port, sock, "retries 3\noption redispatch\nretry-on 503 "
                                            "conn-failure",
                                ["s1 %s:%d" % (HOST, b1.port), "s2 %s:%d" % (HOST, b2.port)]),
                    port)
    def total():
        return b1.counters()["requests"] + b2.counters()["requests"]

    idle = -(total() - total())  # what reading the counters costs by itself
    n = total()
    r = request(port, "GET", "/status/503", timeout=5)
    sent = total() - n - idle
    t.check("retry-on 503: the request went out 4 times (retries 3) and the 503 came back",
            r.status == 503 and sent == 4, (r.status, sent))
    n = total()
    r = request(port, "GET", "/status/404", timeout=5)
    sent = total() - n - idle
    t.check("a status not listed is answered at once", r.status == 404 and sent == 1,
            (r.status, sent))
    # the layer-7 conditions: a server that never answers, one that closes without a byte,
    # one that answers junk: each request goes out 4 times (retries 3), then the error
    port3 = free_port()
    t.spillway(make_config(port3, os.path.join(t.dir, "ro3.sock"),
                           "retries 3\nretry-on response-timeout empty-response junk-response\n"
                           "timeout server 300ms",
                           ["s1 %s:%d" % (HOST, b1.port), "s2 %s:%d" % (HOST, b2.port)]), port3)
    for path, status, what in (("/hang", 504, "response-timeout"),
                               ("/raw?hex=", 502, "empty-response"),
                               ("/raw?hex=6a756e6b0d0a0d0a", 502, "junk-response")):
        n = total()
        r = request(port3, "GET", path, timeout=10)
        sent = total() - n - idle
        t.check("retry-on %s: %s went out 4 times, then %d" % (what, path, status),
                r.status == status and sent == 4, (r.status, sent))
    n = total()
    r = request(port3, "POST", "/raw?hex=", body=b"x" * 10, timeout=10)
    sent = total() - n - idle
    t.check("retry-on empty-response: a request with a body is never replayed (502 at once)",
            r.status == 502 and sent == 1, (r.status, sent))
    # no conn-failure in the list: a refused server is not retried
    dead = closed_port()
    port2 = free_port()
    t.spillway(make_config(port2, os.path.join(t.dir, "ro2.sock"), "retries 3\nretry-on 503",
                           ["s1 %s:%d" % (HOST, dead)]), port2)
    t0 = time.monotonic()
    r = request(port2, "GET", "/name", timeout=10)
    took = time.monotonic() - t0
    t.check("retry-on without conn-failure: a refused connect is answered 503 at once "
            "(%.2f s, no 1 s retry delay)" % took, r.status == 503 and took < 0.8, (r.status, took))


class StatePoller(threading.Thread):
    """Polls `show servers state` every 20 ms and records when `srv` changes operational
    state (monotonic time, new state)."""

    def __init__(self, sock, srv):
        super().__init__(daemon=True)
        self.sock, self.srv, self.changes, self.stop = sock, srv, [], threading.Event()

    def run(self):
        last = None
        for _ in range(100000):
            if self.stop.is_set():
                break
            try:
                op = servers_state(self.sock)[self.srv]["srv_op_state"]
            except Exception:  # noqa: BLE001 - a busy socket: try again
                op = last
            if op != last:
                self.changes.append((time.monotonic(), op))
                last = op
            time.sleep(0.02)


def kill_restart(t):
    """The issue's goal, over h2c then HTTP/1.1."""
    inter, fall, rise = 200, 2, 2
    ports = [quiet_port(), quiet_port()]
    for proto in ("h2c", "h1"):
        be = [start_backend(t, "b%d" % (i + 1), p) for i, p in enumerate(ports)]
        port, sock = free_port(), os.path.join(t.dir, "kr-%s.sock" % proto)
        chk = "check inter %dms fall %d rise %d" % (inter, fall, rise)
        sp = t.spillway(make_config(port, sock, "balance roundrobin",
                                    ["s1 %s:%d %s" % (HOST, ports[0], chk),
                                     "s2 %s:%d %s" % (HOST, ports[1], chk)],
                                    defaults="retries 3\noption redispatch\n"
                                             "retry-on all-retryable-errors"), port)
        wait_until(lambda: servers_state(sock)["s2"]["srv_check_status"] == "6", 3)
        poll = StatePoller(sock, "s2")
        poll.start()
        out_path = os.path.join(t.dir, "kr-%s.out" % proto)
        cmd = ["h2load", "-t1", "-c20", "-m10", "-D", "5", "http://%s:%d/name" % (HOST, port)]
        if proto == "h1":
            cmd.insert(1, "--h1")
        with open(out_path, "wb") as out:
            h2l = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        time.sleep(1.0)
        be[1].proc.kill()  # SIGKILL, by PID: a process this test started
        be[1].proc.wait(timeout=5)
        t_kill = time.monotonic()
        time.sleep(1.5)
        be[1] = start_backend(t, "b2", ports[1])
        t_back = time.monotonic()
        try:
            h2l.wait(timeout=40)
        except subprocess.TimeoutExpired:
            h2l.kill()
            h2l.wait(timeout=5)
        poll.stop.set()
        poll.join(timeout=5)
        with open(out_path, "rb") as f:
            f2 = parse_h2load(f.read().decode(errors="replace"))
        t.check("%s: kill/restart under h2load: 0 failed, 0 5xx (%s)" % (proto, f2["text"]),
                f2["text"] and f2["failed"] == 0 and f2["5xx"] == 0 and f2["succeeded"] > 0,
                f2["text"])
        down = next((ts for ts, op in poll.changes if op == "0" and ts >= t_kill), None)
        up = next((ts for ts, op in poll.changes if op == "2" and down and ts >= t_back), None)
        t.check("%s: DOWN %.2f s after the kill (limit %.1f s)"
                % (proto, (down or 0) - t_kill, fall * inter / 1000 + 1),
                down is not None and down - t_kill <= fall * inter / 1000 + 1, poll.changes)
        t.check("%s: UP %.2f s after the restart (limit %.1f s)"
                % (proto, (up or 0) - t_back, rise * inter / 1000 + 1),
                up is not None and up - t_back <= rise * inter / 1000 + 1, poll.changes)
        got = names(port, 6)
        t.check("%s: after the restart both servers take requests" % proto,
                set(got) == {"b1", "b2"}, got)
        sp.stop()
        for b in be:
            b.stop()


def main(t):
    tcp_checks(t)
    http_checks(t)
    backups(t)
    socket_commands(t)
    retry_on(t)
    kill_restart(t)


if __name__ == "__main__":
    Suite("health").run(main)
