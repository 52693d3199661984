#!/usr/bin/env python3
"""Health checks as the statistics show them: `show stat`, `show stat typed`, `/metrics` and the
stats page report each server's live state exactly as HAProxy 2.6 does (src/stats.c
stats_fill_sv_stats / stats_fill_be_stats, addons/promex; /tmp/spec-12.md 1.4, 2, 3).

One sp-testbackend (A) serves every live server; servers use `check inter 100ms fall 2 rise 2`
(health 0..3, UP from 2):
  be/up     A, TCP check                      -> UP, L4OK
  be/dead   a closed port, TCP check           -> DOWN, L4CON "Connection refused", chkfail 1
  be/off    A, `disabled`                      -> MAINT, check paused: check columns empty
  be/bk     A, `backup weight 5`               -> UP, act 0 bck 1, weight 5
  be/nochk  A, no check, `weight 3`            -> "no check", every check column empty
  b404/h404 A, `option httpchk GET /status/404` -> DOWN, L7STS 404 "Not Found"
  bok/h200  A, `option httpchk GET /name`       -> UP, L7OK 200
  bflip/flip  a second sp-testbackend (B), then B stopped and started again on its port
  bflip/fbk   A, `backup weight 4`: the first usable backup, alone carries bflip while flip
              is DOWN (no `option allbackups`): bflip's weight is then 4, not 4 + 2
  bflip/fbk2  A, `backup weight 2`
Every wait is a bounded poll; everything runs on 127.0.0.1.
"""

import csv
import io
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, Backend, Suite, closed_port, curl, free_port, wait_until  # noqa: E402

CHK = "check inter 100ms fall 2 rise 2"
CHECK_COLS = ("check_status", "check_code", "check_duration", "last_chk", "check_desc",
              "check_rise", "check_fall", "check_health")
# haproxy_server_check_status: every status a finished check can have, in HAProxy's order
CHECK_STATES = ("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP",
                "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK")
SETTLE_S = 10.0


def cfg_text(port, sock, a_port, b_port, dead_port):
    srv = lambda name, p, extra="": "    server %s %s:%d %s" % (name, HOST, p, extra)  # noqa
    lines = [
        "global",
        "    nbthread 2",
        "    stats socket %s mode 600" % sock,
        "defaults",
        "    mode http",
        "    timeout client 10s",
        "    timeout server 5s",
        "    timeout connect 1s",
        "frontend fe",
        "    bind %s:%d" % (HOST, port),
        "    stats enable",
        "    stats uri /stats",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    default_backend be",
        "backend be",
        srv("up", a_port, CHK),
        srv("dead", dead_port, CHK),
        srv("off", a_port, CHK + " disabled"),
        srv("bk", a_port, CHK + " backup weight 5"),
        srv("nochk", a_port, "weight 3"),
        "backend b404",
        "    option httpchk GET /status/404",
        srv("h404", a_port, CHK),
        "backend bok",
        "    option httpchk GET /name",
        srv("h200", a_port, CHK),
        "backend bflip",
        srv("flip", b_port, CHK),
        srv("fbk", a_port, CHK + " backup weight 4"),
        srv("fbk2", a_port, CHK + " backup weight 2"),
    ]
    return "\n".join(lines) + "\n"


class Cli:
    """One command per connection on the stats socket."""

    def __init__(self, path):
        self.path = path

    def __call__(self, cmd, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            s.connect(self.path)
            s.sendall((cmd + "\n").encode())
            chunks = []
            for _ in range(100000):
                if time.monotonic() > deadline:
                    raise AssertionError("%r: no end of output in %.0fs" % (cmd, timeout))
                d = s.recv(65536)
                if not d:
                    break
                chunks.append(d)
            return b"".join(chunks).decode(errors="replace")
        finally:
            s.close()


def parse_csv(text):
    """`show stat` text -> {(pxname, svname): {column: value}}."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("# "), "no '# ' header line: %r" % text[:200]
    cols = lines[0][2:].split(",")[:-1]
    rows = {}
    for rec in csv.reader(io.StringIO("\n".join(lines[1:]) + "\n")):
        if not rec:
            continue
        rec = rec[:-1] if len(rec) == len(cols) + 1 and rec[-1] == "" else rec
        assert len(rec) == len(cols), "row with %d fields, header has %d" % (len(rec), len(cols))
        row = dict(zip(cols, rec))
        rows[(row["pxname"], row["svname"])] = row
    return rows


def expect_row(row, want, what):
    """want: {column: str (exact) | int (exact number) | callable(str) -> bool}."""
    bad = []
    for col, exp in want.items():
        got = row.get(col)
        if callable(exp):
            ok = got is not None and exp(got)
        elif isinstance(exp, int):
            ok = got is not None and re.fullmatch(r"-?\d+", got) and int(got) == exp
        else:
            ok = got == exp
        if not ok:
            want = (exp.__doc__ or "a match") if callable(exp) else repr(exp)
            bad.append("%s=%r (want %s)" % (col, got, want))
    assert not bad, "%s: %s" % (what, ", ".join(bad))


def number(v):
    """a number >= 0"""
    return re.fullmatch(r"\d+", v) is not None


def recent(v):
    """at most 2 (seconds: a change this test just caused)"""
    return re.fullmatch(r"\d+", v) is not None and int(v) <= 2


def no_check_cols():
    return {c: "" for c in CHECK_COLS}


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_prom(text):
    """-> [(name, {labels}, value)] in order, and {name: type}."""
    out, types = [], {}
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(None, 3)
            types[name] = typ
            continue
        if not ln.strip() or ln.startswith("#"):
            continue
        m = PROM_LINE.match(ln)
        assert m, "unparsable sample line %r" % ln
        labels = dict(PROM_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out, types


def series(samples, name, **labels):
    """Every sample of `name` whose labels include `labels`, in order."""
    return [(lb, v) for n, lb, v in samples
            if n == name and all(lb.get(k) == x for k, x in labels.items())]


def http_get(port, path):
    rc, out, err = curl(["-D", "-", "-o", "-", "http://%s:%d%s" % (HOST, port, path)],
                        timeout=10)
    assert rc == 0, "curl %s rc=%d %s" % (path, rc, err.strip())
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body.decode(errors="replace")


def main(t):
    a = t.backend("A")
    b = t.backend("B")
    dead_port = closed_port()
    port = free_port()
    sock = os.path.join(t.dir, "stats.sock")
    t.spillway(cfg_text(port, sock, a.port, b.port, dead_port), port)
    cli = Cli(sock)
    assert wait_until(lambda: os.path.exists(sock), 5), "no stats socket after 5s"
    snap = {}

    def show_stat():
        return parse_csv(cli("show stat"))

    def settled(rows):
        """Every checked server in its final state and no check in flight."""
        try:
            final = {("be", "up"): ("UP", "L4OK"), ("be", "dead"): ("DOWN", "L4CON"),
                     ("be", "bk"): ("UP", "L4OK"), ("b404", "h404"): ("DOWN", "L7STS"),
                     ("bok", "h200"): ("UP", "L7OK"), ("bflip", "flip"): ("UP", "L4OK"),
                     ("bflip", "fbk"): ("UP", "L4OK"), ("bflip", "fbk2"): ("UP", "L4OK")}
            return all((rows[k]["status"], rows[k]["check_status"]) == v
                       for k, v in final.items())
        except KeyError:
            return False

    def settle():
        """Poll show stat (bounded) until settled; keep that snapshot."""
        last = {}

        def ok():
            try:
                last["rows"] = show_stat()
            except OSError:  # the socket file exists a moment before spillway listens on it
                return False
            return settled(last["rows"])
        done = wait_until(ok, SETTLE_S, interval=0.05)
        rows = last.get("rows", {})
        assert done, "not settled after %.0fs: %s" % (SETTLE_S, {
            "%s/%s" % k: (r["status"], r["check_status"]) for k, r in rows.items()})
        snap["rows"] = rows

    t.case("the checks settle: up/bk/h200/flip/fbk UP, dead/h404 DOWN, within %.0fs"
           % SETTLE_S, settle)

    def rows():
        assert "rows" in snap, "checks did not settle: nothing to compare"
        return snap["rows"]

    # 1. show stat: servers ----------------------------------------------------------------
    def stat_up():
        w = {"status": "UP", "weight": 1, "uweight": 1, "act": 1, "bck": 0, "chkfail": 0,
             "chkdown": 0, "downtime": 0, "lastchg": number, "check_status": "L4OK",
             "check_code": "", "check_duration": number, "last_chk": "",
             "check_desc": "Layer4 check passed", "check_rise": 2, "check_fall": 2,
             "check_health": 3, "addr": "%s:%d" % (HOST, a.port), "type": 2}
        expect_row(rows()[("be", "up")], w, "be/up")

    def stat_dead():
        w = {"status": "DOWN", "weight": 1, "act": 1, "bck": 0, "chkfail": 1, "chkdown": 1,
             "downtime": number, "check_status": "L4CON", "check_code": "",
             "check_duration": number, "last_chk": "Connection refused",
             "check_desc": "Layer4 connection problem", "check_rise": 2, "check_fall": 2,
             "check_health": 0}
        expect_row(rows()[("be", "dead")], w, "be/dead")

    def stat_off():
        w = {"status": "MAINT", "weight": 1, "act": 1, "bck": 0, "chkfail": 0, "chkdown": 0,
             "downtime": number}
        w.update(no_check_cols())  # paused by maintenance
        expect_row(rows()[("be", "off")], w, "be/off")

    def stat_bk():
        w = {"status": "UP", "weight": 5, "uweight": 5, "act": 0, "bck": 1, "chkfail": 0,
             "chkdown": 0, "check_status": "L4OK", "check_health": 3}
        expect_row(rows()[("be", "bk")], w, "be/bk")

    def stat_nochk():
        w = {"status": "no check", "weight": 3, "act": 1, "bck": 0, "chkfail": "",
             "chkdown": "", "downtime": "", "lastchg": number}
        w.update(no_check_cols())
        expect_row(rows()[("be", "nochk")], w, "be/nochk")

    def stat_l7():
        expect_row(rows()[("b404", "h404")],
                   {"status": "DOWN", "check_status": "L7STS", "check_code": 404,
                    "check_duration": number, "last_chk": "Not Found",
                    "check_desc": "Layer7 wrong status", "chkfail": 1, "chkdown": 1,
                    "check_health": 0}, "b404/h404")
        expect_row(rows()[("bok", "h200")],
                   {"status": "UP", "check_status": "L7OK", "check_code": 200,
                    "check_duration": number, "last_chk": "",
                    "check_desc": "Layer7 check passed", "chkfail": 0, "chkdown": 0,
                    "check_health": 3}, "bok/h200")

    t.case("show stat be/up: UP, L4OK, weight 1, act 1 bck 0, chkfail/chkdown/downtime 0, "
           "rise 2 fall 2 health 3", stat_up)
    t.case("show stat be/dead: DOWN, L4CON 'Connection refused', no code, chkfail 1, "
           "chkdown 1", stat_dead)
    t.case("show stat be/off (disabled): MAINT, check columns empty, chkfail/chkdown 0",
           stat_off)
    t.case("show stat be/bk (backup weight 5): UP, act 0 bck 1, weight 5", stat_bk)
    t.case("show stat be/nochk: 'no check', weight 3, no check columns", stat_nochk)
    t.case("show stat L7: h404 DOWN L7STS 404 'Not Found'; h200 UP L7OK 200", stat_l7)

    # 2. show stat: backends ---------------------------------------------------------------
    def stat_backends():
        r = rows()
        # be: up (1) and nochk (3) usable, the backup not in use: weight 4
        expect_row(r[("be", "BACKEND")], {"status": "UP", "act": 2, "bck": 1, "weight": 4,
                                          "uweight": 4, "lastchg": number, "chkdown": 0,
                                          "downtime": 0, "check_status": ""}, "be BACKEND")
        # b404 lost its only server once: HAProxy's backend chkdown and downtime
        expect_row(r[("b404", "BACKEND")], {"status": "DOWN", "act": 0, "bck": 0, "weight": 0,
                                            "chkdown": 1, "downtime": number}, "b404 BACKEND")
        expect_row(r[("bok", "BACKEND")], {"status": "UP", "act": 1, "bck": 0, "weight": 1},
                   "bok BACKEND")
        expect_row(r[("bflip", "BACKEND")], {"status": "UP", "act": 1, "bck": 2, "weight": 1},
                   "bflip BACKEND")

    t.case("show stat BACKEND: be UP act 2 bck 1 weight 4 chkdown 0, b404 DOWN act 0 weight 0 "
           "chkdown 1, bok UP",
           stat_backends)

    # 3. show stat typed -------------------------------------------------------------------
    def typed():
        r = rows()
        iid, sid = r[("be", "dead")]["iid"], r[("be", "dead")]["sid"]
        pre = "S.%s.%s." % (iid, sid)
        got = {}

        def idle():
            """A dump taken while be/dead has no check in flight ("* L4CON", last_chk "")."""
            got["lines"] = set(cli("show stat typed").splitlines())
            return pre + "36.check_status.1:MOP:str:* L4CON" not in got["lines"]
        wait_until(idle, 5, interval=0.02)
        lines = got["lines"]
        want = [pre + "17.status.1:SGP:str:DOWN",
                pre + "19.act.1:SGP:u32:1",
                pre + "21.chkfail.1:MCP:u64:1",
                pre + "22.chkdown.1:MCP:u64:1",
                pre + "36.check_status.1:MOP:str:L4CON",
                pre + "56.last_chk.1:MOP:str:Connection refused",
                pre + "65.check_desc.1:MOP:str:Layer4 connection problem",
                pre + "67.check_rise.1:CGS:u32:2",
                pre + "69.check_health.1:CGS:u32:0"]
        missing = [w for w in want if w not in lines]
        assert not missing, "missing typed lines %r" % missing
        off = "S.%s.%s." % (r[("be", "off")]["iid"], r[("be", "off")]["sid"])
        assert not [ln for ln in lines if ln.startswith(off) and ".check_" in ln], \
            "be/off (MAINT) has check_* typed lines"
        bk = "B.%s.0." % r[("be", "BACKEND")]["iid"]
        assert bk + "19.act.1:MGP:u32:2" in lines, "no be BACKEND act line"

    t.case("show stat typed: be/dead check lines with HAProxy's tags; none for be/off", typed)

    # 4. Prometheus ------------------------------------------------------------------------
    prom = {}

    def metrics():
        rows()
        st, body = http_get(port, "/metrics")
        assert st == 200, "/metrics status %d" % st
        samples, types = parse_prom(body)
        prom["s"] = samples
        bad = []

        def one(name, want, **labels):
            got = series(samples, name, **labels)
            if len(got) != 1 or got[0][1] != want:
                bad.append("%s%r = %r, want %r" % (name, labels, [v for _, v in got], want))

        def none(name, **labels):
            got = series(samples, name, **labels)
            if got:
                bad.append("%s%r has %d samples, want none" % (name, labels, len(got)))

        # server state, one-hot in HAProxy's order
        for srv, state in (("up", "UP"), ("dead", "DOWN"), ("off", "MAINT"), ("bk", "UP"),
                           ("nochk", "UP")):
            got = series(samples, "haproxy_server_status", proxy="be", server=srv)
            order = [lb["state"] for lb, _ in got]
            if order != ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"]:
                bad.append("haproxy_server_status be/%s states %r" % (srv, order))
            hot = [lb["state"] for lb, v in got if v == 1]
            if hot != [state] or sum(v for _, v in got) != 1:
                bad.append("haproxy_server_status be/%s one-hot %r, want %s" % (srv, hot, state))
        # last check status, one-hot over every finished status; only while checks run
        for px, srv, state in (("be", "up", "L4OK"), ("be", "dead", "L4CON"),
                               ("b404", "h404", "L7STS"), ("bok", "h200", "L7OK")):
            got = series(samples, "haproxy_server_check_status", proxy=px, server=srv)
            if tuple(lb["state"] for lb, _ in got) != CHECK_STATES:
                bad.append("haproxy_server_check_status %s/%s states %r" % (
                    px, srv, [lb["state"] for lb, _ in got]))
            hot = [lb["state"] for lb, v in got if v == 1]
            if hot != [state]:
                bad.append("haproxy_server_check_status %s/%s = %r, want %s" % (
                    px, srv, hot, state))
        for srv in ("off", "nochk"):
            none("haproxy_server_check_status", proxy="be", server=srv)
            none("haproxy_server_check_code", proxy="be", server=srv)
            none("haproxy_server_check_duration_seconds", proxy="be", server=srv)
        none("haproxy_server_check_failures_total", proxy="be", server="nochk")
        none("haproxy_server_downtime_seconds_total", proxy="be", server="nochk")
        one("haproxy_server_check_code", 404, proxy="b404", server="h404")
        one("haproxy_server_check_code", 200, proxy="bok", server="h200")
        one("haproxy_server_check_code", 0, proxy="be", server="up")  # L4: no code
        for px, srv in (("be", "up"), ("be", "dead"), ("b404", "h404")):
            got = series(samples, "haproxy_server_check_duration_seconds", proxy=px, server=srv)
            if len(got) != 1 or not 0 <= got[0][1] < 5:
                bad.append("haproxy_server_check_duration_seconds %s/%s = %r" % (px, srv, got))
        one("haproxy_server_check_failures_total", 1, proxy="be", server="dead")
        one("haproxy_server_check_failures_total", 0, proxy="be", server="up")
        one("haproxy_server_check_failures_total", 0, proxy="be", server="off")  # paused
        one("haproxy_server_check_up_down_total", 1, proxy="be", server="dead")
        one("haproxy_server_check_up_down_total", 1, proxy="b404", server="h404")
        one("haproxy_server_downtime_seconds_total", 0, proxy="be", server="up")
        if len(series(samples, "haproxy_server_downtime_seconds_total", proxy="be",
                      server="dead")) != 1:
            bad.append("no haproxy_server_downtime_seconds_total be/dead")
        one("haproxy_server_weight", 5, proxy="be", server="bk")
        one("haproxy_server_weight", 3, proxy="be", server="nochk")
        one("haproxy_server_uweight", 5, proxy="be", server="bk")
        one("haproxy_backend_weight", 4, proxy="be")
        one("haproxy_backend_active_servers", 2, proxy="be")
        one("haproxy_backend_backup_servers", 1, proxy="be")
        one("haproxy_backend_status", 1, proxy="b404", state="DOWN")
        one("haproxy_backend_status", 0, proxy="b404", state="UP")
        one("haproxy_backend_status", 1, proxy="be", state="UP")
        one("haproxy_backend_active_servers", 0, proxy="b404")
        none("haproxy_server_active_servers")
        for fam, typ in (("haproxy_server_check_failures_total", "counter"),
                         ("haproxy_server_check_up_down_total", "counter"),
                         ("haproxy_server_downtime_seconds_total", "counter"),
                         ("haproxy_server_check_status", "gauge"),
                         ("haproxy_server_check_code", "gauge"),
                         ("haproxy_server_check_duration_seconds", "gauge"),
                         ("haproxy_server_status", "gauge")):
            if types.get(fam) != typ:
                bad.append("# TYPE %s %r, want %s" % (fam, types.get(fam), typ))
        assert not bad, "; ".join(bad)

    t.case("/metrics: server status and check_status one-hot in HAProxy's order, check_code, "
           "check_duration_seconds, check_failures_total, check_up_down_total, downtime, "
           "weights, backend active/backup/status", metrics)

    # 5. the stats page --------------------------------------------------------------------
    def page():
        rows()
        st, body = http_get(port, "/stats")
        assert st == 200, "/stats status %d" % st
        bad = []
        for name, cls, cell in (("up", "active_up", "<td>UP</td>"),
                                ("dead", "active_down", "<td>DOWN</td>"),
                                ("off", "maintain", "<td>MAINT</td>"),
                                ("bk", "backup_up", "<td>UP</td>"),
                                ("nochk", "active_no_check", "<td><i>no check</i></td>"),
                                ("h404", "active_down", "L7STS/404 in ")):
            m = re.search(r'<tr class="([a-z_]+)"><td class="n">%s</td>(.*)' % name, body)
            if not m or m.group(1) != cls or cell not in m.group(2):
                bad.append("%s: %s" % (name, m.group(0)[:300] if m else "no line"))
        assert not bad, "; ".join(bad)

    t.case("stats page: server lines coloured active_up/active_down/maintain/backup_up/"
           "active_no_check, last check L7STS/404", page)

    # 6. a transition: B stops (flip DOWN, the backup carries bflip), then comes back -------
    def flip_down():
        rows()
        before = snap["rows"][("bflip", "flip")]
        b.stop()
        last = {}

        def down():
            last["r"] = show_stat()
            f = last["r"][("bflip", "flip")]
            return f["status"] == "DOWN" and not f["check_status"].startswith("* ")
        assert wait_until(down, 5, interval=0.05), "bflip/flip still %r after 5s" % (
            last["r"][("bflip", "flip")]["status"])
        r = last["r"]
        expect_row(r[("bflip", "flip")],
                   {"status": "DOWN", "chkfail": 2, "chkdown": 1, "check_status": "L4CON",
                    "last_chk": "Connection refused", "check_health": 0,
                    "lastchg": recent,
                    "downtime": number}, "bflip/flip after B stopped")
        assert int(before["chkdown"]) == 0, "flip chkdown %s before" % before["chkdown"]
        # the first usable backup takes the load: its weight is the backend's
        expect_row(r[("bflip", "BACKEND")], {"status": "UP", "act": 0, "bck": 2, "weight": 4},
                   "bflip BACKEND")
        st, body = http_get(port, "/metrics")
        samples, _ = parse_prom(body)
        got = series(samples, "haproxy_server_status", proxy="bflip", server="flip",
                     state="DOWN")
        assert got and got[0][1] == 1, "haproxy_server_status bflip/flip DOWN = %r" % got
        got = series(samples, "haproxy_backend_backup_servers", proxy="bflip")
        assert got and got[0][1] == 2, "haproxy_backend_backup_servers bflip = %r" % got
        got = series(samples, "haproxy_backend_weight", proxy="bflip")
        assert got and got[0][1] == 4, "haproxy_backend_weight bflip = %r" % got

    t.case("B stopped: flip DOWN, chkfail 2 (UP -> UP 1/2 -> DOWN), chkdown 1, lastchg reset, "
           "bflip carried by its first backup alone (act 0 bck 2 weight 4)", flip_down)

    def flip_up():
        rows()
        b2 = Backend(t.dir, "B2", port=b.port)
        t.backends.append(b2)
        last = {}

        def up():
            last["r"] = show_stat()
            return last["r"][("bflip", "flip")]["status"] == "UP"
        assert wait_until(up, 5, interval=0.05), "bflip/flip still %r after 5s" % (
            last["r"][("bflip", "flip")]["status"])
        expect_row(last["r"][("bflip", "flip")],
                   {"chkdown": 1, "chkfail": 2, "check_health": 3, "last_chk": "",
                    "lastchg": recent},
                   "bflip/flip back UP")
        expect_row(last["r"][("bflip", "BACKEND")], {"status": "UP", "act": 1, "bck": 2,
                                                     "weight": 1}, "bflip BACKEND")

    t.case("B back: flip UP again (chkdown stays 1), bflip back on its active server", flip_up)


if __name__ == "__main__":
    Suite("health_stats").run(main)
