#!/usr/bin/env python3
"""Throughput of the shmcast Python binding (python/), for bench/README.md's "Python" section.

    PYTHONPATH=build/python/python python3 bench/python_bench.py [--messages N] [--size 64] [--repeat 5]

Measures, each best of --repeat runs:
  publish     Producer.publish(bytes) in a Python loop (no reader).
  read        Reader.read() per message, from a ring filled beforehand (the reader's own cost).
  poll_into   Reader.poll_into(bytearray, 4096) batches from a ring filled beforehand: each
              batch peeked in place, copied with the GIL released, then confirmed.
  peek        Reader.peek(4096) batches from a ring filled beforehand, each view copied out
              with MessageView.tobytes() in Python, then confirm() (the in-place API's cost
              per message when Python touches every message).
  live        a Python publisher process and a Python poll_into reader at once; the reader's
              rate and its exact loss accounting (delivered + missed == position - start).
  live-cpp    with --cli build/<dir>/tools/shmcast: the C++ CLI publishing as fast as it can
              (`shmcast publish RING -m <64 B> --count N`, or paced by --cli-rate) to a
              Python poll_into reader, in a ring of --live-ring bytes (default 64 MiB).
  live-cpp-c++  with --cli and --peer build/<dir>/python/shmcast-python-peer: the same, read by
              the C++ test peer's `drain` (peek, copy, confirm as poll_into does): the
              machine's own baseline for the Python reader, measured beside it.
"""
import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time

import shmcast


# The rings' largest message: poll_into's buffer must hold one (the default, a quarter of
# the ring, would ask for buffers of many MiB).
MAX_MESSAGE = 64 * 1024


def ring_name(tag):
    return f"pybench-{os.getpid()}-{tag}"


def ring_bytes_for(n, size):
    """A ring that holds n messages of `size` bytes with room to spare (the reader's oldest
    keeps a margin of ring/16, the producer reserves up to ring/16 ahead)."""
    need = n * shmcast.record_bytes(size) * 5 // 4
    return max(1 << 16, 1 << (need - 1).bit_length())


def bench_publish(n, size):
    name = ring_name("pub")
    p = shmcast.Producer.create(name, ring_bytes=1 << 23, max_message=MAX_MESSAGE, replace=True)
    payload = bytes(size)
    publish = p.publish
    t0 = time.perf_counter()
    for _ in range(n):
        publish(payload)
    dt = time.perf_counter() - t0
    p.close()
    shmcast.Producer.remove(name)
    return n / dt


def filled_ring(n, size):
    name = ring_name("fill")
    p = shmcast.Producer.create(name, ring_bytes=ring_bytes_for(n, size), max_message=MAX_MESSAGE, replace=True)
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    for _ in range(n):
        p.publish(payload, 1)
    return name, p


def bench_read(name, n):
    with shmcast.Reader(name, start="oldest") as r:
        read = r.read
        t0 = time.perf_counter()
        for _ in range(n):
            ev = read()
        dt = time.perf_counter() - t0
        assert r.delivered == n and r.missed == 0, (r.delivered, r.missed)
    return n / dt


def batch_buffer(size):
    """Room for 4096 messages of `size` bytes at 8-byte aligned offsets, and for one of MAX_MESSAGE."""
    return bytearray(max(4096 * ((size + 7) // 8 * 8), MAX_MESSAGE) + 1024)


def bench_poll(name, n, size):
    buf = batch_buffer(size)
    with shmcast.Reader(name, start="oldest") as r:
        got = 0
        t0 = time.perf_counter()
        while got < n:
            b = r.poll_into(buf, 4096)
            got += b.count
        dt = time.perf_counter() - t0
        assert r.delivered == n and r.missed == 0, (r.delivered, r.missed)
    return n / dt


def bench_peek(name, n):
    with shmcast.Reader(name, start="oldest") as r:
        got = 0
        t0 = time.perf_counter()
        while got < n:
            batch = r.peek(4096)
            data = [v.tobytes() for v in batch]
            assert batch.confirm()
            got += len(data)
        dt = time.perf_counter() - t0
        assert r.delivered == n and r.missed == 0, (r.delivered, r.missed)
    return n / dt


def _live_publisher(name, n, size, ready, go):
    p = shmcast.Producer.open(name)
    payload = bytes(size)
    publish = p.publish
    ready.set()
    go.wait()
    for _ in range(n):
        publish(payload)
    publish(b"", 2)  # end marker
    p.close()


def bench_live(n, size):
    name = ring_name("live")
    p = shmcast.Producer.create(name, ring_bytes=1 << 23, max_message=MAX_MESSAGE, replace=True)
    p.close()
    ctx = mp.get_context("fork")
    ready, go = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_live_publisher, args=(name, n, size, ready, go))
    proc.start()
    ready.wait()
    buf = batch_buffer(size)
    with shmcast.Reader(name, start="latest") as r:
        go.set()
        t0 = time.perf_counter()
        done = False
        while not done:
            b = r.poll_into(buf, 4096, timeout=1.0)
            if b.count and b.types[-1] == 2:
                done = True
        dt = time.perf_counter() - t0
        exact = r.delivered + r.missed == r.position - r.start
        out = (r.delivered / dt, r.delivered, r.missed, r.gaps, exact)
    proc.join()
    shmcast.Producer.remove(name)
    return out


def bench_live_cpp(cli, n, size, rate=None, ring_bytes=1 << 26):
    name = ring_name("livecpp")
    shmcast.Producer.create(name, ring_bytes=ring_bytes, max_message=MAX_MESSAGE, replace=True).close()
    buf = batch_buffer(size)
    with shmcast.Reader(name, start="oldest") as r:
        t0 = time.perf_counter()
        pace = ["--rate", str(rate)] if rate else []
        proc = subprocess.Popen([cli, "publish", name, "-m", "x" * size, "--count", str(n)] + pace)
        while r.position < n:
            r.poll_into(buf, 4096, timeout=1.0)
            if proc.poll() is not None and r.position < n and r.head == r.position:
                break
        dt = time.perf_counter() - t0
        proc.wait()
        exact = r.delivered + r.missed == r.position - r.start
        out = (r.delivered / dt, r.delivered, r.missed, r.gaps, exact, n / dt)
    shmcast.Producer.remove(name)
    return out


def bench_live_cpp_baseline(cli, peer, n, size, rate=None, ring_bytes=1 << 26):
    name = ring_name("livecppbase")
    shmcast.Producer.create(name, ring_bytes=ring_bytes, max_message=MAX_MESSAGE, replace=True).close()
    reader = subprocess.Popen([peer, "drain", name, str(n)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)  # attached before the first message
    t0 = time.perf_counter()
    pace = ["--rate", str(rate)] if rate else []
    subprocess.run([cli, "publish", name, "-m", "x" * size, "--count", str(n)] + pace, check=True)
    offered = n / (time.perf_counter() - t0)
    out, _ = reader.communicate(timeout=120)
    delivered, missed, gaps, seconds = out.split()
    shmcast.Producer.remove(name)
    return int(delivered) / float(seconds), int(delivered), int(missed), int(gaps), offered


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--cli", help="the shmcast CLI, for the live-cpp run")
    ap.add_argument("--cli-rate", type=float, help="with --cli: pace the C++ publisher (messages per second)")
    ap.add_argument("--live-ring", type=int, default=1 << 26, help="with --cli: the ring's bytes (default 64 MiB)")
    ap.add_argument("--peer", help="with --cli: tests/python's C++ peer, for the C++ reader's baseline")
    a = ap.parse_args()
    n, size = a.messages, a.size
    print(f"shmcast {shmcast.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{n} messages of {size} B, best of {a.repeat}")

    best = lambda f: max(f() for _ in range(a.repeat))
    print(f"publish      {best(lambda: bench_publish(n, size)) / 1e6:6.2f} M msg/s")
    name, p = filled_ring(n, size)
    try:
        print(f"read()       {best(lambda: bench_read(name, n)) / 1e6:6.2f} M msg/s")
        print(f"poll_into    {best(lambda: bench_poll(name, n, size)) / 1e6:6.2f} M msg/s")
        print(f"peek         {best(lambda: bench_peek(name, n)) / 1e6:6.2f} M msg/s (tobytes() of each view)")
    finally:
        p.close()
        shmcast.Producer.remove(name)
    if not a.no_live:
        rate, delivered, missed, gaps, exact = max((bench_live(n, size) for _ in range(a.repeat)), key=lambda t: t[0])
        print(f"live         {rate / 1e6:6.2f} M msg/s delivered to a poll_into reader beside a Python publisher "
              f"(delivered {delivered}, missed {missed} in {gaps} gaps, accounting exact: {exact})")
    if a.cli:
        rate, delivered, missed, gaps, exact, offered = max(
            (bench_live_cpp(a.cli, n, size, a.cli_rate, a.live_ring) for _ in range(a.repeat)), key=lambda t: t[0])
        print(f"live-cpp     {rate / 1e6:6.2f} M msg/s delivered to a poll_into reader from the C++ CLI publishing "
              f"{offered / 1e6:.2f} M msg/s (delivered {delivered}, missed {missed} in {gaps} gaps, "
              f"accounting exact: {exact})")
    if a.cli and a.peer:
        rate, delivered, missed, gaps, offered = max(
            (bench_live_cpp_baseline(a.cli, a.peer, n, size, a.cli_rate, a.live_ring) for _ in range(a.repeat)),
            key=lambda t: t[0])
        print(f"live-cpp-c++ {rate / 1e6:6.2f} M msg/s delivered to the C++ peer's drain reader, the same way "
              f"(offered {offered / 1e6:.2f} M msg/s; delivered {delivered}, missed {missed} in {gaps} gaps)")


if __name__ == "__main__":
    main()
