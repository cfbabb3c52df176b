"""Interoperation with the C++ side, each side in its own process: the `shmcast` CLI of the
same build, and the C++ test peer (tests/python/peer.cpp, independent of the CLI's options).
Payloads are compared byte for byte, up to messages far larger than 64 KiB, and readers
lapped on purpose account for their gaps exactly."""
import random
import re
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import shmcast


def random_lines(n, seed, max_len=100):
    rnd = random.Random(seed)
    alphabet = bytes(b for b in range(256) if b != ord("\n"))  # the CLI publishes one message per line
    return [bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, max_len))) for _ in range(n)]


def large_payloads(n, seed, low=64 * 1024 + 1, high=300_000):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, int(size), dtype=np.uint8).tobytes() for size in rng.integers(low, high, n)]


def frames(payloads, types):
    return b"".join(struct.pack("<II", len(p), t) + p for p, t in zip(payloads, types))


def parse_peer_tail(out):
    """What `peer tail` wrote: ('M', seq, type, payload) and ('G', first, missed) records."""
    events, i = [], 0
    while i < len(out):
        kind = out[i:i + 1]
        if kind == b"M":
            seq, typ, n = struct.unpack_from("<QII", out, i + 1)
            i += 1 + 16
            events.append(("M", seq, typ, out[i:i + n]))
            i += n
        elif kind == b"G":
            events.append(("G",) + struct.unpack_from("<QQ", out, i + 1))
            i += 17
        else:
            raise AssertionError(f"bad frame at {i}: {kind!r}")
    return events


def read_all(reader, n, mode, buf=None):
    """n messages from `reader`, no gap allowed, by read(), peek() (in place) or poll_into()."""
    got = []
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        if mode == "read":
            ev = reader.read(timeout=1.0)
            if ev is not None:
                assert isinstance(ev, shmcast.Message), ev
                got.append((ev.seq, ev.type, ev.data))
        elif mode == "peek":
            with reader.peek(16, timeout=1.0) as batch:
                assert batch.event is None, batch.event
                copies = [(v.seq, v.type, v.tobytes()) for v in batch]
                assert batch.confirm(), "the reader was lapped in a ring larger than all it is sent"
                got += copies
        else:
            b = reader.poll_into(buf, timeout=1.0)
            assert b.gap is None and b.snapshot is None
            got += [(int(s), int(t), bytes(buf[o:o + ln]))
                    for s, t, o, ln in zip(b.seqs, b.types, b.offsets, b.lengths)]
    return got


# ---- the CLI ----------------------------------------------------------------------------

def test_cpp_producer_python_reader(cli, ring_name):
    name = ring_name("cpp2py")
    subprocess.run([cli, "create", name, "--size", "512K"], check=True, capture_output=True)
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
    if i % 3 == 0:
        p.publish(data, type=i % 5)
    elif i % 3 == 1:
        with p.claim(len(data), type=i % 5) as mv:
            mv[:] = data
    else:
        c = p.claim(p.max_message, type=i % 5)  # the most, committed at the length used
        c.write(data)
        c.commit()
p.close()
"""


def test_python_producer_cpp_reader(cli, ring_name, python_env):
    name = ring_name("py2cpp")
    n = 1500
    shmcast.Producer.create(name, ring_bytes=1 << 19).close()
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
    subprocess.run([cli, "create", name, "--size", "4K"], check=True, capture_output=True)
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
        _, err = pub.communicate(timeout=60)
        assert pub.returncode == 0, err
        assert r.position == n
        assert gaps > 0, "the reader was never lapped: slow it more"
        assert (r.delivered, r.missed, r.gaps) == (delivered, missed, gaps)
        assert r.delivered + r.missed == r.position - r.start == n


@pytest.mark.parametrize("mode", ["poll_into", "peek"])
def test_slowed_batch_reader_accounts_for_gaps(cli, ring_name, mode):
    name = ring_name("slowbatch")
    subprocess.run([cli, "create", name, "--size", "4K"], check=True, capture_output=True)
    n = 20000
    buf = bytearray(4096)
    with shmcast.Reader(name, start="sequence", start_seq=0) as r:
        pub = subprocess.Popen([cli, "publish", name, "--message", "batch", "--count", str(n), "--rate", "200000"],
                               stderr=subprocess.PIPE)
        delivered = missed = 0
        deadline = time.monotonic() + 60
        while r.position < n and time.monotonic() < deadline:
            if mode == "poll_into":
                b = r.poll_into(buf, 16, timeout=1.0)
                assert all(bytes(buf[o:o + ln]) == b"batch" for o, ln in zip(b.offsets, b.lengths))
                seqs, gap = b.seqs.tolist(), b.gap
            else:
                with r.peek(16, timeout=1.0) as batch:
                    data = [v.tobytes() for v in batch]
                    seqs, gap = [v.seq for v in batch], batch.event
                    if not batch.confirm():
                        seqs = []  # lapped while looked at: nothing delivered, the gap comes next
                assert not seqs or data == [b"batch"] * len(seqs)
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
            delivered += len(seqs)
            if isinstance(gap, shmcast.Gap):
                missed += gap.missed
            time.sleep(0.001)
        _, err = pub.communicate(timeout=60)
        assert pub.returncode == 0, err
        assert missed > 0
        assert (r.delivered, r.missed) == (delivered, missed)
        assert r.delivered + r.missed == r.position - r.start == n


# ---- the C++ test peer ------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["read", "peek", "poll_into"])
def test_large_messages_cpp_to_python(peer, ring_name, mode):
    """Messages of 64 KiB + 1 to 300 KB from a C++ producer, byte for byte, each way of reading."""
    name = ring_name("big2py")
    payloads = large_payloads(24, seed=3)
    types = list(range(len(payloads)))
    shmcast.Producer.create(name, ring_bytes=1 << 23, max_message=1 << 20).close()  # holds all of them
    buf = bytearray(1 << 21)
    with shmcast.Reader(name, start="oldest") as r:
        assert r.max_message == 1 << 20
        pub = subprocess.Popen([peer, "publish", name], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            pub.stdin.write(frames(payloads, types))
            pub.stdin.close()
            got = read_all(r, len(payloads), mode, buf)
        finally:
            rc = pub.wait(timeout=60)
            err = pub.stderr.read()
            pub.stderr.close()
        assert rc == 0, err
        assert [g[0] for g in got] == list(range(len(payloads))) and [g[1] for g in got] == types
        assert [g[2] for g in got] == payloads
        assert r.missed == 0 and r.delivered == len(payloads)


def test_message_over_max_message_from_cpp_is_refused(peer, ring_name):
    name = ring_name("toolarge")
    shmcast.Producer.create(name, ring_bytes=1 << 20, max_message=100_000).close()
    pub = subprocess.run([peer, "publish", name], input=frames([bytes(100_000), bytes(100_001)], [0, 0]),
                         capture_output=True, timeout=60)
    assert pub.returncode == 1 and b"100001" in pub.stderr
    with shmcast.Reader(name, start="oldest") as r:
        assert r.head == 1 and len(r.read(1.0).data) == 100_000


LARGE_PRODUCER = r"""
import sys, numpy as np, shmcast
name, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(4)
p = shmcast.Producer.open(name)
for i, size in enumerate(rng.integers(64 * 1024 + 1, 300_000, n)):
    data = rng.integers(0, 256, int(size), dtype=np.uint8).tobytes()
    if i % 2:
        p.publish(data, type=i)
    else:
        c = p.claim(p.max_message, type=i)  # the most, committed at the length used
        c.view[:len(data)] = data
        c.commit(len(data))
p.close()
"""


def test_large_messages_python_to_cpp(peer, ring_name, python_env):
    name = ring_name("big2cpp")
    n = 24
    shmcast.Producer.create(name, ring_bytes=1 << 23, max_message=1 << 20).close()
    tail = subprocess.Popen([peer, "tail", name, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        prod = subprocess.run([sys.executable, "-c", LARGE_PRODUCER, name, str(n)], env=python_env,
                              capture_output=True, timeout=60)
        assert prod.returncode == 0, prod.stderr
        out, err = tail.communicate(timeout=60)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    rng = np.random.default_rng(4)
    expected = [("M", i, i, rng.integers(0, 256, int(size), dtype=np.uint8).tobytes())
                for i, size in enumerate(rng.integers(64 * 1024 + 1, 300_000, n))]
    assert parse_peer_tail(out) == expected


@pytest.mark.parametrize("mode", ["poll_into", "peek"])
def test_lapped_in_place_reader_keeps_exact_accounts(peer, ring_name, mode):
    """A C++ producer publishes 500 000 msg/s into a 4 KiB ring while a Python reader reads in
    place: the producer overwrites records while they are copied, so confirm() fails now and then.
    Every message returned must be intact (each byte of a payload is its sequence's low byte),
    in order, and delivered + missed must cover every sequence exactly."""
    name = ring_name("lapped")
    n, size = 200_000, 48
    shmcast.Producer.create(name, ring_bytes=4096).close()
    buf = bytearray(4096)
    delivered = missed = failed = 0
    with shmcast.Reader(name, start="sequence", start_seq=0) as r:
        pub = subprocess.Popen([peer, "burst", name, str(n), str(size), "500000"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        expect = 0
        while r.position < n and time.monotonic() < deadline:
            if mode == "poll_into":
                b = r.poll_into(buf, 64, timeout=0.2)
                seqs = b.seqs.tolist()
                for o, ln, seq in zip(b.offsets.tolist(), b.lengths.tolist(), seqs):
                    assert ln == size and buf[o:o + ln] == bytes([seq & 0xFF]) * size, seq
                gap = b.gap
            else:
                with r.peek(64, timeout=0.2) as batch:
                    copies = [(v.seq, v.tobytes()) for v in batch]
                    gap = batch.event
                    if batch.confirm():
                        for seq, data in copies:
                            assert data == bytes([seq & 0xFF]) * size, seq
                        seqs = [seq for seq, _ in copies]
                    else:
                        seqs, failed = [], failed + 1
            if seqs:
                assert seqs == list(range(expect, expect + len(seqs)))
                expect += len(seqs)
                delivered += len(seqs)
            if isinstance(gap, shmcast.Gap):
                assert gap.first == expect
                expect += gap.missed
                missed += gap.missed
        _, err = pub.communicate(timeout=60)
        assert pub.returncode == 0, err
        assert r.position == n and missed > 0
        assert (r.delivered, r.missed) == (delivered, missed)
        assert r.delivered + r.missed == r.position - r.start == n
