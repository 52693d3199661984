#!/usr/bin/env python3
"""tests/meta/check_contracts.py - every exported function and struct states its thread contract.

The house rule of ../shared/STYLE.md ("Threads"): the first comment line of each struct and
exported function names its contract (`owner: main`, `owner: worker`, `shared: immutable after
publish (RCU)`, `shared: atomic`, `pure`, `any thread`, ...). Checked on every header of core/
net/ http/ balance/ stats/ (the folders are listed at run time, so a new header is checked at
once):

  - each top-level function declaration: `TYPE name(` at column 0, `static inline` included
    (a leading `__attribute__((...))` is allowed);
  - each struct definition: `struct NAME {` at column 0 (`typedef struct NAME {` too);

must have a contract word (`owner:`, `shared`, `pure`, `any thread`, `thread`; any case) in a
comment of the run of lines directly above it: the lines above it up to the first blank line
(or the `}` that closes a previous struct or inline function), so one comment over a group of
declarations with no blank line between them covers the whole group.

Each offender is printed as "file:line: error: ...". Headers in TODO (being documented by
other hands) are reported as "file:line: warning: ..." with a count per header and do not
fail; a TODO header with no offender left is noted so that it can be taken off the list.

Exit status 1 when a header outside TODO has an offender, else 0.

Usage (meson passes --root; by hand, from anywhere, the default works):
  check_contracts.py [--root DIR]
"""
import os
import re
import sys

MODULES = ("core", "net", "http", "balance", "stats")

# Headers not yet documented: offenders here warn, they do not fail. Take a header off once it
# passes (the script notes which ones do). Empty: every header is enforced.
TODO = set()

CONTRACT_RE = re.compile(r"owner:|shared|pure|any thread|thread", re.IGNORECASE)
ATTR = r"(?:__attribute__\s*\(\(.*?\)\)\s*)?"
FUNC_RE = re.compile(r"^" + ATTR + r"((?:[A-Za-z_]\w*[ \t*]+)+)\**([A-Za-z_]\w*)\(")
STRUCT_RE = re.compile(r"^(?:typedef\s+)?struct\s+([A-Za-z_]\w*)\s*\{")
NOT_TYPES = {"typedef", "return", "if", "while", "for", "switch", "do", "else", "case", "goto",
             "sizeof"}


def split_comments(text):
    """Per line: (code, comment): the line with comments blanked out (columns kept), and the
    text of the comments on it."""
    code, comm = [], []
    cur_code, cur_comm = [], []
    i, n = 0, len(text)
    in_str = None
    in_block = in_line = False

    def newline():
        code.append("".join(cur_code))
        comm.append("".join(cur_comm))
        cur_code.clear()
        cur_comm.clear()

    while i < n:
        c = text[i]
        if c == "\n":
            newline()
            in_line = False
            in_str = None
            i += 1
            continue
        if in_block:
            if text.startswith("*/", i):
                in_block = False
                cur_code.append("  ")
                i += 2
            else:
                cur_comm.append(c)
                cur_code.append(" ")
                i += 1
        elif in_line:
            cur_comm.append(c)
            i += 1
        elif in_str:
            cur_code.append(c)
            if c == "\\" and i + 1 < n and text[i + 1] != "\n":
                cur_code.append(text[i + 1])
                i += 2
                continue
            if c == in_str:
                in_str = None
            i += 1
        elif text.startswith("/*", i):
            in_block = True
            cur_code.append("  ")
            i += 2
        elif text.startswith("//", i):
            in_line = True
            i += 2
        else:
            if c in "\"'":
                in_str = c
            cur_code.append(c)
            i += 1
    newline()
    return code, comm


def declarations(code):
    """(index, kind, name) of each top-level function declaration and struct definition."""
    in_macro = False
    for idx, line in enumerate(code):
        cont = in_macro
        in_macro = line.rstrip().endswith("\\") and (cont or line.lstrip().startswith("#"))
        if cont:
            continue
        m = STRUCT_RE.match(line)
        if m:
            yield idx, "struct", m.group(1)
            continue
        m = FUNC_RE.match(line)
        if m and m.group(1).split()[0] not in NOT_TYPES:
            yield idx, "function", m.group(2)


def covered(raw, code, comm, idx):
    """True when a comment in the run of lines directly above line idx names a contract."""
    j = idx - 1
    while j >= 0:
        if not raw[j].strip():
            return False
        if comm[j] and CONTRACT_RE.search(comm[j]):
            return True
        if code[j].startswith("}"):
            return False
        j -= 1
    return False


def offenders(root, header):
    with open(os.path.join(root, header), encoding="utf-8", errors="replace") as f:
        text = f.read()
    raw = text.split("\n")
    code, comm = split_comments(text)
    out = []
    for idx, kind, name in declarations(code):
        if not covered(raw, code, comm, idx):
            out.append((f"{header}:{idx + 1}", f"{kind} {name} states no thread contract in the "
                        f"comment above it (owner:, shared, pure, any thread)"))
    return out


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    it = iter(argv)
    for a in it:
        if a == "--root":
            root = next(it)
        else:
            sys.exit(f"check_contracts.py: unknown argument {a!r}\n{__doc__}")

    headers = []
    for m in MODULES:
        d = os.path.join(root, m)
        if os.path.isdir(d):
            headers += [f"{m}/{n}" for n in sorted(os.listdir(d))
                        if n.endswith(".h") and os.path.isfile(os.path.join(d, n))]

    failed, warned, done_todo = 0, 0, []
    for h in headers:
        bad = offenders(root, h)
        if h in TODO:
            for where, what in bad:
                print(f"{where}: warning: {what} (TODO header)")
            if bad:
                print(f"{h}: warning: {len(bad)} without a contract (TODO header)")
            else:
                done_todo.append(h)
            warned += len(bad)
        else:
            for where, what in bad:
                print(f"{where}: error: {what}")
            failed += len(bad)
            print(f"{'ok  ' if not bad else 'FAIL'} {h}")
    for h in done_todo:
        print(f"note: {h} is in TODO but has no offender: take it off the list")
    for h in sorted(TODO - set(headers)):
        print(f"note: {h} is in TODO but does not exist")
    print(f"{len(headers)} headers: {failed} offenders, {warned} warnings in "
          f"{len(TODO & set(headers))} TODO headers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
