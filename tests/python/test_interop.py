"""Interoperation with the C++ side, each side in its own process: the `shmcast` CLI of the
same build publishes to a Python reader, and tails a Python producer; payloads are compared
byte for byte, and a reader slowed on purpose accounts for its gaps exactly."""
import os
import random
import re
import subprocess
import sys
import time

import pytest

import shmcast


def random_lines(n, seed, max_len=100):
    rnd = random.Random(seed)
    alphabet = bytes(b for b in range(256) if b != ord("\n"))  # the CLI publishes one message per line
    return [bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, max_len))) for _ in range(n)]


def test_cpp_producer_python_reader(cli, ring_name):
    name = ring_name("cpp2py")
    subprocess.run([cli, "create", name, "--slots", "4096", "--slot-size", "128"], check=True)
    payloads = random_lines(2000, seed=1)
    with shmcast.Reader(name, start="oldest") as r:
        pub = subprocess.run([cli, "publish", name, "--type", "9"], input=b"".join(p + b"\n" for p in payloads),
                             capture_output=True, timeout=60)
        assert pub.returncode == 0, pub.stderr
        got = []
        while len(got) < len(payloads):
            ev = r.read(timeout=10)
            assert isinstance(ev, shmcast.Message), ev
            assert ev.type == 9 and ev.seq == len(got)
            got.append(ev.data)
        assert got == payloads
        assert r.try_read() is None and r.missed == 0
        assert not r.producer_alive  # the CLI has exited


def parse_hex_tail(text):
    """Messages from `shmcast tail --format hex`: (seq, type, payload) per message."""
    out = []
    for line in text.splitlines():
        m = re.match(r"seq=(\d+) type=(\d+) ts_ns=\d+ len=(\d+)$", line)
        if m:
            out.append([int(m.group(1)), int(m.group(2)), int(m.group(3)), bytearray()])
        elif line.startswith("  ") and out:
            hexpart = line[2 + 10:2 + 10 + 40]
            out[-1][3] += bytes.fromhex(hexpart.replace(" ", ""))
    for seq, typ, length, data in out:
        assert len(data) == length
    return [(seq, typ, bytes(data)) for seq, typ, length, data in out]


PRODUCER = r"""
import random, sys, shmcast
name, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(2)
p = shmcast.Producer.open(name)
for i in range(n):
    data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 104)))
    if i % 2:
        p.publish(data, type=i % 5)
    else:
        with p.claim(len(data), type=i % 5) as mv:
            mv[:] = data
p.close()
"""


def test_python_producer_cpp_reader(cli, ring_name, python_env):
    name = ring_name("py2cpp")
    n = 1500
    shmcast.Producer.create(name, slot_count=4096, slot_size=128).close()
    tail = subprocess.Popen([cli, "tail", name, "--from", "oldest", "--count", str(n), "--format", "hex"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        prod = subprocess.run([sys.executable, "-c", PRODUCER, name, str(n)], env=python_env, capture_output=True,
                              timeout=60)
        assert prod.returncode == 0, prod.stderr
        out, err = tail.communicate(timeout=60)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    got = parse_hex_tail(out.decode())
    rnd = random.Random(2)
    expected = [(i, i % 5, bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 104)))) for i in range(n)]
    assert got == expected


def test_slowed_python_reader_accounts_for_gaps(cli, ring_name):
    name = ring_name("slow")
    subprocess.run([cli, "create", name, "--slots", "64", "--slot-size", "64"], check=True)
    n = 20000
    with shmcast.Reader(name, start="sequence", start_seq=0) as r:
        pub = subprocess.Popen([cli, "publish", name, "--message", "payload-xyz", "--count", str(n),
                                "--rate", "100000"], stderr=subprocess.PIPE)
        delivered = missed = gaps = 0
        expect = 0
        deadline = time.monotonic() + 60
        while r.position < n and time.monotonic() < deadline:
            ev = r.read(timeout=1.0)
            if isinstance(ev, shmcast.Message):
                assert ev.data == b"payload-xyz" and ev.seq == expect
                delivered += 1
                expect = ev.seq + 1
                if delivered % 50 == 0:
                    time.sleep(0.002)  # slowed on purpose: the producer laps this reader
            elif isinstance(ev, shmcast.Gap):
                assert ev.first == expect and ev.missed > 0
                gaps += 1
                missed += ev.missed
                expect = ev.first + ev.missed
        assert pub.wait(timeout=60) == 0, pub.stderr.read()
        assert r.position == n
        assert gaps > 0, "the reader was never lapped: slow it more"
        assert (r.delivered, r.missed, r.gaps) == (delivered, missed, gaps)
        assert r.delivered + r.missed == r.position - r.start == n


def test_slowed_batch_reader_accounts_for_gaps(cli, ring_name):
    name = ring_name("slowbatch")
    subprocess.run([cli, "create", name, "--slots", "64", "--slot-size", "64"], check=True)
    n = 20000
    buf = bytearray(64 * 64)
    with shmcast.Reader(name, start="sequence", start_seq=0) as r:
        pub = subprocess.Popen([cli, "publish", name, "--message", "batch", "--count", str(n), "--rate", "200000"],
                               stderr=subprocess.PIPE)
        delivered = missed = 0
        deadline = time.monotonic() + 60
        while r.position < n and time.monotonic() < deadline:
            b = r.poll_into(buf, 16, timeout=1.0)
            delivered += b.count
            assert all(bytes(buf[o:o + l]) == b"batch" for o, l in zip(b.offsets, b.lengths))
            if b.count > 1:
                assert (b.seqs[1:] == b.seqs[:-1] + 1).all()
            if b.gap is not None:
                missed += b.gap.missed
            time.sleep(0.001)
        assert pub.wait(timeout=60) == 0
        assert missed > 0
        assert (r.delivered, r.missed) == (delivered, missed)
        assert r.delivered + r.missed == r.position - r.start == n
