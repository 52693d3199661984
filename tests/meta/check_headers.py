#!/usr/bin/env python3
"""tests/meta/check_headers.py - every header compiles alone; every include follows the arrows.

Two contracts of ../shared/DESIGN.md ("Layout") and ../shared/STYLE.md ("Headers"), checked on
the tree as it is (the folders are listed at run time, so a new file is checked at once):

1. Every header of core/ net/ http/ balance/ stats/ compiles alone: a .c that includes only
   that header, compiled with the project's flags (-std=gnu17 -Wall -Wextra -Wpedantic -Werror
   -D_GNU_SOURCE and the include flags of nghttp2, liburcu-qsbr and ck). The same .c with the
   header included twice must compile too (an include guard).

2. Every #include line of those folders follows the arrows:
     core/                  core only (the daemon's files, core/main.c and core/cli.c, are
                            linked into the executable, not into sp_core: any folder)
     net/ balance/ stats/   core and themselves
     http/                  core, net, itself, and of balance/ and stats/ only their public
                            headers balance/balance.h and stats/stats.h
   so nothing includes http/ but http/ and the daemon; <nghttp2/...> is included from http/
   only (its only user); a quoted include names its folder ("net/buf.h", not "buf.h").
   A violation fails with file:line. Known violations are listed in include-allow.txt (one
   "<file> <header>" per line); an entry that matches nothing any more fails too, so the list
   only shrinks.

Output: one "ok"/"FAIL" line per case (a header compiled alone, a file's includes, the
allow-list), then "N passed, N failed" as the last line. Exit status 0 only when nothing
failed.

Usage (meson passes all of it; by hand, from anywhere, the defaults work):
  check_headers.py [--root DIR] [--allow FILE] [--cc=ARG]... [--cflag=ARG]... [-j N]
--cc=ARG (repeated) is the compiler command (default: $CC, else cc); --cflag=ARG (repeated)
adds compile flags (default: `pkg-config --cflags libnghttp2 liburcu-qsbr ck`).
"""
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import tempfile

MODULES = ("core", "net", "http", "balance", "stats")
BASE_FLAGS = ["-std=gnu17", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-D_GNU_SOURCE"]
PKGS = ["libnghttp2", "liburcu-qsbr", "ck"]
# the daemon: compiled into the spillway executable (meson.build), not into sp_core
DAEMON = {"core/main.c", "core/cli.c"}
HTTP_MAY = ("balance/balance.h", "stats/stats.h")

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include(?![A-Za-z0-9_])[ \t]*(?:"([^"]*)"|<([^>]*)>|(.*))')


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    opts = {
        "root": os.path.normpath(os.path.join(here, "..", "..")),
        "allow": os.path.join(here, "include-allow.txt"),
        "cc": [],
        "cflags": None,
        "jobs": os.cpu_count() or 2,
    }
    it = iter(argv)
    for a in it:
        if a == "--root":
            opts["root"] = next(it)
        elif a == "--allow":
            opts["allow"] = next(it)
        elif a.startswith("--cc="):
            opts["cc"].append(a[len("--cc="):])
        elif a.startswith("--cflag="):
            opts["cflags"] = (opts["cflags"] or []) + [a[len("--cflag="):]]
        elif a == "-j":
            opts["jobs"] = int(next(it))
        else:
            sys.exit(f"check_headers.py: unknown argument {a!r}\n{__doc__}")
    if not opts["cc"]:
        opts["cc"] = shlex.split(os.environ.get("CC", "cc"))
    if opts["cflags"] is None:
        try:
            out = subprocess.run(["pkg-config", "--cflags"] + PKGS, capture_output=True,
                                 text=True, check=True).stdout
            opts["cflags"] = shlex.split(out)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"note: pkg-config --cflags {' '.join(PKGS)} failed ({e}); no extra flags")
            opts["cflags"] = []
    return opts


def module_files(root, exts):
    files = []
    for m in MODULES:
        d = os.path.join(root, m)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(exts) and os.path.isfile(os.path.join(d, name)):
                files.append(f"{m}/{name}")
    return files


# ---- 1. headers compile alone ------------------------------------------------------------

def compile_alone(opts, header, tmp):
    """Returns None when `header` compiles alone (and twice), else the failure text."""
    root = opts["root"]
    base = os.path.join(tmp, header.replace("/", "__"))
    for times, what in ((1, "alone"), (2, "included twice (include guard)")):
        src = base + f".{times}.c"
        with open(src, "w") as f:
            f.write(f'#include "{header}"\n' * times)
        cmd = opts["cc"] + BASE_FLAGS + ["-I", root] + opts["cflags"] + \
            ["-c", src, "-o", base + f".{times}.o"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{header}: cannot run the compiler: {e}\n  {shlex.join(cmd)}"
        if r.returncode != 0:
            out = (r.stdout + r.stderr).strip().replace(src, f"<{header} {what}>")
            return f"{header} does not compile {what}:\n  {shlex.join(cmd)}\n{out}"
    return None


# ---- 2. include arrows ---------------------------------------------------------------------

def strip_comments(text):
    """Blanks out /* */ comments (keeping newlines, so line numbers hold) and // comments."""
    out = []
    i, n = 0, len(text)
    in_str = None
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == in_str or c == "\n":
                in_str = None
            i += 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        else:
            if c in "\"'":
                in_str = c
            out.append(c)
            i += 1
    return "".join(out)


def includes(root, path):
    """(line, kind, name) for every #include of `path`: kind is '"', '<' or '?' (computed)."""
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    for lineno, line in enumerate(text.split("\n"), 1):
        m = INCLUDE_RE.match(line)
        if not m:
            continue
        if m.group(1) is not None:
            yield lineno, '"', m.group(1)
        elif m.group(2) is not None:
            yield lineno, "<", m.group(2)
        else:
            yield lineno, "?", m.group(3).strip()


def resolve(root, path, name):
    """The root-relative path a quoted include names (the including file's folder first, as
    the preprocessor looks), normalised."""
    local = os.path.normpath(os.path.join(os.path.dirname(path), name))
    if os.path.isfile(os.path.join(root, local)):
        return local
    return os.path.normpath(name)


def rule_text(mod, path):
    if path in DAEMON:
        return f"{path} (the daemon) may include any folder"
    if mod == "core":
        return "core/ may include core/ only"
    if mod == "http":
        return "http/ may include core/, net/, http/, balance/balance.h and stats/stats.h only"
    return f"{mod}/ may include core/ and {mod}/ only"


def check_include(root, path, lineno, kind, name):
    """None when the include is allowed, else (included, message)."""
    mod = path.split("/", 1)[0]
    where = f"{path}:{lineno}"
    if kind == "?":
        return name, f"{where}: computed #include {name}: the arrows cannot be checked"
    if kind == "<":
        if name.startswith("nghttp2/") and mod != "http":
            return name, f"{where}: includes <{name}>: nghttp2 is used by http/ only"
        return None
    target = resolve(root, path, name)
    if target != os.path.normpath(name):
        return target, (f'{where}: #include "{name}" does not name its folder '
                        f'(write "{target}")')
    tmod = target.split("/", 1)[0] if "/" in target else ""
    if tmod not in MODULES:
        return target, f'{where}: includes "{name}", outside core/ net/ http/ balance/ stats/'
    if tmod == mod or tmod == "core" or path in DAEMON:
        return None
    if mod == "http" and (tmod == "net" or target in HTTP_MAY):
        return None
    return target, f'{where}: includes "{target}": {rule_text(mod, path)}'


def load_allow(path):
    allow = {}
    try:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                parts = line.split()
                if len(parts) != 2:
                    sys.exit(f"{path}:{lineno}: expected '<file> <header>', got {line!r}")
                allow[(parts[0], parts[1])] = lineno
    except FileNotFoundError:
        pass
    return allow


def main(argv):
    opts = parse_args(argv)
    root = opts["root"]
    passed = failed = 0

    def report(ok, what, detail=None):
        nonlocal passed, failed
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if detail:
            for line in detail.rstrip("\n").split("\n"):
                print(f"    {line}")
        if ok:
            passed += 1
        else:
            failed += 1

    headers = module_files(root, (".h",))
    print(f"compiler: {shlex.join(opts['cc'])}")
    print(f"flags: {shlex.join(BASE_FLAGS + ['-I', root] + opts['cflags'])}")
    with tempfile.TemporaryDirectory(prefix="sp-headers-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts["jobs"]) as ex:
            results = list(ex.map(lambda h: compile_alone(opts, h, tmp), headers))
    for h, err in zip(headers, results):
        report(err is None, f"header compiles alone: {h}", err)

    allow = load_allow(opts["allow"])
    used = set()
    for path in module_files(root, (".h", ".c")):
        bad, known = [], []
        for lineno, kind, name in includes(root, path):
            v = check_include(root, path, lineno, kind, name)
            if v is None:
                continue
            target, msg = v
            if (path, target) in allow:
                used.add((path, target))
                known.append(msg + "  [known: include-allow.txt]")
            else:
                bad.append(msg)
        for msg in known:
            print(f"note {msg}")
        report(not bad, f"include arrows: {path}", "\n".join(bad) if bad else None)

    stale = [f"{opts['allow']}:{ln}: '{f} {h}' matches no include any more: delete the entry"
             for (f, h), ln in sorted(allow.items(), key=lambda kv: kv[1])
             if (f, h) not in used]
    report(not stale, f"allow-list has no stale entry ({len(allow)} known violations)",
           "\n".join(stale) if stale else None)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
