#!/usr/bin/env python3
"""Issue 20: userlists and HTTP authentication, unique IDs, from outside.

One spillway with a `userlist` (an insecure-password user, a SHA-512 crypt `$6$` user, groups
by both spellings), a frontend that asks for credentials with `http-request auth realm` unless
`http_auth(users)` holds, a group-only path, http_auth_user / http_auth_type as samples, and
`unique-id-format` with the usual `%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid` plus
`unique-id-header`: sp-testbackend's /headers shows what the server received, the access log
shows %ID, and the two must be the same ID. `-c` errors name file:line.
"""

import base64
import re
import subprocess

import lib
from lib import HOST, SPILLWAY, Suite, free_port, request

# "s3cret" under SHA-512 crypt (openssl passwd -6 -salt abcdefgh s3cret)
HASH6 = ("$6$abcdefgh$Z7KfoKnKTSZrzo5VZ0YubGLQOj9ov6sHo9TmE3zIU/LHKhpE30zCnZ0mcIXYf9r9rQ4DYaXox"
         "AFSPFlcWdxjB.")

TMO = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""


def basic(user, pw):
    return ("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode())


def main(t):
    b1 = t.backend("b1")
    p = free_port()
    ps = free_port()
    log = t.dir + "/access.log"
    cfg = """global
    log %s format raw local0
userlist users
    group admins users alice
    group ops
    user alice password %s
    user bob insecure-password hunter2 groups ops
%s
frontend fe
    bind %s:%d
    log global
    log-format "%%ci %%ST %%HU id=%%ID rt=%%rt"
    unique-id-format %%{+X}o\\ %%ci:%%cp_%%fi:%%fp_%%Ts_%%rt:%%pid
    unique-id-header X-Unique-ID
    acl ok http_auth(users)
    acl admin http_auth_group(users) admins
    http-request auth realm Admin if { path_beg /admin } !admin
    http-request auth realm Users if !ok
    http-request set-header X-User %%[http_auth_user]
    http-request set-header X-Type %%[http_auth_type]
    http-request set-header X-Uid-Fetch %%[unique-id]
    default_backend be
frontend st
    bind %s:%d
    stats uri /stats
    acl ok http_auth(users)
    stats http-request deny if { req.hdr(x-block) 1 }
    stats http-request allow if { req.hdr(x-pass) letmein }
    stats http-request auth realm StatsZone unless ok
    default_backend be
backend be
    server s1 %s:%d
""" % (log, HASH6, TMO, HOST, p, HOST, ps, HOST, b1.port)
    s = t.spillway(cfg, port=p)

    def prompt():
        r = request(p, "GET", "/headers")
        assert r.status == 401, r.status
        assert r.header("WWW-Authenticate") == 'Basic realm="Users"', r.headers
        r = request(p, "GET", "/headers", headers=[basic("bob", "wrong")])
        assert r.status == 401, r.status
        r = request(p, "GET", "/headers", headers=[("Authorization", "Basic !!!")])
        assert r.status == 401, r.status
        r = request(p, "GET", "/headers", headers=[("Authorization", "Bearer abc")])
        assert r.status == 401, r.status
        r = request(p, "GET", "/headers", headers=[basic("mallory", "hunter2")])
        assert r.status == 401, r.status

    t.case("401 with the realm: none, wrong, malformed, Bearer, unknown user", prompt)

    def valid():
        for user, pw in (("bob", "hunter2"), ("alice", "s3cret")):
            r = request(p, "GET", "/headers", headers=[basic(user, pw)])
            assert r.status == 200, (user, r.status)
            h = r.body.decode(errors="replace")
            want = "Authorization: " + basic(user, pw)[1] + "\r\n"
            assert want in h, h  # the server sees the credentials
            assert "X-User: %s\r\n" % user in h and "X-Type: Basic\r\n" in h, h
        # h2 too
        rc, out, err = lib.curl(["--http2-prior-knowledge", "-u", "alice:s3cret",
                                 "http://%s:%d/headers" % (HOST, p)])
        assert rc == 0 and b"X-User: alice" in out, (rc, err, out[:300])
        assert re.search(rb"X-Unique-ID: 7F000001:[0-9A-F]{4}_", out), out[:400]

    t.case("valid insecure-password and $6$ crypt credentials pass (h1, h2)", valid)

    def groups():
        r = request(p, "GET", "/admin/x", headers=[basic("bob", "hunter2")])
        assert r.status == 401 and 'realm="Admin"' in r.header("WWW-Authenticate"), r.status
        r = request(p, "GET", "/admin/x", headers=[basic("alice", "s3cret")])
        assert r.status != 401, r.status

    t.case("http_auth_group: a group member passes, another user gets the Admin realm", groups)

    def stats_rules():
        r = request(ps, "GET", "/stats")
        assert r.status == 401, r.status
        assert r.header("WWW-Authenticate") == 'Basic realm="StatsZone"', r.headers
        r = request(ps, "GET", "/stats", headers=[basic("bob", "nope")])
        assert r.status == 401, r.status
        r = request(ps, "GET", "/stats", headers=[basic("bob", "hunter2"), ("X-Block", "1")])
        assert r.status == 403, r.status  # deny comes first
        r = request(ps, "GET", "/stats", headers=[basic("bob", "hunter2")])
        assert r.status == 200 and b"<html" in r.body.lower(), (r.status, r.body[:200])
        r = request(ps, "GET", "/stats;csv", headers=[("X-Pass", "letmein")])
        assert r.status == 200 and r.body.startswith(b"# pxname,"), (r.status, r.body[:200])
        r = request(ps, "GET", "/name")  # not the stats URI: no stats rule applies
        assert r.status == 200 and r.body.strip() == b"b1", (r.status, r.body)

    t.case("stats http-request: deny 403, auth realm 401, allow, valid users pass", stats_rules)

    ids = []

    def unique_id():
        for _ in range(2):
            r = request(p, "GET", "/headers", headers=[basic("bob", "hunter2")])
            assert r.status == 200, r.status
            h = r.body.decode(errors="replace")
            m = re.search(r"X-Unique-ID: (\S+)\r\n", h)
            assert m, h
            uid = m.group(1)
            # 127.0.0.1 -> 7F000001, ports and the rest in hex
            assert re.fullmatch(r"7F000001:[0-9A-F]{4}_7F000001:%04X_[0-9A-F]{8}_[0-9A-F]{4,}:"
                                r"[0-9A-F]{4,}" % p, uid), uid
            f = re.search(r"X-Uid-Fetch: (\S+)\r\n", h)
            assert f and f.group(1) == uid, h  # the fetch made it first: the same ID
            ids.append(uid)
        assert ids[0] != ids[1], ids

    t.case("unique-id-header: the server sees the %{+X} ID, the fetch the same", unique_id)

    def logs():
        s.stop()
        text = open(log).read()
        for uid in ids:
            lines = [ln for ln in text.splitlines() if "id=" + uid in ln]
            assert len(lines) == 1 and " 200 /headers " in lines[0], (uid, text[-1500:])
            rt = int(uid.rsplit("_", 1)[1].split(":")[0], 16)
            assert lines[0].endswith(" rt=%d" % rt), (lines[0], rt)
        denied = [ln for ln in text.splitlines() if " 401 " in ln]
        assert denied and all(re.search(r"id=7F000001:\S+ rt=\d+$", ln) for ln in denied), denied

    t.case("access log: %ID is the header's ID, %rt its counter, 401s get one too", logs)

    def check_errors():
        def check(text, wants):
            path = t.dir + "/bad.cfg"
            with open(path, "w") as f:
                f.write(TMO + text)
            r = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = r.stdout.decode(errors="replace")
            assert r.returncode != 0, out
            for want in wants:
                assert want in out, (want, out)

        check("""userlist u
    user a password $9$nope
    user b insecure-password x groups nosuch
backend be
    unique-id-header X-ID
    server s1 %s:1
""" % HOST, ("bad.cfg:7: 'user': the encrypted password used for user 'a' is not supported "
             "by crypt(3)",
             "bad.cfg:8: 'user': userlist 'u': no such group 'nosuch'",
             "bad.cfg:10: 'unique-id-header': not allowed in a 'backend' section"))
        fe = """userlist u
    user a insecure-password x
frontend f
    bind %s:%d
    %s
    default_backend be
backend be
    server s1 %s:1
"""
        check(fe % (HOST, free_port(), "unique-id-format %[nosuchfetch]", HOST),
              ("bad.cfg:10: 'unique-id-format': ", "nosuchfetch"))
        check(fe % (HOST, free_port(), "acl x http_auth(other)", HOST),
              ("bad.cfg:10: 'acl': no such userlist 'other'",))
        check(fe % (HOST, free_port(), "stats auth a:b\n    stats http-request deny", HOST),
              ("bad.cfg:11: 'stats http-request': stats 'auth'/'realm' and 'http-request' "
               "can't be used at the same time",))
        check(fe % (HOST, free_port(), "stats http-request tarpit\n    stats admin TRUE\n"
                    "    stats http-request auth realm", HOST),
              ("bad.cfg:10: 'stats http-request': expects 'allow', 'deny' or 'auth'",
               "bad.cfg:11: 'stats admin': requires either 'if' or 'unless'",
               "bad.cfg:12: 'stats http-request': 'realm' expects a name"))

    t.case("-c: bad hash, unknown group/userlist, unique-id misuse, stats rules", check_errors)
    t.case("no sanitizer report", lib.no_sanitizer_report, t)


if __name__ == "__main__":
    Suite("auth").run(main)
