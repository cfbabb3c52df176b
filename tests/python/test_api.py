"""The binding's surface in one process: events, options, geometry, counters, claims, batches,
errors and misuse, which must raise and never crash."""
import gc
import signal

import numpy as np
import pytest

import shmcast


def small_ring(ring_name, **kw):
    kw.setdefault("ring_bytes", 8192)
    return shmcast.Producer.create(ring_name(), **kw)


def lap(producer, reader, payload=b"x"):
    """Publishes until `reader` is lapped: until its position is no longer held (reader.oldest
    keeps a margin of ring_bytes / 16), then a whole ring more."""
    while reader.oldest <= reader.position:
        producer.publish(payload)
    for _ in range(producer.geometry.ring_bytes // shmcast.record_bytes(len(payload))):
        producer.publish(payload)


def test_publish_and_read_events(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name, start=shmcast.StartAt.oldest) as r:
        assert p.publish(b"hello", type=7, timestamp_ns=123) == 0
        assert p.publish(memoryview(b"abc")) == 1
        assert p.publish(bytearray(b"xyz"), 2) == 2
        assert p.publish(np.arange(3, dtype=np.uint16)) == 3
        assert p.publish(b"") == 4
        assert p.head == 5
        m = r.try_read()
        assert isinstance(m, shmcast.Message)
        assert (m.seq, m.type, m.timestamp_ns, m.data) == (0, 7, 123, b"hello")
        assert r.read().data == b"abc"
        assert r.read(timeout=0).type == 2
        assert r.read(1.0).data == np.arange(3, dtype=np.uint16).tobytes()
        assert r.read().data == b""
        assert r.try_read() is None
        assert r.read(timeout=0.05) is None
        assert (r.position, r.start, r.delivered, r.gaps, r.missed) == (5, 0, 5, 0, 0)
        assert r.head == 5 and r.oldest == 0
        assert r.producer_alive and not r.replaced
        assert p.reader_count == 1
        assert "Message(seq=" in repr(m)


def test_replace_refuses_a_live_producer_and_removes_nothing(ring_name):
    name = ring_name()
    with shmcast.Producer.create(name, ring_bytes=8192) as p:
        p.publish(b"kept")
        with pytest.raises(shmcast.ProducerActiveError):
            shmcast.Producer.create(name, ring_bytes=8192, replace=True)
        with pytest.raises(shmcast.ProducerActiveError):
            shmcast.Producer.remove_unless_live(name)
        with shmcast.Reader(name, start="oldest") as r:
            assert r.read(timeout=0).data == b"kept"  # the same ring, still found by its name
    with shmcast.Producer.create(name, ring_bytes=16384, replace=True) as p:  # its producer gone: replaced
        assert p.head == 0 and p.geometry.ring_bytes == 16384
    assert shmcast.Producer.remove_unless_live(name)
    assert not shmcast.Producer.remove_unless_live(name)


def test_geometry_in_bytes(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name) as r:
        g = p.geometry
        assert (g.ring_bytes, g.max_message, g.snapshot_capacity) == (8192, 2048, 0)  # max_message: a quarter
        assert p.max_message == r.max_message == 2048 and r.geometry == g
        assert repr(g) == "Geometry(ring_bytes=8192, max_message=2048, snapshot_capacity=0)"
    with shmcast.Producer.create(ring_name(), size=1 << 16, max_message=1000, snapshot_capacity=512) as p:
        assert (p.geometry.ring_bytes, p.geometry.max_message, p.geometry.snapshot_capacity) == (1 << 16, 1000, 512)
    with shmcast.Producer.create(ring_name()) as p:
        assert p.geometry.ring_bytes == shmcast.DEFAULT_RING_BYTES == 1 << 20
        assert p.max_message == (1 << 20) // 4
    assert (shmcast.RECORD_HEADER_BYTES, shmcast.RECORD_ALIGN) == (24, 32)
    assert [shmcast.record_bytes(n) for n in (0, 8, 9, 64, 100)] == [32, 32, 64, 96, 128]


def test_removed_layout_2_names_say_what_replaced_them(ring_name):
    for kw in ({"slot_count": 64}, {"slot_size": 128}, {"slot_count": 64, "slot_size": 128}):
        with pytest.raises(TypeError, match="ring_bytes") as e:
            shmcast.Producer.create(ring_name(), **kw)
        assert "max_message" in str(e.value) and "layout version 3" in str(e.value)
        with pytest.raises(TypeError, match="ring_bytes"):
            shmcast.Producer.open_or_create(ring_name(), **kw)
    with pytest.raises(TypeError, match="not both"):
        shmcast.Producer.create(ring_name(), ring_bytes=8192, size=8192)
    with pytest.raises(TypeError, match="unexpected keyword argument 'slots'"):
        shmcast.Producer.create(ring_name(), slots=64)
    for bad in ("1M", 4096.0, True):
        with pytest.raises(TypeError, match="must be an int"):
            shmcast.Producer.create(ring_name(), ring_bytes=bad)
    with pytest.raises(AttributeError, match="record_bytes"):
        shmcast.slot_size_for(100)
    with pytest.raises(AttributeError, match="RECORD_HEADER_BYTES"):
        shmcast.SLOT_HEADER_BYTES
    assert not hasattr(shmcast, "no_such_name")
    with small_ring(ring_name) as p:
        with pytest.raises(AttributeError, match="max_message"):
            p.payload_capacity
        with pytest.raises(AttributeError, match="max_message"):
            p.geometry.payload_capacity
        assert not hasattr(p.geometry, "slot_count") and not hasattr(p.geometry, "slot_size")


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
        # Line give-back changes where lines are cached, never what a reader reads.
        with shmcast.Reader(p.name, start="oldest", give_back_lines=False) as kept, \
                shmcast.Reader(p.name, start="oldest") as given_back:
            assert [kept.read(0).data for _ in range(5)] == [given_back.read(0).data for _ in range(5)]
        # Standing back: a paused producer's messages are all read; too far is refused.
        with shmcast.Reader(p.name, start="oldest", stand_back_bytes=1024) as back:
            assert [back.read(1.0).data for _ in range(5)] == [bytes([i]) for i in range(5)]
        with pytest.raises(shmcast.InvalidArgumentError):
            shmcast.Reader(p.name, stand_back_bytes=p.geometry.ring_bytes)
        with pytest.raises(shmcast.InvalidArgumentError) as e:
            shmcast.Reader(p.name, start="newest")
        assert isinstance(e.value, ValueError) and e.value.code == "invalid_argument"


def test_iteration_seek_and_gaps(ring_name):
    with small_ring(ring_name, ring_bytes=4096) as p, shmcast.Reader(p.name, start="oldest") as r:
        for i in range(3):
            p.publish(bytes([i]))
        it = iter(r)
        assert [next(it).seq for _ in range(3)] == [0, 1, 2]
        assert r.seek(1) and r.read().seq == 1
        lap(p, r)
        events = []
        while (ev := r.try_read()) is not None:
            events.append(ev)
        gaps = [e for e in events if isinstance(e, shmcast.Gap)]
        assert len(gaps) == 1 and r.gaps == 1 and r.missed == gaps[0].missed
        assert gaps[0].first == 2 and events[0] is gaps[0]
        assert [e.seq for e in events[1:]] == list(range(gaps[0].first + gaps[0].missed, p.head))
        assert gaps[0].cause == "overwritten"  # lapped; a producer's skip says "skipped"
        assert repr(gaps[0]) == f"Gap(first=2, missed={gaps[0].missed}, cause='overwritten')"


def test_accounting_exact_without_seek(ring_name):
    with small_ring(ring_name, ring_bytes=4096) as p, shmcast.Reader(p.name, start="oldest") as r:
        delivered = missed = 0
        for rnd in range(60):
            for i in range(rnd * 7 % 200):
                p.publish(bytes(i % 70))  # 32 to 96 bytes a record: a 4 KiB ring holds 40 to 120
            for _ in range(30):
                ev = r.try_read()
                if isinstance(ev, shmcast.Message):
                    delivered += 1
                elif isinstance(ev, shmcast.Gap):
                    missed += ev.missed
        assert missed > 0
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
        with shmcast.Reader(p.name, start="snapshot") as r:
            b = r.peek(8)
            assert b.count == 0 and isinstance(b.event, shmcast.Snapshot) and b.event.data == b"state" * 100
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


def test_producer_block_closes_the_producer_even_with_a_claim_open(ring_name):
    """Leaving `with Producer` aborts a claim still open (nothing of it is committed) and
    closes the producer, with a ResourceWarning; it once kept the ring held, silently."""
    with pytest.warns(ResourceWarning, match="claim was aborted"):
        with small_ring(ring_name) as p:
            name = p.name
            p.publish(b"before")
            c = p.claim(8)
            c.write(b"12345678")
    assert p.closed
    with shmcast.Producer.open(name) as again, shmcast.Reader(name, start="oldest") as r:
        assert r.read().data == b"before" and r.try_read() is None  # the claim left no trace
        assert again.publish(b"after") == 1


def test_producer_block_with_a_live_claim_view_keeps_the_real_error(ring_name):
    """A claim whose view is still alive cannot be aborted (BufferError): leaving `with
    Producer` by an exception then keeps that exception, warns, and leaves the producer open."""
    with pytest.raises(ValueError, match="boom"), pytest.warns(ResourceWarning, match="view of its open claim"):
        with small_ring(ring_name) as p:
            c = p.claim(8)
            mv = memoryview(c)
            raise ValueError("boom")
    assert not p.closed
    mv.release()
    c.abort()
    p.close()


def test_claim_the_most_and_commit_what_was_used(ring_name):
    with small_ring(ring_name) as p, shmcast.Reader(p.name, start="oldest") as r:
        most = p.max_message
        c = p.claim(most, type=3)
        assert c.size == most and c.length == most
        c.view[:5] = b"hello"
        assert c.commit(5) == 0  # releases the view it handed out
        c = p.claim(most)
        with c as mv:  # the `with` block commits `length` when set
            mv[:3] = b"abc"
            c.length = 3
        c = p.claim(100)
        c.write(b"xy")
        c.write(b"z", offset=2)
        assert c.length == 3  # only write() filled it: the end of the furthest write
        c.commit()
        c = p.claim(most)
        c.write(b"")
        assert c.length == 0 and c.commit() == 3  # an empty write: an empty message
        with p.claim(4) as mv:  # a view and no length: all of it
            mv[:] = b"full"
        c = p.claim(10)
        with pytest.raises(ValueError):
            c.length = 11
        with pytest.raises(ValueError):
            c.commit(11)
        c.abort()
        assert [r.read().data for _ in range(5)] == [b"hello", b"abc", b"xyz", b"", b"full"]
        # Only the length committed takes room: claims of the most, committed short, do
        # not lap a reader that a ring of max_message records would.
        n = 100
        assert n * shmcast.record_bytes(most) > 4 * p.geometry.ring_bytes
        assert n * shmcast.record_bytes(8) < p.geometry.ring_bytes // 2
        for i in range(n):
            c = p.claim(most)
            c.write(i.to_bytes(8, "little"))
            c.commit()
        assert r.oldest <= r.position
        got = [r.read() for _ in range(n)]
        assert [int.from_bytes(m.data, "little") for m in got] == list(range(n)) and r.missed == 0


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


def test_message_sizes_up_to_max_message(ring_name):
    with small_ring(ring_name, ring_bytes=1 << 20) as p, shmcast.Reader(p.name, start="oldest") as r:
        most = p.max_message
        assert most == 256 * 1024
        sizes = [0, 1, 63, 64, 65, 1000, 64 * 1024, 64 * 1024 + 1, 200_000, most]
        payloads = [np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]
        for data in payloads:
            p.publish(data)
        assert [r.read().data for _ in sizes] == payloads
        with pytest.raises(shmcast.MessageTooLargeError) as e:
            p.publish(bytes(most + 1))
        assert isinstance(e.value, shmcast.Error) and isinstance(e.value, ValueError)
        assert e.value.code == "message_too_large" and e.value.ring == p.name
        with pytest.raises(shmcast.MessageTooLargeError) as e:
            p.claim(most + 1)
        assert e.value.code == "message_too_large"
        assert p.head == len(sizes) and r.try_read() is None
    with small_ring(ring_name, max_message=100) as p:
        assert p.publish(bytes(100)) == 0
        with pytest.raises(shmcast.MessageTooLargeError):
            p.publish(bytes(101))
        assert p.head == 1


def test_errors_map_to_python_exceptions(ring_name):
    with pytest.raises(FileNotFoundError) as e:
        shmcast.Reader(ring_name("absent"), attach_timeout=0)
    assert isinstance(e.value, shmcast.NotFoundError) and isinstance(e.value, shmcast.Error)
    assert e.value.code == "not_found" and e.value.ring
    for geometry in ({"ring_bytes": 3}, {"ring_bytes": 5000}, {"ring_bytes": 1 << 11}, {"ring_bytes": -1},
                     {"ring_bytes": 4096, "max_message": 4096 // 2 - 55}, {"max_message": 1 << 33}):
        with pytest.raises(shmcast.InvalidArgumentError) as e:
            shmcast.Producer.create(ring_name(), **geometry)
        assert isinstance(e.value, ValueError) and e.value.code == "invalid_argument", geometry
    with small_ring(ring_name) as p:
        name = p.name
        with pytest.raises(FileExistsError) as e:
            shmcast.Producer.create(p.name)
        assert e.value.code == "already_exists"
        with pytest.raises(shmcast.ProducerActiveError):
            shmcast.Producer.open(p.name)
    with pytest.raises(shmcast.GeometryMismatchError):
        shmcast.Producer.open_or_create(name, ring_bytes=16384)
    with pytest.raises(shmcast.GeometryMismatchError):
        shmcast.Producer.open_or_create(name, ring_bytes=8192, max_message=1000)
    with shmcast.Producer.open_or_create(name, ring_bytes=8192, max_message=2048):  # the default, spelled out
        pass
    with shmcast.Producer.open_or_create(name, ring_bytes=16384, use_as_is=True) as q:
        assert q.geometry.ring_bytes == 8192
    with pytest.raises(TypeError):
        small_ring(ring_name).publish("text is not bytes")


def test_closed_objects_raise(ring_name):
    p = small_ring(ring_name)
    r = shmcast.Reader(p.name)
    r.close()
    assert r.closed
    for use in (r.try_read, r.read, r.peek, lambda: r.position, lambda: r.seek(0), lambda: r.delivered,
                lambda: r.poll_into(bytearray(4096)), lambda: next(iter(r))):
        with pytest.raises(ValueError):  # iterating too, as over a closed file
            use()
    r.close()
    p.close()
    for use in (lambda: p.publish(b"x"), lambda: p.head, lambda: p.claim(1), lambda: p.max_message):
        with pytest.raises(ValueError):
            use()


def test_poll_into(ring_name):
    with small_ring(ring_name, ring_bytes=16384) as p, shmcast.Reader(p.name, start="oldest") as r:
        payloads = [bytes([i]) * (i * 7 % 100) for i in range(40)]
        for i, data in enumerate(payloads):
            p.publish(data, type=i, timestamp_ns=1000 + i)
        buf = bytearray(p.max_message)
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
        lap(p, r, b"g")
        b = r.poll_into(arr, 1000)
        assert b.count == 0 and isinstance(b.gap, shmcast.Gap) and r.missed == b.gap.missed
        assert b.gap.first == 40
        n = 0
        while (b := r.poll_into(arr, 1000)).count or b.gap:
            n += b.count
        assert n > 0 and r.delivered == 40 + n
        assert r.delivered + r.missed == r.position - r.start
        with pytest.raises(ValueError):
            r.poll_into(bytearray(p.max_message - 1))  # smaller than the largest message
        with pytest.raises(BufferError):
            r.poll_into(b"read-only bytes")


def test_poll_into_fills_the_buffer_to_its_end(ring_name):
    """Messages of any size pack a buffer: a batch ends where the next message does not fit, and
    that message comes first in the next batch; nothing is lost or repeated."""
    with small_ring(ring_name, ring_bytes=1 << 16, max_message=300) as p, \
            shmcast.Reader(p.name, start="oldest") as r:
        rng = np.random.default_rng(7)
        payloads = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in rng.integers(0, 301, 150)]
        for data in payloads:
            p.publish(data)
        buf = bytearray(301)
        got, counts = [], []
        while (b := r.poll_into(buf)).count:
            counts.append(b.count)
            got += [bytes(buf[o:o + n]) for o, n in zip(b.offsets, b.lengths)]
            assert b.used <= len(buf)
        assert got == payloads and max(counts) > 1
        assert r.delivered == len(payloads) and r.missed == 0


def test_reattach(ring_name):
    name = ring_name()
    p = shmcast.Producer.create(name, ring_bytes=8192)
    r = shmcast.Reader(name, start="oldest")
    p.close()
    shmcast.Producer.remove(name)
    assert r.replaced
    p = shmcast.Producer.create(name, ring_bytes=16384)
    p.publish(b"new ring")
    assert r.reattach(give_up=2.0)
    assert not r.replaced and r.read(1.0).data == b"new ring"
    assert r.geometry.ring_bytes == 16384
    r.close()
    p.close()


def test_docstrings_and_stub_present():
    assert "confirm" in shmcast.Reader.peek.__doc__ and "confirm" in shmcast.Reader.poll_into.__doc__
    assert "raise" in shmcast.MessageView.__doc__ and "BufferError" in shmcast.MessageView.__doc__
    assert shmcast.Producer.claim.__doc__ and shmcast.Error.__doc__ and shmcast.PeekBatch.confirm.__doc__
    assert "ring_bytes" in shmcast.Producer.create.__doc__


@pytest.mark.parametrize("next_read", ["poll_into", "try_read", "peek"])
def test_poll_into_never_loses_the_message_after_the_wrap(ring_name, next_read):
    """A peek that starts at the padding before the ring's wrap reads the message after it in
    place, as any other (it was once read by copy, and so delivered at once). When the batch
    has no room left for it, it is not delivered, and it comes first from the reader's next
    read, whichever it is."""
    with small_ring(ring_name, ring_bytes=32768, max_message=9000) as p, \
            shmcast.Reader(p.name, start="oldest") as r:
        big = [bytes([1]) * 8000, bytes([2]) * 8000]  # 2 x 8032 bytes of the ring
        small = [i.to_bytes(8, "little") for i in range(512)]  # 512 x 32 bytes: 320 bytes left at the end
        wrapped = bytes([3]) * 5000  # does not fit in those 320: padding, then the wrap
        buf = bytearray(9000)
        got = []

        def take(b):
            got.extend(bytes(buf[o:o + n]) for o, n in zip(b.offsets, b.lengths))

        for data in big:
            p.publish(data)
        take(r.poll_into(buf))
        take(r.poll_into(buf))
        assert got == big
        for data in small + [wrapped]:  # the wrapped one overwrites the big ones, read already
            p.publish(data)
        b = r.poll_into(buf)  # 512 peeked and confirmed (4096 bytes of buf), then the one at the wrap
        take(b)
        assert b.count == 512 and b.used == 4096
        assert r.delivered == 2 + 512  # the one at the wrap did not fit: not delivered
        # Nor by an empty peek's confirm, which has nothing to vouch for (it once confirmed
        # the peek poll_into had given up, and the message was lost).
        assert r.peek(0).confirm() is False and r.delivered == 2 + 512
        if next_read == "poll_into":
            take(r.poll_into(buf))
        elif next_read == "try_read":
            got.append(r.try_read().data)
        else:
            with r.peek(8) as batch:
                got += [v.tobytes() for v in batch]
                assert batch.count == 1 and batch.confirm()
        assert got == big + small + [wrapped] and r.try_read() is None
        assert (r.delivered, r.missed) == (515, 0)


def test_timeouts_that_are_not_plain_seconds(ring_name):
    """NaN is refused; infinity (and anything past about 31 years) waits for ever, as None does:
    it once overflowed into a deadline in the past and returned at once."""
    import math
    import threading

    with small_ring(ring_name) as p, shmcast.Reader(p.name) as r:
        for call in (lambda: r.read(timeout=math.nan), lambda: r.peek(timeout=math.nan),
                     lambda: r.poll_into(bytearray(1 << 20), timeout=math.nan)):
            with pytest.raises(shmcast.InvalidArgumentError, match="NaN"):
                call()
        for timeout in (math.inf, 1e300):
            later = threading.Timer(0.2, lambda: p.publish(b"late"))
            later.start()
            try:
                m = r.read(timeout=timeout)
            finally:
                later.join()
            assert m is not None and m.data == b"late"
        assert r.read(timeout=-1) is None  # a negative timeout does not wait
        with pytest.raises(shmcast.InvalidArgumentError, match="seconds"):
            shmcast.Reader(p.name, attach_timeout=math.inf)
        with pytest.raises(shmcast.InvalidArgumentError, match="seconds"):
            r.reattach(initial=math.nan)


def test_enum_options_of_the_wrong_type_raise_type_error(ring_name):
    with small_ring(ring_name) as p:
        with pytest.raises(TypeError, match="start must be a str or a shmcast.StartAt, not int"):
            shmcast.Reader(p.name, start=1)
        with pytest.raises(shmcast.InvalidArgumentError, match="not one of"):
            shmcast.Reader(p.name, start="newest")


def test_a_signal_handler_cannot_re_enter_a_waiting_reader(ring_name):
    """A handler runs inside the wait: a call from it into the same reader is refused, as from
    another thread, instead of moving the reader (or freeing a served copy) under the wait."""
    with small_ring(ring_name) as p, shmcast.Reader(p.name) as r:
        refused = []

        def handler(*_):
            try:
                r.peek(1)
            except ValueError as e:
                refused.append(str(e))
                raise

        old = signal.signal(signal.SIGALRM, handler)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.15)
            with pytest.raises(ValueError, match="in use"):
                r.read(timeout=5.0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        assert refused
        p.publish(b"after")
        assert r.read(timeout=1.0).data == b"after"  # the reader goes on


def test_objects_the_module_makes_cannot_be_made_half_way():
    for cls in (shmcast.Geometry, shmcast.Message, shmcast.Gap, shmcast.Snapshot, shmcast.Batch, shmcast.MessageView,
                shmcast.PeekBatch, shmcast.Claim, shmcast.Producer):
        with pytest.raises(TypeError):
            cls.__new__(cls)
        with pytest.raises(TypeError):
            cls()
    r = shmcast.Reader.__new__(shmcast.Reader)  # no __init__: refused on every use, never read
    for use in (r.try_read, lambda: r.closed, lambda: r.position, r.close, lambda: r.__exit__(None, None, None)):
        with pytest.raises(TypeError, match="never initialised"):
            use()


def test_a_claim_left_by_an_exception_keeps_that_exception(ring_name):
    with small_ring(ring_name) as p:
        c = p.claim(8)
        with pytest.warns(ResourceWarning), pytest.raises(RuntimeError, match="the real error"):
            with c as mv:
                held = np.frombuffer(mv, np.uint8)
                raise RuntimeError("the real error")
        del held, mv
        c.abort()
        assert p.publish(b"x") == 0


def test_values_that_would_wrap_or_mean_something_else_are_refused(ring_name):
    with small_ring(ring_name) as p:
        g = p.geometry
        assert g != None and not (g == 5) and g in [None, g]  # noqa: E711: == with another type is False
        with pytest.raises(shmcast.InvalidArgumentError):
            shmcast.record_bytes(2**64 - 1)
        assert shmcast.record_bytes(1 << 30) == (1 << 30) + 32
        with pytest.raises(shmcast.InvalidArgumentError):
            p.publish(b"a", timestamp_ns=2**64 - 1)  # the C++ "now": None says that
        assert p.publish(b"a", timestamp_ns=2**64 - 2) == 0
    with pytest.raises(shmcast.InvalidArgumentError) as e:
        shmcast.Producer.create("bad\0name", ring_bytes=4096)
    assert e.value.reason in str(e.value) and "bad\\x00name" in str(e.value)  # whole, the NUL escaped
