#!/usr/bin/env python3
"""Observability: after a known mix of requests (2xx/4xx/5xx, both backends, HTTP/1.1 and
HTTP/2), `show stat`, the `/stats;csv` page and `/metrics` all report exactly those numbers;
`show stat typed`, `show info`, `show servers state`, `help` and `show decisions` on the stats
socket; the stats page with and without `stats auth`; `promtool check metrics` on the exporter's
output and the latency histograms (cumulative, +Inf == _count == backend responses); access log
lines in the default httplog format parsed field by field, the CLF variant, a custom
`log-format`, and `option dontlognull`.

The scenario is the seed's: frontend `webserver` (maxconn 12) sends requests to `pbcoffee` when
fe_conn(webserver) > 10, else to `ade`. Between requests the test waits until spillway has seen
the previous client connection close (FRONTEND scur back to its baseline), so every request sees
a known fe_conn: 1 in phase 1, 11 in phase 2 (10 idle connections + its own).

Requests answered by spillway itself (stats page, CSV, 401s, /metrics) follow HAProxy: they are
frontend requests (req_tot counts a request when it is parsed, so a stats page counts itself in
req_tot; hrsp_* counts a response when the stream ends, so a page never counts its own status),
they are "intercepted" before the switching rules, so no backend is assigned: no backend or
server counter moves, no routing decision is recorded, and the log line says
`webserver/<STATS>` (`webserver/<PROMEX>` for the exporter) with termination state `LR--`
(`PR--` for the 401 from `stats auth`). (HAProxy: stream.c counts fe rsp[] for every stream and
be rsp[] only with SF_BE_ASSIGNED; http_ana.c skips the switching rules for applets.)
"""

import csv
import datetime
import io
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, Suite, can_connect, curl, free_port, wait_until  # noqa: E402

USER, PASSWORD = "user", "pass"
N_IDLE = 10  # idle client connections held open in phase 2: fe_conn of a new one is 11

# Phase 1 (fe_conn 1 -> ade), then phase 2 (10 idle open, fe_conn 11 -> pbcoffee).
# (protocol, path, status, count)
PHASE1 = [("h1", "/name", 200, 7), ("h1", "/status/404", 404, 3), ("h1", "/status/503", 503, 2),
          ("h2", "/name", 200, 5)]
PHASE2 = [("h1", "/name", 200, 1), ("h1", "/status/404", 404, 1), ("h1", "/status/503", 503, 1),
          ("h2", "/name", 200, 1)]


def klass(status):
    return "%dxx" % (status // 100) if 100 <= status < 600 else "other"


def expected_counts(phase):
    """{"req", "h1", "h2", "2xx", "4xx", "5xx", ...} for a phase list."""
    out = {"req": 0, "h1": 0, "h2": 0}
    for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"):
        out[c] = 0
    for proto, _path, status, n in phase:
        out["req"] += n
        out[proto] += n
        out[klass(status)] += n
    return out


ADE = expected_counts(PHASE1)
PBC = expected_counts(PHASE2)
PROXIED = ADE["req"] + PBC["req"]  # 21
CONNS_PROXIED = PROXIED + N_IDLE  # every curl is its own connection: 31


def cfg_main(port, sock, ade_port, pbc_port):
    """The seed scenario with every observability interface. Returns (text, line number of the
    use_backend rule)."""
    lines = [
        "global",
        "    nbthread 2",
        "    stats socket %s mode 600" % sock,
        "    decision-log 200",
        "    log stdout format raw local0",
        "defaults",
        "    mode http",
        "    timeout client 60s",
        "    timeout server 5s",
        "    timeout connect 2s",
        "frontend webserver",
        "    bind %s:%d" % (HOST, port),
        "    maxconn 12",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    stats enable",
        "    stats uri /stats",
        "    stats refresh 5s",
        "    stats auth %s:%s" % (USER, PASSWORD),
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    acl too_many_connections fe_conn(webserver) gt 10",
        "    use_backend pbcoffee if too_many_connections",
        "    default_backend ade",
        "backend ade",
        "    server s1 %s:%d" % (HOST, ade_port),
        "backend pbcoffee",
        "    server p1 %s:%d" % (HOST, pbc_port),
    ]
    use_line = 1 + next(i for i, ln in enumerate(lines) if ln.strip().startswith("use_backend"))
    return "\n".join(lines) + "\n", use_line


def cfg_small(port, fe, ade_port, fe_lines):
    """One frontend with dontlognull (lib's readiness probe sends nothing) to one backend."""
    lines = ["global", "    nbthread 2", "    log stdout format raw local0",
             "defaults", "    mode http", "    timeout client 10s", "    timeout server 5s",
             "    timeout connect 2s",
             "frontend %s" % fe, "    bind %s:%d" % (HOST, port), "    log global",
             "    option dontlognull"]
    lines += ["    " + ln for ln in fe_lines]
    lines += ["    default_backend ade", "backend ade", "    server s1 %s:%d" % (HOST, ade_port)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The stats socket


class Cli:
    """One command per connection on the stats socket; counts the commands sent."""

    def __init__(self, path):
        self.path = path
        self.sent = 0

    def __call__(self, cmd, timeout=5.0):
        self.sent += 1
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
    """`show stat` / `;csv` text -> (column names, {(pxname, svname): {column: value}})."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("# "), "no '# ' header line: %r" % text[:200]
    cols = lines[0][2:].split(",")
    assert cols[-1] == "", "header does not end with a comma: %r" % lines[0][-40:]
    cols = cols[:-1]
    rows = {}
    for rec in csv.reader(io.StringIO("\n".join(lines[1:]) + "\n")):
        if not rec:
            continue
        rec = rec[:-1] if len(rec) == len(cols) + 1 and rec[-1] == "" else rec
        assert len(rec) == len(cols), "row with %d fields, header has %d: %r" % (
            len(rec), len(cols), rec[:3])
        row = dict(zip(cols, rec))
        rows[(row["pxname"], row["svname"])] = row
    return cols, rows


HAPROXY_COLS = ("pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
                "eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,"
                "qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
                "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,"
                "hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt"
                ).split(",")


def num(row, col):
    v = row.get(col)
    assert v is not None, "no column %s" % col
    assert re.fullmatch(r"-?\d+", v or ""), "%s/%s %s=%r is not a number" % (
        row.get("pxname"), row.get("svname"), col, v)
    return int(v)


def expect_row(row, want, what):
    """want: {column: int or str}; all mismatches in one message."""
    bad = []
    for col, exp in want.items():
        got = row.get(col)
        if isinstance(exp, int):
            ok = got is not None and re.fullmatch(r"-?\d+", got) and int(got) == exp
        else:
            ok = got == exp
        if not ok:
            bad.append("%s=%r (want %r)" % (col, got, exp))
    assert not bad, "%s: %s" % (what, ", ".join(bad))


def all_of(*checks):
    """Run every check (a function); one AssertionError with all their messages."""
    bad = []
    for c in checks:
        try:
            c()
        except AssertionError as e:
            bad.append(str(e))
    assert not bad, "; ".join(bad)


def fe_want(req, c2xx, c4xx, c5xx, h1, h2, sessions, scur):
    return {"req_tot": req, "hrsp_1xx": 0, "hrsp_2xx": c2xx, "hrsp_3xx": 0, "hrsp_4xx": c4xx,
            "hrsp_5xx": c5xx, "hrsp_other": 0, "h1req": h1, "h2req": h2, "stot": sessions,
            "conn_tot": sessions, "scur": scur, "slim": 12, "status": "OPEN", "type": 0,
            "dreq": 0, "ereq": 0}


def be_want(e, server):
    """Counters of a backend (or its only server) that received the requests counted in e."""
    w = {"stot": e["req"], "lbtot": e["req"], "req_tot": e["req"], "qcur": 0, "scur": 0,
         "hrsp_1xx": 0, "hrsp_2xx": e["2xx"], "hrsp_3xx": 0, "hrsp_4xx": e["4xx"],
         "hrsp_5xx": e["5xx"], "hrsp_other": 0, "econ": 0, "eresp": 0, "wretr": 0,
         "wredis": 0, "cli_abrt": 0, "srv_abrt": 0, "type": 2 if server else 1,
         "weight": 1, "act": 1, "bck": 0}
    if server:
        # no `check`: HAProxy's "no check", every check column empty (test_health_stats.py
        # covers checked servers)
        w.update({"status": "no check", "chkfail": "", "chkdown": "", "downtime": "",
                  "check_status": "", "check_code": "", "check_duration": "",
                  "last_chk": "", "check_desc": "", "check_rise": "", "check_health": ""})
    else:
        w.update({"status": "UP", "uweight": 1})  # its one server, usable, weight 1
    return w


# ---------------------------------------------------------------------------------------------
# Clients


def curl_get(port, path, h2=False, auth=None, timeout=10):
    """GET with curl on a fresh connection: (status, headers {lower name: value}, body bytes,
    http version). curl closes the connection when it exits."""
    args = ["-D", "-", "-o", "-"]
    if h2:
        args.append("--http2-prior-knowledge")
    if auth:
        args += ["-u", auth]
    rc, out, err = curl(args + ["http://%s:%d%s" % (HOST, port, path)], timeout=timeout)
    assert rc == 0, "curl %s rc=%d %s" % (path, rc, err.strip())
    head, sep, body = out.partition(b"\r\n\r\n")
    assert sep, "no header block from curl: %r" % out[:200]
    lines = head.decode(errors="replace").split("\r\n")
    m = re.match(r"HTTP/(\S+) (\d{3})", lines[0])
    assert m, "bad status line %r" % lines[0]
    headers = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        headers[n.strip().lower()] = v.strip()
    return int(m.group(2)), headers, body, m.group(1)


# ---------------------------------------------------------------------------------------------
# Prometheus text


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_prom(text):
    """-> ({(name, frozenset(labels.items())): float}, {name: type}, [samples in order])."""
    samples, types, order = {}, {}, []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(None, 3)
            types[name] = typ.strip()
            continue
        if ln.startswith("#"):
            continue
        m = PROM_LINE.match(ln)
        assert m, "unparsable sample line %r" % ln
        labels = {}
        rest = m.group(3) or ""
        pos = 0
        for _ in range(100):
            if pos >= len(rest):
                break
            lm = PROM_LABEL.match(rest, pos)
            assert lm, "bad labels in %r" % ln
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        key = (m.group(1), frozenset(labels.items()))
        samples[key] = float(m.group(4))
        order.append((m.group(1), labels, float(m.group(4))))
    return samples, types, order


def metric(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%r" % (name, labels)
    return samples[key]


# ---------------------------------------------------------------------------------------------
# Log lines

TR_RE = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}"
HTTPLOG = re.compile(
    r'^(?P<ci>\d+\.\d+\.\d+\.\d+):(?P<cp>\d+) \[(?P<tr>' + TR_RE + r')\] (?P<ft>\S+) '
    r'(?P<b>[^\s/]+)/(?P<s>\S+) '
    r'(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/(?P<Ta>\+?-?\d+) '
    r'(?P<ST>-?\d+) (?P<B>\d+) (?P<CC>\S+) (?P<CS>\S+) (?P<tsc>\S{4}) '
    r'(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) '
    r'(?P<sq>\d+)/(?P<bq>\d+) "(?P<r>[^"]*)"$')
CLF = re.compile(
    r'^(?P<ci>\d+\.\d+\.\d+\.\d+) - - \[(?P<trg>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) '
    r'\+0000\] "(?P<r>[^"]*)" (?P<ST>\d{3}) (?P<B>\d+) "" "" (?P<cp>\d+) (?P<ms>\d{3}) '
    r'"(?P<ft>[^"]*)" "(?P<b>[^"]*)" "(?P<s>[^"]*)" '
    r'(?P<TR>-?\d+) (?P<Tw>-?\d+) (?P<Tc>-?\d+) (?P<Tr>-?\d+) (?P<Ta>\+?-?\d+) '
    r'(?P<tsc>\S{4}) (?P<ac>\d+) (?P<fc>\d+) (?P<bc>\d+) (?P<sc>\d+) (?P<rc>\+?\d+) '
    r'(?P<sq>\d+) (?P<bq>\d+)(?: .*)?$')


def log_lines(sp, prefix):
    """Complete lines of spillway's stdout (the log file) that start with prefix."""
    try:
        with open(sp.log_path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    data = data[: data.rfind(b"\n") + 1]
    return [ln for ln in data.decode(errors="replace").splitlines() if ln.startswith(prefix)]


def near_now(stamp, fmt, utc=False, slack=300):
    t = datetime.datetime.strptime(stamp, fmt)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) if utc else \
        datetime.datetime.now()
    return abs((now - t).total_seconds()) <= slack


def check_timers(f, what, proxied=True):
    TR, Tw, Tc, Tr = (int(f[k]) for k in ("TR", "Tw", "Tc", "Tr"))
    Ta = int(f["Ta"].lstrip("+"))
    assert not f["Ta"].startswith("+"), "%s: Ta %s has a '+' without logasap" % (what, f["Ta"])
    assert 0 <= TR <= 5000, "%s: TR=%d" % (what, TR)
    assert 0 <= Ta <= 10000, "%s: Ta=%d" % (what, Ta)
    if proxied:
        assert Tw == 0, "%s: Tw=%d (never queued)" % (what, Tw)
        assert 0 <= Tc <= 5000, "%s: Tc=%d (a server connection was used)" % (what, Tc)
        assert 0 <= Tr <= 5000, "%s: Tr=%d (the server answered)" % (what, Tr)
        assert Ta >= max(TR, Tc, Tr), "%s: Ta=%d below TR/Tc/Tr %d/%d/%d" % (what, Ta, TR, Tc, Tr)


# ---------------------------------------------------------------------------------------------


def main(t):
    ade = t.backend("ade")
    pbc = t.backend("pbcoffee")
    port = free_port()
    sock = os.path.join(t.dir, "stats.sock")
    text, use_line = cfg_main(port, sock, ade.port, pbc.port)
    sp = t.spillway(text, port)
    cli = Cli(sock)
    wait_until(lambda: os.path.exists(sock), 5)
    state = {"traffic": False, "idle": [], "http_stats": []}
    base = {"sess": 0}  # sessions before the known mix

    def show_stat():
        return parse_csv(cli("show stat"))

    def fe_scur():
        try:
            return int(show_stat()[1][("webserver", "FRONTEND")]["scur"])
        except (AssertionError, KeyError, ValueError, OSError):
            return None

    def wait_scur(n, timeout=5.0):
        got = wait_until(lambda: fe_scur() == n, timeout, interval=0.01)
        assert got, "FRONTEND scur is %r, want %d after %.0fs" % (fe_scur(), n, timeout)

    def need_traffic():
        assert state["traffic"], "the traffic phase failed: nothing to check"

    # 0. the known mix ----------------------------------------------------------------------
    def traffic():
        # lib's readiness probe (one connect() that sends nothing, closed at once) is a session
        # too; spillway may accept it a little later: wait for it, then count from there
        def stot():
            return int(show_stat()[1][("webserver", "FRONTEND")]["stot"])

        wait_until(lambda: stot() >= 1, 5)
        wait_scur(0)
        base["sess"] = stot()
        for proto, path, status, n in PHASE1:
            for _ in range(n):
                st, hdrs, body, ver = curl_get(port, path, h2=proto == "h2")
                assert st == status, "%s %s: status %d, want %d" % (proto, path, st, status)
                assert ver == ("2" if proto == "h2" else "1.1"), "%s: HTTP/%s" % (proto, ver)
                assert hdrs.get("x-backend") == "ade", \
                    "%s %s with fe_conn 1 answered by %r" % (proto, path, hdrs.get("x-backend"))
                wait_scur(0)
        for _ in range(N_IDLE):  # idle: connected, nothing sent (dontlognull: no line later)
            state["idle"].append(socket.create_connection((HOST, port), timeout=5))
        wait_scur(N_IDLE)
        for proto, path, status, n in PHASE2:
            for _ in range(n):
                st, hdrs, body, ver = curl_get(port, path, h2=proto == "h2")
                assert st == status, "%s %s: status %d, want %d" % (proto, path, st, status)
                assert hdrs.get("x-backend") == "pbcoffee", \
                    "%s %s with fe_conn 11 answered by %r" % (proto, path, hdrs.get("x-backend"))
                wait_scur(N_IDLE)
        state["traffic"] = True

    t.case("traffic: %d requests to ade at fe_conn 1 (H1 200/404/503, H2 200), %d idle "
           "connections, %d to pbcoffee at fe_conn 11" % (ADE["req"], N_IDLE, PBC["req"]),
           traffic)

    # 1. show stat ---------------------------------------------------------------------------
    snap = {}

    def stat_columns():
        cols, rows = show_stat()
        snap["cols"], snap["rows"] = cols, rows
        assert cols[:len(HAPROXY_COLS)] == HAPROXY_COLS, "columns differ from HAProxy's: %s" % [
            (i, a, b) for i, (a, b) in enumerate(zip(cols, HAPROXY_COLS)) if a != b][:5]
        for c in ("conn_tot", "connect", "reuse", "h1req", "h2req", "intercepted"):
            assert c in cols, "no column %s" % c
        order = list(rows)
        want = [("webserver", "FRONTEND"), ("ade", "s1"), ("ade", "BACKEND"),
                ("pbcoffee", "p1"), ("pbcoffee", "BACKEND")]
        assert order == want, "rows %r, want %r" % (order, want)

    def stat_frontend():
        need_traffic()
        fe = snap["rows"][("webserver", "FRONTEND")]
        w = fe_want(PROXIED, ADE["2xx"] + PBC["2xx"], ADE["4xx"] + PBC["4xx"],
                    ADE["5xx"] + PBC["5xx"], ADE["h1"] + PBC["h1"], ADE["h2"] + PBC["h2"],
                    base["sess"] + CONNS_PROXIED, N_IDLE)
        w["smax"] = N_IDLE + 1
        expect_row(fe, w, "FRONTEND")
        assert fe["qcur"] in ("", "0"), "FRONTEND qcur=%r" % fe["qcur"]
        # HAProxy: the max is raised with the current second's count at every event, and the
        # rate shown is cur + prev * (part of the second left) <= cur + prev <= 2 * max
        for a, b in (("rate", "rate_max"), ("req_rate", "req_rate_max"),
                     ("conn_rate", "conn_rate_max")):
            assert num(fe, a) <= 2 * num(fe, b), \
                "FRONTEND %s=%s above twice %s=%s (a max that lags behind the rate)" % (
                    a, fe[a], b, fe[b])

    def stat_backends():
        need_traffic()
        rows = snap["rows"]
        for name, e in (("ade", ADE), ("pbcoffee", PBC)):
            be = rows[(name, "BACKEND")]
            expect_row(be, be_want(e, False), "%s BACKEND" % name)

    def stat_servers():
        need_traffic()
        rows = snap["rows"]
        for name, srv, e, bport in (("ade", "s1", ADE, ade.port), ("pbcoffee", "p1", PBC,
                                                                     pbc.port)):
            row = rows[(name, srv)]
            expect_row(row, be_want(e, True), "%s/%s" % (name, srv))
            assert row["addr"] == "%s:%d" % (HOST, bport), "%s/%s addr=%r" % (
                name, srv, row["addr"])
            assert num(row, "connect") + num(row, "reuse") == e["req"], \
                "%s/%s connect %s + reuse %s != %d requests sent" % (
                    name, srv, row["connect"], row["reuse"], e["req"])
            be = rows[(name, "BACKEND")]
            for c in ("bin", "bout"):  # one server that got every stream: same bytes
                assert num(be, c) == num(row, c) > 0, "%s BACKEND %s=%s, server %s %s=%s" % (
                    name, c, be[c], srv, c, row[c])

    t.case("show stat: HAProxy's column order, rows FRONTEND, s1, ade, p1, pbcoffee",
           stat_columns)
    t.case("show stat: FRONTEND req_tot %d, hrsp 2xx/4xx/5xx %d/%d/%d, h1req/h2req %d/%d, "
           "stot probe+%d, scur %d (idle connections), smax 11, rate <= 2 x rate_max" % (
               PROXIED, ADE["2xx"] + PBC["2xx"], ADE["4xx"] + PBC["4xx"],
               ADE["5xx"] + PBC["5xx"], ADE["h1"] + PBC["h1"], ADE["h2"] + PBC["h2"],
               CONNS_PROXIED, N_IDLE), stat_frontend)
    t.case("show stat: BACKEND ade stot %d (2xx/4xx/5xx %d/%d/%d), pbcoffee stot %d "
           "(%d/%d/%d), qcur 0, UP, act 1, weight 1" % (ADE["req"], ADE["2xx"], ADE["4xx"], ADE["5xx"],
                                       PBC["req"], PBC["2xx"], PBC["4xx"], PBC["5xx"]),
           stat_backends)
    t.case("show stat: servers s1/p1 same counts, addr, connect+reuse, bytes == backend's, "
           "status 'no check' with empty check columns", stat_servers)

    def stat_typed():
        need_traffic()
        out = cli("show stat typed")
        rows = {}
        for ln in out.splitlines():
            if not ln.strip():
                continue
            m = re.match(r"^([FBSL])\.(\d+)\.(\d+)\.(\d+)\.([a-z0-9_]+)\.(\d+):(\w{3}):(\w+):(.*)$",
                         ln)
            assert m, "bad typed line %r" % ln
            rows.setdefault((m.group(1), m.group(2), m.group(3)), {})[m.group(5)] = m.group(9)
        byname = {(r.get("pxname"), r.get("svname")): r for r in rows.values()}
        ref = show_stat()[1]
        assert set(byname) == set(ref), "typed rows %r, csv rows %r" % (
            sorted(byname), sorted(ref))
        for key, row in ref.items():
            for c in ("stot", "req_tot", "hrsp_2xx", "hrsp_4xx", "hrsp_5xx", "scur", "status",
                      "h1req", "h2req", "lbtot"):
                if row.get(c, "") == "":
                    continue
                assert byname[key].get(c) == row[c], "%s %s: typed %r, csv %r" % (
                    key, c, byname[key].get(c), row[c])

    t.case("show stat typed: F./B./S. lines with the same values as show stat", stat_typed)

    def show_info():
        need_traffic()
        before = cli.sent
        info = {}
        for ln in cli("show info").splitlines():
            k, sep, v = ln.partition(":")
            if sep:
                info[k.strip()] = v.strip()
        for k in ("Name", "Version", "Pid", "Uptime_sec", "Maxconn", "CurrConns", "CumConns",
                  "CumReq", "Nbthread"):
            assert k in info, "no %s in show info: %r" % (k, sorted(info))
        assert info["Pid"] == str(sp.pid), "Pid %s, spillway is %d" % (info["Pid"], sp.pid)
        assert info["Nbthread"] == "2", "Nbthread %s" % info["Nbthread"]
        # HAProxy counts its CLI sessions too; spillway's HTTP counts must be exact either way
        cur = int(info["CurrConns"])
        assert cur in (N_IDLE, N_IDLE + 1), "CurrConns %d with %d idle connections open" % (
            cur, N_IDLE)
        assert int(info["CumReq"]) == PROXIED, "CumReq %s, want %d" % (info["CumReq"], PROXIED)
        cum = int(info["CumConns"])
        want = base["sess"] + CONNS_PROXIED
        assert want <= cum <= want + before + 1, \
            "CumConns %d, want %d (+ at most %d CLI connections)" % (cum, want, before + 1)
        if "DecisionLogSize" in info:
            assert info["DecisionLogSize"] == "200", info["DecisionLogSize"]

    t.case("show info: Pid, Nbthread 2, CurrConns %d, CumReq %d, CumConns %d" % (
        N_IDLE, PROXIED, CONNS_PROXIED), show_info)

    def servers_state():
        out = cli("show servers state").splitlines()
        assert out and out[0].strip() == "1", "first line %r, want the format version 1" % out[:1]
        assert len(out) > 1 and out[1].startswith("# be_id be_name srv_id srv_name srv_addr "
                                                  "srv_op_state"), "header %r" % out[1:2]
        cols = out[1][2:].split()
        got = {}
        for ln in out[2:]:
            if ln.strip():
                f = dict(zip(cols, ln.split()))
                got[(f["be_name"], f["srv_name"])] = f
        assert set(got) == {("ade", "s1"), ("pbcoffee", "p1")}, "servers %r" % sorted(got)
        for (be, srv), p in ((("ade", "s1"), ade.port), (("pbcoffee", "p1"), pbc.port)):
            f = got[(be, srv)]
            assert f["srv_addr"] == HOST and f["srv_port"] == str(p), "%s/%s: %r" % (be, srv, f)
            assert f["srv_op_state"] == "2", "%s/%s op_state %s (2 = running)" % (
                be, srv, f["srv_op_state"])
            assert f["srv_admin_state"] == "0", "%s/%s admin_state %s" % (
                be, srv, f["srv_admin_state"])

    t.case("show servers state: version 1, ade/s1 and pbcoffee/p1 running at their ports",
           servers_state)

    def help_and_unknown():
        h = cli("help")
        for c in ("help", "show info", "show stat", "show servers state", "show decisions"):
            assert c in h, "help does not list %r: %r" % (c, h[:400])
        u = cli("show nonsense")
        assert "Unknown command" in u, "unknown command answered %r" % u[:200]
        assert "show stat" in u, "unknown command answer without the help: %r" % u[:300]
        # the socket still works after a bad command
        assert cli("show info").startswith("Name:"), "show info after a bad command"

    t.case("help lists the commands; an unknown command gets 'Unknown command' + help",
           help_and_unknown)

    DEC = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (\d+) (\S+) fe_conn=(\d+) '
                     r'(.*?) -> (\S+)/(\S+) (h1|h2) "([^"]*)"$')

    def decisions():
        out = cli("show decisions").splitlines()
        assert out and out[0].startswith("#"), "no header: %r" % out[:1]
        recs = []
        for ln in out[1:]:
            if not ln.strip():
                continue
            m = DEC.match(ln)
            assert m, "bad decision line %r" % ln
            recs.append(m.groups())
        return recs

    def show_decisions():
        need_traffic()
        recs = decisions()
        stamps = [r[0] for r in recs]
        assert stamps == sorted(stamps), "not merged by time: %r" % stamps
        assert {r[1] for r in recs} <= {"0", "1"}, "workers %r" % {r[1] for r in recs}
        got = sorted((r[3], r[4], r[5], r[6], r[7], r[8]) for r in recs)
        want = []
        for phase, fe_conn, rule, be, srv in (
                (PHASE1, "1", "default_backend", "ade", "s1"),
                (PHASE2, "11", "use_backend(line %d) if too_many_connections" % use_line,
                 "pbcoffee", "p1")):
            for proto, path, _st, n in phase:
                want += [(fe_conn, rule, be, srv, proto, "GET " + path)] * n
        want.sort()
        assert got == want, "decisions differ:\n  extra %r\n  missing %r" % (
            [x for x in got if x not in want or got.count(x) > want.count(x)][:6],
            [x for x in want if x not in got or want.count(x) > got.count(x)][:6])

    t.case("show decisions: %d x fe_conn=1 default_backend -> ade/s1, %d x fe_conn=11 "
           "use_backend(line %d) -> pbcoffee/p1, h1/h2, request, by time" % (
               ADE["req"], PBC["req"], use_line), show_decisions)

    # 2. the HTTP side: stats page, CSV, /metrics (each one more frontend request) -----------
    fe_now = {"req": PROXIED, "2xx": ADE["2xx"] + PBC["2xx"], "4xx": ADE["4xx"] + PBC["4xx"],
              "5xx": ADE["5xx"] + PBC["5xx"], "h1": ADE["h1"] + PBC["h1"],
              "h2": ADE["h2"] + PBC["h2"], "sess": 0}

    def local_get(path, auth=None, want=200, kind="stats"):
        """One request answered by spillway (an 11th connection); updates fe_now the way
        HAProxy counts it: req_tot and h1req now, the status class once the stream ended."""
        st, hdrs, body, ver = curl_get(port, path, auth=auth)
        fe_now["req"] += 1
        fe_now["h1"] += 1
        fe_now["sess"] += 1
        state["http_stats"].append((path, st, kind))
        wait_scur(N_IDLE)
        assert st == want, "GET %s (auth %r): status %d, want %d" % (path, auth, st, want)
        return st, hdrs, body

    def count_status(st):
        fe_now[klass(st)] = fe_now.get(klass(st), 0) + 1

    def stats_page():
        need_traffic()
        fe_now["sess"] = base["sess"] + CONNS_PROXIED
        st, hdrs, body = local_get("/stats", want=401)
        count_status(st)
        wa = hdrs.get("www-authenticate", "")
        assert wa.startswith("Basic realm="), "401 without Basic WWW-Authenticate: %r" % hdrs
        st, hdrs, body = local_get("/stats", auth="%s:wrong" % USER, want=401)
        count_status(st)
        st, hdrs, body = local_get("/stats", auth="%s:%s" % (USER, PASSWORD), want=200)
        count_status(st)
        assert "text/html" in hdrs.get("content-type", ""), "content-type %r" % hdrs
        html = body.decode(errors="replace")
        for name in ("webserver", "ade", "pbcoffee", "s1", "p1", "FRONTEND", "BACKEND"):
            assert name in html, "%r not in the stats page" % name
        assert re.search(r'<meta http-equiv="refresh" content="5"', html), \
            "no 5 s refresh (stats refresh 5s) in the page head"

    t.case("stats page: 401 + WWW-Authenticate Basic without or with wrong credentials, 200 "
           "HTML with every proxy and server name and refresh 5 with user:pass", stats_page)

    def csv_page():
        need_traffic()
        st, _, _ = local_get("/stats;csv", want=401)
        count_status(st)
        st, hdrs, body = local_get("/stats;csv", auth="%s:%s" % (USER, PASSWORD), want=200)
        # its own request is in req_tot, its own 200 not yet in hrsp_2xx
        cols, rows = parse_csv(body.decode(errors="replace"))
        count_status(st)
        assert cols == snap["cols"], "CSV page columns differ from show stat's"
        fe = rows[("webserver", "FRONTEND")]
        w = fe_want(fe_now["req"], fe_now["2xx"] - 1, fe_now["4xx"], fe_now["5xx"],
                    fe_now["h1"], fe_now["h2"], fe_now["sess"], N_IDLE + 1)
        checks = [lambda: expect_row(fe, w, "CSV page FRONTEND (counts the stats requests, its "
                                            "own in req_tot)")]
        for name, srv, e in (("ade", "s1", ADE), ("pbcoffee", "p1", PBC)):
            checks.append(lambda name=name, e=e: expect_row(
                rows[(name, "BACKEND")], be_want(e, False),
                "CSV page %s BACKEND (stats requests are not backend requests)" % name))
            checks.append(lambda name=name, srv=srv, e=e: expect_row(
                rows[(name, srv)], be_want(e, True), "CSV page %s/%s" % (name, srv)))
        all_of(*checks)

    t.case("/stats;csv: 401 without auth; with auth the same numbers as show stat, plus the "
           "stats requests in the FRONTEND only", csv_page)

    prom = {}

    def metrics():
        need_traffic()
        st, hdrs, body = local_get("/metrics", want=200, kind="promex")
        count_status(st)
        prom["text"] = body.decode(errors="replace")
        assert hdrs.get("content-type", "").startswith("text/plain"), "content-type %r" % hdrs
        s, types, _ = parse_prom(prom["text"])
        prom["s"], prom["types"] = s, types
        bad = []

        def eq(name, want, **labels):
            try:
                got = metric(s, name, **labels)
            except AssertionError as e:
                bad.append(str(e))
                return
            if got != want:
                bad.append("%s%r = %g, want %d" % (name, labels, got, want))

        eq("haproxy_frontend_http_requests_total", fe_now["req"], proxy="webserver")
        for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"):
            # its own 200 is not counted yet
            eq("haproxy_frontend_http_responses_total", fe_now.get(c, 0) - (c == "2xx"),
               proxy="webserver", code=c)
        eq("haproxy_frontend_current_sessions", N_IDLE + 1, proxy="webserver")
        eq("haproxy_frontend_sessions_total", fe_now["sess"], proxy="webserver")
        eq("haproxy_frontend_limit_sessions", 12, proxy="webserver")
        eq("haproxy_frontend_max_sessions", N_IDLE + 1, proxy="webserver")
        eq("haproxy_process_current_connections", N_IDLE + 1)
        for name, srv, e in (("ade", "s1", ADE), ("pbcoffee", "p1", PBC)):
            eq("haproxy_backend_http_requests_total", e["req"], proxy=name)
            eq("haproxy_backend_sessions_total", e["req"], proxy=name)
            eq("haproxy_backend_current_queue", 0, proxy=name)
            eq("haproxy_server_http_requests_total", e["req"], proxy=name, server=srv)
            eq("haproxy_server_sessions_total", e["req"], proxy=name, server=srv)
            for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"):
                eq("haproxy_backend_http_responses_total", e[c], proxy=name, code=c)
                eq("haproxy_server_http_responses_total", e[c], proxy=name, server=srv, code=c)
        assert not bad, "; ".join(bad)

    t.case("/metrics: frontend requests/responses/sessions (stats requests included), backend "
           "and server requests/responses exactly the proxied ones", metrics)

    def promtool():
        assert "text" in prom, "no /metrics output"
        exe = shutil.which("promtool")
        if not exe:
            print("# promtool not found (Debian package 'prometheus'): this check is skipped")
            return
        path = os.path.join(t.dir, "metrics.txt")
        with open(path, "w") as f:
            f.write(prom["text"])
        with open(path, "rb") as f:
            p = subprocess.run([exe, "check", "metrics"], stdin=f, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode(errors="replace").strip()
        assert p.returncode == 0, "promtool check metrics exit %d: %s" % (p.returncode,
                                                                          out[-1500:])
        if out:
            print("# promtool check metrics (exit 0) says: %s" % out.replace("\n", " | ")[:800])

    t.case("promtool check metrics accepts /metrics (exit 0)", promtool)

    def histograms():
        assert "text" in prom, "no /metrics output"
        _, types, order = parse_prom(prom["text"])
        hists = [n for n, typ in types.items() if typ == "histogram"]
        for want in ("haproxy_backend_response_time_seconds",
                     "haproxy_server_response_time_seconds"):
            assert want in hists, "no histogram %s (histograms: %r)" % (want, hists)
        series = {}  # (family, labels without le) -> {"buckets": [(le, v)], "sum", "count"}
        for name, labels, v in order:
            for fam in hists:
                if name in (fam + "_bucket", fam + "_sum", fam + "_count"):
                    rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
                    d = series.setdefault((fam, rest), {"buckets": [], "sum": None,
                                                        "count": None})
                    if name.endswith("_bucket"):
                        assert "le" in labels, "bucket without le: %s%r" % (name, labels)
                        d["buckets"].append((labels["le"], v))
                    elif name.endswith("_sum"):
                        d["sum"] = v
                    else:
                        d["count"] = v
        assert series, "no histogram samples"
        responses = {("ade",): ADE["req"], ("pbcoffee",): PBC["req"],
                     ("ade", "s1"): ADE["req"], ("pbcoffee", "p1"): PBC["req"]}
        for (fam, rest), d in series.items():
            what = "%s%r" % (fam, dict(rest))
            b = d["buckets"]
            assert b and b[-1][0] == "+Inf", "%s: last bucket %r, want +Inf" % (what, b[-1:])
            les = [float(le) for le, _ in b]
            assert les == sorted(les) and len(set(les)) == len(les), "%s: le order %r" % (
                what, [le for le, _ in b])
            vals = [v for _, v in b]
            assert all(x <= y for x, y in zip(vals, vals[1:])), "%s: not cumulative %r" % (
                what, vals)
            assert d["count"] is not None and d["sum"] is not None, "%s: no _sum/_count" % what
            assert vals[-1] == d["count"], "%s: +Inf %g != _count %g" % (what, vals[-1],
                                                                          d["count"])
            assert d["sum"] >= 0, "%s: _sum %g" % (what, d["sum"])
            lab = dict(rest)
            key = (lab.get("proxy"),) + ((lab["server"],) if "server" in lab else ())
            n = responses.get(key)
            assert n is not None, "%s: unknown proxy/server labels" % what
            if fam.endswith(("_response_time_seconds", "_total_time_seconds")):
                assert d["count"] == n, "%s: _count %g, want %d backend responses" % (
                    what, d["count"], n)
            else:
                assert d["count"] <= n, "%s: _count %g above %d requests" % (what, d["count"], n)

    t.case("histograms: le ascending, buckets cumulative, +Inf == _count, response/total time "
           "_count == backend responses (ade %d, pbcoffee %d)" % (ADE["req"], PBC["req"]),
           histograms)

    def stat_after_http():
        need_traffic()
        cols, rows = show_stat()
        fe = rows[("webserver", "FRONTEND")]
        w = fe_want(fe_now["req"], fe_now["2xx"], fe_now["4xx"], fe_now["5xx"], fe_now["h1"],
                    fe_now["h2"], fe_now["sess"], N_IDLE)
        checks = [lambda: expect_row(fe, w, "FRONTEND after %d stats requests" % len(
            state["http_stats"]))]
        if fe.get("intercepted", "") != "":
            checks.append(lambda: expect_row(fe, {"intercepted": len(state["http_stats"])},
                                             "FRONTEND"))

        def bytes_equal(name, be, srv, sv):
            for c in ("bin", "bout"):
                assert num(be, c) == num(sv, c), \
                    "%s BACKEND %s=%s but its only server has %s: bytes of requests answered " \
                    "by spillway itself counted in a backend" % (name, c, be[c], sv[c])

        for name, srv, e in (("ade", "s1", ADE), ("pbcoffee", "p1", PBC)):
            be, sv = rows[(name, "BACKEND")], rows[(name, srv)]
            checks += [
                lambda be=be, e=e, name=name: expect_row(
                    be, be_want(e, False), "%s BACKEND after the stats requests" % name),
                lambda sv=sv, e=e, name=name, srv=srv: expect_row(
                    sv, be_want(e, True), "%s/%s after the stats requests" % (name, srv)),
                lambda name=name, be=be, srv=srv, sv=sv: bytes_equal(name, be, srv, sv)]

        def no_decisions():
            d = decisions()
            assert all("/stats" not in r[8] and "/metrics" not in r[8] for r in d), \
                "a routing decision recorded for a request answered locally"
            assert len(d) == PROXIED, "%d decisions, want %d" % (len(d), PROXIED)

        checks.append(no_decisions)
        all_of(*checks)

    t.case("show stat after the stats/metrics requests: FRONTEND counts them (req_tot, hrsp, "
           "h1req, stot), backends and servers unchanged, no routing decision for them",
           stat_after_http)

    # 3. access logs ---------------------------------------------------------------------------
    def close_idle():
        for c in state["idle"]:
            c.close()
        state["idle"] = []
        wait_scur(0)

    t.case("the %d idle connections close (FRONTEND scur 0)" % N_IDLE, close_idle)

    n_lines = PROXIED + len(state["http_stats"])
    logs = {}

    def log_count():
        wait_until(lambda: len(log_lines(sp, "127.0.0.1:")) >= n_lines, 5)
        time.sleep(0.3)  # anything extra (a line for an idle connection) has time to show up
        lines = log_lines(sp, "127.0.0.1:")
        logs["lines"] = lines
        assert len(lines) == n_lines, \
            "%d access log lines on stdout, want %d (%d proxied + %d answered by spillway; " \
            "none for the %d idle connections under dontlognull)%s" % (
                len(lines), n_lines, PROXIED, len(state["http_stats"]), N_IDLE,
                "" if lines else ": log lines not written yet")

    t.case("log: exactly one line per request and stream (%d), none for the idle connections"
           % n_lines, log_count)

    def parsed(lines):
        out, bad = [], []
        for ln in lines:
            m = HTTPLOG.match(ln)
            if m:
                out.append(m.groupdict())
            else:
                bad.append(ln)
        assert not bad, "%d lines not in the default httplog format, e.g. %r" % (len(bad),
                                                                                 bad[0])
        return out

    def log_proxied():
        lines = logs.get("lines") or log_lines(sp, "127.0.0.1:")
        assert lines, "no access log lines"
        recs = [f for f in parsed(lines) if not f["s"].startswith("<")]
        got, problems = [], []
        for f in recs:
            what = "%s %s" % (f["r"], f["ST"])
            try:
                assert f["ci"] == HOST, "%s: client %s" % (what, f["ci"])
                assert 0 < int(f["cp"]) < 65536, "%s: port %s" % (what, f["cp"])
                assert near_now(f["tr"], "%d/%b/%Y:%H:%M:%S.%f"), "%s: %%tr %s is not local " \
                    "time now" % (what, f["tr"])
                assert f["ft"] == "webserver", "%s: frontend %s" % (what, f["ft"])
                check_timers(f, what)
                assert int(f["B"]) > 0, "%s: %%B 0" % what
                assert (f["CC"], f["CS"]) == ("-", "-"), "%s: %%CC %%CS %s %s" % (
                    what, f["CC"], f["CS"])
                assert f["tsc"] == "----", "%s: %%tsc %s, want ----" % (what, f["tsc"])
                assert f["ac"] == f["fc"], "%s: ac %s != fc %s (one frontend)" % (
                    what, f["ac"], f["fc"])
                assert (f["bc"], f["sc"], f["rc"]) == ("0", "0", "0"), \
                    "%s: bc/sc/rc %s/%s/%s, want 0/0/0 (the stream itself is not counted)" % (
                        what, f["bc"], f["sc"], f["rc"])
                assert (f["sq"], f["bq"]) == ("0", "0"), "%s: sq/bq %s/%s" % (what, f["sq"],
                                                                               f["bq"])
            except AssertionError as e:
                problems.append(str(e))
            got.append((f["b"], f["s"], int(f["ST"]), f["r"], f["fc"]))
        want = []
        for phase, be, srv, fc in ((PHASE1, "ade", "s1", "1"),
                                   (PHASE2, "pbcoffee", "p1", str(N_IDLE + 1))):
            for proto, path, st, n in phase:
                r = "GET %s HTTP/1.1" % path if proto == "h1" else \
                    "GET http://%s:%d%s HTTP/2.0" % (HOST, port, path)
                want += [(be, srv, st, r, fc)] * n
        got.sort()
        want.sort()
        if got != want:
            problems.append("(b, s, ST, request, fc) differ: extra %r, missing %r" % (
                [x for x in got if got.count(x) > want.count(x)][:4],
                [x for x in want if want.count(x) > got.count(x)][:4]))
        assert not problems, "; ".join(problems[:6])

    t.case("log: %d proxied lines parse as %%ci:%%cp [%%tr] %%ft %%b/%%s %%TR/%%Tw/%%Tc/%%Tr/%%Ta "
           "%%ST %%B %%CC %%CS %%tsc %%ac/%%fc/%%bc/%%sc/%%rc %%sq/%%bq %%{+Q}r: backend/server, "
           "status, ----, fc 1 or 11, H2 absolute URI + HTTP/2.0" % PROXIED, log_proxied)

    def log_local():
        lines = logs.get("lines") or log_lines(sp, "127.0.0.1:")
        assert lines, "no access log lines"
        recs = [f for f in parsed(lines) if f["s"].startswith("<") or
                f["r"].startswith(("GET /stats", "GET /metrics"))]
        got = sorted((f["b"], f["s"], int(f["ST"]), f["tsc"], f["r"], f["fc"]) for f in recs)
        want = sorted(
            ("webserver", "<PROMEX>" if kind == "promex" else "<STATS>", st,
             "LR--" if st == 200 else "PR--", "GET %s HTTP/1.1" % path, str(N_IDLE + 1))
            for path, st, kind in state["http_stats"])
        for f in recs:
            check_timers(f, f["r"], proxied=False)
        assert got == want, "(b, s, ST, tsc, request, fc):\n  got  %r\n  want %r" % (got, want)

    t.case("log: requests answered by spillway logged as webserver/<STATS> (LR--, PR-- for "
           "the 401s) and webserver/<PROMEX>", log_local)

    def dontlognull():
        before = len(log_lines(sp, "127.0.0.1:"))
        try:
            c = socket.create_connection((HOST, port), timeout=5)
        except ConnectionRefusedError:
            fe = show_stat()[1][("webserver", "FRONTEND")]
            later = wait_until(lambda: can_connect(port), 2)
            raise AssertionError(
                "connect refused on the frontend (spillway %s, FRONTEND status %s scur %s "
                "stot %s; connect %s 2 s later)" % (
                    "running" if sp.proc.poll() is None else "exited %s" % sp.proc.poll(),
                    fe["status"], fe["scur"], fe["stot"], "works" if later else "still refused"))
        wait_scur(1)
        c.close()
        wait_scur(0)
        st, hdrs, _, _ = curl_get(port, "/name")  # a marker after it
        assert st == 200, "marker request: %d" % st
        wait_scur(0)
        wait_until(lambda: len(log_lines(sp, "127.0.0.1:")) >= before + 1, 5)
        time.sleep(0.3)
        lines = log_lines(sp, "127.0.0.1:")
        new = lines[before:]
        assert len(new) == 1 and new[0].endswith('"GET /name HTTP/1.1"'), \
            "after a silent connection and one request, new lines: %r" % new

    t.case("option dontlognull: a connection that sends nothing and closes logs nothing",
           dontlognull)

    # 3b. a frontend without maxconn: HAProxy gives it the global maxconn ---------------------
    def fe_without_maxconn():
        p = free_port()
        sock2 = os.path.join(t.dir, "stats-nomax.sock")
        cfg = cfg_small(p, "fe_nomax", ade.port, []).replace(
            "global\n", "global\n    stats socket %s mode 600\n" % sock2, 1)
        # no maxconn anywhere: the global one is derived from the descriptor limit, which
        # spillway raises to the hard one, as HAProxy does: (fds - 100) / 2
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        fds = 1048576 if hard == resource.RLIM_INFINITY or hard > 1048576 else hard
        want_slim = str(max(100, (fds - 100) // 2))
        s2 = t.spillway(cfg, p)
        cli2 = Cli(sock2)
        conns = []
        try:
            for _ in range(3):
                c = socket.create_connection((HOST, p), timeout=5)
                c.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
                assert c.recv(4096).startswith(b"HTTP/1.1 200"), "no answer"
                conns.append(c)
            fe = parse_csv(cli2("show stat"))[1][("fe_nomax", "FRONTEND")]
            assert (fe["scur"], fe["slim"]) == ("3", want_slim), \
                "scur %s slim %s (want %s)" % (fe["scur"], fe["slim"], want_slim)
            assert int(fe["smax"]) >= 3, "smax %s with 3 connections open" % fe["smax"]
        finally:
            for c in conns:
                c.close()
            s2.stop()

    t.case("frontend without maxconn: slim is the derived global maxconn, smax counts (>= 3)",
           fe_without_maxconn)

    # 4. option httplog clf, custom log-format (own instances) -------------------------------
    def clf():
        p = free_port()
        s2 = t.spillway(cfg_small(p, "fe_clf", ade.port, ["option httplog clf"]), p)
        reqs = [("h1", "/name", 200), ("h1", "/status/404", 404), ("h2", "/name", 200)]
        for proto, path, st in reqs:
            got = curl_get(p, path, h2=proto == "h2")[0]
            assert got == st, "%s: %d" % (path, got)
        wait_until(lambda: len(log_lines(s2, "127.0.0.1 ")) >= len(reqs), 5)
        time.sleep(0.2)
        lines = log_lines(s2, "127.0.0.1 ")
        assert len(lines) == len(reqs), "%d CLF lines, want %d: %r" % (len(lines), len(reqs),
                                                                      lines[:4])
        got = []
        for ln in lines:
            m = CLF.match(ln)
            assert m, "not a CLF httplog line: %r" % ln
            f = m.groupdict()
            assert near_now(f["trg"], "%d/%b/%Y:%H:%M:%S", utc=True), \
                "[%%trg] %s is not GMT now: %r" % (f["trg"], ln)
            assert (f["ft"], f["b"], f["s"]) == ("fe_clf", "ade", "s1"), ln
            assert f["tsc"] == "----", ln
            assert (f["ac"], f["fc"], f["bc"], f["sc"], f["rc"]) == ("1", "1", "0", "0", "0"), \
                "ac fc bc sc rc in %r" % ln
            check_timers(f, ln)
            got.append((f["r"], int(f["ST"])))
        want = [("GET %s HTTP/1.1" % path if proto == "h1" else
                 "GET http://%s:%d%s HTTP/2.0" % (HOST, p, path), st) for proto, path, st in reqs]
        assert sorted(got) == sorted(want), "got %r, want %r" % (sorted(got), sorted(want))
        s2.stop()

    t.case("option httplog clf: ci - - [%trg +0000] \"request\" ST B \"\" \"\" cp ms "
           "\"ft\" \"b\" \"s\" TR Tw Tc Tr Ta tsc ac fc bc sc rc sq bq", clf)

    def custom():
        p = free_port()
        s3 = t.spillway(cfg_small(p, "fe_custom", ade.port, ['log-format "%ci %ST %b"']), p)
        for path in ("/name", "/status/404", "/status/503"):
            curl_get(p, path)
        curl_get(p, "/name", h2=True)
        want = sorted(["127.0.0.1 200 ade", "127.0.0.1 404 ade", "127.0.0.1 503 ade",
                       "127.0.0.1 200 ade"])
        wait_until(lambda: len(log_lines(s3, "127.0.0.1 ")) >= len(want), 5)
        time.sleep(0.2)
        got = sorted(log_lines(s3, "127.0.0.1 "))
        assert got == want, "lines %r, want %r" % (got, want)
        s3.stop()

    t.case('log-format "%ci %ST %b": exactly "127.0.0.1 200 ade" etc., one per request',
           custom)


if __name__ == "__main__":
    Suite("observability").run(main)
