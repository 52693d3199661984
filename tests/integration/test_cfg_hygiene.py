#!/usr/bin/env python3
"""`spillway -c` hygiene (issue 19), from outside:
  - a hostile ACL regex (`path_reg a++++++++++++++++++++++++++`, each `+` doubling what glibc's
    regcomp builds) is refused as "too complex", naming its line, in well under a second and
    without memory growth, as are the other expanding forms; real-world regexes load;
  - regex ACLs (path_reg, hdr_reg, url_reg) route live HTTP/1.1 and HTTP/2 requests, values
    taken from the middle of the request buffer (not NUL-terminated): in the ASan build this
    is where the sanitizers' regexec interceptor used to report an overflow (the check at the
    end reads spillway's log for any sanitizer report);
  - every unsupported option of a bind or server line is listed; 3.x keywords say so."""

import os
import resource
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import HOST, SPILLWAY, Suite, curl, free_port, no_sanitizer_report, raw_exchange  # noqa: E402

TMO = ("defaults\n  mode http\n  timeout client 2s\n  timeout server 2s\n"
       "  timeout connect 1s\n")


def check(t, text):
    path = os.path.join(t.dir, "c%d.cfg" % time.monotonic_ns())
    with open(path, "w") as f:
        f.write(text)
    t0 = time.monotonic()
    p = subprocess.run([SPILLWAY, "-c", "-f", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), time.monotonic() - t0


def main(t):
    def case_hostile():
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rc, out, took = check(t, TMO + "frontend f\n  bind 127.0.0.1:1\n"
                              "  acl a path_reg a++++++++++++++++++++++++++\n"
                              "  acl b hdr_reg(host) (a{1,1000}){1,100}\n"
                              "  acl c url_reg a{1,8000}\n"
                              "  default_backend b\nbackend b\n  server s 127.0.0.1:2\n")
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert rc != 0, out
        assert out.count("is too complex") == 3, out
        assert ":8: 'acl': regex 'a++++++++++++++++++++++++++' is too complex" in out, out
        assert took < 2.0, took
        assert rss < max(before, 200 * 1024), rss  # KiB: no gigabytes spent
    t.case("hostile regexes: 'too complex', with their lines, fast", case_hostile)

    def case_expect():
        rc, out, took = check(t, TMO + "frontend f\n  bind 127.0.0.1:1\n  default_backend b\n"
                              "backend b\n  option httpchk\n"
                              "  http-check expect rstring a+++++++++++++++++++\n"
                              "  server s 127.0.0.1:2 check\n")
        assert rc != 0 and "is too complex" in out and took < 2.0, (out, took)
    t.case("http-check expect rstring: the same bound", case_expect)

    # live regex ACLs, each gated by an x-case header
    b1, b2 = t.backend("yes"), t.backend("no")
    port = free_port()
    sp = t.spillway(TMO + "frontend f\n  bind %s:%d\n"
                    "  acl p path_reg ^/n[a-z]+e$\n"
                    "  acl q path_reg ^/api/v[0-9]+/\n"
                    "  acl h hdr_reg(host) -i ^(www\\.)?example\\.(com|org)$\n"
                    "  acl u url_reg [?&]id=[0-9]{1,10}(&|$)\n"
                    "  acl cp hdr(x-case) p\n  acl cq hdr(x-case) q\n"
                    "  acl ch hdr(x-case) h\n  acl cu hdr(x-case) u\n"
                    "  use_backend yes if cp p or cq q or ch h or cu u\n"
                    "  default_backend no\n"
                    "backend yes\n  server s %s:%d\nbackend no\n  server s %s:%d\n"
                    % (HOST, port, HOST, b1.port, HOST, b2.port), port)

    def name(case, path, host="localhost", h2=False):
        if h2:
            rc, out, err = curl(["--http2-prior-knowledge", "-H", "Host: " + host, "-H",
                                 "x-case: " + case, "http://%s:%d%s" % (HOST, port, path)])
            assert rc == 0, err
            return out.decode()
        raw = ("GET %s HTTP/1.1\r\nHost: %s\r\nx-case: %s\r\nConnection: close\r\n\r\n"
               % (path, host, case)).encode()
        return raw_exchange(port, raw).body.decode()

    def case_live():
        for h2 in (False, True):
            want = [("p", "/name", "localhost", "yes"), ("q", "/name", "localhost", "no"),
                    ("u", "/name?x=1&id=42", "localhost", "yes"),
                    ("u", "/name?id=4200000000000", "localhost", "no"),
                    ("h", "/name", "www.Example.org", "yes"),
                    ("h", "/name", "example.net", "no")]
            for case, path, host, exp in want:
                got = name(case, path, host, h2)
                assert got.strip() == exp, (h2, case, path, host, got)
    t.case("path_reg, hdr_reg, url_reg route live HTTP/1.1 and HTTP/2 requests", case_live)

    t.case("no sanitizer report from the regex matches", no_sanitizer_report, t)

    def case_options():
        rc, out, _ = check(t, TMO + "frontend f\n"
                           "  bind 127.0.0.1:1 ssl crt /x.pem alpn h2 verify required "
                           "crt-list /l defer-accept accept-proxy\n"
                           "  default_backend b\nbackend b\n"
                           "  server s 127.0.0.1:2 ssl verify none sni str(x) slowstart 10s check\n")
        assert rc != 0
        for o in ("bind option 'verify'", "bind option 'crt-list'",
                  "bind option 'defer-accept'", "server option 'ssl'", "server option 'verify'",
                  "server option 'sni'", "server option 'slowstart'"):
            assert o in out, (o, out)
    t.case("-c lists every unsupported option of a bind and a server line", case_options)

    def case_3x():
        rc, out, _ = check(t, "global\n  stats-file /x\n" + TMO +
                           "crt-store s\n  load crt a.pem\nfrontend f\n  bind 127.0.0.1:1\n"
                           "  default_backend b\nbackend b\n  hash-key addr\n"
                           "  server s 127.0.0.1:2\n")
        assert rc != 0
        for k in ("stats-file", "crt-store", "hash-key"):
            assert ("'%s' is an HAProxy 3.x keyword, not supported by spillway "
                    "(HAProxy 2.6 semantics)" % k) in out, (k, out)
    t.case("-c names HAProxy 3.x keywords as such", case_3x)


if __name__ == "__main__":
    Suite("cfg_hygiene").run(main)
