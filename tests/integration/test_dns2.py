#!/usr/bin/env python3
"""DNS, the rest of issue 19: SRV records, resolve-opts, resolve-net and an operator's
`set server addr` on a resolved server, against the loopback DNS responder (dnsserver.py).

One spillway start:
- `server-template srv 3 _http._tcp.app.test`: SRV answers give each slot its target, port and
  weight ((w + 255) / 256); a target's address comes from the Additional section (a.test) or
  from its own A question (b.test); a changed weight is applied live; a record that leaves the
  answer sends its slot to maintenance (resolution) with its name, address and port cleared.
- `resolve-opts allow-dup-ip` lets two template slots share one address; the default
  (prevent-dup-ip) leaves the second slot in maintenance.
- `resolve-net 127.0.0.4/32` picks that address among three.
- `set server BE/SRV addr` on a resolved server sticks while the answer keeps the address the
  resolver had given; once that address leaves, the resolver keeps the operator's address if
  the answer has it, and replaces it otherwise (HAProxy 2.6's resolv_get_ip_from_response()).
- `nameserver t1 tcp@127.0.0.1:PORT`: DNS over TCP, one session kept and reused."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsserver import DnsServer  # noqa: E402
from lib import (  # noqa: E402
    HOST, Backend, Suite, free_port, no_sanitizer_report, request, wait_until)
from test_health import cli, servers_state  # noqa: E402

RMAINT = 0x20
SRVNAME = "_http._tcp.app.test"


def names(port, n):
    got = []
    for _ in range(n):
        r = request(port, "GET", "/name", timeout=5)
        got.append(r.body.decode().strip() if r.status == 200 else str(r.status))
    return got


def view(sock, be):
    """{server: (addr, port, admin, uweight, fqdn, srvrecord)}"""
    return {k: (v["srv_addr"], int(v["srv_port"]), int(v["srv_admin_state"]),
                int(v["srv_uweight"]), v["srv_fqdn"], v["srvrecord"])
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
    t.backends.append(Backend(t.dir, "a", pa, host="127.0.0.2"))
    t.backends.append(Backend(t.dir, "b", pb, host="127.0.0.3"))
    dns.set_srv(SRVNAME, [(10, 512, pa, "a.test", "127.0.0.2"),
                          (20, 100, pb, "b.test", None)])
    dns.set("b.test", ["127.0.0.3"])
    dns.set("dup.test", ["127.0.0.2"])
    dns.set("net.test", ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    dns.set("tcp.test", ["127.0.0.3"])
    fe = free_port()
    sock = os.path.join(t.dir, "dns2.sock")
    cfg = "\n".join([
        "global", "    nbthread 2", "    stats socket %s level admin" % sock,
        "resolvers dns", "    nameserver ns1 127.0.0.1:%d" % dns.port,
        "    timeout resolve 100ms", "    timeout retry 100ms", "    hold valid 1s",
        "    hold obsolete 0s",
        "resolvers dnstcp", "    nameserver t1 tcp@127.0.0.1:%d" % dns.tcp_port,
        "    timeout resolve 100ms", "    timeout retry 300ms", "    hold obsolete 0s",
        "defaults", "    mode http", "    timeout client 5s", "    timeout server 5s",
        "    timeout connect 1s",
        "frontend fe", "    bind %s:%d" % (HOST, fe), "    default_backend bs",
        "backend bs",
        "    server-template srv 3 %s resolvers dns init-addr none resolve-prefer ipv4" % SRVNAME,
        "backend bdup",
        "    default-server resolvers dns init-addr none resolve-prefer ipv4",
        "    server-template d 2 dup.test:%d resolve-opts allow-dup-ip" % pc,
        "backend bprev",
        "    server-template p 2 dup.test:%d resolvers dns init-addr none resolve-prefer ipv4"
        % pc,
        "backend bnet",
        "    server n net.test:%d resolvers dns init-addr none resolve-prefer ipv4 "
        "resolve-net 10.0.0.0/8,127.0.0.4/32" % pc,
        "backend btcp",
        "    server t tcp.test:%d resolvers dnstcp init-addr none resolve-prefer ipv4" % pc,
    ]) + "\n"
    sp = t.spillway(cfg, fe)

    def srv_ready():
        v = view(sock, "bs")
        return sorted((a, p) for a, p, adm, _w, _f, _r in v.values() if not adm & RMAINT) == \
            sorted([("127.0.0.2", pa), ("127.0.0.3", pb)])
    ok = wait_until(srv_ready, 5)
    v = view(sock, "bs")
    by = {f: (a, p, adm, w) for a, p, adm, w, f, _r in v.values()}
    t.check("SRV: two slots take target, port and address (a.test from the Additional section, "
            "b.test from its own A question), the third waits in MAINT (resolution)",
            ok and by.get("a.test") == ("127.0.0.2", pa, 0, 2) and
            by.get("b.test") == ("127.0.0.3", pb, 0, 1) and
            by.get("-", (0, 0, 0))[2] == RMAINT, v)
    t.check("show servers state: srvrecord is the SRV name on every slot",
            all(r == SRVNAME for *_x, r in v.values()), v)
    got = names(fe, 30)
    t.check("SRV: requests reach both targets, weighted 2:1",
            set(got) == {"a", "b"} and got.count("a") > got.count("b"), got)

    # the weight of a.test changes: applied live
    dns.set_srv(SRVNAME, [(10, 2560, pa, "a.test", "127.0.0.2"),
                          (20, 100, pb, "b.test", None)])
    ok = wait_until(lambda: any(f == "a.test" and w == 10
                                for _a, _p, _adm, w, f, _r in view(sock, "bs").values()), 5)
    t.check("SRV: a changed weight is applied (2560 -> 10)", ok, view(sock, "bs"))

    # b.test's record leaves: its slot goes to maintenance, name and address cleared
    holder = [k for k, x in view(sock, "bs").items() if x[4] == "b.test"]
    dns.set_srv(SRVNAME, [(10, 2560, pa, "a.test", "127.0.0.2")])
    ok = holder and wait_until(lambda: view(sock, "bs")[holder[0]][2] & RMAINT, 5)
    v = view(sock, "bs")
    t.check("SRV: a record that leaves sends its slot to MAINT (resolution), fqdn and address "
            "cleared", ok and v[holder[0]][0] == "-" and v[holder[0]][4] == "-", v)
    got = set(names(fe, 10))
    t.check("SRV: traffic goes to the remaining target only", got == {"a"}, got)
    t.check("log: the slot went down as 'entry removed from SRV record'",
            "(entry removed from SRV record)" in sp.log(limit=1 << 20), sp.log())

    # a new record with another port on b.test: a free slot takes it
    dns.set_srv(SRVNAME, [(10, 2560, pa, "a.test", "127.0.0.2"),
                          (10, 0, pc, "b.test", "127.0.0.3")])
    ok = wait_until(lambda: any(f == "b.test" and p == pc and not adm & RMAINT and w == 0
                                for _a, p, adm, w, f, _r in view(sock, "bs").values()), 5)
    t.check("SRV: a new record (port and weight 0 kept) comes up in a free slot", ok,
            view(sock, "bs"))

    # dup-ip: allowed shares one address; the default prevents it
    ok = wait_until(lambda: [x[:3] for x in view(sock, "bdup").values()] ==
                    [("127.0.0.2", pc, 0)] * 2, 5)
    t.check("resolve-opts allow-dup-ip: both slots on the one address", ok, view(sock, "bdup"))
    ok = wait_until(lambda: sorted(x[2] for x in view(sock, "bprev").values()) == [0, RMAINT], 5)
    t.check("prevent-dup-ip (the default): the second slot stays in MAINT (resolution)", ok,
            view(sock, "bprev"))

    # resolve-net: the address in a preferred network wins
    ok = wait_until(lambda: view(sock, "bnet")["n"][:3] == ("127.0.0.4", pc, 0), 5)
    t.check("resolve-net: 127.0.0.4 chosen among three", ok, view(sock, "bnet"))

    # set server addr: sticks while the answer has the resolver's address
    out = cli(sock, "set server bnet/n addr 127.0.0.3")
    t.check("set server addr on a resolved server: HAProxy's answer",
            "IP changed from '127.0.0.4' to '127.0.0.3'" in out, out)
    q = dns.queries
    wait_until(lambda: dns.queries >= q + 4, 3)
    t.check("the operator's address sticks while the answer keeps the resolver's",
            view(sock, "bnet")["n"][0] == "127.0.0.3", view(sock, "bnet"))
    dns.set("net.test", ["127.0.0.2", "127.0.0.3"])
    q = dns.queries
    wait_until(lambda: dns.queries >= q + 4, 3)
    t.check("the resolver's address leaves: the operator's one, in the answer, is kept",
            view(sock, "bnet")["n"][:3] == ("127.0.0.3", pc, 0), view(sock, "bnet"))
    dns.set("net.test", ["127.0.0.2"])
    ok = wait_until(lambda: view(sock, "bnet")["n"][0] == "127.0.0.2", 5)
    t.check("an answer without the operator's address replaces it", ok, view(sock, "bnet"))

    # a TCP nameserver: resolved over TCP, one session kept and reused, answers followed
    ok = wait_until(lambda: view(sock, "btcp")["t"][:3] == ("127.0.0.3", pc, 0), 5)
    t.check("tcp@ nameserver: resolved over TCP", ok and dns.tcp_queries > 0,
            (view(sock, "btcp"), dns.tcp_queries))
    dns.set("tcp.test", ["127.0.0.2"])
    ok = wait_until(lambda: view(sock, "btcp")["t"][0] == "127.0.0.2", 5)
    q = dns.tcp_queries
    wait_until(lambda: dns.tcp_queries >= q + 3, 3)
    t.check("tcp@ nameserver: a changed answer is followed, over one reused session",
            ok and dns.tcp_queries >= q + 3 and dns.tcp_connections == 1,
            (view(sock, "btcp"), dns.tcp_queries, dns.tcp_connections))


if __name__ == "__main__":
    Suite("dns2").run(body)
