#!/usr/bin/env python3
"""bench/report.py - the arithmetic behind bench/run (standard library only).

  report.py proc PID
      CPU and memory of PID and all its descendants (threads included, since /proc/PID/stat
      is per process): "TICKS SCHED_NS RSS_HWM_KIB NPROCS" where TICKS is utime+stime in clock
      ticks, SCHED_NS the on-CPU time in ns from /proc/PID/task/*/schedstat (finer grained,
      same quantity), RSS_HWM_KIB the sum of VmHWM.

  report.py add --csv FILE key=value ... --out H2LOAD_OUTPUT... --log H2LOAD_LOG...
      Parses h2load summaries and --log-file files of one measured run, computes latency
      percentiles, appends one row to FILE (header written when FILE is new) and prints a
      one-line summary for the progress display.

  report.py table FILE      prints the result tables (medians over runs, spillway/X ratios)
  report.py plot FILE PREFIX   writes PREFIX-*.png with gnuplot
"""
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

COLUMNS = [
    "scenario", "load", "load_desc", "threads", "proxy", "run", "requests", "done", "ok_2xx",
    "non_2xx", "errored", "timeout", "failed", "rps", "p50_ms", "p99_ms", "p999_ms",
    "latency_rows", "cpu_us_per_req", "cpu_us_per_req_sched", "rss_mib", "upstream_conns",
    "upstream_conns_run",
    "ade_req", "pb_req", "ade_conns", "pb_conns", "peak_fe_conn", "wall_s", "note",
]

BASELINES = ["haproxy", "haproxy-srvmaxconn", "nghttpx", "direct"]


# ---------------------------------------------------------------------------- /proc
def proc_tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_sample(root):
    ticks = ns = hwm = n = 0
    for p in proc_tree(root):
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            for t in os.listdir(f"/proc/{p}/task"):
                try:
                    with open(f"/proc/{p}/task/{t}/schedstat") as f:
                        ns += int(f.read().split()[0])
                except OSError:
                    pass
            n += 1
        except (OSError, ValueError, IndexError):
            continue
    return ticks, ns, hwm, n


# ---------------------------------------------------------------------------- h2load
def parse_h2load(text):
    r = {}
    m = re.search(r"^finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s", text, re.M)
    if m:
        scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]
        r["elapsed"] = float(m.group(1)) * scale
        r["rps"] = float(m.group(3))
    m = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text, re.M)
    if m:
        (r["total"], r["started"], r["done"], r["succeeded"], r["failed"], r["errored"],
         r["timeout"]) = map(int, m.groups())
    m = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    if m:
        r["2xx"], r["3xx"], r["4xx"], r["5xx"] = map(int, m.groups())
    return r


def percentile(sorted_vals, q):
    """nearest rank"""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def read_latencies(paths):
    """h2load --log-file rows: start (us since epoch) TAB status TAB duration (us).
    Status -1 marks a failed request; only answered requests give a latency."""
    vals = []
    for p in paths:
        try:
            with open(p) as f:
                for line in f:
                    parts = line.split("\t")
                    if len(parts) < 3:
                        continue
                    try:
                        status, dur = int(parts[1]), int(parts[2])
                    except ValueError:
                        continue
                    if status > 0:
                        vals.append(dur)
        except OSError:
            pass
    vals.sort()
    return vals


def cmd_add(argv):
    csv_path, outs, logs, kv = None, [], [], {}
    mode = None
    for a in argv:
        if a == "--csv":
            mode = "csv"
        elif a == "--out":
            mode = "out"
        elif a == "--log":
            mode = "log"
        elif mode == "csv":
            csv_path, mode = a, None
        elif mode == "out":
            outs.append(a)
        elif mode == "log":
            logs.append(a)
        elif "=" in a:
            k, v = a.split("=", 1)
            kv[k] = v
        else:
            sys.exit(f"report.py add: unexpected argument {a!r}")
    tot = {"total": 0, "done": 0, "2xx": 0, "errored": 0, "timeout": 0, "elapsed": 0.0,
           "rps": 0.0}
    parsed_all = True
    for o in outs:
        try:
            with open(o, errors="replace") as f:
                r = parse_h2load(f.read())
        except OSError:
            r = {}
        if "total" not in r or "2xx" not in r:
            parsed_all = False
            continue
        for k in ("total", "done", "2xx", "errored", "timeout"):
            tot[k] += r[k]
        tot["elapsed"] = max(tot["elapsed"], r.get("elapsed", 0.0))
        tot["rps"] += r.get("rps", 0.0)
    requests = int(kv.get("requests", 0) or 0) or tot["total"]
    # failed = everything asked for that did not come back 2xx: non-2xx, errored, timed out,
    # and (when h2load was cut off or crashed) never done
    failed = max(requests - tot["2xx"], 0)
    non2xx = max(tot["done"] - tot["2xx"] - tot["errored"] - tot["timeout"], 0)
    wall = float(kv.get("wall", 0) or 0)
    if wall > 0:
        rps = tot["done"] / wall
    elif len(outs) == 1:
        rps = tot["rps"]
    else:
        rps = tot["done"] / tot["elapsed"] if tot["elapsed"] else 0.0
    lat = read_latencies(logs)
    cpu_ticks = float(kv.get("cpu_ticks", "nan"))
    cpu_ns = float(kv.get("cpu_ns", "nan"))
    hz = os.sysconf("SC_CLK_TCK")
    done = tot["done"]
    note = kv.get("note", "")
    if not parsed_all:
        note = (note + " h2load-summary-missing").strip()
    row = {
        "scenario": kv.get("scenario", ""), "load": kv.get("load", ""),
        "load_desc": kv.get("load_desc", ""), "threads": kv.get("threads", ""),
        "proxy": kv.get("proxy", ""), "run": kv.get("run", ""),
        "requests": requests, "done": done, "ok_2xx": tot["2xx"], "non_2xx": non2xx,
        "errored": tot["errored"], "timeout": tot["timeout"], "failed": failed,
        "rps": f"{rps:.1f}",
        "p50_ms": f"{percentile(lat, 50) / 1000:.3f}" if lat else "",
        "p99_ms": f"{percentile(lat, 99) / 1000:.3f}" if lat else "",
        "p999_ms": f"{percentile(lat, 99.9) / 1000:.3f}" if lat else "",
        "latency_rows": len(lat),
        "cpu_us_per_req": f"{cpu_ticks / hz * 1e6 / done:.2f}" if done and cpu_ticks == cpu_ticks else "",
        "cpu_us_per_req_sched": f"{cpu_ns / 1e3 / done:.2f}" if done and cpu_ns == cpu_ns else "",
        "rss_mib": f"{float(kv.get('rss_kib', 0) or 0) / 1024:.1f}",
        "upstream_conns": kv.get("upstream_conns", ""),
        "upstream_conns_run": kv.get("upstream_conns_run", ""),
        "ade_req": kv.get("ade_req", ""), "pb_req": kv.get("pb_req", ""),
        "ade_conns": kv.get("ade_conns", ""), "pb_conns": kv.get("pb_conns", ""),
        "peak_fe_conn": kv.get("peak_fe_conn", ""),
        "wall_s": kv.get("wall", "") or (f"{tot['elapsed']:.3f}" if tot["elapsed"] else ""),
        "note": note,
    }
    new = not os.path.exists(csv_path) or os.path.getsize(csv_path) == 0
    with open(csv_path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow(row)
    split = ""
    if row["ade_req"] != "" or row["pb_req"] != "":
        split = f"  ade/pb req {row['ade_req']}/{row['pb_req']}"
    print(f"{rps:10.0f} req/s  p99 {row['p99_ms'] or '-'} ms  failed {failed}  "
          f"cpu {row['cpu_us_per_req_sched'] or row['cpu_us_per_req'] or '-'} us/req  rss {row['rss_mib']} MiB  "
          f"upstream conns {row['upstream_conns'] or '-'}{split}"
          + (f"  [{row['note']}]" if row["note"] else ""))


# ---------------------------------------------------------------------------- tables
METRICS = [  # column, header, format, show ratio
    ("rps", "req/s", "{:.0f}", True),
    ("p50_ms", "p50 ms", "{:.2f}", True),
    ("p99_ms", "p99 ms", "{:.2f}", True),
    ("p999_ms", "p99.9 ms", "{:.2f}", True),
    ("failed", "failed", "{:.0f}", True),
    ("cpu", "CPU us/req", "{:.2f}", True),
    ("rss_mib", "RSS MiB", "{:.1f}", True),
    ("upstream_conns", "upstr conns", "{:.0f}", True),
    ("ade_req", "ade req", "{:.0f}", False),
    ("pb_req", "pb req", "{:.0f}", False),
    ("peak_fe_conn", "peak fe_conn", "{:.0f}", False),
]


def num(v):
    try:
        x = float(v)
        return None if math.isnan(x) else x
    except (TypeError, ValueError):
        return None


def load_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        # on-CPU time from schedstat (ns) where there is one, utime+stime (ticks) otherwise
        r["cpu"] = r.get("cpu_us_per_req_sched") or r.get("cpu_us_per_req", "")
    return rows


def groups(rows):
    """(scenario, load, threads) -> {proxy: [rows by run]}, in first-seen order"""
    g = {}
    for r in rows:
        key = (r["scenario"], r["load"], r["threads"])
        g.setdefault(key, {}).setdefault(r["proxy"], []).append(r)
    return g


def fmt(v, f):
    return "-" if v is None else f.format(v)


def ratio_cell(vals):
    if not vals:
        return "-"
    return f"{statistics.median(vals):.2f} ({min(vals):.2f}..{max(vals):.2f})"


def cmd_table(argv):
    rows = load_rows(argv[0])
    for (scen, load, thr), byproxy in groups(rows).items():
        any_row = next(iter(byproxy.values()))[0]
        nruns = max(len(v) for v in byproxy.values())
        print()
        print(f"== {scen} / {load}: {any_row['load_desc']} | nbthread/workers {thr} | "
              f"{nruns} run(s), median over runs ==")
        cols = [m for m in METRICS
                if any(num(r[m[0]]) is not None for v in byproxy.values() for r in v)]
        hdr = f"{'proxy':<20}" + "".join(f"{h:>13}" for _, h, _, _ in cols) + "  req/s min..max"
        print(hdr)
        for proxy, rs in byproxy.items():
            line = f"{proxy:<20}"
            for c, _, f, _ in cols:
                vals = [num(r[c]) for r in rs if num(r[c]) is not None]
                line += f"{fmt(statistics.median(vals) if vals else None, f):>13}"
            rv = [num(r["rps"]) or 0 for r in rs]
            line += f"  {min(rv):.0f}..{max(rv):.0f}"
            notes = sorted({r["note"] for r in rs if r.get("note")})
            if notes:
                line += "  [" + "; ".join(notes) + "]"
            print(line)
        if "spillway" not in byproxy:
            continue
        bases = [b for b in BASELINES if b in byproxy]
        if not bases:
            continue
        print(f"  ratio spillway/X, median (min..max) over runs paired in A B order:")
        print(f"  {'metric':<13}" + "".join(f"{'vs ' + b:>26}" for b in bases))
        sp = byproxy["spillway"]
        for c, h, _, show in cols:
            if not show:
                continue
            line = f"  {h:<13}"
            for b in bases:
                vals = []
                for a, z in zip(sp, byproxy[b]):
                    x, y = num(a[c]), num(z[c])
                    if x is None or y is None:
                        continue
                    if y == 0:
                        if x == 0:
                            vals.append(1.0)
                        continue
                    vals.append(x / y)
                cell = ratio_cell(vals)
                if not vals and any(num(z[c]) == 0 for z in byproxy[b]):
                    cell = "n/a (X=0)"
                line += f"{cell:>26}"
            print(line)


# ---------------------------------------------------------------------------- plots
def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=False)


def cmd_plot(argv):
    path, prefix = argv[0], argv[1]
    rows = load_rows(path)
    g = groups(rows)
    tmp = tempfile.mkdtemp(prefix="spillway-plot.")
    written = []
    # requests/s per proxy, one chart per (load, threads)
    for (scen, load, thr), byproxy in g.items():
        dat = os.path.join(tmp, f"{load}-{thr}.dat")
        with open(dat, "w") as f:
            for i, (proxy, rs) in enumerate(byproxy.items()):
                v = [num(r["rps"]) or 0 for r in rs]
                f.write(f"{i} \"{proxy}\" {statistics.median(v)} {min(v)} {max(v)}\n")
        png = f"{prefix}-{load}-t{thr}-rps.png"
        gnuplot(f"""set terminal pngcairo size 900,500
set output '{png}'
set title "{scen} / {load}, nbthread {thr}: requests/s (median, min..max)" noenhanced
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set ylabel "requests/s"
set grid ytics
unset key
plot '{dat}' using 1:3:xtic(2) with boxes, '' using 1:3:4:5 with yerrorbars lc rgb "black" pt 0
""")
        written.append(png)
    # against threads, when more than one thread count was run
    byload = {}
    for (scen, load, thr), byproxy in g.items():
        byload.setdefault((scen, load), {})[thr] = byproxy
    for (scen, load), bythr in byload.items():
        if len(bythr) < 2:
            continue
        proxies = []
        for byproxy in bythr.values():
            for p in byproxy:
                if p not in proxies:
                    proxies.append(p)
        for col, label, tag in (("rps", "requests/s", "rps"),
                                ("cpu", "proxy CPU us/request", "cpu")):
            files = []
            for p in proxies:
                dat = os.path.join(tmp, f"{load}-{tag}-{p}.dat")
                with open(dat, "w") as f:
                    for thr in sorted(bythr, key=lambda t: int(t)):
                        rs = bythr[thr].get(p, [])
                        v = [num(r[col]) for r in rs if num(r[col]) is not None]
                        if v:
                            f.write(f"{thr} {statistics.median(v)} {min(v)} {max(v)}\n")
                files.append((p, dat))
            png = f"{prefix}-{load}-threads-{tag}.png"
            thrs = sorted({int(t) for t in bythr})
            xtics = ", ".join(f'"{t}" {t}' for t in thrs)
            plots = ", ".join(f"'{d}' using 1:2:3:4 with yerrorlines title '{p}'"
                              for p, d in files)
            gnuplot(f"""set terminal pngcairo size 900,500
set output '{png}'
set title "{scen} / {load}: {label} against nbthread/workers" noenhanced
set xlabel "threads"
set logscale x 2
set xrange [{thrs[0] / 1.2}:{thrs[-1] * 1.2}]
set xtics ({xtics})
set ylabel "{label}"
set yrange [0:*]
set grid
set key outside right noenhanced
plot {plots}
""")
            written.append(png)
    for w in written:
        if os.path.exists(w):
            print(w)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "proc":
        print(*proc_sample(int(argv[0])))
    elif cmd == "add":
        cmd_add(argv)
    elif cmd == "table":
        cmd_table(argv)
    elif cmd == "plot":
        cmd_plot(argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
