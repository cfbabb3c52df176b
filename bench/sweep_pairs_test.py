#!/usr/bin/env python3
"""Checks a sweep run's bench.json for what the report's `/K=1` column and targets.py rely
on: every unpaced sweep point with K > 1 carries the producer cost of its two K=1 runs
(`k1_before_after_ns`, both positive), their mean (`k1_producer_cpu_ns_per_msg`) and how
many tries it took (`pair_attempts`, 1 to 4); K=1 points and paced points carry none.

usage: python3 bench/sweep_pairs_test.py DIR/bench.json   (or DIR); exits 1 on a violation
"""
import math
import sys

from targets import run_on_file

problems = []


def check(items):
    sweep = [i for i in items if i.get("sweep") and "transport" in i and i.get("ok", True)]
    for r in sweep:
        what = "%s %s K=%d" % (r["transport"], r["workload"], r["readers"])
        paired = r["workload"] == "throughput" and r["readers"] > 1
        if not paired:
            if "k1_before_after_ns" in r or "pair_attempts" in r:
                problems.append(what + ": carries a K=1 pairing it should not")
            continue
        before_after = r.get("k1_before_after_ns") or []
        mean = r.get("k1_producer_cpu_ns_per_msg")
        if len(before_after) != 2 or not all(v is not None and v > 0 for v in before_after):
            problems.append(what + ": k1_before_after_ns %r" % (before_after,))
        elif mean is None or not math.isclose(mean, sum(before_after) / 2):
            problems.append(what + ": k1_producer_cpu_ns_per_msg %r is not their mean" % (mean,))
        if not 1 <= r.get("pair_attempts", 0) <= 4:
            problems.append(what + ": pair_attempts %r" % (r.get("pair_attempts"),))
    if not any(r["workload"] == "throughput" and r["readers"] > 1 for r in sweep):
        problems.append("no unpaced sweep point with K > 1")
    for p in problems:
        print("FAIL: " + p)
    print("sweep pairs: %d problem(s)" % len(problems))


if __name__ == "__main__":
    rc = run_on_file(sys.argv, __doc__, check)
    sys.exit(rc if rc else (1 if problems else 0))
