#!/usr/bin/env python3
"""Markdown tables of one shmcast-bench run, one per workload, every transport side by side:
what the README's "Performance" section shows, made from the run's bench.json so that the
figures there are the run's and nothing else.

usage: python3 bench/tables.py DIR/bench.json   (or DIR)
"""
import math
import sys

from targets import human, run_on_file, size_str

ORDER = ("ring", "ring-inplace", "mutex", "spsc-fanout", "iceoryx", "zmq")
NAMES = {"ring": "ring, copying", "ring-inplace": "ring, in place", "mutex": "mutex ring",
         "spsc-fanout": "spsc fan-out", "iceoryx": "iceoryx", "zmq": "ZeroMQ"}


def ns(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v >= 1e6:
        return "%.1f ms" % (v / 1e6)
    return "%.1f us" % (v / 1000) if v >= 10000 else "%d ns" % v


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|---|" + "--:|" * (len(header) - 1))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def print_tables(items):
    results = [i for i in items if "transport" in i and "workload" in i]
    run = next((i for i in items if "machine" in i), {})
    regular = [r for r in results if not r.get("sweep")]
    sweep = [r for r in results if r.get("sweep")]
    transports = [t for t in ORDER if any(r["transport"] == t for r in results)]

    def get(pool, t, w, k, size=None):
        for r in pool:
            if (r["transport"], r["workload"], r["readers"]) == (t, w, k) and (size is None or r["size"] == size):
                return r if r.get("ok", True) else None
        return None

    print("%s, %s CPUs online; %s\nplacement: %s\n" % (run.get("machine", "?"), run.get("cpus_online", "?"),
                                                       run.get("load", "?"), run.get("placement", "?")))
    sizes = sorted({r["size"] for r in regular if r["workload"] == "throughput" and r["readers"] == 1})
    if sizes:
        print("Throughput, one reader: messages/s per reader (producer CPU ns per message)\n")
        table(["K=1"] + [size_str(s) for s in sizes],
              [[NAMES[t]] + [("%s (%.0f)" % (human(r["msgs_per_s"]), r["producer_cpu_ns_per_msg"])
                              if (r := get(regular, t, "throughput", 1, s)) and r.get("producer_cpu_ns_per_msg") is not None
                              else "-") for s in sizes] for t in transports])
    cells = sorted({(r["readers"], r["size"]) for r in regular if r["workload"] == "throughput" and r["readers"] > 1})
    if cells:
        print("Throughput, several readers: messages/s per reader\n")
        table(["K, size"] + ["%d, %s" % (k, size_str(s)) for k, s in cells],
              [[NAMES[t]] + [human(r["msgs_per_s"]) if (r := get(regular, t, "throughput", k, s)) else "-" for k, s in cells]
               for t in transports])
    lat = sorted({(r["readers"], r["size"]) for r in regular if r["workload"] == "latency"})
    if lat:
        print("Paced one-way latency: p50 (p99)\n")
        table(["K, size"] + ["%d, %s" % (k, size_str(s)) for k, s in lat],
              [[NAMES[t]] + ["%s (%s)" % (ns(r["p50_ns"]), ns(r["p99_ns"])) if (r := get(regular, t, "latency", k, s)) else "-"
                             for k, s in lat] for t in transports])
    rtt = sorted({r["size"] for r in regular if r["workload"] == "rtt"})
    if rtt:
        print("Round trip / 2: p50 (p99), and p50 over the floor probe taken right before it\n")
        table(["size"] + [size_str(s) for s in rtt],
              [[NAMES[t]] + ["%s (%s), %.2fx" % (ns(r["p50_ns"]), ns(r["p99_ns"]), r["p50_ns"] / r["floor_p50_ns"])
                             if (r := get(regular, t, "rtt", 1, s)) and r.get("floor_p50_ns") else "-" for s in rtt]
               for t in transports])
    ks = sorted({r["readers"] for r in sweep})
    if ks:
        print("Fan-out sweep, 64 B, readers blocking: producer CPU ns per message\n")
        table(["K"] + [str(k) for k in ks],
              [[NAMES[t]] + [("%.0f" % r["producer_cpu_ns_per_msg"])
                             if (r := get(sweep, t, "throughput", k)) and r.get("producer_cpu_ns_per_msg") is not None else "-"
                             for k in ks] for t in transports])
        print("Fan-out sweep: producer CPU per message over K=1 runs of the same transport right before and after"
              " the point (the host may move the VM between points)\n")
        table(["K"] + [str(k) for k in ks[1:]],
              [[NAMES[t]] + [("%.2fx" % (r["producer_cpu_ns_per_msg"] / r["k1_producer_cpu_ns_per_msg"]))
                             if (r := get(sweep, t, "throughput", k)) and r.get("producer_cpu_ns_per_msg") is not None
                             and r.get("k1_producer_cpu_ns_per_msg") else "-" for k in ks[1:]] for t in transports])
        print("Fan-out sweep: paced p50 (p99) across all readers\n")
        table(["K"] + [str(k) for k in ks],
              [[NAMES[t]] + ["%s (%s)" % (ns(r["p50_ns"]), ns(r["p99_ns"])) if (r := get(sweep, t, "latency", k)) else "-"
                             for k in ks] for t in transports])


if __name__ == "__main__":
    sys.exit(run_on_file(sys.argv, __doc__, print_tables))
