#!/usr/bin/env python3
"""Servers that close their keep-alive connections on their own (issue 17).

Origins close pooled connections without warning all the time: a keep-alive request limit, an
idle timeout, a restart. The next request must not pay for it: an idempotent request that went
out on a connection the server had just closed is retried on a fresh one, and a request with a
body is never sent twice. sp-testbackend plays the origin; its query parameters and flags choose
how it closes (see its header comment):

  closeafter=MS      close() MS ms after the response (0: at once), no `Connection: close`
  close=header       the response says `Connection: close`, then the server closes
  dropnext=fin|rst   the next request on the connection is read, counted and left unanswered
                     (the race of an idle close with a request in flight, made certain)
  --keepalive-requests K   close() after the K-th response on a connection

Matrix: silent and announced closes; a close delay shorter and longer than the pool's probe
threshold (SP_UP_PROBE_AFTER_MS, 100 ms), around the moment of the next request; 3 and 20
sequential requests on one client connection; GET and HEAD retried; a POST with a body not
replayed (the origin's own counters); TE: trailers kept toward the server, other TE values
dropped (HAProxy 2.6, mux_h1.c: a TE field is sent as `te: trailers` when its value holds the
token `trailers`, else removed); h2load over h2c and HTTP/1.1 against a keep-alive limit and an
idle timeout of a few ms; nbthread 1 and 2.

The small cases are races: each runs several rounds and says how many failed. SP_LONG=1 raises
the round counts (about ten times longer). Every wait is bounded; the default run takes about
ten seconds, SP_LONG=1 about a minute.
"""

import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import send  # noqa: E402
from lib import HOST, Backend, Conn, ProtocolError, SetupError, Suite, config, free_port, \
    request  # noqa: E402
from h2client import H2  # noqa: E402

LONG = os.environ.get("SP_LONG", "") not in ("", "0")
ROUNDS = 100 if LONG else 10  # rounds of each small race case
SWEEP_ROUNDS = 20 if LONG else 3  # rounds of each point of the delay sweeps
LOAD_N = 20000 if LONG else 2000  # h2load requests per run
PROBE_MS = 100  # SP_UP_PROBE_AFTER_MS in net/upstream.h
SHORT_MS = 30  # a close delay shorter than the probe threshold
LONG_MS = 250  # and one longer
BODY = bytes(range(256)) * 16  # 4 KiB POST body


# ---------------------------------------------------------------------------------------------
# Helpers (lib.py is shared; what only this test needs lives here)


def FlagBackend(tmpdir, name, flags, timeout=5.0):
    """An sp-testbackend started with extra command-line flags."""
    return Backend(tmpdir, name, timeout=timeout, flags=flags)


def counters(be):
    """The origin's /stats as a dict (accepts, requests, posts, dropped, quits, conns, ...)."""
    return be.counters()


def delta(c0, c1):
    return {k: c1[k] - c0.get(k, 0) for k in c1}


def sequence(port, paths, gap_ms=0, method="GET", name="b1"):
    """Requests one after the other on one client connection, gap_ms apart. Returns the list
    of outcomes ("200", "502", "closed", ..., "-" for those never sent after the end)."""
    outs = []
    with Conn(port, timeout=5) as c:
        for i, path in enumerate(paths):
            if i and gap_ms:
                time.sleep(gap_ms / 1000.0)
            out, r = send(c, method, path)
            if out == "200" and method == "GET" and path.startswith("/name") \
                    and r.body != (name + "\n").encode():
                out = "200-wrong-body:%r" % r.body[:40]
            outs.append(out)
            if r is None or r.header("Connection") == "close":
                outs += ["-"] * (len(paths) - i - 1)
                break
    return outs


def rounds(n, one):
    """Runs one(i) n times; it returns None when the round passed, else what went wrong.
    Fails with the count and the first few reasons."""
    bad = []
    for i in range(n):
        why = one(i)
        if why is not None:
            bad.append("round %d: %s" % (i, why))
    print("#   %d of %d rounds passed" % (n - len(bad), n), flush=True)
    assert not bad, "%d of %d rounds failed; %s" % (len(bad), n, "; ".join(bad[:4]))


def all_200(port, paths, gap_ms=0, method="GET", name="b1"):
    outs = sequence(port, paths, gap_ms, method, name)
    return None if all(o == "200" for o in outs) else "outcomes %s" % ",".join(outs)


def origin_head(body):
    """The fields of the request head the origin echoed (/headers): [(lower name, value)]."""
    lines = bytes(body).split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    out = []
    for ln in lines:
        n, _, v = ln.decode(errors="replace").partition(":")
        out.append((n.strip().lower(), v.strip()))
    return out


def te_values(body):
    return [v for n, v in origin_head(body) if n == "te"]


def run_tool(cmd, timeout):
    """(rc, stdout text, stderr text); rc -9 on timeout (the child is killed by subprocess)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "", "%s did not finish in %ss" % (cmd[0], timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def h2load(url, n, h1=False):
    """Runs h2load -c10 -m4 -nN; asserts every request succeeded with a 2xx."""
    cmd = ["h2load", "-c10", "-m4", "-n%d" % n] + (["--h1"] if h1 else []) + [url]
    rc, out, err = run_tool(cmd, 60)
    f = lib.parse_h2load(out)
    assert f["text"], "h2load rc=%d, no summary: %s %s" % (rc, out[-1200:], err[-400:])
    print("#   %s" % f["text"], flush=True)
    assert f["succeeded"] == n and f["2xx"] == n, f["text"]
    assert rc == 0, "h2load rc=%d %s" % (rc, err[-400:])


# ---------------------------------------------------------------------------------------------


def main(t):
    # One origin and one spillway per group, used strictly one request at a time, so that the
    # pool of the worker serving a client connection holds at most one live connection: the
    # request after a dropnext= goes out on the connection that drops it.
    b1 = t.backend("b1")
    p1 = free_port()
    t.spillway(config(p1, [("s1", b1.port)], nbthread=1), p1)

    # ---- closes announced and silent, three and twenty requests on one client connection ----

    t.case("control: Connection: close after every response, 3 GETs x%d all 200" % ROUNDS,
           rounds, ROUNDS, lambda i: all_200(p1, ["/name?close=header"] * 3))
    t.case("silent close after every response, 3 GETs x%d all 200" % ROUNDS,
           rounds, ROUNDS, lambda i: all_200(p1, ["/name?closeafter=0"] * 3))
    t.case("silent close after every response, 20 GETs x%d all 200" % max(3, ROUNDS // 3),
           rounds, max(3, ROUNDS // 3), lambda i: all_200(p1, ["/name?closeafter=0"] * 20))
    t.case("silent close after every response, 3 HEADs x%d all 200" % ROUNDS,
           rounds, ROUNDS, lambda i: all_200(p1, ["/name?closeafter=0"] * 3, method="HEAD"))
    t.case("silent close after every other response, 6 GETs x%d all 200" % ROUNDS,
           rounds, ROUNDS, lambda i: all_200(p1, ["/name", "/name?closeafter=0"] * 3))

    def h2_streams(i):
        with H2(p1, timeout=5) as h:
            outs = []
            for _ in range(3):
                st = h.get("/name?closeafter=0", timeout=5)
                outs.append(str(st.status) if st.ended and st.data == b"b1\n"
                            else "status=%s rst=%s" % (st.status, st.rst))
        return None if outs == ["200"] * 3 else "streams %s" % ",".join(outs)

    t.case("h2c client: silent close after every response, 3 streams x%d all 200" % ROUNDS,
           rounds, ROUNDS, h2_streams)

    # ---- close delays around the probe threshold ----

    def sweep(close_ms, gaps):
        bad = []
        for gap in gaps:
            for _ in range(SWEEP_ROUNDS):
                outs = sequence(p1, ["/name?closeafter=%d" % close_ms] * 2, gap_ms=gap)
                if outs != ["200", "200"]:
                    bad.append("gap %d ms: %s" % (gap, ",".join(outs)))
        n = len(gaps) * SWEEP_ROUNDS
        print("#   %d of %d pairs passed" % (n - len(bad), n), flush=True)
        assert not bad, "%d of %d pairs failed; %s" % (len(bad), n, "; ".join(bad[:6]))

    short_gaps = [0, 10, 20, 25, 30, 35, 40, 60, PROBE_MS + 30]
    long_gaps = [PROBE_MS + 50, LONG_MS - 20, LONG_MS - 5, LONG_MS, LONG_MS + 5, LONG_MS + 30]
    t.case("server closes %d ms after the response (< %d ms probe), next GET %s ms later: 200"
           % (SHORT_MS, PROBE_MS, "/".join(map(str, short_gaps))), sweep, SHORT_MS, short_gaps)
    t.case("server closes %d ms after the response (> %d ms probe), next GET %s ms later: 200"
           % (LONG_MS, PROBE_MS, "/".join(map(str, long_gaps))), sweep, LONG_MS, long_gaps)

    # ---- the close crosses the request: retried when idempotent, never replayed otherwise ----

    def dropped_then(mode, method, i):
        c0 = counters(b1)
        with Conn(p1, timeout=5) as c:
            out, _ = send(c, "GET", "/name?dropnext=%s" % mode)
            if out != "200":
                return "the GET before: %s" % out
            out, r = send(c, method, "/name")
        d = delta(c0, counters(b1))
        if d["dropped"] != 1:
            return "origin dropped %d requests, expected 1 (the case did not happen)" % \
                d["dropped"]
        if out != "200":
            return "%s after the dropped one: %s (origin saw %d requests)" % (
                method, out, d["requests"])
        if d["requests"] != 3:
            return "origin saw %d requests, expected 3 (GET, the dropped %s, its retry)" % (
                d["requests"], method)
        return None

    for mode in ("fin", "rst"):
        for method in ("GET", "HEAD"):
            t.case("server reads the next %s and closes without answer (%s): retried, 200 x%d"
                   % (method, mode.upper(), ROUNDS // 2),
                   rounds, ROUNDS // 2, lambda i, m=mode, me=method: dropped_then(m, me, i))

    def post_dropped(mode, i):
        c0 = counters(b1)
        with Conn(p1, timeout=5) as c:
            out, _ = send(c, "GET", "/name?dropnext=%s" % mode)
            if out != "200":
                return "the GET before: %s" % out
            out, r = send(c, "POST", "/sink", body=BODY)
        d = delta(c0, counters(b1))
        print("#   round %d: POST -> %s; origin posts +%d dropped +%d" % (
            i, out, d["posts"], d["dropped"]), flush=True)
        if d["dropped"] != 1:
            return "origin dropped %d requests, expected 1 (the case did not happen)" % \
                d["dropped"]
        if d["posts"] != 1:
            return "the POST reached the origin %d times (replayed)" % d["posts"]
        if out not in ("502", "closed", "reset"):
            return "client got %s for a POST the origin never answered" % out
        return None

    for mode in ("fin", "rst"):
        t.case("server reads a POST and closes without answer (%s): not replayed, origin "
               "got it once x3" % mode.upper(), rounds, 3, lambda i, m=mode: post_dropped(m, i))

    expect_sink = ("bytes=%d sum=%d\n" % (len(BODY), sum(BODY))).encode()

    def post_after_silent_close(gap_ms, i):
        c0 = counters(b1)
        with Conn(p1, timeout=5) as c:
            out, _ = send(c, "GET", "/name?closeafter=0")
            if out != "200":
                return "the GET before: %s" % out
            if gap_ms:
                time.sleep(gap_ms / 1000.0)
            out, r = send(c, "POST", "/sink", body=BODY)
        d = delta(c0, counters(b1))
        if d["posts"] > 1:
            return "the POST reached the origin %d times (replayed)" % d["posts"]
        if out == "200" and (r.body != expect_sink or d["posts"] != 1):
            return "POST answered %r, origin posts +%d" % (r.body[:60], d["posts"])
        if out != "200" and (gap_ms or out not in ("502", "closed", "reset")):
            return "POST %d ms after the server closed: %s (origin posts +%d)" % (
                gap_ms, out, d["posts"])
        return None

    # At once, the server's FIN may still be on its way (a busy machine preempts the origin
    # between its write and its close): the POST may then meet the close, and a 502 is the
    # honest answer. 50 ms later (under the 100 ms probe threshold) the close is there to see.
    t.case("POST right after a silent close: reaches the origin at most once x%d" % ROUNDS,
           rounds, ROUNDS, lambda i: post_after_silent_close(0, i))
    t.case("POST 50 ms after a silent close: sent once on a fresh connection, 200 x%d"
           % ROUNDS, rounds, ROUNDS, lambda i: post_after_silent_close(50, i))

    # ---- TE toward the server ----

    def te_h1(sent, want):
        r = request(p1, "GET", "/headers", headers=[("TE", sent)])
        assert r.status == 200, "status %d" % r.status
        got = te_values(r.body)
        assert got == want, "TE: %s reached the origin as %r, expected %r; head: %r" % (
            sent, got, want, bytes(r.body[:400]))

    t.case("TE: trailers is kept toward the server", te_h1, "trailers", ["trailers"])
    t.case("TE: gzip is dropped", te_h1, "gzip", [])
    t.case("TE: trailers, deflate reaches the server as TE: trailers (HAProxy 2.6)",
           te_h1, "trailers, deflate", ["trailers"])
    t.case("TE: deflate;q=0.5, trailers reaches the server as TE: trailers (HAProxy 2.6)",
           te_h1, "deflate;q=0.5, trailers", ["trailers"])

    def te_h2(sent, want):
        with H2(p1, timeout=5) as h:
            st = h.get("/headers", extra=[("te", sent)], timeout=5)
        if want is None:  # a malformed h2 request: rejected, or forwarded without its TE
            got = te_values(st.data) if st.status == 200 else []
            assert got == [], "te: %s over h2 reached the origin as %r" % (sent, got)
            return
        assert st.status == 200 and st.ended, "status %s rst %s" % (st.status, st.rst)
        got = te_values(st.data)
        assert got == want, "te: %s over h2 reached the origin as %r, expected %r" % (
            sent, got, want)

    t.case("h2c client: te: trailers is kept toward the server", te_h2, "trailers",
           ["trailers"])
    t.case("h2c client: te: gzip never reaches the server", te_h2, "gzip", None)

    # ---- under load: a keep-alive request limit and an idle timeout of a few ms ----

    ka = FlagBackend(t.dir, "ka5", ["--keepalive-requests", "5"])
    t.backends.append(ka)
    ann = FlagBackend(t.dir, "ann5", ["--keepalive-requests", "5", "--announce-close"])
    t.backends.append(ann)
    p_ka1, p_ka2, p_ann, p_idle = free_port(), free_port(), free_port(), free_port()
    t.spillway(config(p_ka1, [("s1", ka.port)], nbthread=1), p_ka1)
    t.spillway(config(p_ka2, [("s1", ka.port)], nbthread=2), p_ka2)
    t.spillway(config(p_ann, [("s1", ann.port)], nbthread=1), p_ann)
    idle = t.backend("idle")
    t.spillway(config(p_idle, [("s1", idle.port)], nbthread=2), p_idle)

    def load(be, port, path, h1):
        c0 = counters(be)
        h2load("http://%s:%d%s" % (HOST, port, path), LOAD_N, h1)
        d = delta(c0, counters(be))
        print("#   origin: %d connections, %d requests, %d silent closes" % (
            d["accepts"] - 1, d["requests"], d["quits"]), flush=True)
        assert d["quits"] > 0 or be is ann, "the origin closed no connection: case not run"

    for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
        t.case("control: keep-alive limit 5 with Connection: close, h2load %s -c10 -m4 -n%d "
               "(nbthread 1): all 2xx" % (proto, LOAD_N), load, ann, p_ann, "/name", h1)
    for nbt, port in ((1, p_ka1), (2, p_ka2)):
        for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
            t.case("silent keep-alive limit 5, h2load %s -c10 -m4 -n%d (nbthread %d): all 2xx"
                   % (proto, LOAD_N, nbt), load, ka, port, "/name", h1)
    for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
        t.case("silent idle timeout 1 ms, h2load %s -c10 -m4 -n%d (nbthread 2): all 2xx"
               % (proto, LOAD_N), load, idle, p_idle, "/name?closeafter=1", h1)

    # ---- nbthread 2: the small cases again ----

    b2 = t.backend("b2")
    p2 = free_port()
    t.spillway(config(p2, [("s1", b2.port)], nbthread=2), p2)
    t.case("nbthread 2: silent close after every response, 3 GETs x%d all 200" % ROUNDS,
           rounds, ROUNDS, lambda i: all_200(p2, ["/name?closeafter=0"] * 3, name="b2"))

    def dropped_get_2(i):
        c0 = counters(b2)
        with Conn(p2, timeout=5) as c:
            out, _ = send(c, "GET", "/name?dropnext=fin")
            if out != "200":
                return "the GET before: %s" % out
            out, _ = send(c, "GET", "/name")
        d = delta(c0, counters(b2))
        if d["dropped"] != 1:
            return "origin dropped %d requests, expected 1" % d["dropped"]
        return None if out == "200" else "GET after the dropped one: %s" % out

    t.case("nbthread 2: next GET dropped by the server: retried, 200 x%d" % (ROUNDS // 2),
           rounds, ROUNDS // 2, dropped_get_2)


if __name__ == "__main__":
    Suite("serverclose").run(main)
