"""The binding's surface in one process: events, options, counters, claims, batches, errors
and misuse, which must raise and never crash."""
import gc

import numpy as np
import pytest

import shmcast


def small_ring(ring_name, **kw):
    kw.setdefault("slot_count", 64)
    kw.setdefault("slot_size", 128)
    return shmcast.Producer.create(ring_name(), **kw)


def test_publish_and_read_events(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name, start=shmcast.StartAt.oldest) as r:
        assert p.publish(b"hello", type=7, timestamp_ns=123) == 0
        assert p.publish(memoryview(b"abc")) == 1
        assert p.publish(bytearray(b"xyz"), 2) == 2
        assert p.publish(np.arange(3, dtype=np.uint16)) == 3
        assert p.head == 4
        m = r.try_read()
        assert isinstance(m, shmcast.Message)
        assert (m.seq, m.type, m.timestamp_ns, m.data) == (0, 7, 123, b"hello")
        assert r.read().data == b"abc"
        assert r.read(timeout=0).type == 2
        assert r.read(1.0).data == np.arange(3, dtype=np.uint16).tobytes()
        assert r.try_read() is None
        assert r.read(timeout=0.05) is None
        assert (r.position, r.start, r.delivered, r.gaps, r.missed) == (4, 0, 4, 0, 0)
        assert r.head == 4 and r.oldest == 0
        assert r.producer_alive and not r.replaced
        assert p.reader_count == 1
        assert r.geometry == p.geometry and p.geometry.payload_capacity == 128 - shmcast.SLOT_HEADER_BYTES
        assert "Message(seq=" in repr(m)


def test_options_as_strings_and_enums(ring_name):
    with small_ring(ring_name) as p:
        for i in range(5):
            p.publish(bytes([i]))
        for start, first in [("oldest", 0), (shmcast.StartAt.oldest, 0), ("latest", None)]:
            with shmcast.Reader(p.name, start=start) as r:
                ev = r.try_read()
                assert (ev.seq if ev else None) == first
        with shmcast.Reader(p.name, start="sequence", start_seq=3, on_gap="latest", wait="spin",
                            register=False, label="py") as r:
            assert r.read().seq == 3 and not r.registered
        for wait in ["block", "spin", "spin_yield", shmcast.WaitStrategy.spin_yield]:
            with shmcast.Reader(p.name, start="oldest", wait=wait, on_gap=shmcast.GapPolicy.snapshot) as r:
                assert r.read(0.1).seq == 0
        with pytest.raises(shmcast.InvalidArgumentError) as e:
            shmcast.Reader(p.name, start="newest")
        assert isinstance(e.value, ValueError) and e.value.code == "invalid_argument"


def test_iteration_seek_and_gaps(ring_name):
    with small_ring(ring_name, slot_count=16) as p, shmcast.Reader(p.name, start="oldest") as r:
        for i in range(3):
            p.publish(bytes([i]))
        it = iter(r)
        assert [next(it).seq for _ in range(3)] == [0, 1, 2]
        assert r.seek(1) and r.read().seq == 1
        for i in range(100):  # laps the reader
            p.publish(b"x")
        events = []
        while (ev := r.try_read()) is not None:
            events.append(ev)
        gaps = [e for e in events if isinstance(e, shmcast.Gap)]
        assert len(gaps) == 1 and r.gaps == 1 and r.missed == gaps[0].missed
        assert "Gap(first=" in repr(gaps[0])


def test_accounting_exact_without_seek(ring_name):
    with small_ring(ring_name, slot_count=16) as p, shmcast.Reader(p.name, start="oldest") as r:
        delivered = missed = 0
        for rnd in range(50):
            for _ in range(rnd % 40):
                p.publish(b"m")
            for _ in range(5):
                ev = r.try_read()
                if isinstance(ev, shmcast.Message):
                    delivered += 1
                elif isinstance(ev, shmcast.Gap):
                    missed += ev.missed
        assert (r.delivered, r.missed) == (delivered, missed)
        assert r.delivered + r.missed == r.position - r.start


def test_snapshots(ring_name):
    with small_ring(ring_name, snapshot_capacity=4096) as p:
        p.publish(b"a")
        p.publish_snapshot(b"state" * 100)
        p.publish(b"b")
        with shmcast.Reader(p.name, start="snapshot") as r:
            s = r.read()
            assert isinstance(s, shmcast.Snapshot) and s.as_of == 1 and s.data == b"state" * 100
            assert r.read().data == b"b" and r.snapshots == 1
        with pytest.raises(shmcast.MessageTooLargeError):
            p.publish_snapshot(bytes(5000))
    with small_ring(ring_name) as p, pytest.raises(shmcast.NoSnapshotAreaError) as e:
        p.publish_snapshot(b"x")
    assert e.value.code == "no_snapshot_area"


def test_claim_commits_on_exit_and_aborts_on_exception(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name, start="oldest") as r:
        with p.claim(5, type=4) as mv:
            assert isinstance(mv, memoryview) and not mv.readonly and len(mv) == 5
            mv[:] = b"world"
        with pytest.raises(ValueError, match="released"):
            mv[0]  # the view was released at commit
        with pytest.raises(RuntimeError):
            with p.claim(3) as mv2:
                mv2[:] = b"bad"
                raise RuntimeError("abort me")
        c = p.claim(8)
        c.write(b"12345678")
        assert c.commit(length=4) == 1  # an aborted claim leaves no trace: sequence 1 again
        m = r.read()
        assert (m.seq, m.type, m.data) == (0, 4, b"world")
        assert r.read().data == b"1234"
        assert r.try_read() is None


def test_claim_after_commit_raises(ring_name):
    with small_ring(ring_name) as p:
        c = p.claim(4)
        view = c.view
        view[:] = b"abcd"
        c.commit()
        assert not c.open
        for use in (lambda: c.view, lambda: c.commit(), lambda: c.write(b"x"), lambda: memoryview(c),
                    lambda: view[0], lambda: np.frombuffer(c, dtype=np.uint8)):
            with pytest.raises(ValueError):
                use()
        c.abort()  # a no-op once finished
        assert p.publish(b"next") == 1


def test_claim_with_live_views_refuses_to_commit(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name, start="oldest") as r:
        c = p.claim(16)
        arr = np.frombuffer(c, dtype=np.uint32)
        arr[:] = [1, 2, 3, 4]
        with pytest.raises(BufferError):
            c.commit()
        with pytest.raises(ValueError, match="claim is open"):
            p.publish(b"while claimed")
        with pytest.raises(ValueError, match="claim is open"):
            p.close()
        del arr
        assert c.commit() == 0
        assert np.frombuffer(r.read().data, dtype=np.uint32).tolist() == [1, 2, 3, 4]
        # A claim dropped unfinished is abandoned; the producer goes on.
        c2 = p.claim(4)
        del c2
        gc.collect()
        assert p.publish(b"after") == 1


def test_oversized_message(ring_name):
    with small_ring(ring_name) as p:
        cap = p.payload_capacity
        assert p.publish(bytes(cap)) == 0
        with pytest.raises(shmcast.MessageTooLargeError) as e:
            p.publish(bytes(cap + 1))
        assert isinstance(e.value, ValueError) and e.value.code == "message_too_large"
        with pytest.raises(ValueError):
            p.claim(cap + 1)
        assert p.head == 1


def test_errors_map_to_python_exceptions(ring_name):
    with pytest.raises(FileNotFoundError) as e:
        shmcast.Reader(ring_name("absent"), attach_timeout=0)
    assert isinstance(e.value, shmcast.NotFoundError) and isinstance(e.value, shmcast.Error)
    assert e.value.code == "not_found" and e.value.ring
    with pytest.raises(ValueError) as e:
        shmcast.Producer.create(ring_name(), slot_count=3)
    assert e.value.code == "invalid_argument"
    with small_ring(ring_name) as p:
        name = p.name
        with pytest.raises(FileExistsError) as e:
            shmcast.Producer.create(p.name)
        assert e.value.code == "already_exists"
        with pytest.raises(shmcast.ProducerActiveError):
            shmcast.Producer.open(p.name)
    with pytest.raises(shmcast.GeometryMismatchError):
        shmcast.Producer.open_or_create(name, slot_count=128)
    with shmcast.Producer.open_or_create(name, slot_count=128, use_as_is=True) as q:
        assert q.geometry.slot_count == 64
    with pytest.raises(TypeError):
        small_ring(ring_name).publish("text is not bytes")


def test_closed_objects_raise(ring_name):
    p = small_ring(ring_name)
    r = shmcast.Reader(p.name)
    r.close()
    assert r.closed
    for use in (r.try_read, r.read, lambda: r.position, lambda: r.seek(0), lambda: r.delivered,
                lambda: r.poll_into(bytearray(1024)), lambda: next(iter(r))):
        with pytest.raises((ValueError, StopIteration)):
            use()
    r.close()
    p.close()
    for use in (lambda: p.publish(b"x"), lambda: p.head, lambda: p.claim(1)):
        with pytest.raises(ValueError):
            use()


def test_poll_into(ring_name):
    with small_ring(ring_name, slot_count=64) as p, shmcast.Reader(p.name, start="oldest") as r:
        payloads = [bytes([i]) * (i * 7 % 100) for i in range(40)]
        for i, data in enumerate(payloads):
            p.publish(data, type=i, timestamp_ns=1000 + i)
        buf = bytearray(4096)
        b = r.poll_into(buf, 25)
        assert b.count == len(b) == 25 and b.gap is None and b.snapshot is None
        assert (b.offsets % 8 == 0).all()
        assert b.seqs.tolist() == list(range(25)) and b.types.tolist() == list(range(25))
        assert b.timestamps.tolist() == [1000 + i for i in range(25)]
        got = [bytes(buf[o:o + n]) for o, n in zip(b.offsets, b.lengths)]
        assert got == payloads[:25]
        arr = np.zeros(1 << 16, dtype=np.uint8)
        b = r.poll_into(arr)
        assert b.count == 15
        assert [arr[o:o + n].tobytes() for o, n in zip(b.offsets, b.lengths)] == payloads[25:]
        assert r.poll_into(arr).count == 0
        assert r.poll_into(arr, 0).count == 0
        # A gap ends a batch, after its messages, and is counted exactly.
        for i in range(200):
            p.publish(b"g")
        b = r.poll_into(arr, 1000)
        assert b.count == 0 and isinstance(b.gap, shmcast.Gap) and r.missed == b.gap.missed
        n = 0
        while (b := r.poll_into(arr, 1000)).count or b.gap:
            n += b.count
        assert r.delivered == 40 + n
        assert r.delivered + r.missed == r.position - r.start
        with pytest.raises(ValueError):
            r.poll_into(bytearray(8))  # smaller than one message
        with pytest.raises(BufferError):
            r.poll_into(b"read-only bytes")


def test_reattach(ring_name):
    name = ring_name()
    p = shmcast.Producer.create(name, slot_count=64, slot_size=128)
    r = shmcast.Reader(name, start="oldest")
    p.close()
    shmcast.Producer.remove(name)
    assert r.replaced
    p = shmcast.Producer.create(name, slot_count=64, slot_size=128)
    p.publish(b"new ring")
    assert r.reattach(give_up=2.0)
    assert not r.replaced and r.read(1.0).data == b"new ring"
    r.close()
    p.close()


def test_docstrings_and_stub_present():
    assert "poll_into" in shmcast.Reader.poll_into.__doc__ or shmcast.Reader.poll_into.__doc__
    assert shmcast.Producer.claim.__doc__ and shmcast.Error.__doc__
