#!/usr/bin/env python3
"""Issue 20: the stats page's admin form (`stats admin if|unless COND`), from outside.

One spillway: a listen section serving the stats page at /st with `stats admin` granted to
loopback clients that send `X-Admin: yes`, balancing over two sp-testbackend servers, and a
stats socket. With the admin level the page shows a checkbox per server and the action form;
a POST (curl --data, HTTP/1 and HTTP/2) applies the action and answers 303 to /st;st=CODE as
HAProxy 2.6 does; the state is seen on the page, on the stats socket (`show servers state`,
`show stat`) and in where traffic goes. Without the admin level the form is absent and a
POST is answered st=DENY, changing nothing. `-c` names file:line for the keyword's errors.
"""

import re
import socket
import subprocess
import time

import lib
from lib import HOST, SPILLWAY, Suite, curl, free_port

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""

cli = lib.stats_cli  # one command line on the stats socket


def main(t):
    b1 = t.backend("b1")
    b2 = t.backend("b2")
    p = free_port()
    p2 = free_port()
    sock = t.dir + "/st.sock"
    cfg = """global
    stats socket %s level admin
%s
listen web
    bind %s:%d
    balance roundrobin
    stats uri /st
    stats admin if { src 127.0.0.1 } { req.hdr(x-admin) yes }
    server s1 %s:%d
    server s2 %s:%d
frontend h2fe
    bind %s:%d
    stats uri /st
    stats admin if TRUE
    default_backend web
""" % (sock, TMO, HOST, p, HOST, b1.port, HOST, b2.port, HOST, p2)
    t.spillway(cfg, port=p)
    base = "http://%s:%d" % (HOST, p)
    base2 = "http://%s:%d" % (HOST, p2)
    admin = ["-H", "X-Admin: yes"]

    def get(path, extra=()):
        rc, out, err = curl(list(extra) + [base + path])
        assert rc == 0, err
        return out.decode(errors="replace")

    def post(body, extra=admin, h2=False, url=None):
        """POST to /st: (status, Location)."""
        args = list(extra) + ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                              "--data", body, (url or base) + "/st"]
        if h2:
            args = ["--http2-prior-knowledge"] + args
        rc, out, err = curl(args)
        assert rc == 0, err
        code, _, loc = out.decode().partition(" ")
        return int(code), loc

    def srv_state(name):
        """(status column of `show stat`, weight column, srv_admin_state of `show servers
        state`) for a server of `web`."""
        stat = cli(sock, "show stat")
        hdr = stat.splitlines()[0].lstrip("# ").split(",")
        row = [r.split(",") for r in stat.splitlines()[1:] if r.startswith("web,%s," % name)]
        assert row, stat
        st = [ln.split() for ln in cli(sock, "show servers state web").splitlines()
              if len(ln.split()) > 6 and ln.split()[3] == name]
        assert st, "no %s in show servers state" % name
        return (row[0][hdr.index("status")], row[0][hdr.index("weight")], int(st[0][6]))

    def names(n=8):
        got = set()
        for _ in range(n):
            rc, out, err = curl([base + "/name"])
            assert rc == 0, err
            got.add(out.decode().strip())
        return got

    def form():
        page = get("/st", admin)
        assert '<form method="post">' in page, page[:500]
        for s in ("s1", "s2"):
            assert re.search(r'type="checkbox" name="s" value="%s"' % s, page), page[:2000]
        assert "<select name=action>" in page
        for a in ("ready", "drain", "maint", "dhlth", "ehlth", "hrunn", "hnolb", "hdown"):
            assert '<option value="%s">' % a in page, a
        assert re.search(r'<input type="hidden" name="b" value="#\d+">', page)
        assert 'value="Apply"' in page
        # no admin level (the header is missing): the read-only page
        page = get("/st")
        assert "<form" not in page and 'name="s"' not in page, page[:500]

    def maint():
        code, loc = post("s=s1&action=maint&b=web")
        assert code == 303 and loc.endswith("/st;st=DONE"), (code, loc)
        assert srv_state("s1")[0] == "MAINT" and srv_state("s1")[2] & 1, srv_state("s1")
        assert srv_state("s2")[0] != "MAINT"
        page = get("/st;st=DONE", admin)
        assert "Action processed successfully." in page
        assert re.search(r'value="s1"></td><td class="n">s1</td>', page), page[:3000]
        assert 'class="maintain"' in page
        assert names() == {"b2"}

    def drain():
        # drain: out of maintenance, no new traffic, the weight kept (HAProxy 2.6 shows it)
        code, loc = post("s=s1&action=drain&b=%23" + backend_id())
        assert code == 303 and loc.endswith(";st=DONE"), (code, loc)
        status, weight, adm = srv_state("s1")
        assert status == "DRAIN" and weight == "1" and adm == 8, (status, weight, adm)
        assert names() == {"b2"}

    def ready():
        code, loc = post("s=s1&action=ready&b=web")
        assert code == 303 and loc.endswith(";st=DONE"), (code, loc)
        assert srv_state("s1") == ("no check", "1", 0), srv_state("s1")
        assert names() == {"b1", "b2"}

    def backend_id():
        m = re.search(r'name="b" value="#(\d+)"', get("/st", admin))
        assert m
        return m.group(1)

    def denied():
        code, loc = post("s=s2&action=maint&b=web", extra=())
        assert code == 303 and loc.endswith("/st;st=DENY"), (code, loc)
        assert srv_state("s2")[2] == 0
        assert "Action denied." in get("/st;st=DENY")
        # `unless`-style negative: the header with the wrong value
        code, loc = post("s=s2&action=maint&b=web", extra=["-H", "X-Admin: no"])
        assert loc.endswith(";st=DENY"), loc

    def results():
        assert post("s=s2&s=nope&action=hnolb&b=web")[1].endswith(";st=PART")
        assert srv_state("s2")[0] == "NOLB", srv_state("s2")
        assert post("s=s2&action=hrunn&b=web")[1].endswith(";st=DONE")
        assert srv_state("s2")[0] != "NOLB"
        assert post("s=s2&action=bogus&b=web")[1].endswith(";st=ERRP")
        assert post("s=s2&action=maint&b=nosuch")[1].endswith(";st=ERRP")
        # no check configured, no agent: nothing to change
        assert post("s=s2&action=dhlth&b=web")[1].endswith(";st=NONE")
        assert post("s=s2&action=dagent&b=web")[1].endswith(";st=NONE")
        assert post("s=s2&action=maint&b=%zz")[1].endswith(";st=NONE")
        assert "Action not processed because of invalid parameters." in get("/st;st=ERRP")
        # more than the buffer holds: HAProxy's EXCD, nothing applied
        code, loc = post("s=s2&" * 20000 + "action=maint&b=web")
        assert code == 303 and loc.endswith(";st=EXCD"), (code, loc)
        assert "the buffer couldn't store all the data" in get("/st;st=EXCD")
        assert srv_state("s2")[2] == 0
        # HAProxy's stats page answers GET, HEAD and POST only: a PUT goes to the servers
        rc, out, err = curl(["-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}",
                             base + "/st"])
        assert rc == 0 and out.decode() not in ("200", "303"), out

    def http2():
        # HTTP/2's client side holds a stats POST for its body as HTTP/1's does (no rule)
        code, loc = post("s=s2&action=maint&b=web", h2=True, url=base2)
        assert code == 303 and loc.endswith("/st;st=DONE"), (code, loc)
        assert srv_state("s2")[0] == "MAINT"
        assert names(4) == {"b1"}
        code, loc = post("s=s2&action=ready&b=web", extra=(), h2=True)  # web: no X-Admin
        assert loc.endswith(";st=DENY"), loc
        code, loc = post("b=web&action=ready&s=s2", h2=True, url=base2)
        assert loc.endswith(";st=DONE"), loc
        assert srv_state("s2")[2] == 0

    def check_errors():
        bad = t.dir + "/bad.cfg"
        with open(bad, "w") as f:
            f.write(TMO + "    stats admin if TRUE\nfrontend f\n    bind %s:%d\n"
                    "    stats admin TRUE\n    stats admin if { nosuchfetch }\n"
                    "    default_backend b\nbackend b\n    stats admin if TRUE\n"
                    "    server s %s:1\n" % (HOST, free_port(), HOST))
        r = subprocess.run([SPILLWAY, "-c", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = r.stdout.decode(errors="replace")
        assert r.returncode != 0, out
        for want in ("bad.cfg:6: 'stats admin': not allowed in 'defaults' section",
                     "bad.cfg:9: 'stats admin': requires either 'if' or 'unless'",
                     "bad.cfg:13: 'stats admin': not supported by spillway in a backend"):
            assert want in out, (want, out)

    t.case("GET: the admin form with the admin level only", form)
    t.case("POST maint (HTTP/1): 303 st=DONE, MAINT on page and socket, traffic moves", maint)
    t.case("POST drain by backend id: DRAIN, weight kept, no new traffic", drain)
    t.case("POST ready: back in the rotation", ready)
    t.case("POST without the admin level: st=DENY, nothing changed", denied)
    t.case("PART, ERRP, NONE; health forcing; other methods not the page", results)
    t.case("POST over HTTP/2: the body awaited without a rule", http2)
    t.case("-c: stats admin errors name file:line", check_errors)
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("statsadmin").run(main)
