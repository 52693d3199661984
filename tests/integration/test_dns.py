#!/usr/bin/env python3
"""Servers found by DNS (issue 19): a `resolvers` section pointing at a loopback DNS
responder started here (dnsserver.py), a `server-template srv 3 app.test:PORT resolvers dns
init-addr none` whose slots follow the answer set, and a single `server ... resolvers` whose
address changes, then goes NX. The backends are sp-testbackend processes on 127.0.0.2,
127.0.0.3 and 127.0.0.4, all on the template's port (A records carry no port). Checked with
HTTP requests (/name says which backend answered), `show servers state`, `show stat` and the
log lines."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsserver import DnsServer  # noqa: E402
from lib import (  # noqa: E402
    HOST, Backend, Suite, free_port, no_sanitizer_report, request, wait_until)
from test_health import cli, servers_state, stat_rows  # noqa: E402

RMAINT = 0x20


def names(port, n):
    got = []
    for _ in range(n):
        r = request(port, "GET", "/name", timeout=5)
        got.append(r.body.decode().strip() if r.status == 200 else str(r.status))
    return got


def slots(sock, be="be"):
    """{server: (srv_addr, srv_admin_state)}"""
    return {k: (v["srv_addr"], int(v["srv_admin_state"])) for k, v in servers_state(sock, be).items()}


def body(t):
    dns = DnsServer()
    try:
        run(t, dns)
        # a stop while queries are in flight, then LeakSanitizer's word (sanitizer builds)
        t.case("no sanitizer report", no_sanitizer_report, t)
    finally:
        dns.stop()


def run(t, dns):
    port = free_port()  # the backends' port, on 127.0.0.2-4
    bk = {}
    for i in (2, 3, 4):
        b = Backend(t.dir, "b%d" % i, port, host="127.0.0.%d" % i)
        t.backends.append(b)
        bk[i] = b
    dns.set("app.test", ["127.0.0.2", "127.0.0.3"])
    dns.set("single.test", ["127.0.0.2"])
    fe, fe2 = free_port(), free_port()
    sock = os.path.join(t.dir, "dns.sock")
    cfg = "\n".join([
        "global", "    nbthread 2", "    stats socket %s level admin" % sock,
        "resolvers dns", "    nameserver ns1 127.0.0.1:%d" % dns.port, "    resolve_retries 2",
        "    timeout resolve 100ms", "    timeout retry 100ms", "    hold valid 1s",
        "    hold nx 300ms", "    hold obsolete 0s", "    accepted_payload_size 1232",
        "defaults", "    mode http", "    timeout client 5s", "    timeout server 5s",
        "    timeout connect 1s",
        "frontend fe", "    bind %s:%d" % (HOST, fe), "    default_backend be",
        "frontend fe2", "    bind %s:%d" % (HOST, fe2), "    default_backend be2",
        "backend be",
        "    server-template srv 3 app.test:%d resolvers dns init-addr none resolve-prefer ipv4"
        % port,
        "backend be2",
        # resolve-prefer left at HAProxy's ipv6: AAAA answers nothing, A is asked next
        "    server one single.test:%d resolvers dns init-addr none" % port,
    ]) + "\n"
    sp = t.spillway(cfg, fe)

    def two_up():
        s = slots(sock)
        return sorted(a for a, adm in s.values() if not adm & RMAINT) == ["127.0.0.2",
                                                                          "127.0.0.3"]
    ok = wait_until(two_up, 5)
    s = slots(sock)
    t.check("template: two slots take the two addresses, the third stays in MAINT "
            "(resolution) with no address", ok and sorted(v[1] for v in s.values()) ==
            [0, 0, RMAINT] and [v[0] for v in s.values() if v[1]] == ["-"], s)
    got = set(names(fe, 20))
    t.check("requests reach both backends", got == {"b2", "b3"}, got)
    st = servers_state(sock)
    t.check("show servers state: srv_fqdn app.test, srv_port the template's port",
            all(v["srv_fqdn"] == "app.test" and v["srv_port"] == str(port) for v in st.values()),
            st)
    rows = stat_rows(sock)
    free = [k for k, v in s.items() if v[1]][0]
    t.check("show stat: the free slot says MAINT (resolution)",
            rows[("be", free)]["status"] == "MAINT (resolution)", rows.get(("be", free)))
    t.check("log: each address change in HAProxy's words",
            re.search(r"be/srv\d changed its IP from \(none\) to 127\.0\.0\.[23] by DNS cache",
                      sp.log()), sp.log())

    # the answer drops 127.0.0.2: its slot goes to maintenance, the other keeps its address
    holder3 = [k for k, v in s.items() if v[0] == "127.0.0.3"][0]
    dns.set("app.test", ["127.0.0.3"])
    ok = wait_until(lambda: sum(1 for v in slots(sock).values() if not v[1] & RMAINT) == 1, 5)
    s2 = slots(sock)
    t.check("answer drops one: its slot enters MAINT (resolution), the slot with 127.0.0.3 "
            "keeps it", ok and s2[holder3] == ("127.0.0.3", 0), s2)
    got = set(names(fe, 12))
    t.check("the dropped backend gets no traffic", got == {"b3"}, got)
    t.check("log: the slot is going DOWN for maintenance",
            re.search(r"Server be/srv\d is going DOWN for maintenance \(No IP for server \)\. "
                      r"1 active and 0 backup servers left\.", sp.log()), sp.log())

    # a third address appears: a free slot comes UP with it
    dns.set("app.test", ["127.0.0.3", "127.0.0.4"])
    ok = wait_until(lambda: sorted(v[0] for v in slots(sock).values() if not v[1] & RMAINT) ==
                    ["127.0.0.3", "127.0.0.4"], 5)
    s3 = slots(sock)
    t.check("a new address: a slot leaves MAINT with it, 127.0.0.3 stays where it was",
            ok and s3[holder3] == ("127.0.0.3", 0), s3)
    got = set(names(fe, 20))
    t.check("requests reach 127.0.0.3 and 127.0.0.4", got == {"b3", "b4"}, got)

    # the single server: A after an empty AAAA, then its address changes
    ok = wait_until(lambda: slots(sock, "be2")["one"] == ("127.0.0.2", 0), 5)
    t.check("single server: resolved (AAAA empty, then A), UP", ok, slots(sock, "be2"))
    got = set(names(fe2, 6))
    t.check("single server: requests go to 127.0.0.2", got == {"b2"}, got)
    dns.set("single.test", ["127.0.0.3"])
    ok = wait_until(lambda: slots(sock, "be2")["one"] == ("127.0.0.3", 0), 5)
    t.check("single server: the new address is published", ok, slots(sock, "be2"))
    got = set(names(fe2, 6))
    t.check("single server: requests follow to 127.0.0.3", got == {"b3"}, got)

    # junk answers are ignored with a rate-limited line; the last answer holds
    dns.garbage = True
    ok = wait_until(lambda: "malformed DNS answer ignored" in sp.log(), 3)
    time.sleep(0.5)
    lines = sp.log(limit=1 << 20).count("malformed DNS answer ignored")
    t.check("malformed answers: logged (rate-limited), nothing changes, still serving",
            ok and lines <= 3 and sp.proc.poll() is None and
            slots(sock, "be2")["one"] == ("127.0.0.3", 0) and names(fe2, 2) == ["b3", "b3"],
            (lines, slots(sock, "be2")))
    dns.garbage = False

    # NX past `hold nx`: maintenance (resolution), then back when the name returns
    dns.set("single.test", None)
    ok = wait_until(lambda: slots(sock, "be2")["one"][1] & RMAINT, 3)
    t.check("NXDOMAIN past hold nx: MAINT (resolution), 503",
            ok and request(fe2, "GET", "/name").status == 503, slots(sock, "be2"))
    t.check("log: DNS NX status", re.search(r"Server be2/one is going DOWN for maintenance "
                                            r"\(DNS NX status\)\. 0 active and 0 backup "
                                            r"servers left\.", sp.log()), sp.log())
    dns.set("single.test", ["127.0.0.4"])
    ok = wait_until(lambda: slots(sock, "be2")["one"] == ("127.0.0.4", 0), 5)
    t.check("the name comes back: UP with its new address", ok and names(fe2, 2) == ["b4", "b4"],
            slots(sock, "be2"))
    t.check("log: resolves again, in HAProxy's words",
            re.search(r"Server be2/one \('single\.test'\) is UP/READY \(resolves again\)\.",
                      sp.log()), sp.log())
    empty = [k for k, v in slots(sock).items() if v[1] & RMAINT]
    out = cli(sock, "set server be/%s state ready" % empty[0]) if empty else ""
    t.check("set server state ready leaves a free slot in maintenance (resolution)",
            len(empty) == 1 and slots(sock)[empty[0]][1] == RMAINT, (empty, out, slots(sock)))


if __name__ == "__main__":
    Suite("dns").run(body)
