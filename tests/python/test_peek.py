"""Reading in place (Reader.peek): views of the ring that live only under the library's
confirm() contract. A view of a batch that was confirmed, failed to confirm, was closed, or
whose reader read on or closed must raise on every use, and no buffer exported from a view
may outlive that moment."""
import threading

import numpy as np
import pytest

import shmcast


def ring_with_reader(ring_name, ring_bytes=8192, **kw):
    p = shmcast.Producer.create(ring_name(), ring_bytes=ring_bytes, **kw)
    r = shmcast.Reader(p.name, start="oldest")
    return p, r


def started(p, r):
    """Publishes one message and reads it: the reader's start is fixed, so that its next peek
    reads in place (before its first event a reader reads by copy)."""
    p.publish(b"start")
    assert r.try_read().data == b"start"


def dead(view):
    """Every use of a view that died raises ValueError."""
    assert not view.valid
    for use in (view.tobytes, lambda: view[0], lambda: view[1:3], lambda: len(view), lambda: memoryview(view),
                lambda: bytes(view), lambda: view.into(bytearray(1 << 16)), lambda: view.type,
                lambda: view.timestamp_ns, lambda: np.frombuffer(view, dtype=np.uint8)):
        with pytest.raises(ValueError, match="no longer valid"):
            use()
    assert "invalid" in repr(view)
    view.seq  # the sequence stays known


def test_peek_reads_in_place_and_confirm_delivers(ring_name):
    p, r = ring_with_reader(ring_name)
    with p, r:
        started(p, r)
        payloads = [bytes(range(i, i + 10 * i)) for i in range(1, 6)]
        for i, data in enumerate(payloads):
            p.publish(data, type=i, timestamp_ns=500 + i)
        with r.peek(3) as batch:
            assert batch.count == len(batch) == 3 and batch.event is None and batch.valid
            views = list(batch)
            assert [v.seq for v in views] == [1, 2, 3] and batch[-1] is views[-1] and batch.views == views
            assert [(v.type, v.timestamp_ns) for v in views] == [(0, 500), (1, 501), (2, 502)]
            v = views[1]
            assert v.valid and len(v) == 20 and v.tobytes() == payloads[1] == bytes(v)
            assert v[0] == payloads[1][0] and v[-1] == payloads[1][-1] and v[2:5] == payloads[1][2:5]
            assert v[::3] == payloads[1][::3]
            with pytest.raises(IndexError):
                v[20]
            out = bytearray(64)
            assert v.into(out, 4) == 20 and out[4:24] == payloads[1]
            with pytest.raises(ValueError):
                v.into(bytearray(10))
            mv = memoryview(v)
            assert mv.readonly and mv.tobytes() == payloads[1]
            with pytest.raises(TypeError):
                mv[0] = 1  # read-only: the ring is mapped read-only for readers
            mv.release()
            arr = np.frombuffer(views[2], dtype=np.uint8)
            assert not arr.flags.writeable and arr.tobytes() == payloads[2]
            del arr
            assert r.delivered == 1  # nothing delivered before confirm()
            assert batch.confirm() and batch.confirmed is True and batch.confirm()
            assert r.delivered == 4 and r.position == 4
        for v in views:
            dead(v)  # confirmed: the views die too (the ring may be overwritten from now on)
        assert "MessageView(seq=1" in repr(views[0])
        b = r.peek(10)
        assert [v.tobytes() for v in b] == payloads[3:] and b.confirm()
        assert r.peek(10).count == 0 and r.delivered == 6 and r.missed == 0


def test_unconfirmed_batch_is_read_again(ring_name):
    p, r = ring_with_reader(ring_name)
    with p, r:
        started(p, r)
        for i in range(4):
            p.publish(bytes([i]) * 8)
        with r.peek(4) as batch:
            views = list(batch)
            assert [v.tobytes() for v in views] == [bytes([i]) * 8 for i in range(4)]
        assert not batch.valid and batch.confirmed is None
        dead(views[0])
        with pytest.raises(ValueError, match="can no longer be confirmed"):
            batch.confirm()
        assert r.delivered == 1 and r.position == 1
        b2 = r.peek(2)
        assert [v.seq for v in b2] == [1, 2]
        assert r.try_read().seq == 1  # reading on ends the batch: b2 is not delivered either
        dead(b2[0])
        with pytest.raises(ValueError):
            b2.confirm()
        b3 = r.peek(10)
        assert [v.seq for v in b3] == [2, 3, 4] and b3.confirm() and r.delivered == 5


def test_view_used_after_its_confirm_failed_raises(ring_name):
    """A tiny ring, and a burst of publishes between peek and confirm: the producer laps the
    reader, confirm() says False, every view of the batch raises, and the next read reports
    exactly what was lost."""
    p, r = ring_with_reader(ring_name, ring_bytes=4096)
    with p, r:
        started(p, r)
        for i in range(8):
            p.publish(bytes([i]) * 40)
        batch = r.peek(8)
        views = list(batch)
        assert batch.count == 8 and views[3].tobytes() == bytes([3]) * 40
        for _ in range(3 * 4096 // 64):  # 96-byte records: three times round the ring
            p.publish(b"lap" * 20)
        assert r.oldest > 1  # lapped between peek and confirm
        assert batch.confirm() is False and batch.confirmed is False and not batch.valid
        assert batch.confirm() is False  # asked again: the same answer
        for v in views:
            dead(v)
        assert r.delivered == 1 and r.position == 1  # nothing of the batch was delivered
        nxt = r.peek(8)
        assert nxt.count == 0 and isinstance(nxt.event, shmcast.Gap)
        assert nxt.event.first == 1 and nxt.event.missed == r.missed > 8 and r.gaps == 1
        rest = 0
        while (b := r.peek(64)).count:
            assert all(v.tobytes() == b"lap" * 20 for v in b)
            assert b.confirm()
            rest += b.count
        assert r.delivered == 1 + rest and r.position == p.head
        assert r.delivered + r.missed == r.position - r.start


def test_poll_into_after_failed_confirm_reports_the_gap(ring_name):
    p, r = ring_with_reader(ring_name, ring_bytes=4096)
    with p, r:
        started(p, r)
        for i in range(5):
            p.publish(bytes([i]) * 40)
        batch = r.peek(5)
        for _ in range(200):
            p.publish(b"z" * 60)
        assert not batch.confirm()
        b = r.poll_into(bytearray(4096))
        assert b.count == 0 and b.gap is not None and b.gap.first == 1 and r.missed == b.gap.missed
        b = r.poll_into(bytearray(4096))
        assert b.count > 0 and b.seqs[0] == 1 + r.missed
        assert r.delivered + r.missed == r.position - r.start


def test_view_used_after_the_reader_closed_raises(ring_name):
    p, r = ring_with_reader(ring_name)
    with p:
        started(p, r)
        p.publish(b"payload")
        batch = r.peek(4)
        v = batch[0]
        assert v.tobytes() == b"payload"
        mv = memoryview(v)
        with pytest.raises(BufferError, match="still alive"):
            r.close()  # an export of ring memory must not outlive the mapping
        assert not r.closed and v.valid
        mv.release()
        r.close()
        dead(v)
        with pytest.raises(ValueError):
            batch.confirm()
        assert not batch.valid
        # The view keeps the Reader object alive, never its mapping.
        del r, batch
        dead(v)


def test_live_exports_hold_the_reader(ring_name):
    """A buffer exported from a view cannot be revoked: while one is alive, nothing may start a
    new generation of views (BufferError, changing nothing)."""
    p, r = ring_with_reader(ring_name, snapshot_capacity=64)
    with p, r:
        started(p, r)
        for i in range(3):
            p.publish(np.arange(4, dtype=np.float64) * i)
        batch = r.peek(3)
        frame = np.frombuffer(batch[2], dtype=np.float64)
        assert frame.tolist() == [0.0, 2.0, 4.0, 6.0]
        total = frame.sum()
        for use in (r.try_read, r.read, r.peek, lambda: r.poll_into(bytearray(8192)), lambda: r.seek(0),
                    batch.confirm, batch.close, r.close, lambda: next(iter(r))):
            with pytest.raises(BufferError, match="release them"):
                use()
        assert batch.valid and batch.confirmed is None and r.delivered == 1
        with pytest.raises(BufferError):
            with r.peek(3):  # the block's end cannot end a batch with a live export either
                pass
        with pytest.raises(RuntimeError):  # ...but an exception on its way is not hidden by one
            with batch:
                raise RuntimeError("kept")
        del frame
        assert batch.confirm() and total == 12.0 and r.delivered == 4


def test_reader_exit_with_a_live_export(ring_name):
    p, r = ring_with_reader(ring_name)
    with p:
        started(p, r)
        p.publish(b"abc")
        with pytest.raises(ZeroDivisionError):
            with r:
                mv = memoryview(r.peek()[0])
                1 / 0
        assert not r.closed  # left open rather than hide the exception, or unmap under mv
        assert mv.tobytes() == b"abc"
        mv.release()
        with pytest.raises(BufferError):
            with r:
                mv = memoryview(r.peek()[0])
        mv.release()
        r.close()
        assert r.closed


def test_peek_events_and_waits(ring_name):
    p, r = ring_with_reader(ring_name, ring_bytes=4096)
    with p, r:
        b = r.peek()
        assert b.count == 0 and b.event is None and list(b) == []
        assert b.confirm() is False  # nothing to vouch for
        assert "PeekBatch(count=0, event=None" in repr(b)
        assert r.peek(0).count == 0
        b = r.peek(8, timeout=0.05)
        assert b.count == 0 and b.event is None
        t = threading.Timer(0.1, lambda: p.publish(b"late"))
        t.start()
        b = r.peek(8, timeout=10)  # a message met by waiting comes alone, copied (and counted)
        t.join()
        assert [v.tobytes() for v in b] == [b"late"] and r.delivered == 1
        b.close()  # not confirmed: it comes again, counted once
        b = r.peek(8)
        assert [v.tobytes() for v in b] == [b"late"] and r.delivered == 1
        b.close()
        assert r.try_read().data == b"late" and r.try_read() is None and r.delivered == 1
        t = threading.Timer(0.1, lambda: p.publish(b"later"))
        t.start()
        b = r.peek(8, timeout=10)
        t.join()
        assert [v.tobytes() for v in b] == [b"later"] and b.confirm() and b.confirm()
        assert r.try_read() is None and r.delivered == 2
        r.seek(r.position)
        p.publish(b"a")
        assert r.read().data == b"a"
        for _ in range(2 * 4096 // 64):  # twice round the ring
            p.publish(b"b" * 30)
        b = r.peek(8)
        assert b.count == 0 and isinstance(b.event, shmcast.Gap) and b.event.first == 3
        assert "Gap(first=3" in repr(b)


def test_a_seek_past_head_keeps_a_carried_message(ring_name):
    """A message peek waited for stays carried until confirmed; a seek that changes nothing
    (past head) keeps it, as the C++ reader keeps its held copy."""
    p, r = ring_with_reader(ring_name, ring_bytes=4096)
    with p, r:
        t = threading.Timer(0.1, lambda: p.publish(b"late"))
        t.start()
        b = r.peek(8, timeout=10)
        t.join()
        assert [v.tobytes() for v in b] == [b"late"]
        b.close()
        assert r.seek(r.head + 5) is False
        assert r.try_read().data == b"late" and r.delivered == 1
