#!/usr/bin/env python3
"""The server state file (HAProxy 2.6's server-state-file, load-server-state-from-file,
server-state-file-name, server-state-base, and init-addr `last`), as a user meets it: run
spillway, change servers from the stats socket, dump `show servers state` to a file, start
again with the file, and find the state kept.

First run: a DNS responder (dnsserver.py) answers net.test and an SRV record; the operator puts
bp/s1 in maintenance, sets bp/s2's weight to 5 and drains bl/l2. The dump becomes the global
file; bl and bc read their own files, made from it: bl's with a bad value on l1's line (its
weight 7 must not come back) and a
line for a server it does not have, bc's with a corrupted line.

Second run: the nameserver is gone (nothing answers), so what the resolved servers have can
only come from the file (init-addr last,none): bn/n keeps 127.0.0.4 and serves, the SRV slots
keep their targets, ports, weights and addresses; s1 stays in MAINT, s2 keeps weight 5, l2
stays drained; the bad line and the corrupted file are warnings naming file:line, and what
they held is not applied. Then `spillway -c`: a server with `init-addr last` alone fails
without a saved address, and passes with one."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsserver import DnsServer  # noqa: E402
from lib import (  # noqa: E402
    HOST, SPILLWAY, Backend, Suite, closed_port, free_port, no_sanitizer_report, request,
    wait_until)
from test_health import cli, servers_state, stat_rows  # noqa: E402

RMAINT, FMAINT, FDRAIN = 0x20, 0x01, 0x08
SRVNAME = "_http._tcp.app.test"


def config(t, sock, fe, dns_port, pa, pb, pc, state):
    lines = ["global", "    stats socket %s level admin" % sock]
    if state:
        lines += ["    server-state-base %s" % t.dir, "    server-state-file global.state"]
    lines += [
        "resolvers dns", "    nameserver ns1 127.0.0.1:%d" % dns_port,
        "    timeout resolve 100ms", "    timeout retry 100ms", "    hold valid 30s",
        "    hold timeout 30s", "    hold nx 30s",
        "defaults", "    mode http", "    timeout client 5s", "    timeout server 5s",
        "    timeout connect 1s"]
    if state:
        lines += ["    load-server-state-from-file global"]
    lines += [
        "frontend fe", "    bind %s:%d" % (HOST, fe), "    default_backend bn",
        "backend bp", "    server s1 127.0.0.2:%d" % pa, "    server s2 127.0.0.3:%d weight 10" % pb,
        "backend bn",
        "    server n net.test:%d resolvers dns init-addr last,none resolve-prefer ipv4" % pc,
        "backend bs",
        "    server-template srv 2 %s resolvers dns init-addr last,none resolve-prefer ipv4"
        % SRVNAME,
        "backend bl"]
    if state:
        lines += ["    load-server-state-from-file local", "    server-state-file-name bl.state"]
    lines += ["    server l1 127.0.0.2:%d" % pa, "    server l2 127.0.0.3:%d" % pb, "backend bc"]
    if state:
        lines += ["    load-server-state-from-file local", "    server-state-file-name"]
    lines += ["    server c1 127.0.0.2:%d" % pa]
    return "\n".join(lines) + "\n"


def view(sock, be):
    return {k: (v["srv_addr"], int(v["srv_port"]), int(v["srv_admin_state"]),
                int(v["srv_uweight"]), v["srv_fqdn"])
            for k, v in servers_state(sock, be).items()}


def body(t):
    dns = DnsServer()
    try:
        run(t, dns)
        t.case("no sanitizer report", no_sanitizer_report, t)
    finally:
        dns.stop()


def run(t, dns):
    pa, pb, pc = free_port(), free_port(), free_port()
    t.backends.append(Backend(t.dir, "c", pc, host="127.0.0.4"))
    dns.set("net.test", ["127.0.0.4"])
    dns.set_srv(SRVNAME, [(0, 512, pa, "a.test", "127.0.0.2"), (0, 256, pb, "b.test", "127.0.0.3")])
    sock = os.path.join(t.dir, "st.sock")
    fe = free_port()

    # first run: resolve, then change things from the stats socket
    sp = t.spillway(config(t, sock, fe, dns.port, pa, pb, pc, False), fe)
    ok = wait_until(lambda: view(sock, "bn")["n"][:3] == ("127.0.0.4", pc, 0) and
                    sorted(x[4] for x in view(sock, "bs").values()) == ["a.test", "b.test"], 5)
    t.check("first run: net.test and the SRV record resolved", ok,
            (view(sock, "bn"), view(sock, "bs")))
    for cmd in ("set server bp/s1 state maint", "set server bp/s2 weight 5",
                "set server bl/l1 weight 7", "set server bl/l2 state drain",
                "set server bc/c1 state maint"):
        cli(sock, cmd)
    dump = cli(sock, "show servers state")
    sp.stop()
    with open(os.path.join(t.dir, "global.state"), "w") as f:
        f.write(dump)
    lines = dump.splitlines()
    bl = [ln for ln in lines if ln.split()[1:2] == ["bl"]]
    bad = [ln.split() for ln in bl]
    for fields in bad:
        if fields[3] == "l1":
            fields[5] = "9"  # srv_op_state 9: no such state
    ghost = list(bad[0])
    ghost[2], ghost[3] = "99", "ghost"
    with open(os.path.join(t.dir, "bl.state"), "w") as f:
        f.write("\n".join(lines[:2] + [" ".join(x) for x in bad + [ghost]]) + "\n")
    bc = [ln for ln in lines if ln.split()[1:2] == ["bc"]]
    with open(os.path.join(t.dir, "bc"), "w") as f:  # server-state-file-name: the backend's
        f.write("\n".join(lines[:2] + bc + ["3 bc 7 c9 1 2"]) + "\n")

    # second run: the nameserver is gone; the state comes from the files
    dead = closed_port()
    sp = t.spillway(config(t, sock, fe, dead, pa, pb, pc, True), fe)
    n = view(sock, "bn")["n"]
    t.check("init-addr last: bn/n starts with its saved address (no DNS answers), not in MAINT",
            n[:3] == ("127.0.0.4", pc, 0), n)
    r = request(fe, "GET", "/name", timeout=5)
    t.check("bn/n serves from the saved address", r.status == 200 and r.body.strip() == b"c",
            (r.status, r.body[:80]))
    bs = view(sock, "bs")
    got = sorted((x[4], x[0], x[1], x[3], x[2]) for x in bs.values())
    t.check("SRV slots keep target, address, port and weight",
            got == [("a.test", "127.0.0.2", pa, 2, 0), ("b.test", "127.0.0.3", pb, 1, 0)], bs)
    bp = view(sock, "bp")
    t.check("bp/s1 stays in maintenance, bp/s2 keeps weight 5",
            bp["s1"][2] == FMAINT and bp["s2"][3] == 5 and bp["s2"][2] == 0, bp)
    t.check("show stat: bp/s1 MAINT", stat_rows(sock)[("bp", "s1")]["status"] == "MAINT",
            stat_rows(sock)[("bp", "s1")])
    bl2 = view(sock, "bl")
    t.check("local file: bl/l2 stays drained; l1's bad line is not applied",
            bl2["l2"][2] == FDRAIN and bl2["l1"][2:4] == (0, 1), bl2)
    log = sp.log(limit=1 << 20)
    blpath = os.path.join(t.dir, "bl.state")
    t.check("warning: the bad value, naming file:line",
            "%s:3: server-state application failed for server 'bl/l1', invalid srv_op_state "
            "value '9'" % blpath in log, log)
    t.check("warning: a line for a server the backend does not have",
            "%s:5: Proxy 'bl': can't find server 'ghost' in backend 'bl'" % blpath in log, log)
    t.check("corrupted local file: warned with file:line, nothing of it applied",
            "%s:4: Proxy 'bc': corrupted server state file" % os.path.join(t.dir, "bc") in log
            and view(sock, "bc")["c1"][2] == 0, (view(sock, "bc"), log))
    sp.stop()

    # `init-addr last` alone: fails without a saved address, passes with one
    def check_only(cfg):
        path = os.path.join(t.dir, "c.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        p = subprocess.run([SPILLWAY, "-c", "-f", path], capture_output=True, timeout=20)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")
    base = config(t, sock, fe, dead, pa, pb, pc, True)
    rc, out = check_only(base + "backend bx\n    server x last.test:%d resolvers dns "
                         "init-addr last\n" % pc)
    t.check("-c: init-addr last with no saved address fails, naming the server",
            rc == 1 and "server 'bx/x': could not resolve address 'last.test:%d'" % pc in out,
            (rc, out))
    rc, out = check_only(base.replace("init-addr last,none", "init-addr last"))
    t.check("-c: init-addr last with a saved address passes", rc == 0, (rc, out))
    rc, out = check_only(config(t, sock, fe, dead, pa, pb, pc, False).replace(
        "init-addr last,none", "init-addr last"))
    t.check("-c: init-addr last with no state file at all fails at load",
            rc == 1 and "no state file to take 'last' from" in out, (rc, out))


if __name__ == "__main__":
    Suite("srvstate").run(body)
