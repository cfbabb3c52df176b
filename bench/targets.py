#!/usr/bin/env python3
"""Verdicts of one shmcast-bench run against the benchmark's targets.

Reads the bench.json that `shmcast-bench --out DIR` writes (or what `--json` printed) and
prints one line per target: MET or MISSED with the run's own ratio and the limit, or n/a
where the run did not measure it. Exits 0 whatever the verdicts (they are information, not
a test), 2 when the file is missing or is not a shmcast-bench JSON array.

usage: python3 bench/targets.py DIR/bench.json   (or DIR)
"""
import json
import math
import os
import sys


def human(v):
    if v is None or math.isnan(v):
        return "-"
    if v >= 1e9:
        return "%.2fG" % (v / 1e9)
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v


def size_str(s):
    return "%dK" % (s // 1024) if s >= 1024 and s % 1024 == 0 else str(s)


def positive(v):
    return v is not None and v > 0


def num(v):
    """A figure as the binary held it: JSON null was NaN there."""
    return math.nan if v is None else v


class Report:
    def __init__(self, items):
        self.results = [i for i in items if "transport" in i and "workload" in i and not i.get("sweep")]
        self.memcpy = next((i for i in items if i.get("probe") == "memcpy"), None)

    def find(self, transport, workload, readers, size):
        for r in self.results:
            if (r["transport"], r["workload"], r["readers"], r["size"]) == (transport, workload, readers, size):
                return r
        return None

    def memcpy_4k(self):
        bandwidth = self.memcpy.get("bandwidth", []) if self.memcpy else []
        return next((b.get("bytes_per_s") for b in bandwidth if b.get("size") == 4096), None)


def verdict(what, have, value=0.0, limit=0.0, higher_better=True, detail=""):
    if not have:
        print("  %-62s  n/a (not measured in this run)" % what)
        return
    met = value >= limit if higher_better else value <= limit
    # A third decimal where two would print the limit itself ("MISSED 1.50 (limit 1.50)").
    digits = 3 if abs(value - limit) < 0.005 else 2
    print("  %-62s  %-6s %.*f (limit %.2f) %s" % (what, "MET" if met else "MISSED", digits, value, limit, detail))


def worst_ratio(rep, baseline, keep):
    """The ring's lowest throughput ratio to `baseline` over the points `keep` accepts."""
    worst, at = math.inf, ""
    for r in rep.results:
        if r["transport"] != "ring" or r["workload"] != "throughput" or not keep(r):
            continue
        b = rep.find(baseline, "throughput", r["readers"], r["size"])
        if b is None or not positive(b.get("msgs_per_s")):
            continue
        ratio = num(r.get("msgs_per_s")) / b["msgs_per_s"]
        if ratio < worst:
            worst, at = ratio, "(worst: K=%d %s)" % (r["readers"], size_str(r["size"]))
    return worst, at


def print_targets(rep):
    print("benchmark targets (this run):")
    # 1. Per-reader rate against the mutex ring, 64 B .. 1 KiB, every K measured.
    worst, at = worst_ratio(rep, "mutex", lambda r: 64 <= r["size"] <= 1024)
    verdict("must: per-reader rate >= 5x mutex, 64 B..1 KiB", math.isfinite(worst), worst, 5, True, at)
    verdict("stretch: per-reader rate >= 20x mutex, 64 B..1 KiB", math.isfinite(worst), worst, 20, True, at)
    # 2. Ahead of the spsc fan-out for every K >= 2.
    worst, at = worst_ratio(rep, "spsc-fanout", lambda r: r["readers"] >= 2)
    verdict("must: per-reader rate ahead of spsc-fanout for K >= 2", math.isfinite(worst), worst, 1.0, True, at)
    # 3. Producer CPU per message: K=4 (or the largest K measured) over K=1, 64 B.
    kmax = max((r["readers"] for r in rep.results), default=1)
    k = min(kmax, 4) if min(kmax, 4) > 1 else kmax
    p1 = rep.find("ring", "throughput", 1, 64)
    pk = rep.find("ring", "throughput", k, 64)
    have = p1 is not None and pk is not None and pk is not p1 and positive(p1.get("producer_cpu_ns_per_msg"))
    cpu_k = num(pk.get("producer_cpu_ns_per_msg")) if pk else math.nan
    verdict("must: producer CPU/msg K=%d over K=1, 64 B" % (pk["readers"] if pk else 4), have,
            cpu_k / p1["producer_cpu_ns_per_msg"] if have else 0, 1.2, False,
            "(%.1f ns vs %.1f ns)" % (cpu_k, p1["producer_cpu_ns_per_msg"]) if have else "")
    # 4. Latency over the ping-pong floor taken right before the point.
    rtt = rep.find("ring", "rtt", 1, 64)
    have = rtt is not None and positive(rtt.get("floor_p50_ns")) and rtt.get("p50_ns") is not None
    verdict("must: rtt/2 p50 <= 1.3x ping-pong floor, 64 B", have,
            rtt["p50_ns"] / rtt["floor_p50_ns"] if have else 0, 1.3, False,
            "(%d vs %d ns)" % (rtt["p50_ns"], rtt["floor_p50_ns"]) if have else "")
    lat = rep.find("ring", "latency", 1, 64)
    have = lat is not None and positive(lat.get("floor_p50_ns")) and lat.get("p50_ns") is not None
    ratio = lat["p50_ns"] / lat["floor_p50_ns"] if have else 0
    detail = "(%d vs %d ns)" % (lat["p50_ns"], lat["floor_p50_ns"]) if have else ""
    verdict("must: paced one-way p50 <= 2x floor, K=1 64 B", have, ratio, 2.0, False, detail)
    verdict("stretch: paced one-way p50 <= 1.5x floor", have, ratio, 1.5, False, detail)
    have_p99 = have and lat.get("p99_ns") is not None
    verdict("stretch: paced one-way p99 <= 3x floor p50", have_p99,
            lat["p99_ns"] / lat["floor_p50_ns"] if have_p99 else 0, 3.0, False,
            "(p99 %d ns)" % lat["p99_ns"] if have_p99 else "")
    # 5. 4 KiB bytes/s against the memcpy probe's 4 KiB figure.
    big = rep.find("ring", "throughput", 1, 4096)
    copy = rep.memcpy_4k()
    have = big is not None and big.get("bytes_per_s") is not None and positive(copy)
    verdict("stretch: 4 KiB ring B/s >= 0.4x memcpy probe (4 KiB)", have,
            big["bytes_per_s"] / copy if have else 0, 0.4, True,
            "(%s vs %s B/s)" % (human(big["bytes_per_s"]), human(copy)) if have else "")


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 2
    path = argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "bench.json")
    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("not a JSON array of objects")
    except (OSError, ValueError) as e:
        print("targets.py: cannot read %s: %s" % (path, e), file=sys.stderr)
        return 2
    print_targets(Report(items))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
