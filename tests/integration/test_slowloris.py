#!/usr/bin/env python3
"""Idle and slow clients, and a descriptor shortage (issue 11, "Fuzzing and faults").

1. Slowloris: IDLE_N (10,000) client connections that never complete a request head, while
   h2load runs a modest load over h2c and HTTP/1.1 beside them:
     silent      connect, send nothing;
     trickle     a request line, then one more header line every TRICKLE_S, never the end;
     partial     a request line and part of a header, once;
     h2 idle     the h2c preface and SETTINGS, then nothing;
     h2 partial  preface, SETTINGS and a HEADERS frame whose CONTINUATION never comes.
   With `timeout http-request 3s` (and `timeout client 30s`) every one of them is closed about
   3 s after it connected: http-request bounds the whole head, however slowly it trickles in
   (HAProxy 2.6, mux_h1.c h1_set_idle_expiration(); mux_h2.c uses http-request for an h2
   connection that has not had a stream yet). A client that sent part of a head gets a 408
   first, as HAProxy sends one (a silent client may get one or not). The load sees 0 errors,
   and spillway's descriptors come back to where they were.
   Then, without `timeout http-request`, IDLE_B silent and partial clients are closed by
   `timeout client` 4s.
   The test process raises its RLIMIT_NOFILE to the hard limit; if the machine cannot hold
   the sockets (hard limit, ephemeral port range), the case prints 'skip' and why.

2. `ulimit -n 1024`: spillway started with RLIMIT_NOFILE 1024:1024 and no `global maxconn`
   (so it derives maxconn 462, two descriptors per connection). FD_CLIENTS (2,000) clients
   connect, FD_RATE (500) a second: four in five send an HTTP/1.1 GET /slow/1000, one in five
   is an h2c connection with 8 such streams. Each stream wants its own server connection, so the
   process really runs out of descriptors (accept and connect both fail with EMFILE) instead
   of only filling maxconn. What must hold: spillway stays up; each descriptor warning is
   printed at most once a second per cause, with "(N similar messages suppressed)" carrying
   the rest; every client gets a whole answer (200, or 503 when no server connection could be
   opened) and none hangs; once the clients are gone a normal request gets its 200.

Every wait is bounded and every loop counted; all traffic is to 127.0.0.1, and only processes
this script started are ended. The default run takes about 40 s (when every check passes);
SP_LONG=1 doubles the clients of phase 2. SP_SLOWLORIS_ONLY=idle|fd runs one phase.
"""

import errno
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import no_sanitizer_report  # noqa: E402
from lib import HOST, Backend, SetupError, Spillway, Suite, free_port, request  # noqa: E402
from h2client import (ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, H2, HEADERS,  # noqa: E402
                      PREFACE, RST_STREAM, SETTINGS, S_ENABLE_PUSH, S_HEADER_TABLE_SIZE,
                      S_INITIAL_WINDOW, hp_literal, status_of)

LONG = os.environ.get("SP_LONG", "") not in ("", "0")
# SP_QUICK (tests/run's sanitizer build): fewer clients; the timeouts are the same
QUICK = os.environ.get("SP_QUICK", "") not in ("", "0")
IDLE_N = 3000 if QUICK else 10000  # phase 1 clients
IDLE_B = 2000  # phase 1b clients (timeout client)
HR = 3.0  # timeout http-request, seconds
TC_B = 4.0  # timeout client of phase 1b
SB_TC = 2.0  # timeout client of the slow-body cases
TRICKLE_S = 1.0
EARLY = 0.15  # a close this much before the timeout is too early (timer granularity)
LATE = 3.0  # a close this much after the timeout is too late (2 busy cores, 10,000 timers)
CONNECTS_IN_FLIGHT = 400  # non-blocking connects pending at once
FD_CLIENTS = 4000 if LONG else 1000 if QUICK else 2000
FD_LIMIT = 1024
FD_H2_EVERY = 5  # one client in FD_H2_EVERY is h2c
FD_H2_STREAMS = 8
FD_SLOW_MS = 1000
FD_RATE = 500  # clients started per second: the shortage lasts several seconds
MIX = (("silent", 4), ("trickle", 3), ("partial", 1), ("h2idle", 1), ("h2partial", 1))

CONFIG_IDLE = """global
    nbthread 2
    maxconn {maxconn}
defaults
    mode http
    timeout client {tc}
    timeout server {ts}
    timeout connect 2s
{hr}
frontend fe
    bind 127.0.0.1:{port}
    maxconn {maxconn}
    backlog 4096
    default_backend be
backend be
    server s1 127.0.0.1:{bport}
"""

CONFIG_FD = """global
    nbthread 1
defaults
    mode http
    timeout client 20s
    timeout server 20s
    timeout connect 2s
    timeout http-request 10s
frontend fe
    bind 127.0.0.1:{port}
    backlog 4096
    default_backend be
backend be
    server s1 127.0.0.1:{bport}
"""


# ---------------------------------------------------------------------------------------------
# Helpers


def FlagBackend(tmpdir, name, flags, timeout=5.0):
    """An sp-testbackend started with extra command-line flags."""
    return Backend(tmpdir, name, timeout=timeout, flags=flags)


class LimitedSpillway(Spillway):
    """lib.Spillway started with RLIMIT_NOFILE soft = hard = `nofile` (as `ulimit -n`)."""

    def __init__(self, tmpdir, config, port, nofile, timeout=10.0):
        if not lib.SPILLWAY or not os.access(lib.SPILLWAY, os.X_OK):
            raise SetupError("SPILLWAY=%r is not an executable" % lib.SPILLWAY)
        self.port = port
        self.cfg_path = os.path.join(tmpdir, "spillway-%d.cfg" % time.monotonic_ns())
        with open(self.cfg_path, "w") as f:
            f.write(config)
        self.log_path = self.cfg_path[:-4] + ".log"
        self._log = open(self.log_path, "wb")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([lib.SPILLWAY, "-f", self.cfg_path], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=limit)
        lib._started.append(self.proc)
        self.pid = self.proc.pid
        self.wait_ready(timeout)


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def raise_nofile():
    """Raises this process's soft RLIMIT_NOFILE to the hard limit; returns the new soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        return soft
    return want


def port_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
        return int(hi) - int(lo) + 1
    except (OSError, ValueError):
        return 28232


def h2_block(path):
    return b"".join(hp_literal(n, v) for n, v in (
        (":method", "GET"), (":scheme", "http"), (":path", path),
        (":authority", "spillway.test")))


def h2_settings(s):
    return H2.frame(SETTINGS, 0, 0, b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big")
                                            for k, v in s.items()))


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


class Client:
    __slots__ = ("sock", "fd", "kind", "t_start", "t_conn", "t_close", "end", "data", "sent",
                 "next_send", "pieces", "cerr")

    def __init__(self, kind):
        self.kind = kind
        self.sock = None
        self.t_conn = self.t_close = None
        self.end = None  # "eof", "rst", "connect-error"
        self.data = b""
        self.sent = 0
        self.next_send = None
        self.pieces = []
        self.cerr = None


class Loop:
    """Many client sockets on one epoll, driven without threads. on_connect(c) returns the
    bytes to send first; on_data(c, bytes) sees what arrives; a client ends at EOF or reset."""

    def __init__(self, port, rate=None):
        self.port = port
        self.rate = rate  # clients started per second at most (None: as fast as possible)
        self.t_first = None
        self.started = 0
        self.ep = select.epoll()
        self.by_fd = {}
        self.pending = []  # clients not started yet
        self.connecting = 0
        self.open = 0

    def add(self, c):
        self.pending.append(c)

    def _start(self, c, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        c.sock, c.fd, c.t_start = s, s.fileno(), now
        err = s.connect_ex((HOST, self.port))
        if err not in (0, errno.EINPROGRESS):
            c.end, c.cerr, c.t_close = "connect-error", os.strerror(err), now
            s.close()
            return
        self.by_fd[c.fd] = c
        self.ep.register(c.fd, select.EPOLLOUT)
        self.connecting += 1
        self.open += 1

    def _close(self, c, end, now):
        c.end, c.t_close = end, now
        try:
            self.ep.unregister(c.fd)
        except OSError:
            pass
        del self.by_fd[c.fd]
        c.sock.close()
        self.open -= 1

    def send(self, c, data):
        try:
            c.sock.send(data)
            c.sent += len(data)
        except (BlockingIOError, InterruptedError):
            pass  # tiny writes to a fresh socket: never short in practice; dropped if so
        except OSError:
            pass  # the close shows up as an event

    def run(self, until, on_connect, on_data=None, on_tick=None, after_last=None):
        """Runs until no client is open and none pending, or `until` (monotonic), or
        `after_last` seconds after the last connect completed."""
        last_conn = None
        for _ in range(10000000):
            now = time.monotonic()
            if now >= until:
                return False
            if after_last is not None and last_conn is None and not self.pending and \
                    not self.connecting:
                last_conn = now
                until = min(until, now + after_last)
            if self.t_first is None:
                self.t_first = now
            allowed = len(self.pending) if self.rate is None else \
                int((now - self.t_first) * self.rate) + 1 - self.started
            while self.pending and self.connecting < CONNECTS_IN_FLIGHT and allowed > 0:
                self._start(self.pending.pop(0), now)
                self.started += 1
                allowed -= 1
            if not self.pending and not self.open:
                return True
            if on_tick:
                on_tick(now)
            events = self.ep.poll(0.02, 1024)
            now = time.monotonic()
            for fd, ev in events:
                c = self.by_fd.get(fd)
                if c is None:
                    continue
                if c.t_conn is None:
                    self.connecting -= 1
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        c.cerr = os.strerror(err)
                        self._close(c, "connect-error", now)
                        continue
                    c.t_conn = now
                    self.ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
                    first = on_connect(c, now)
                    if first:
                        self.send(c, first)
                    continue
                for _ in range(64):
                    try:
                        d = c.sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except ConnectionResetError:
                        self._close(c, "rst", now)
                        break
                    except OSError:
                        self._close(c, "rst", now)
                        break
                    if not d:
                        self._close(c, "eof", now)
                        break
                    if len(c.data) < 4096:
                        c.data += d[:4096]
                    if on_data:
                        on_data(c, d, now)
                        if c.end:
                            break
        return False


def h2load_bg(url, duration, h1, out_path):
    cmd = ["h2load", "-c4", "-m2", "--rps", "20", "-D", str(int(duration))] + \
        (["--h1"] if h1 else []) + [url]
    f = open(out_path, "wb")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lib._started.append(p)
    return p, f


def h2load_result(p, f, out_path, timeout):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
    f.close()
    with open(out_path, "rb") as g:
        out = g.read().decode(errors="replace")
    f = lib.parse_h2load(out)
    assert f["text"], "h2load rc=%s, no summary: %s" % (p.returncode, out[-1500:])
    print("#   %s" % f["text"], flush=True)
    return ([f[k] for k in lib.H2LOAD_KEYS[:7]], [f[k] for k in lib.H2LOAD_KEYS[7:]],
            f["text"])


# ---------------------------------------------------------------------------------------------
# Phase 1: slowloris


def idle_phase(t, b1, n, kinds, tc, hr, label, with_load):
    """n idle clients of the given kinds; returns after checking them."""
    port = free_port()
    maxconn = n + 1000
    sp = t.spillway(CONFIG_IDLE.format(
        port=port, bport=b1.port, maxconn=maxconn, tc="%dms" % int(tc * 1000), ts="5s",
        hr="    timeout http-request %dms" % int(hr * 1000) if hr else ""), port)
    limit = hr if hr else tc
    time.sleep(0.2)
    fd0 = fd_count(sp.pid)
    loads = []
    if with_load:
        dur = 4 + limit + 2
        for proto, h1 in (("h2c", False), ("HTTP/1.1", True)):
            path = os.path.join(t.dir, "h2load-%s-%d.out" % (label, h1))
            loads.append((proto, h2load_bg("http://%s:%d/name" % (HOST, port), dur, h1, path),
                          path, dur))

    weights = sum(w for k, w in kinds)
    loop = Loop(port)
    clients = []
    for i in range(n):
        k = i % weights
        for kind, w in kinds:
            if k < w:
                break
            k -= w
        c = Client(kind)
        clients.append(c)
        loop.add(c)

    trickle_next = [time.monotonic() + TRICKLE_S]

    def on_connect(c, now):
        if c.kind == "silent":
            return b""
        if c.kind == "partial":
            return b"GET /name HTTP/1.1\r\nHost: spillway.test\r\nX-Partial: "
        if c.kind == "trickle":
            return b"GET /name HTTP/1.1\r\n"
        if c.kind == "h2idle":
            return PREFACE + h2_settings({S_HEADER_TABLE_SIZE: 0, S_ENABLE_PUSH: 0})
        # h2partial: a HEADERS frame without END_HEADERS; the CONTINUATION never comes
        block = h2_block("/name")
        return PREFACE + h2_settings({S_HEADER_TABLE_SIZE: 0, S_ENABLE_PUSH: 0}) + \
            H2.frame(HEADERS, END_STREAM, 1, block[:len(block) // 2])

    def on_tick(now):
        if now < trickle_next[0]:
            return
        trickle_next[0] = now + TRICKLE_S
        for c in list(loop.by_fd.values()):
            if c.kind == "trickle" and c.t_conn is not None:
                loop.send(c, b"X-Trickle-%d: %d\r\n" % (c.sent, c.sent))

    t0 = time.monotonic()
    done = loop.run(t0 + 40 + limit, on_connect, on_tick=on_tick, after_last=limit + LATE + 1)
    t_all = time.monotonic() - t0
    connected = [c for c in clients if c.t_conn is not None]
    print("#   %s: %d clients, %d connected, all ended: %s, in %.1fs" % (
        label, n, len(connected), done, t_all), flush=True)

    # the load beside them
    load_errors = []
    for proto, (p, f), path, dur in loads:
        try:
            (total, started, ndone, ok, failed, errored, tmo), codes, text = \
                h2load_result(p, f, path, dur + 30)
        except AssertionError as e:
            load_errors.append("%s: %s" % (proto, e))
            continue
        want = int(dur * 4 * 20 * 0.5)  # 4 clients x 20 req/s, at least half of it done
        if failed or errored or tmo or codes[0] != ok or ok < want:
            load_errors.append("%s: %s (want 0 failed and at least %d 2xx)" % (
                proto, text, want))

    def check_closed():
        problems = []
        by_kind = {}
        for c in clients:
            by_kind.setdefault(c.kind, []).append(c)
        for kind, cs in sorted(by_kind.items()):
            ce = [c for c in cs if c.end == "connect-error"]
            still = [c for c in cs if c.end is None]
            lat = [c.t_close - c.t_conn for c in cs if c.t_conn is not None and c.end]
            early = [x for x in lat if x < limit - EARLY]
            late = [x for x in lat if x > limit + LATE]
            got408 = sum(1 for c in cs if c.data.startswith(b"HTTP/1.1 408"))
            other = [c.data[:60] for c in cs if c.data and kind in ("silent", "partial",
                                                                    "trickle")
                     and not c.data.startswith(b"HTTP/1.1 408")]
            rst = sum(1 for c in cs if c.end == "rst")
            print("#     %-9s %5d: closed after min %.2f / median %.2f / max %.2f s; %d with a "
                  "408, %d reset, %d connect errors, %d still open" % (
                      kind, len(cs), min(lat) if lat else -1, pct(lat, 50),
                      max(lat) if lat else -1, got408, rst, len(ce), len(still)), flush=True)
            if ce:
                problems.append("%s: %d connects failed (%s)" % (kind, len(ce), ce[0].cerr))
            if still:
                problems.append("%s: %d still open %.1fs after the last connect, timeout %.1fs" %
                                (kind, len(still), limit + LATE + 1, limit))
            if early:
                problems.append("%s: %d closed before the %.1fs timeout (first after %.2fs)" % (
                    kind, len(early), limit, min(early)))
            if late:
                problems.append("%s: %d closed more than %.1fs after the %.1fs timeout (max "
                                "%.2fs)" % (kind, len(late), LATE, limit, max(late)))
            if kind in ("partial", "trickle") and got408 < len(cs) - len(ce):
                problems.append("%s: %d of %d got no 408 before the close (HAProxy sends one "
                                "for a partial head)%s" % (
                                    kind, len(cs) - len(ce) - got408, len(cs),
                                    "; other bytes: %r" % other[0] if other else ""))
        return problems

    problems = check_closed()
    for c in clients:
        if c.end is None:
            loop._close(c, "given up", time.monotonic())
    time.sleep(0.5)
    fd1 = fd_count(sp.pid)
    print("#   spillway descriptors: %s before, %s after" % (fd0, fd1), flush=True)
    if fd0 is not None and fd1 is not None and fd1 > fd0 + 20:
        problems.append("spillway holds %d descriptors after, %d before" % (fd1, fd0))
    if sp.proc.poll() is not None:
        problems.append("spillway exited with %s" % sp.proc.returncode)
    sp.stop()
    return problems, load_errors


def phase_idle(t, b1):
    soft = raise_nofile()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE_N + 1000 + 1100  # spillway: clients, the server pool, its own; here: less
    ports = port_range()
    if (hard != resource.RLIM_INFINITY and hard < need) or soft < IDLE_N + 200 or \
            ports < IDLE_N + 2000:
        t.ok("skip - %d idle clients: this machine cannot hold them (RLIMIT_NOFILE soft %d, "
             "hard %s, need %d; %d ephemeral ports)" % (IDLE_N, soft, hard, need, ports))
    else:
        problems, load_errors = idle_phase(t, b1, IDLE_N, MIX, 30.0, HR, "slowloris", True)
        t.check("%d slowloris clients (silent, trickling, partial, h2c idle and partial) all "
                "closed %.0f-%.0f s after connecting by timeout http-request %.0fs" % (
                    IDLE_N, HR, HR + LATE, HR), not problems, "; ".join(problems))
        t.check("h2load h2c and HTTP/1.1 beside %d slowloris clients: 0 errors, all 2xx"
                % IDLE_N, not load_errors, "; ".join(load_errors))
    if (hard != resource.RLIM_INFINITY and hard < IDLE_B + 2100) or soft < IDLE_B + 200:
        t.ok("skip - %d idle clients: RLIMIT_NOFILE soft %d, hard %s" % (IDLE_B, soft, hard))
        return
    problems, _ = idle_phase(t, b1, IDLE_B, (("silent", 1), ("partial", 1)), TC_B, None,
                             "timeout-client", False)
    t.check("no timeout http-request: %d silent and partial clients closed by timeout client "
            "%.0fs" % (IDLE_B, TC_B), not problems, "; ".join(problems))




# ---------------------------------------------------------------------------------------------
# Phase 2: out of descriptors


class LogTail:
    """Reads a log file as it grows and stamps each new line with the time it was seen."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.part = b""
        self.lines = []  # (monotonic, text)

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return
        self.off += len(data)
        data = self.part + data
        *full, self.part = data.split(b"\n")
        now = time.monotonic()
        for ln in full:
            self.lines.append((now, ln.decode(errors="replace")))


def fd_cause(line):
    """The cause of a descriptor warning (its text with numbers and counts removed), or None."""
    if "Too many open files" not in line and "descriptor" not in line.lower():
        return None
    text = re.sub(r"\(\d+ similar messages? suppressed\)", "", line)
    return re.sub(r"\d+", "N", text).strip()


def phase_fd(t, b1_fd):
    soft = raise_nofile()
    if soft < FD_CLIENTS + 300:
        t.ok("skip - %d clients against ulimit -n %d: this process can open only %d "
             "descriptors" % (FD_CLIENTS, FD_LIMIT, soft))
        return
    port = free_port()
    sp = LimitedSpillway(t.dir, CONFIG_FD.format(port=port, bport=b1_fd.port), port, FD_LIMIT)
    t.spillways.append(sp)
    tail = LogTail(sp.log_path)
    started_log = sp.log()
    m = re.search(r"maxconn (\d+)", started_log)
    print("#   spillway under RLIMIT_NOFILE %d: %s" % (
        FD_LIMIT, started_log.strip().splitlines()[-1] if started_log.strip() else "?"),
        flush=True)

    loop = Loop(port, rate=FD_RATE)
    clients = []
    for i in range(FD_CLIENTS):
        c = Client("h2" if i % FD_H2_EVERY == 0 else "h1")
        clients.append(c)
        loop.add(c)
    path = "/slow/%d" % FD_SLOW_MS
    streams = {}  # client -> {sid: [status, ended, rst]}
    h2buf = {}

    def on_connect(c, now):
        if c.kind == "h1":
            return ("GET %s HTTP/1.1\r\nHost: spillway.test\r\nConnection: close\r\n\r\n"
                    % path).encode()
        out = PREFACE + h2_settings({S_HEADER_TABLE_SIZE: 0, S_ENABLE_PUSH: 0,
                                     S_INITIAL_WINDOW: 1 << 20})
        st = {}
        for k in range(FD_H2_STREAMS):
            sid = 1 + 2 * k
            st[sid] = [None, False, None]
            out += H2.frame(HEADERS, END_HEADERS | END_STREAM, sid, h2_block(path))
        streams[c] = st
        h2buf[c] = b""
        return out

    def on_data(c, d, now):
        if c.kind != "h2":
            return  # HTTP/1.1: read to the close (Connection: close)
        buf = h2buf[c] + d
        st = streams[c]
        for _ in range(100000):
            if len(buf) < 9:
                break
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            ftype, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
            payload = buf[9:9 + n]
            buf = buf[9 + n:]
            if ftype == SETTINGS and not flags & ACK:
                loop.send(c, H2.frame(SETTINGS, ACK, 0))
            elif ftype == HEADERS and sid in st:
                if st[sid][0] is None:
                    st[sid][0] = status_of(payload)
                if flags & END_STREAM:
                    st[sid][1] = True
            elif ftype == DATA and sid in st and flags & END_STREAM:
                st[sid][1] = True
            elif ftype == RST_STREAM and sid in st:
                st[sid][2] = int.from_bytes(payload[:4], "big")
        h2buf[c] = buf
        if all(v[1] or v[2] is not None for v in st.values()):
            loop.send(c, H2.frame(GOAWAY, 0, 0, b"\0\0\0\0\0\0\0\0"))
            loop._close(c, "done", now)

    alive_checks = [0, 0]

    def on_tick(now):
        tail.poll()
        if now - on_tick.last >= 0.5:
            on_tick.last = now
            alive_checks[0] += 1
            if sp.proc.poll() is not None:
                alive_checks[1] += 1
    on_tick.last = 0.0

    t0 = time.monotonic()
    bound = 45.0
    done = loop.run(t0 + bound, on_connect, on_data, on_tick)
    took = time.monotonic() - t0
    for _ in range(10):
        tail.poll()
        time.sleep(0.05)

    # outcomes
    h1 = [c for c in clients if c.kind == "h1"]
    h1_status = {}
    for c in h1:
        mm = re.match(rb"HTTP/1\.[01] (\d{3}) ", c.data)
        key = int(mm.group(1)) if mm else ("%s, no response" % c.end)
        h1_status[key] = h1_status.get(key, 0) + 1
    h2_out = {}
    for c in clients:
        if c.kind != "h2":
            continue
        for sid, (status, ended, rst) in streams.get(c, {}).items():
            key = status if ended and status else ("rst %s" % rst if rst is not None else
                                                   "%s, no answer" % c.end)
            h2_out[key] = h2_out.get(key, 0) + 1
    print("#   %d clients in %.1fs (all ended: %s); HTTP/1.1: %r; h2c streams: %r" % (
        FD_CLIENTS, took, done, h1_status, h2_out), flush=True)

    # the log
    warn = [(ts, ln) for ts, ln in tail.lines if fd_cause(ln)]
    causes = {}
    for ts, ln in warn:
        causes.setdefault(fd_cause(ln), []).append((ts, ln))
    suppressed = sum(int(x) for _, ln in warn
                     for x in re.findall(r"\((\d+) similar messages? suppressed\)", ln))
    for cause, items in causes.items():
        print("#   %d line(s): %s" % (len(items), items[0][1][:160]), flush=True)
    print("#   %d similar messages suppressed in all" % suppressed, flush=True)

    t.check("ulimit -n %d, %d clients: spillway stays up" % (FD_LIMIT, FD_CLIENTS),
            sp.proc.poll() is None and alive_checks[1] == 0,
            "spillway exited with %s" % sp.proc.returncode)
    t.check("ulimit -n %d: the descriptor shortage really happened (a warning was logged)"
            % FD_LIMIT, bool(warn),
            "no descriptor warning in the log; derived maxconn %s; outcomes %r %r" % (
                m.group(1) if m else "?", h1_status, h2_out))
    bad_rate = []
    for cause, items in causes.items():
        for (a, _), (b, ln) in zip(items, items[1:]):
            if b - a < 0.8:
                bad_rate.append("%.2fs apart: %s" % (b - a, ln[:120]))
    t.check("descriptor warnings at most once a second per cause", not bad_rate,
            "; ".join(bad_rate[:4]))
    # the first line of a cause has nothing to report yet; a later one reports what the
    # second before it held back
    later = [ln for items in causes.values() for _, ln in items[1:]]
    t.check("descriptor warnings after the first carry the count of those suppressed",
            not later or any("similar message" in ln for ln in later),
            "%d later warnings, none says how many were suppressed: %r" % (
                len(later), later[:2]))
    bad_h1 = {k: v for k, v in h1_status.items() if k not in (200, 503)}
    bad_h2 = {k: v for k, v in h2_out.items() if k not in (200, 503)}
    t.check("every client got a whole answer (200, or 503 without a server connection), none "
            "hung (bound %.0fs)" % bound, done and not bad_h1 and not bad_h2,
            "HTTP/1.1 %r, h2c streams %r, all ended: %s" % (h1_status, h2_out, done))
    t.check("some requests got through (200)", h1_status.get(200, 0) + h2_out.get(200, 0) > 0,
            "no 200 at all: %r %r" % (h1_status, h2_out))

    def accepts_again():
        last = None
        for _ in range(10):
            try:
                r = request(port, "GET", "/name", timeout=5)
                last = "%d %r" % (r.status, r.body[:40])
                if r.status == 200 and r.body == b"fd\n":
                    return
            except Exception as e:  # noqa: BLE001
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.3)
        assert False, "no 200 after the clients left: last %s" % last

    t.case("descriptors free again: a normal request gets its 200", accepts_again)
    sp.stop()


def phase_slow_body(t, b1):
    """Slow bodies (a head whole, its body never coming) are closed by timeout client."""
    port = free_port()
    t.spillway(CONFIG_IDLE.format(port=port, bport=b1.port, maxconn=1000,
                                  tc="%dms" % int(SB_TC * 1000), ts="10s",
                                  hr="    timeout http-request 1s"),
               port)

    def h2_body_never():
        with H2(port, timeout=5) as h:
            fields = h.req_fields("POST", "/sink", extra=[("content-length", "100")])
            sid = h.new_stream()
            t0 = time.monotonic()
            h.send(h.headers_frames(sid, fields, end_stream=False))
            st = h.streams[sid]
            h.pump(lambda: st.done() or h.eof, SB_TC + LATE + 0.5)
            t_stream = time.monotonic() - t0
            print("#   h2c POST, body never sent: stream status %s END_STREAM %s RST_STREAM %s "
                  "after %.2fs" % (st.status, st.ended, st.rst, t_stream), flush=True)
            assert st.done() and t_stream < SB_TC + LATE, \
                "the stream had not ended after %.2fs; timeout client is %.0fs, timeout server " \
                "10s (HAProxy: the client timeout aborts it with a 408)" % (t_stream, SB_TC)
            h.pump(lambda: h.eof, SB_TC + LATE + 0.5)
            t_conn = time.monotonic() - t0
            print("#   connection closed %s after %.2fs" % (h.eof, t_conn), flush=True)
            assert h.eof, "the connection is still open %.2fs later (status %s END_STREAM %s " \
                "RST_STREAM %s)" % (t_conn, st.status, st.ended, st.rst)

    def h1_body_stops():
        with socket.create_connection((HOST, port), timeout=SB_TC + 12) as s:
            s.sendall(b"POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
            t0 = time.monotonic()
            got = b""
            for _ in range(1000):
                try:
                    d = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not d:
                    break
                got += d
            took = time.monotonic() - t0
        print("#   HTTP/1.1 POST, 3 of 100 body bytes: %r, closed after %.2fs" % (got[:40], took),
              flush=True)
        assert SB_TC - EARLY <= took < SB_TC + LATE, "closed after %.2fs, timeout client %.0fs" % (
            took, SB_TC)

    t.case("h2c: a POST whose body never comes: the stream ends by timeout client %.0fs, then "
           "the connection closes" % SB_TC, h2_body_never)
    t.case("HTTP/1.1: a POST whose body stops: closed by timeout client %.0fs" % SB_TC,
           h1_body_stops)


def main(t):
    only = os.environ.get("SP_SLOWLORIS_ONLY", "")  # "idle" or "fd": one phase, for debugging
    if QUICK and not only:
        only = "fd"  # the sanitizer build: the descriptor shortage; the timeouts are the normal build's
    b1 = t.backend("b1")
    if only != "fd":
        phase_idle(t, b1)
        phase_slow_body(t, b1)
    if only != "idle":
        b_fd = FlagBackend(t.dir, "fd", ["--max-conns", "6000"])
        t.backends.append(b_fd)
        phase_fd(t, b_fd)
    t.case("no sanitizer report from spillway or the backends", no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("slowloris").run(main)
