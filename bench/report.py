#!/usr/bin/env python3
"""bench/report.py: the arithmetic and the report of bench/run.

bench/run keeps the processes (nginx, fanoutd, the peers) and their
clocks; everything that computes with what they measured is here, in
Python's standard library only:

    report.py row --csv FILE --scen S ... --line 'RESULT ...'
        one throughput run as a CSV row (appended), and its console line
    report.py latency-row CSV REP TARGET 'RESULT ...'
        one latency run as a CSV row (appended)
    report.py stream-count
        counts a stream batch's NDJSON on stdin: results, 200s, summary
    report.py report FACTS
        the markdown report and the charts, from the CSVs and FACTS, a
        file of KEY=VALUE lines that bench/run wrote (its settings and
        the scale and stream figures)

The charts are drawn by gnuplot (gnuplot-nox), as bench/run always did;
without it the report says so where the chart would be. The markdown is
the same, table for table, as when this was awk inside bench/run, so
docs/performance.md can quote either.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Callable, Iterable, Sequence

# The latency CSV's columns taken as they are from latency.c's RESULT.
LAT_KEYS = ("p50_us", "p90_us", "p99_us", "min_us", "max_us", "mean_us")

_NUM = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


# --- numbers as the peers print them ---------------------------------


def num(s: str | None) -> float:
    """The number at the start of s, or 0 (what awk's s + 0 was)."""
    m = _NUM.match(s or "")
    return float(m.group()) if m else 0.0


def numstr(x: float) -> str:
    """x as awk printed a number: an integer without a point."""
    return str(int(x)) if x == int(x) else "%.6g" % x


def median(xs: Sequence[float]) -> float:
    """The median of xs (the mean of the middle two for an even count)."""
    a = sorted(xs)
    m = len(a)
    if m == 0:
        return 0.0
    return a[m // 2] if m % 2 else (a[m // 2 - 1] + a[m // 2]) / 2


def thou(x: float) -> str:
    """x rounded to an integer, with thousands separators: 12,345."""
    return f"{int(x + 0.5):,}"


def mib(kb: str | None) -> str:
    """Kilobytes as MiB, one decimal."""
    return "%.1f" % (num(kb or "0") / 1024)


def divide(a: float, b: float, fmt: str) -> str:
    """a / b in fmt, or "-" when b is 0."""
    return fmt % (a / b) if b else "-"


def result_fields(line: str) -> dict[str, str]:
    """The KEY=VALUE words of a RESULT line (a value ends at its next =)."""
    v: dict[str, str] = {}
    for word in line.split()[1:]:
        parts = word.split("=")
        v[parts[0]] = parts[1] if len(parts) > 1 else ""
    return v


def field(line: str, key: str) -> str:
    """The value of KEY=VALUE in a RESULT line, up to its note=."""
    for word in line.split(" note=", 1)[0].split(" "):
        if word.startswith(key + "="):
            return word[len(key) + 1:]
    return ""


# --- the rows bench/run appends ---------------------------------------


def cmd_row(a: argparse.Namespace) -> None:
    """Append one throughput run to the CSV and print its console line.

    The run fails unless every request got a 200 and, but for wrk (which
    runs for a time, not a count), exactly n requests ran. other_cpu_s is
    the machine's busy CPU over the run less client, daemon and nginx.
    """
    line = a.line or "RESULT"
    note = ""
    i = line.find(" note=")
    if i >= 0:
        note = line[i + 6:]
        line = line[:i]
    v = result_fields(line)
    n = int(num(a.n))
    done, ok, wall = num(v.get("n")), num(v.get("ok")), num(v.get("wall_s"))
    st = a.status
    if a.note:
        note = a.note + ("" if note == "" else "; " + note)
    if st == "ok" and a.peer != "wrk" and done != n:
        note = f"{note} done {numstr(done)} of {n}"
    if st == "ok" and (done == 0 or ok != done
                       or (a.peer != "wrk" and done != n)):
        st = "failed"
    user, sys_s = num(v.get("user_s")), num(v.get("sys_s"))
    other = (num(a.machine_cpu) - user - sys_s - num(a.daemon_cpu)
             - num(a.nginx_cpu))
    note = re.sub(r"  +", " ", re.sub(r'[,"\r\n]', ";", note))
    head = f"{a.scen},{a.path},{n},{int(num(a.c))},{int(num(a.rep))}," \
        f"{a.peer},{st}"
    if st == "skipped":
        row = head + "," * 11 + note
    else:
        row = (f"{head},{int(ok)},{int(done)},{wall:.3f},"
               f"{done / wall if wall > 0 else 0:.1f},{user + sys_s:.2f},"
               f"{a.daemon_cpu},{a.nginx_cpu},{v.get('maxrss_kb', '')},"
               f"{a.daemon_hwm},{max(other, 0):.2f},{note}")
    with open(a.csv, "a", encoding="utf-8") as f:
        f.write(row + "\n")
    cells = row.split(",")
    print("    %-9s rep %s: %-7s %9s req/s  %s" % (
        cells[5], cells[4], cells[6], cells[10] or "-", cells[17]))


def cmd_latency_row(a: argparse.Namespace) -> None:
    """Append one latency run (a RESULT line of latency.c) to its CSV."""
    v = result_fields(a.line)
    row = [str(int(num(a.rep))), a.target, str(int(num(v.get("n")))),
           str(int(num(v.get("ok"))))]
    row += [v.get(k, "") for k in LAT_KEYS]
    row += [str(int(num(v.get("reconnects")))), v.get("batch_p50_us", ""),
            v.get("batch_p99_us", "")]
    with open(a.csv, "a", encoding="utf-8") as f:
        f.write(",".join(row) + "\n")


def cmd_stream_count(_: argparse.Namespace) -> None:
    """Count a stream's lines on stdin: results, 200s, summary, error."""
    results = ok = 0
    summary = error = b""
    for line in sys.stdin.buffer:
        if b'"type":"result"' in line:
            results += 1
            if b'"status":200,"headers"' in line:
                ok += 1
        if b'"type":"summary"' in line:
            summary = line.rstrip(b"\n")
        if b'"type":"error"' in line:
            error = line.rstrip(b"\n")
    out = sys.stdout.buffer
    out.write(b"RESULT results=%d ok=%d\n" % (results, ok))
    out.write(b"summary " + summary + b"\n")
    if error:
        out.write(b"error " + error + b"\n")


# --- reading what a run left ------------------------------------------


def read_facts(path: str) -> dict[str, str]:
    """The KEY=VALUE lines bench/run wrote (the last value of a key wins)."""
    facts: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                facts[key] = value
    return facts


def read_rows(path: str) -> list[list[str]]:
    """The rows of a CSV bench/run wrote, without its header."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        rows = list(csv.reader(f))
    return [r + [""] * (18 - len(r)) for r in rows[1:] if r]


def run(argv: Sequence[str], stderr: bool = False,
        check: bool = True) -> str | None:
    """A command's output (with stderr if asked), or None if it could not
    run or, with check, exited non-zero."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           errors="replace", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if check and p.returncode != 0:
        return None
    return p.stdout + (p.stderr if stderr else "")


def read_text(path: str) -> str:
    """A file's text, or "" if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# --- throughput tables ------------------------------------------------


class Runs:
    """The good runs of one peer in one scenario, and why others failed."""

    def __init__(self) -> None:
        self.n = 0.0
        self.total = 0
        self.good: list[list[str]] = []
        self.skip: str | None = None
        self.fail_note = ""

    def med(self, j: int) -> float:
        """The median of CSV column j (0-based) over the good runs."""
        return median([num(r[j]) for r in self.good])

    def cell(self, j: int, fmt: str, div: float = 1) -> str:
        """The median of column j divided by div in fmt, or "-"."""
        if not self.good or all(r[j] == "" for r in self.good):
            return "-"
        return fmt % (self.med(j) / div)


class Throughput:
    """The throughput rows of the CSV (not sched-* or workers-*)."""

    def __init__(self, rows: Iterable[list[str]], peers: list[str]) -> None:
        self.peers = peers
        self.order: list[str] = []
        self.path: dict[str, str] = {}
        self.c: dict[str, int] = {}
        self.n: dict[str, float] = {}
        self.runs: dict[tuple[str, str], Runs] = collections.defaultdict(Runs)
        for r in rows:
            s = r[0]
            if s.startswith(("sched-", "workers-")):
                continue
            if s not in self.path:
                self.order.append(s)
                self.path[s] = r[1]
                self.c[s] = int(num(r[3]))
            self.n[s] = max(self.n.get(s, 0.0), num(r[2]))
            k = self.runs[s, r[5]]
            k.n = num(r[2])
            k.total += 1
            if r[6] == "ok":
                k.good.append(r)
            elif r[6] == "skipped":
                k.skip = r[17]
            elif k.fail_note == "":
                k.fail_note = r[17]

    def title(self, s: str) -> str:
        """A scenario's heading: path, requests, concurrency."""
        return f"{self.path[s]}, {thou(self.n[s])} requests, " \
            f"concurrency {self.c[s]}"

    def ratio(self, s: str, p: str) -> str:
        """fanoutd's median req/s over peer p's, or "-"."""
        f, k = self.runs.get((s, "fanoutd")), self.runs.get((s, p))
        if not f or not f.good or not k or not k.good:
            return "-"
        return divide(f.med(10), k.med(10), "%.2f")

    def rate(self, s: str, p: str) -> str:
        """Peer p's median req/s, or skipped, failed, -."""
        k = self.runs.get((s, p))
        if k is None:
            return "-"
        if k.good:
            return thou(k.med(10))
        if k.skip is not None:
            return "skipped"
        return "**failed**" if k.total else "-"

    def summary(self) -> list[str]:
        """One table: each scenario's req/s per peer, ratios in brackets."""
        out = ["| scenario |" + "".join(f" {p} |" for p in self.peers),
               "|---|" + "--:|" * len(self.peers)]
        for s in self.order:
            line = f"| {self.title(s)} |"
            for p in self.peers:
                r = self.ratio(s, p)
                r = "" if p == "fanoutd" or r == "-" else f" ({r})"
                line += f" {self.rate(s, p)}{r} |"
            out.append(line)
        return out

    def chart_data(self) -> list[str]:
        """The chart's data, gnuplot's format: a row per scenario."""
        out = ["scenario" + "".join(f" {p}" for p in self.peers)]
        for s in self.order:
            line = f'"{self.path[s]}\\nN={thou(self.n[s])} C={self.c[s]}"'
            for p in self.peers:
                k = self.runs.get((s, p))
                line += " %.0f" % k.med(10) if k and k.good else " ?"
            out.append(line)
        return out

    def tables(self) -> list[str]:
        """A table per scenario: every figure of every peer, and notes."""
        out: list[str] = []
        for s in self.order:
            out += [f"### {self.title(s)}", "",
                    "| peer | req/s | fanoutd ÷ peer | wall s |"
                    " client CPU s | daemon CPU s | nginx CPU s |"
                    " other CPU s | client peak RSS MiB |"
                    " daemon peak RSS MiB | good runs |",
                    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
            notes: list[str] = []
            for p in self.peers:
                k = self.runs.get((s, p))
                if k is None or not k.total:
                    continue
                good = "-" if k.skip is not None \
                    else f"{len(k.good)}/{k.total}"
                out.append(" | ".join([
                    f"| {p}", self.rate(s, p), self.ratio(s, p),
                    k.cell(9, "%.2f"), k.cell(11, "%.2f"),
                    k.cell(12, "%.2f"), k.cell(13, "%.2f"),
                    k.cell(16, "%.2f"), k.cell(14, "%.1f", 1024),
                    k.cell(15, "%.1f", 1024), good]) + " |")
                if k.skip is not None:
                    notes.append(f"- {p}: {k.skip}")
                elif k.n != self.n[s]:
                    notes.append(
                        f"- {p}: ran {thou(k.n)} requests (REQUESTS_MAX),"
                        f" not {thou(self.n[s])}, to save time; its rate"
                        " is steady")
                if len(k.good) < k.total and k.skip is None:
                    notes.append(
                        f"- {p}: {k.total - len(k.good)} of {k.total} runs"
                        f" failed, e.g.: {k.fail_note}")
            out.append("")
            if notes:
                out += notes + [""]
        return out


    def python(self) -> list[str]:
        """The Python section: fanout-py against aiohttp and requests in
        each scenario where it ran, and each one's client CPU per request
        (CSV column 11 is the client's CPU seconds, 8 its requests)."""
        out = ["| scenario | peer | req/s | fanout-py ÷ peer | wall s |"
               " client CPU µs/request | client peak RSS MiB |"
               " good runs |", "|---|---|--:|--:|--:|--:|--:|--:|"]
        rows = 0
        for s in self.order:
            f = self.runs.get((s, "fanout-py"))
            if not f or not f.good:
                continue
            for p in ("fanout-py", "aiohttp", "requests"):
                k = self.runs.get((s, p))
                if not k or not k.good:
                    continue
                per = median([num(r[11]) / num(r[8]) * 1e6
                              for r in k.good if num(r[8]) > 0])
                ratio = "" if p == "fanout-py" else \
                    divide(f.med(10), k.med(10), "%.2f")
                out.append(f"| {self.title(s)} | {p} | {self.rate(s, p)} |"
                           f" {ratio} | {k.cell(9, '%.2f')} | {per:.0f} |"
                           f" {k.cell(14, '%.1f', 1024)} |"
                           f" {len(k.good)}/{k.total} |")
                rows += 1
        return out if rows else []


# --- the fanoutd-only tables ------------------------------------------


def variants(rows: Iterable[list[str]], prefix: str) -> dict[str, Runs]:
    """The runs of scenarios PREFIX-V by V, in the order first seen."""
    by: dict[str, Runs] = {}
    for r in rows:
        if not r[0].startswith(prefix):
            continue
        k = by.setdefault(r[0][len(prefix):], Runs())
        k.total += 1
        if r[6] != "ok":
            if k.fail_note == "":
                k.fail_note = r[17]
            continue
        k.good.append(r)
    return by


def waits(k: Runs) -> float:
    """The median rate_limit_waits of a sched-* variant's notes."""
    return median([num(r[17].rsplit("rate_limit_waits=", 1)[-1])
                   for r in k.good])


def sched_table(rows: list[list[str]], n: int, c: str, port: str) -> \
        list[str]:
    """The scheduler cost table: no [host], a [host] section, burst = C."""
    by = variants(rows, "sched-")
    label = {
        "none": f"host_inflight = {c}, no [host] section",
        "host": f"plus [host 127.0.0.1:{port}] rate = 1000000/s,"
        f" inflight = {c} (burst 1, the default)",
        "burst": f"the same [host] section with burst = {c}",
    }
    out = ["| fanoutd configuration | req/s | ÷ no [host] | daemon CPU s |"
           " daemon CPU µs/request | rate_limit_waits | good runs |",
           "|---|--:|--:|--:|--:|--:|--:|"]
    none = by.get("none")
    for v in ("none", "host", "burst"):
        k = by.get(v, Runs())
        if not k.good:
            out.append(f"| {label[v]} | **failed** | | | | | 0/{k.total} |")
            continue
        rel = divide(k.med(10), none.med(10), "%.3f") \
            if none and none.good else "-"
        out.append("| %s | %.0f | %s | %.2f | %.1f | %d | %d/%d |" % (
            label[v], k.med(10), rel, k.med(12), k.med(12) * 1e6 / n,
            int(waits(k)), len(k.good), k.total))
    for v in ("none", "host", "burst"):
        k = by.get(v)
        if k and k.fail_note:
            out += ["", f"- {v}: failed: {k.fail_note}"]
    return out


def workers_table(rows: list[list[str]], n: int) -> list[str]:
    """The transfer threads table, a row per W in numeric order."""
    by = variants(rows, "workers-")
    ws = sorted(by, key=lambda v: int(v) if v.isdigit() else 1e9)
    zero = by.get("0")
    out = ["| workers | req/s | ÷ workers = 0 | daemon CPU s |"
           " daemon CPU µs/request | good runs |",
           "|--:|--:|--:|--:|--:|--:|"]
    for v in ws:
        k = by[v]
        if not k.good:
            out.append(f"| {v} | **failed** | | | | 0/{k.total} |")
            continue
        rel = divide(k.med(10), zero.med(10), "%.3f") \
            if zero and zero.good else "-"
        out.append("| %s | %.0f | %s | %.2f | %.1f | %d/%d |" % (
            v, k.med(10), rel, k.med(12), k.med(12) * 1e6 / n,
            len(k.good), k.total))
    for v in ws:
        if by[v].fail_note:
            out += ["", f"- workers = {v}: failed: {by[v].fail_note}"]
    return out


def latency_table(path: str) -> list[str]:
    """The latency table: each target's percentiles, what fanoutd adds."""
    runs: dict[str, Runs] = collections.defaultdict(Runs)
    if os.path.exists(path):
        with open(path, encoding="utf-8", newline="") as f:
            for r in list(csv.reader(f))[1:]:
                r += [""] * (13 - len(r))
                k = runs[r[1]]
                k.total += 1
                if num(r[2]) == 0 or num(r[3]) != num(r[2]):
                    continue
                k.good.append(r)
    label = {
        "fanoutd": "1-request batch through fanoutd (workers as"
        " configured)",
        "fanoutd-w0": "1-request batch through fanoutd, workers = 0",
        "direct": "the same GET straight to nginx",
    }
    added = {"fanoutd": "**added by fanoutd** (workers as configured)",
             "fanoutd-w0": "**added by fanoutd, workers = 0**"}
    which = {"fanoutd": "first", "fanoutd-w0": "second"}
    out = ["| path | p50 µs | p90 µs | p99 µs | mean µs | good runs |",
           "|---|--:|--:|--:|--:|--:|"]
    for t in ("fanoutd", "fanoutd-w0", "direct"):
        k = runs.get(t, Runs())
        if not k.good:
            out.append(f"| {label[t]} | **failed** | | | | 0/{k.total} |")
            continue
        out.append("| %s | %.0f | %.0f | %.0f | %.0f | %d/%d |" % (
            label[t], k.med(4), k.med(5), k.med(6), k.med(9), len(k.good),
            k.total))
    d = runs.get("direct", Runs())
    for t in ("fanoutd", "fanoutd-w0"):
        k = runs.get(t, Runs())
        if k.good and d.good:
            out.append("| %s | **%.0f** | %.0f | **%.0f** | %.0f | |" % (
                added[t], k.med(4) - d.med(4), k.med(5) - d.med(5),
                k.med(6) - d.med(6), k.med(9) - d.med(9)))
    for t in ("fanoutd", "fanoutd-w0"):
        k = runs.get(t, Runs())
        if k.good and k.good[0][11] != "":
            out.append("| the batch itself, its summary elapsed_ms (part of"
                       " the %s row) | %.0f | | %.0f | | |" % (
                           which[t], k.med(11), k.med(12)))
    return out


# --- scale and stream -------------------------------------------------


def column_max(path: str, j: int) -> str:
    """The largest value in column j (0-based) of a samples CSV."""
    best = 0.0
    for r in read_rows(path):
        best = max(best, num(r[j]))
    return numstr(best)


def scale_times(reply: str) -> str:
    """Connect and total ms, p50 / max, from the results' timings."""
    c: list[float] = []
    t: dict[int, float] = {}
    for m in re.finditer(r'"timings":\{[^}]*\}', read_text(reply)):
        fs = re.split(r"[:,}]", m.group())
        for i in range(1, len(fs) - 1):
            if '"connect_ms"' in fs[i]:
                c.append(num(fs[i + 1]))
            if '"total_ms"' in fs[i]:
                t[len(c)] = num(fs[i + 1])
    n = len(c)
    if not n:
        return "- | -"
    tt = sorted(t.get(i, 0.0) for i in range(1, n + 1))
    c.sort()
    mid = (n + 1) // 2 - 1
    return "%.0f / %.0f | %.0f / %.0f" % (c[mid], c[-1], tt[mid], tt[-1])


def most_inflight(stats: str) -> str:
    """max_inflight from tests/upstream's /stats JSON."""
    return "\n".join(re.findall(r'"max_inflight":([0-9]*)', stats))


def scale_section(f: dict[str, str], out: str) -> list[str]:
    """Scale: SCALE_N transfers at once, fanoutd against aiohttp."""
    sn = f["SCALE_N"]
    line, aio = f.get("scale_line", ""), f.get("scale_aio", "")
    res = [f"## Scale: {sn} transfers at once", "",
           f"One wait batch of {sn} GETs of tests/upstream's /delay/2000"
           f" (each answers after 2 s) with concurrency {sn}; fanoutd with"
           f" max_inflight = host_inflight = {sn}. RSS and fds sampled"
           f" every 100 ms ({os.path.basename(out + '-scale.csv')}).", "",
           "| client | results 200 | completion s | CPU s | peak RSS MiB |"
           " most fds | connect ms p50 / max | transfer ms p50 / max |"
           " upstream's most in flight |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
           f"| fanoutd (daemon; exit status {f.get('scale_drc', '')}) |"
           f" {field(line, 'ok')} | {field(line, 'wall_s')} |"
           f" {f.get('scale_cpu', '')} | {mib(f.get('scale_hwm'))} |"
           f" {column_max(out + '-scale.csv', 3)} |"
           f" {scale_times(f.get('scale_reply', ''))} |"
           f" {most_inflight(f.get('scale_up', ''))} |",
           f"| aiohttp, TCPConnector(limit={sn}) | {field(aio, 'ok')} |"
           f" {field(aio, 'wall_s')} |"
           " %.2f |" % (num(field(aio, "user_s")) + num(field(aio, "sys_s")))
           + f" {mib(field(aio, 'maxrss_kb'))} | - | - | - |"
           f" {most_inflight(f.get('scale_aio_up', ''))} |", ""]
    for who, s in (("fanoutd", line), ("aiohttp", aio)):
        if "note=" in s:
            res += [f"{who}: {s.split('note=', 1)[1]}", ""]
    somaxconn = read_text("/proc/sys/net/core/somaxconn").strip()
    backlog = read_text("/proc/sys/net/ipv4/tcp_max_syn_backlog").strip()
    res += ["Connect and transfer times are fanoutd's own (each result's"
            " timings). All connections are opened at once: past the"
            " upstream's listen queue (net.core.somaxconn"
            f" {somaxconn}, tcp_max_syn_backlog {backlog}) SYNs are dropped"
            " and sent again after 1 s, which shows as connect times of a"
            " second or more, for any client alike.", ""]
    return res


def stream_section(f: dict[str, str], out: str) -> list[str]:
    """Stream: one long stream batch, the daemon's RSS over it."""
    sn, line = f["STREAM_N"], f.get("stream_line", "")
    samples, png = out + "-stream.csv", out + "-stream.png"
    chart = ""
    if os.path.exists(png) and os.path.getsize(png) > 0:
        chart = f", chart {os.path.basename(png)}"
    results = field(line, "results") or "0"
    wall = num(f.get("stream_wall"))
    res = [f"## Stream: {sn} requests in one stream batch", "",
           f"One stream batch (mode stream, concurrency {f['C']}) of {sn}"
           " GETs of /tiny, read with curl as it comes; daemon RSS every"
           f" second ({os.path.basename(samples)}{chart}).", "",
           "| results | status 200 | wall s | req/s | daemon CPU s |"
           " idle RSS MiB | peak RSS MiB (VmHWM) | daemon exit |",
           "|--:|--:|--:|--:|--:|--:|--:|--:|",
           f"| {results} | {field(line, 'ok')} | {f.get('stream_wall', '')}"
           " | %.0f |" % (num(results) / wall if wall > 0 else 0)
           + f" {f.get('stream_cpu', '')} | {mib(f.get('stream_idle'))} |"
           f" {mib(f.get('stream_hwm'))} | {f.get('stream_drc', '')} |",
           "", "RSS (MiB) at each tenth of the run:", ""]
    rss = [r[1] for r in read_rows(samples)]
    tenth = [rss[max(len(rss) * i // 10, 1) - 1] if rss else ""
             for i in range(1, 11)]
    res += ["|" + "".join(f" {10 * i}% |" for i in range(1, 11)),
            "|" + "--:|" * 10,
            "|" + "".join(" %.1f |" % (num(r) / 1024) for r in tenth), "",
            f"Summary line: `{f.get('stream_sum', '')}`"]
    if f.get("stream_err"):
        res += ["", f"Error line: `{f['stream_err']}`"]
    return res + [""]


# --- charts -----------------------------------------------------------


def gnuplot(script: str) -> str | None:
    """Run a gnuplot script: None if it drew, else why not."""
    if shutil.which("gnuplot") is None:
        return "gnuplot is not installed (apt-get install gnuplot-nox)"
    try:
        p = subprocess.run(["gnuplot"], input=script, capture_output=True,
                           text=True, errors="replace", timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"gnuplot failed: {e}"
    if p.returncode != 0:
        return "gnuplot failed: " + (p.stdout + p.stderr)[:300]
    return None


def throughput_chart(tp: Throughput, reps: str, png: str) -> str | None:
    """The clustered bars of req/s per scenario and peer; None if drawn."""
    with tempfile.NamedTemporaryFile("w", suffix=".dat",
                                     encoding="utf-8") as dat:
        dat.write("\n".join(tp.chart_data()) + "\n")
        dat.flush()
        why = gnuplot(f"""set terminal pngcairo size 1100,600 font ",10"
set output "{png}"
set title "Throughput per client, GETs of a local nginx (median of {reps})"
set ylabel "requests per second"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set grid ytics
set yrange [0:*]
set xrange [-0.5:{len(tp.order)} - 0.5]
set bmargin 4
set datafile missing "?"
plot for [i=2:{len(tp.peers) + 1}] "{dat.name}" using i:xtic(1) \
title columnheader(i)
""")
    if why is not None and os.path.exists(png):
        os.remove(png)
    return why


def stream_chart(samples: str, stream_n: str, png: str) -> None:
    """The stream run's RSS and VmHWM over time (nothing if it fails)."""
    why = gnuplot(f"""set terminal pngcairo size 900,450 font ",10"
set output "{png}"
set title "fanoutd RSS during a {stream_n}-request stream batch"
set xlabel "seconds"
set ylabel "MiB"
set datafile separator ","
set key bottom right
set grid
set yrange [0:*]
plot "{samples}" using 1:($2/1024) every ::1 with lines \
title "VmRSS", "" using 1:($3/1024) every ::1 with lines title "VmHWM"
""")
    if why is not None:
        print(f"bench/report.py: no stream chart: {why}", file=sys.stderr)


# --- the report -------------------------------------------------------


def machine(f: dict[str, str]) -> list[str]:
    """The Machine table: hardware, OS, fanoutd's build, the peers."""
    py = f["PY"]
    cpu = re.search(r"^model name\s*: (.*)$",
                    read_text("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", read_text("/proc/meminfo"), re.M)
    osr = re.search(r"^PRETTY_NAME=(.*)$", read_text("/etc/os-release"),
                    re.M)
    cflags = re.search(r"^CFLAGS = (.*)$",
                       read_text(os.path.join(f["BUILD"], "Makefile")), re.M)

    def dpv(pkg: str) -> str:
        """A Debian package's version, or -."""
        return run(["dpkg-query", "-W", "-f=${Version}", pkg]) or "-"

    def pyv(mod: str) -> str:
        """A Python module's version under $PYTHON, or -."""
        v = run([py, "-c", f"import {mod}; print({mod}.__version__)"])
        return v.strip() if v else "-"

    def word(argv: list[str], i: int, stderr: bool = False) -> str:
        """Word i of the first line a command prints, or ""."""
        w = (run(argv, stderr, False) or "").split("\n")[0].split()
        return w[i] if len(w) > i else ""

    nginx = (run([f["NGINX"], "-v"], True, False) or "").strip()
    u = os.uname()
    return [
        "| | |", "|---|---|",
        f"| CPU | {cpu.group(1) if cpu else ''}, {f['nproc']} cores"
        " (nproc) |",
        "| memory | %.1f GiB |" % (int(mem.group(1)) / 1048576 if mem
                                  else 0),
        f"| kernel | {u.sysname} {u.release} |",
        f"| OS | {osr.group(1).strip(chr(34)) if osr else ''}, Debian"
        f" {read_text('/etc/debian_version').strip()} |",
        f"| fanoutd | HEAD {f['commit']} at the start; binary"
        f" {f['BUILD']}/src/fanoutd of {f['bdate']} (copied at the start),"
        f" sha256 {f['bsum']}...; CFLAGS"
        f" `{cflags.group(1) if cflags else ''}` |",
        f"| libcurl (fanoutd's), libevent | {dpv('libcurl4')},"
        f" {dpv('libevent-2.1-7')} |",
        f"| curl | {word(['curl', '--version'], 1)} |",
        f"| nginx | {re.sub(r'.*nginx/', '', nginx)} |",
        f"| wrk | {word(['wrk', '-v'], 1, True)} |",
        f"| python3 | {word([py, '--version'], 1, True)} ({py}) |",
        f"| aiohttp | {pyv('aiohttp')} |",
        f"| requests | {pyv('requests')} |",
    ]


def how(f: dict[str, str], workers_how: str) -> list[str]:
    """The How section: what each peer does and what each figure is."""
    return f"""\
- The origin is nginx on 127.0.0.1 (bench/nginx.conf): keep-alive,
  keepalive_requests 100000, access_log off, **worker_processes 1**: the
  machine has 2 cores, one for nginx and the other for the client under
  test. /tiny is 13 bytes, /16k 16 KiB.
- fanoutd: a wait-mode batch file of N GETs with "concurrency": C,
  submitted over the Unix socket with `fanout submit`; a run counts only
  if all N JSON results came back. fanoutd is configured with
  **max_inflight = C and host_inflight = C** (the per-host default of 8
  would cap it below the peers' concurrency) and room for N requests, and
  is started afresh for each run (so its peak RSS, VmHWM, is that run's).
  The throughput runs used **{workers_how}**.
  Daemon CPU is utime+stime from /proc/PID/stat over the run; client CPU
  and peak RSS are the `fanout` CLI's.
- curl: one `curl -Z --parallel-immediate --parallel-max C -K FILE` with
  N url/output pairs (curl caps --parallel-max at 300). aiohttp:
  ClientSession, TCPConnector(limit=C), asyncio.gather of N GETs.
  requests: ThreadPoolExecutor(C), a requests.Session per thread. Both
  read every body; their wall time and CPU cover the requests only
  (interpreter start and imports excluded), their peak RSS is the
  process's. fanout-py (bench/peers/fanout_py.py): one
  fanout.Client().map() of the N URLs with concurrency C, through a
  fanoutd configured as for fanoutd; every Result made and its body read;
  its clock and CPU as aiohttp's. The Python peers are skipped above
  N={f['SLOW_MAX']}, and requests runs at most {f['REQUESTS_MAX']}
  requests (REQUESTS_MAX).
- wrk: `wrk -t1 -c C -d {f['WRK_S']}s`, the ceiling: it runs for a fixed
  time, not N requests, and does nothing with a response but parse it.
- Client CPU and peak RSS of curl and wrk: /usr/bin/time. nginx CPU: its
  worker's utime+stime over the run, for every peer. Other CPU: the
  machine's busy CPU time over the run (/proc/stat) less client, daemon
  and nginx, up to the peer's clock stopping: other load on the machine
  (and, for the Python peers, the interpreter's start). Well above 0,
  that run was disturbed.
- Each repetition runs every peer once, in an order rotated by one each
  time. Tables show medians of the good runs (a run is good if every
  request got a 200); "fanoutd ÷ peer" is fanoutd's median req/s over the
  peer's: above 1, fanoutd is faster.""".split("\n")


def anomalies(rows: list[list[str]], log: str) -> list[str]:
    """Failed runs, and the daemon's most frequent log lines."""
    failed = [r for r in rows if r[6] == "failed"]
    out = ["## Anomalies", ""]
    if failed:
        out += [f"Failed runs ({len(failed)}):", ""]
        out += [f"- {r[0]} {r[5]} rep {r[4]}: {r[17]}" for r in failed]
    else:
        out.append("No failed run.")
    out.append("")
    text = read_text(log)
    if not text:
        return out + ["fanoutd logged nothing at warn and always exited 0."]
    lines = text.splitlines()
    counts = collections.Counter(
        re.sub(r"[0-9a-f]{32}", "ID", s) for s in lines
        if not s.startswith("== "))
    # As sort | uniq -c | sort -rn: by count, then by line, both down.
    top = sorted(("%7d %s" % (k, s) for s, k in counts.items()),
                 key=lambda x: (int(x.split(None, 1)[0]), x.encode()),
                 reverse=True)[:10]
    exits = [s for s in lines if s.startswith("== ")
             and not s.endswith("exit status 0")][:5]
    return out + [f"fanoutd logged at warn or exited non-zero"
                  f" ({os.path.basename(log)}, most frequent lines):", "",
                  "```"] + top + exits + ["```"]


def cmd_report(a: argparse.Namespace) -> None:
    """Write OUT.md (and the charts) from the CSVs and the facts."""
    f = read_facts(a.facts)
    out, quick = f["out"], f["quick"] == "1"
    rows = read_rows(out + ".csv")
    peers = f["PEERS"].split()
    n = int(num(f["N"]))
    nproc = f["nproc"]
    # auto: one loop per CPU, the main one and CPUs - 1 threads (at most 64).
    auto_n = min(os.sysconf("SC_NPROCESSORS_ONLN") - 1, 64)
    ws = f.get("workers_set", "")
    if ws in ("", "auto"):
        workers_how = ("workers = auto (the main loop and"
                       f" {auto_n} transfer threads on this machine)")
    elif ws == "0":
        workers_how = "workers = 0 (transfers on the main event loop)"
    else:
        workers_how = f"workers = {ws}"
    if ws:
        workers_how += ", from FANOUTD_CONF"
    secs = "%.0f" % ((int(f["t_end"]) - int(f["t_start"])) / 1e9)

    tp = Throughput(rows, peers)
    png = out + "-throughput.png"
    why = throughput_chart(tp, f["REPS"], png)
    if why is not None:
        print(f"bench/report.py: no chart: {why}", file=sys.stderr)
    samples = out + "-stream.csv"
    if not quick and os.path.exists(samples) and os.path.getsize(samples):
        stream_chart(samples, f["STREAM_N"], out + "-stream.png")

    md = [f"# fanoutd benchmarks, {f['stamp']}", ""]
    head = (f"`bench/run{' --quick' if quick else ''}`: REPS={f['REPS']}"
            f" N={f['N']} C={f['C']} C2={f['C2']}")
    if not quick:
        head += f" NBIG={f['NBIG']}"
    head += f" WRK_S={f['WRK_S']} LAT_N={f['LAT_N']}"
    if not quick:
        head += f" SCALE_N={f['SCALE_N']} STREAM_N={f['STREAM_N']}"
    md.append(f"{head}; took {secs} s.")
    if quick:
        md.append("Quick run: one repetition; no NBIG scenario, no scale or"
                  " stream run.")
    md += ["", "## Machine", ""] + machine(f)
    md += ["", "## How", ""] + how(f, workers_how)
    md += ["", "## Throughput", "", "Median req/s (fanoutd ÷ peer in"
           " brackets):", ""] + tp.summary() + [""]
    if why is None:
        md.append(f"![throughput]({os.path.basename(png)})")
    else:
        md.append(f"(no chart: {why})")
    md += [""] + tp.tables()
    py = tp.python()
    if py:
        md += ["## Python programs", "",
               "The same GETs sent by a Python program three ways:"
               " fanout-py is fanout.Client().map() through fanoutd (every"
               " Result made, its body read), against aiohttp and requests +"
               " threads. Client CPU is the Python process's own; fanoutd's"
               " is in the tables above.", ""] + py + [""]
    md += ["## Scheduler cost", "",
           f"The /tiny batch, N={f['N']}, C={f['C']}, through fanoutd alone,"
           " with and without a [host] section whose limits never bind: its"
           " rate is far above what is reached and its inflight equals C."
           " rate_limit_waits (from /v1/stats) counts the times the host's"
           " token bucket made a start wait for a timer.", ""]
    md += sched_table(rows, n, f["C"], f["nport"])
    md += ["", "## Workers (transfer threads)", "",
           f"The /tiny batch, N={f['N']}, C={f['C']}, through fanoutd alone"
           " with workers = W: W transfer threads besides the main loop,"
           " which runs transfers too; each loop has its own curl multi"
           " handle, and the main loop's one scheduler feeds them all; with"
           " 0, every transfer runs on the main loop. The machine has"
           f" {nproc} CPUs (nproc); auto would be {auto_n} threads."
           ' "÷ workers = 0" is the median req/s over that of'
           " workers = 0.", ""]
    md += workers_table(rows, n)
    md += ["", "## Latency added", "",
           f"{f['LAT_N']} requests one after another (after 200 warm-up"
           " ones), on one keep-alive connection each"
           " (bench/peers/latency.c): to fanoutd's socket, POST /v1/batches"
           " with one GET of /tiny, once to a daemon as configured"
           f" ({workers_how}) and once to one with workers = 0, each started"
           " for its run; and the same GET over TCP to nginx. Medians of"
           f" REPS={f['REPS']} runs.", ""]
    md += latency_table(out + "-latency.csv") + [""]
    if not quick:
        md += scale_section(f, out) + stream_section(f, out)
    log = out + "-fanoutd.log"
    md += anomalies(rows, log) + ["", "## Files", "", f"- {out}.md"]
    for p in (out + ".csv", out + "-latency.csv",
              out + "-scale.csv", samples, png, out + "-stream.png", log):
        if os.path.exists(p) and (p != log or os.path.getsize(p)):
            md.append(f"- {p}")
    with open(out + ".md", "w", encoding="utf-8") as fh:
        fh.write("\n".join(md) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Parse the subcommand and run it."""
    ap = argparse.ArgumentParser(prog="bench/report.py",
                                 description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("row", help="append one throughput run to the CSV")
    for opt in ("csv", "scen", "path", "n", "c", "rep", "peer", "status"):
        r.add_argument("--" + opt, required=True)
    for opt in ("note", "line", "daemon-cpu", "daemon-hwm", "nginx-cpu",
                "machine-cpu"):
        r.add_argument("--" + opt, default="")
    r.set_defaults(func=cmd_row)
    r = sub.add_parser("latency-row", help="append one latency run")
    for opt in ("csv", "rep", "target", "line"):
        r.add_argument(opt)
    r.set_defaults(func=cmd_latency_row)
    r = sub.add_parser("stream-count", help="count a stream on stdin")
    r.set_defaults(func=cmd_stream_count)
    r = sub.add_parser("report", help="write the markdown and the charts")
    r.add_argument("facts")
    r.set_defaults(func=cmd_report)
    a = ap.parse_args(argv)
    func: Callable[[argparse.Namespace], None] = a.func
    func(a)


if __name__ == "__main__":
    main()
