#!/usr/bin/env python3
"""The global keywords every deployment carries (issue 19), driven as an operator does: a
configuration whose bind port comes from `setenv` and a `.if` block, `user`/`group` and
`chroot` (the worker threads run as nobody inside an empty directory and still serve),
`ulimit-n`, `zero-warning`, `node`/`description` in `show info` over a TCP stats socket,
`tune.http.maxhdr`, and the errors for an unknown user; then the gaps a survey of public
configurations found: `log-send-hostname` (syslog lines on a UDP socket), `tcp-request
connection silent-drop`, `stats show-desc` of several words, `stats scope .` in defaults,
an abns@ server and bind."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, SPILLWAY, Suite, config, free_port, request, wait_until  # noqa: E402


def run(t, cfg, args, timeout=8):
    """spillway on cfg to completion: (rc, stdout, stderr); rc None if it kept running."""
    path = os.path.join(t.dir, "global-%d.cfg" % time.monotonic_ns())
    with open(path, "w") as f:
        f.write(cfg)
    try:
        p = subprocess.run([SPILLWAY] + args + ["-f", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, "", (e.stderr or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def cli(port, cmd, timeout=3.0):
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(cmd.encode() + b"\n")
        out = b""
        for _ in range(1000):
            d = s.recv(65536)
            if not d:
                break
            out += d
    return out.decode(errors="replace")


def thread_ids(pid):
    """{tid: (real uid, effective uid, real gid)} of every thread of pid."""
    ids = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        uid = gid = None
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Uid:"):
                    uid = [int(x) for x in line.split()[1:3]]
                elif line.startswith("Gid:"):
                    gid = int(line.split()[1])
        ids[int(tid)] = (uid[0], uid[1], gid)
    return ids


def main(t):
    be = t.backend("b1")

    def env_and_conditions():
        port, cport = free_port(), free_port()
        g = ("setenv SPT_FE_PORT %d\n"
             "presetenv SPT_FE_PORT 1\n"
             "node \"edge-${SPT_FE_PORT}\"\n"
             "description front door\n"
             "stats socket ipv4@127.0.0.1:%d level admin\n"
             "stats timeout 3s\n" % (port, cport))
        cfg = config(port, [("s1", be.port)], global_extra=g)
        # the bind line is chosen by a .if and its port comes from the environment
        cfg = cfg.replace("    bind %s:%d\n" % (HOST, port),
                          ".if version_atleast(2.6) && defined(SPT_FE_PORT)\n"
                          "    bind \"%s:${SPT_FE_PORT}\"\n"
                          ".else\n"
                          "    bind %s:1 this line is never checked\n"
                          ".endif\n" % (HOST, HOST))
        sp = t.spillway(cfg, port)
        r = request(port, "GET", "/name")
        assert r.status == 200, r
        info = cli(cport, "show info")
        assert "node: edge-%d\n" % port in info, info
        assert "description: front door\n" in info, info
        sp.stop()

    t.case("setenv + .if choose the bind; node and description in show info over a TCP "
           "stats socket", env_and_conditions)

    def privileges():
        port, cport = free_port(), free_port()
        jail = tempfile.mkdtemp(prefix="spt-jail-", dir=t.dir)
        os.chmod(t.dir, 0o755)
        g = "user nobody\ngroup nogroup\nchroot %s\nstats socket 127.0.0.1:%d\n" % (jail, cport)
        sp = t.spillway(config(port, [("s1", be.port)], nbthread=2, global_extra=g), port)
        for _ in range(3):
            r = request(port, "GET", "/name")
            assert r.status == 200, r
        ids = thread_ids(sp.pid)
        assert len(ids) >= 3, ids
        bad = {tid: v for tid, v in ids.items() if v != (65534, 65534, 65534)}
        assert not bad, "threads not running as nobody/nogroup: %r" % bad
        root = os.readlink("/proc/%d/root" % sp.pid)
        assert root == jail, "root is %r, not the jail %r" % (root, jail)
        assert "Name: spillway" in cli(cport, "show info")
        sp.stop()

    if os.geteuid() == 0:
        t.case("user/group/chroot: every thread runs as nobody:nogroup inside the jail, and it "
               "serves", privileges)
    else:
        print("# not root: the privilege drop case is skipped")

    def unknown_user():
        cfg = config(free_port(), [("s1", be.port)], global_extra="user no-such-user-spt")
        for args in (["-c"], []):
            rc, out, err = run(t, cfg, args, timeout=5)
            assert rc == 1, (args, rc, err)
            assert ":3: 'user': cannot find user id for 'no-such-user-spt'" in err, err

    t.case("an unknown user is an error naming file:line", unknown_user)

    def limits():
        port = free_port()
        sp = t.spillway(config(port, [("s1", be.port)], global_extra="ulimit-n 3000"), port)
        with open("/proc/%d/limits" % sp.pid) as f:
            line = [ln for ln in f if ln.startswith("Max open files")][0]
        assert line.split()[3] == "3000", line
        sp.stop()
        cfg = config(free_port(), [("s1", be.port)], global_extra="ulimit-n 200\nmaxconn 5000")
        # HAProxy 2.6 checks the limits only when it starts: -c passes with a notice
        rc, out, err = run(t, cfg, ["-c"])
        assert rc == 0 and "[NOTICE]" in err and \
            "'ulimit-n 200' is too low for global 'maxconn 5000'" in err, (rc, err)
        assert "[ALERT]" not in err and "Configuration file is valid" in out, (err, out)
        rc, out, err = run(t, cfg, [], timeout=5)
        assert rc == 1 and "[ALERT]" in err and \
            "'ulimit-n 200' is too low for global 'maxconn 5000'" in err, (rc, err)
        rc, out, err = run(t, cfg.replace("ulimit-n 200", "ulimit-n 200\n    no strict-limits"),
                           ["-c"])
        assert rc == 0 and "too low for global 'maxconn 5000'" in err, (rc, err)

    t.case("ulimit-n sets the process limit; too low for maxconn fails the start (not -c, as "
           "HAProxy 2.6) unless 'no strict-limits'", limits)

    def zero_warning():
        cfg = config(free_port(), [("s1", be.port)], global_extra="zero-warning\nlocalpeer p1")
        rc, out, err = run(t, cfg, ["-c"])
        assert rc == 1 and "'zero-warning' is set" in err and "'localpeer'" in err, (rc, err)
        rc, out, err = run(t, cfg.replace("    localpeer p1\n", ""), ["-c"])
        assert rc == 0, (rc, err)
        rc, out, err = run(t, cfg.replace("localpeer p1", '.warning "stop"'), ["-c"])
        assert rc == 1 and "'stop'" in err, (rc, err)
        rc, out, err = run(t, cfg.replace("localpeer p1", '.alert "fatal"'), ["-c"])
        assert rc == 1 and "[ALERT]" in err and "'fatal'" in err, (rc, err)

    t.case("zero-warning turns any warning into a failed start; .alert always fails",
           zero_warning)

    def maxhdr():
        port = free_port()
        sp = t.spillway(config(port, [("s1", be.port)], global_extra="tune.http.maxhdr 11"),
                        port)
        ten = [("X-H%d" % i, "v") for i in range(9)]  # + Host = 10 fields + the request line
        assert request(port, "GET", "/name", headers=ten, close=False).status == 200
        eleven = ten + [("X-Extra", "v")]
        assert request(port, "GET", "/name", headers=eleven, close=False).status == 431
        sp.stop()

    t.case("tune.http.maxhdr 11: 10 header fields pass, 11 get 431", maxhdr)

    def survey_gaps():
        # one start: log-send-hostname in both syslog framings (the lines caught on a UDP
        # socket), tcp-request connection silent-drop on a second bind (the client is told
        # nothing), stats show-desc of several words and stats scope . from defaults, and
        # the global lines HAProxy 2.6 accepts without using them
        port, dport, lport = free_port(), free_port(), free_port()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((HOST, lport))
        udp.settimeout(3)
        g = ("log-send-hostname edge-7\n"
             "log %s:%d local0\n"
             "log %s:%d format rfc5424 local0\n"
             "stats bind-process 1\n"
             "ca-base /etc/ssl/certs\n"
             "ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256\n"
             "ssl-default-server-options no-sslv3 no-tls-tickets\n" % (HOST, lport, HOST, lport))
        fe = ("bind %s:%d\n"
              "log global\n"
              "option httplog\n"
              "tcp-request connection silent-drop if { dst_port %d }\n"
              "stats enable\n"
              "stats uri /st\n"
              "stats show-desc Front door  of the lab\n"
              "use_backend ab if { path /abns }\n" % (HOST, dport, dport))
        cfg = config(port, [("s1", be.port)], global_extra=g, defaults_extra="stats scope .",
                     fe_extra=fe)
        # abns@: a server on a Linux abstract socket that another frontend listens on
        cfg += ("backend ab\n    server a1 abns@spt-global-%d\n"
                "frontend inner\n    bind abns@spt-global-%d\n"
                "    http-request return status 200 content-type text/plain string abns-ok\n"
                % (port, port))
        sp = t.spillway(cfg, port)
        try:
            r = request(port, "GET", "/name")
            assert r.status == 200, r
            r = request(port, "GET", "/abns")
            assert r.status == 200 and r.body == b"abns-ok", r
            lines = []  # two requests, each logged in both framings
            for _ in range(4):
                try:
                    lines.append(udp.recv(65536).decode(errors="replace"))
                except socket.timeout:
                    raise AssertionError("log lines: %r; spillway: %s" % (lines, sp.log()))
            v3164 = [ln for ln in lines if not ln.startswith("<134>1 ")]
            v5424 = [ln for ln in lines if ln.startswith("<134>1 ")]
            assert len(v3164) == 2 and len(v5424) == 2, lines
            for ln in v3164:
                assert re.match(r"<134>\w{3} [ \d]\d \d\d:\d\d:\d\d edge-7 spillway\[\d+\]: ",
                                ln), ln
            for ln in v5424:
                assert re.match(r"<134>1 \S+ edge-7 spillway \d+ - - ", ln), ln
            assert any(" fe ab/a1 " in ln for ln in lines), lines
            # silent-drop: no FIN, no RST (HAProxy's TCP_REPAIR needs CAP_NET_ADMIN; without
            # it the fallback's RST reaches a loopback client). The client sends nothing: a
            # segment that reaches the dropped socket gets the kernel's RST, as with HAProxy;
            # the stats below show the drop did happen
            c = socket.create_connection((HOST, dport), timeout=0.8)
            try:
                got = c.recv(100)
                outcome = "eof %r" % got
            except socket.timeout:
                outcome = "silent"
            except ConnectionResetError:
                outcome = "reset"
            c.close()
            want = "silent" if os.geteuid() == 0 else "reset"
            assert outcome == want, "silent-drop: %s (want %s)" % (outcome, want)
            # the other bind still serves; the stats page: the description joined, the
            # scope '.' from defaults showing this frontend only, the drop counted as a
            # denied connection
            page = request(port, "GET", "/st").body.decode(errors="replace")
            assert "Front door of the lab" in page, page[:2000]
            csv = request(port, "GET", "/st;csv").body.decode(errors="replace").splitlines()
            cols = csv[0].lstrip("# ").split(",")
            rows = [dict(zip(cols, ln.split(","))) for ln in csv[1:] if ln]
            assert {r["pxname"] for r in rows} == {"fe"}, rows
            fr = [r for r in rows if r["svname"] == "FRONTEND"][0]
            assert fr["dcon"] == "1", fr
        finally:
            udp.close()
            sp.stop()

    t.case("log-send-hostname in rfc3164 and rfc5424 lines; tcp-request connection "
           "silent-drop tells the client nothing; stats show-desc words and scope . from "
           "defaults; an abns@ server reaches an abns@ bind", survey_gaps)


if __name__ == "__main__":
    Suite("global").run(main)
