"""Helpers for spillway's integration tests (Python 3 standard library only).

Every wait here is bounded in time and every loop in count; every process a test starts is
remembered by PID and ended at exit (or by the test) — nothing else is ever signalled. All
traffic goes to 127.0.0.1.

Environment: SPILLWAY = path to the proxy binary, BACKEND = path to sp-testbackend (meson
passes both).
"""

import atexit
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SPILLWAY = os.environ.get("SPILLWAY", "")
BACKEND = os.environ.get("BACKEND", "")
HOST = "127.0.0.1"

_started = []  # subprocess.Popen objects this test started


class SetupError(Exception):
    """A process the test needs did not start; the message says why."""


def _cleanup():
    for p in _started:
        if p.poll() is None:
            try:
                p.kill()  # by PID, only processes this script started
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_cleanup)


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


_ports_given = set()
# Ports handed out by every test process running now (meson runs the light scripts two at a
# time): a file per port, made with O_EXCL, holding the owner's PID, removed at its exit. A
# port picked by bind(0) and closed is free until its user binds it; the claim keeps a
# script running beside this one from being handed the same port in that window.
_PORT_DIR = os.path.join(tempfile.gettempdir(), "spillway-test-ports")
_claims = []


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _claim(port):
    """Whether this process now owns `port` among the test processes (a stale claim, left by
    a process that died, is taken over)."""
    path = os.path.join(_PORT_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip() or "0")
            except (OSError, ValueError):
                owner = 0
            if owner == os.getpid() or (owner and _pid_alive(owner)):
                return False
            try:
                os.unlink(path)  # its owner is gone
            except OSError:
                pass
            continue
        except OSError:
            return True  # no claims directory to write in: bind(0) alone, as before
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        _claims.append(path)
        return True
    return False


@atexit.register
def _release_claims():
    for path in _claims:
        try:
            os.unlink(path)
        except OSError:
            pass


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago, never one handed out before in this
    process (two roles on one port, say a frontend and a dead server, would make a loop)."""
    try:
        os.makedirs(_PORT_DIR, exist_ok=True)
    except OSError:
        pass
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _ports_given and _claim(port):
            _ports_given.add(port)
            return port
    raise SetupError("no fresh free port after 100 tries")


def closed_port():
    """A port with nothing listening on it (connect gets ECONNREFUSED)."""
    return free_port()


def stats_cli(sock, cmd, timeout=3.0):
    """One command line on the stats socket at path `sock`; its whole answer. The socket may
    open a moment after the frontend's port (which is what a start waits for): the connect
    is retried, bounded."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        for attempt in range(150):
            try:
                s.connect(sock)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                if attempt == 149:
                    raise
                time.sleep(0.02)
        s.sendall(cmd.encode() + b"\n")
        out = b""
        for _ in range(10000):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def wait_until(pred, timeout, interval=0.02):
    """Poll pred() until true or timeout seconds pass. Returns the last pred() value."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
    return pred()


def can_connect(port, timeout=0.2):
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def proc_mem(pid):
    """(VmRSS, VmHWM) of a process in KiB, or (None, None) if it is gone."""
    rss = hwm = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def pattern_bytes(n, offset=0):
    """The /size/N body: byte i is 'a' + i % 26."""
    alpha = b"abcdefghijklmnopqrstuvwxyz"
    reps = (n + offset % 26) // 26 + 1
    return (alpha * reps)[offset % 26 : offset % 26 + n]


class Backend:
    """One sp-testbackend process."""

    def __init__(self, tmpdir, name="b1", port=0, timeout=5.0, flags=(), host=None):
        """`flags`: extra command-line flags (--keepalive-requests K, --random-close PCT...);
        `host`: another loopback address to listen on (127.0.0.2...), HOST when None."""
        if not BACKEND or not os.access(BACKEND, os.X_OK):
            raise SetupError("BACKEND=%r is not an executable" % BACKEND)
        self.name = name
        self.log_path = os.path.join(tmpdir, "backend-%s-%d.log" % (name, time.monotonic_ns()))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [BACKEND, "--listen", "%s:%d" % (host or HOST, port), "--name", name] + list(flags),
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        _started.append(self.proc)
        self.port = self._read_port(timeout)

    def counters(self):
        """The origin's /stats as a dict (accepts, requests, posts, dropped, quits, conns...)."""
        r = request(self.port, "GET", "/stats")
        return {k: int(v) for k, v in (kv.split("=") for kv in r.body.decode().split())}

    def _read_port(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf and len(buf) < 4096:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        line = buf.split(b"\n")[0].decode(errors="replace")
        if not line.startswith("listening "):
            self.stop()
            raise SetupError("sp-testbackend did not start: %r; %s" % (line, self.log()))
        return int(line.rsplit(":", 1)[1])

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode(errors="replace")
        except OSError:
            return ""

    def stats(self):
        """(accepts, requests) from GET /stats, asked directly (not through the proxy)."""
        r = request(self.port, "GET", "/stats")
        fields = dict(kv.split("=") for kv in r.body.decode().split())
        return int(fields["accepts"]), int(fields["requests"])

    def stop(self, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


class Spillway:
    """One spillway process started on a config file; stdout and stderr go to a log file."""

    def __init__(self, tmpdir, config, port=None, timeout=10.0, args=None, wait=True):
        if not SPILLWAY or not os.access(SPILLWAY, os.X_OK):
            raise SetupError("SPILLWAY=%r is not an executable" % SPILLWAY)
        self.port = port
        self.cfg_path = os.path.join(tmpdir, "spillway-%d.cfg" % time.monotonic_ns())
        with open(self.cfg_path, "w") as f:
            f.write(config)
        self.log_path = self.cfg_path[:-4] + ".log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [SPILLWAY] + (args or []) + ["-f", self.cfg_path],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        _started.append(self.proc)
        self.pid = self.proc.pid
        if wait and port is not None:
            self.wait_ready(timeout)

    def wait_ready(self, timeout):
        """Poll connect() on the frontend port, bounded; fail at once if spillway exits."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 2):
            if self.proc.poll() is not None:
                raise SetupError(
                    "spillway exited with %d before listening on %d:\n%s"
                    % (self.proc.returncode, self.port, self.log())
                )
            if can_connect(self.port, timeout=0.2):
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        self.stop()
        raise SetupError(
            "spillway not listening on %d after %.1fs:\n%s" % (self.port, timeout, self.log())
        )

    def log(self, limit=8000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-limit:].decode(errors="replace")
        except OSError:
            return ""

    def mem(self):
        return proc_mem(self.pid)

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        """The exit status, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.wait_exit(timeout)
        self._log.close()


def config(fe_port, servers, nbthread=1, global_extra="", defaults_extra="", fe_extra="",
           be_extra="", timeouts=None, forwardfor=True):
    """A spillway config: one frontend on fe_port, one backend with servers [(name, port)]."""
    t = {"client": "5s", "server": "5s", "connect": "2s"}
    t.update(timeouts or {})
    lines = ["global", "    nbthread %d" % nbthread]
    lines += ["    " + s for s in global_extra.splitlines() if s.strip()]
    lines += ["defaults", "    mode http"]
    lines += ["    timeout %s %s" % (k, v) for k, v in t.items()]
    lines += ["    " + s for s in defaults_extra.splitlines() if s.strip()]
    lines += ["frontend fe", "    bind %s:%d" % (HOST, fe_port)]
    if forwardfor:
        lines.append("    option forwardfor")
    lines += ["    " + s for s in fe_extra.splitlines() if s.strip()]
    lines += ["    default_backend be", "backend be"]
    lines += ["    " + s for s in be_extra.splitlines() if s.strip()]
    lines += ["    server %s %s:%d" % (n, HOST, p) for n, p in servers]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Raw HTTP/1.1 client


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []  # [(name, value)] in order, names as sent
        self.head = b""
        self.body = b""
        self.interim = []  # 1xx statuses seen before the final response

    def header(self, name):
        """The first value of header `name` (case-insensitive), or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return "<Response %d %r, %d body bytes>" % (self.status, self.reason, len(self.body))


class ProtocolError(Exception):
    pass


class Conn:
    """A client connection with a read buffer, so pipelined responses can be read one by one."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Read more into buf. False on EOF. Raises socket.timeout past the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("response not complete in time")
        self.sock.settimeout(min(left, self.timeout))
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            raise socket.timeout("no data from the server for %.1fs" % min(left, self.timeout))
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self, deadline, limit=65536 + 1024):
        for _ in range(100000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                return line
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            if not self._fill(deadline):
                raise ProtocolError("connection closed in the middle of a line")
        raise ProtocolError("too many reads")

    def _exact(self, n, deadline, sink=None):
        """Read exactly n bytes; with sink, stream them to sink(bytes) instead of returning."""
        out = []
        got = 0
        while got < n:
            if not self.buf and not self._fill(deadline):
                raise ProtocolError("connection closed after %d of %d body bytes" % (got, n))
            take = self.buf[: n - got]
            self.buf = self.buf[len(take) :]
            got += len(take)
            if sink:
                sink(take)
            else:
                out.append(take)
        return b"".join(out)

    def read_response(self, head_request=False, timeout=None, sink=None):
        """Read one complete response (1xx interim ones are recorded and skipped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        r = Response()
        for _ in range(10):
            head = []
            line = self._line(deadline)
            parts = line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or len(parts[1]) != 3 \
                    or not parts[1].isdigit():
                raise ProtocolError("bad status line %r" % line[:100])
            r.version = parts[0].decode()
            r.status = int(parts[1])
            r.reason = parts[2].decode(errors="replace") if len(parts) > 2 else ""
            head.append(line)
            r.headers = []
            for _ in range(1000):
                line = self._line(deadline)
                head.append(line)
                if not line:
                    break
                name, sep, value = line.partition(b":")
                if not sep:
                    raise ProtocolError("bad header line %r" % line[:100])
                r.headers.append((name.decode(errors="replace"), value.strip().decode(errors="replace")))
            r.head = b"\r\n".join(head) + b"\r\n"
            if 100 <= r.status < 200:
                r.interim.append(r.status)
                continue
            break
        chunks = []
        put = sink or chunks.append
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if head_request or r.status in (204, 304):
            pass
        elif "chunked" in te:
            for _ in range(10000000):
                size_line = self._line(deadline)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    for _ in range(1000):
                        if not self._line(deadline):
                            break
                    break
                self._exact(size, deadline, put)
                if self._exact(2, deadline) != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
        elif cl is not None:
            self._exact(int(cl), deadline, put)
        else:
            for _ in range(100000000):
                if self.buf:
                    put(self.buf)
                    self.buf = b""
                if not self._fill(deadline):
                    break
        r.body = b"".join(chunks)
        return r

    def wait_closed(self, timeout):
        """True if the peer closes (EOF or reset) within timeout seconds; unread data is dropped."""
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not data:
                return True
        return False


def request(port, method, path, headers=None, body=None, timeout=10.0, version="HTTP/1.1",
            close=True):
    """One request on a fresh connection, closed after the response. Returns a Response.
    close: send Connection: close (else the response must be length-delimited)."""
    hdrs = [("Host", "localhost")] + ([("Connection", "close")] if close else [])
    hdrs += list(headers or [])
    if body is not None and not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in hdrs):
        hdrs.append(("Content-Length", str(len(body))))
    raw = ("%s %s %s\r\n" % (method, path, version)).encode()
    raw += b"".join(("%s: %s\r\n" % (n, v)).encode() for n, v in hdrs) + b"\r\n"
    with Conn(port, timeout) as c:
        c.send(raw + (body or b""))
        return c.read_response(head_request=(method == "HEAD"))


def raw_exchange(port, data, timeout=5.0, head_request=False):
    """Send raw bytes on a fresh connection and read one response (Response)."""
    with Conn(port, timeout) as c:
        c.send(data)
        return c.read_response(head_request=head_request, timeout=timeout)


def curl(args, timeout=30.0):
    """Run curl with args; returns (rc, stdout bytes, stderr text). rc -9 on timeout."""
    cmd = ["curl", "-s", "-S", "--max-time", str(int(timeout))] + list(args)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return -9, b"", "curl did not finish in %ss" % timeout
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# The test runner: "ok - name" / "not ok - name: reason", then "N passed, M failed".


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.TemporaryDirectory(prefix="spillway-%s-" % name)
        self.dir = self.tmp.name
        self.spillways = []
        self.backends = []

    def backend(self, name="b1", port=0):
        b = Backend(self.dir, name, port)
        self.backends.append(b)
        return b

    def spillway(self, cfg, port=None, **kw):
        s = Spillway(self.dir, cfg, port, **kw)
        self.spillways.append(s)
        return s

    def ok(self, name):
        self.passed += 1
        print("ok - %s" % name, flush=True)

    def not_ok(self, name, reason):
        self.failed += 1
        reason = str(reason).replace("\n", " | ")
        print("not ok - %s: %s" % (name, reason[:2000]), flush=True)

    def check(self, name, cond, reason=""):
        if cond:
            self.ok(name)
        else:
            self.not_ok(name, reason or "condition false")
        return bool(cond)

    def case(self, name, fn, *args):
        """Run fn(*args); it passes unless it raises. AssertionError's text is the reason."""
        try:
            fn(*args)
        except AssertionError as e:
            self.not_ok(name, e or "assertion failed")
        except Exception as e:  # noqa: BLE001 - any error fails this check only
            self.not_ok(name, "%s: %s" % (type(e).__name__, e))
        else:
            self.ok(name)

    def run(self, body):
        """Run body(self), then clean up and exit 0 (all passed) or 1."""
        try:
            body(self)
        except SetupError as e:
            self.not_ok("setup", e)
        except Exception as e:  # noqa: BLE001
            self.not_ok("unexpected error", "%s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stdout)
        finally:
            states = [b.proc.poll() for b in self.backends]  # before we stop them
            for s in self.spillways:
                s.stop()
            for b in self.backends:
                b.stop()
        if self.failed:
            for b, rc in zip(self.backends, states):
                print("# backend %s (pid %d, port %d): %s" % (
                    b.name, b.proc.pid, b.port,
                    "running at the end" if rc is None else "exited with %s" % rc))
                for line in b.log().splitlines()[-20:]:
                    print("# " + line)
            for s in self.spillways:
                log = s.log()
                print("# --- spillway log %s (pid %d) ---" % (s.log_path, s.pid))
                for line in log.splitlines()[-60:]:
                    print("# " + line)
        if self.passed + self.failed == 0:
            self.not_ok("suite", "no checks ran")
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        _cleanup()
        self.tmp.cleanup()
        sys.exit(1 if self.failed else 0)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "AddressSanitizer:DEADLYSIGNAL")


def no_sanitizer_report(t):
    """Stops every spillway and backend (LeakSanitizer reports at exit) and looks for reports."""
    found = []
    for s in t.spillways:
        s.stop()
        log = s.log(limit=1 << 20)
        found += ["spillway %d: %s" % (s.pid, ln[:200]) for ln in log.splitlines()
                  if any(m in ln for m in SANITIZER_MARKS)]
    for b in t.backends:
        if b.proc.poll() is None:
            b.proc.terminate()
            try:
                b.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        found += ["backend %s: %s" % (b.name, ln[:200]) for ln in b.log().splitlines()
                  if any(m in ln for m in SANITIZER_MARKS)]
    assert not found, "; ".join(found[:4])


_H2LOAD_REQ = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                         r"(\d+) failed, (\d+) errored, (\d+) timeout")
_H2LOAD_ST = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
H2LOAD_KEYS = ("total", "started", "done", "succeeded", "failed", "errored", "timeout",
               "2xx", "3xx", "4xx", "5xx")


def parse_h2load(out):
    """h2load's summary as a dict of H2LOAD_KEYS (None for what it did not print), plus
    "text": its two summary lines (None when absent)."""
    f = dict.fromkeys(H2LOAD_KEYS)
    m, s = _H2LOAD_REQ.search(out), _H2LOAD_ST.search(out)
    if m:
        f.update(zip(H2LOAD_KEYS[:7], map(int, m.groups())))
    if s:
        f.update(zip(H2LOAD_KEYS[7:], map(int, s.groups())))
    f["text"] = "%s | %s" % (m.group(0), s.group(0)) if m and s else None
    return f


def h2load_ok(out, n):
    """None when every one of n requests succeeded with a 2xx, else the reason."""
    f = parse_h2load(out)
    if not f["text"]:
        return "no summary in h2load output: %s" % out[-1500:]
    if f["succeeded"] != n or f["2xx"] != n:
        return f["text"]
    return None


def send(c, method, path, headers=(), body=None, timeout=5.0):
    """One request on client connection c (a Conn). Returns (outcome, Response or None):
    outcome is the status as text, or "closed" (the connection ended before a whole response),
    "reset" or "timeout". Never raises for a connection that failed."""
    hdrs = [("Host", "spillway.test")] + list(headers)
    if body is not None:
        hdrs.append(("Content-Length", str(len(body))))
    raw = ("%s %s HTTP/1.1\r\n" % (method, path)).encode()
    raw += b"".join(("%s: %s\r\n" % h).encode() for h in hdrs) + b"\r\n" + (body or b"")
    try:
        c.send(raw)
        r = c.read_response(head_request=(method == "HEAD"), timeout=timeout)
    except socket.timeout:
        return "timeout", None
    except (ConnectionResetError, BrokenPipeError):
        return "reset", None
    except (ProtocolError, OSError):
        return "closed", None
    return str(r.status), r
