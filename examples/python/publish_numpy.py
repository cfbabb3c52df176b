#!/usr/bin/env python3
"""A numpy array per message, of any number of rows: written in place into the ring with a
zero-copy claim of the most a frame may take, committed at the length it used; read back
zero-copy, as numpy views of the ring itself (Reader.peek), trusted only once confirm() says
the producer did not overwrite them meanwhile.

    PYTHONPATH=build/python/python python3 examples/python/publish_numpy.py [RING] [--count N]
"""
import argparse

import numpy as np

import shmcast

MAX_ROWS, COLS = 8, 3
DTYPE = np.dtype("<f8")
ROW_BYTES = COLS * DTYPE.itemsize


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ring", nargs="?", default="numpy-demo")
    ap.add_argument("--count", type=int, default=5)
    a = ap.parse_args()

    # A 64 KiB ring; messages up to one frame of MAX_ROWS rows. A frame of r rows takes
    # shmcast.record_bytes(r * ROW_BYTES) bytes of the ring, whatever the claim asked for.
    producer = shmcast.Producer.create(a.ring, ring_bytes=1 << 16, max_message=MAX_ROWS * ROW_BYTES, replace=True)
    reader = shmcast.Reader(a.ring, start="oldest")

    for i in range(a.count):
        rows = i % MAX_ROWS + 1
        # Zero-copy publish: claim the most, fill a numpy view of it in place, commit what
        # was used. The view must be gone before the claim commits (it refuses otherwise).
        claim = producer.claim(producer.max_message, type=rows)
        frame = np.frombuffer(claim, dtype=DTYPE, count=rows * COLS).reshape(rows, COLS)
        frame[:] = np.arange(rows * COLS).reshape(rows, COLS) * (i + 1)
        del frame
        claim.commit(rows * ROW_BYTES)
        # Or publish an existing array (one copy into the ring): producer.publish(array)

    # Zero-copy read: numpy arrays over the ring's own bytes. Derive what you need, drop the
    # arrays (a live export holds the batch: confirm() refuses while one is alive), then
    # confirm(): only then is what was derived trustworthy.
    seen = 0
    while seen < a.count:
        with reader.peek(64) as batch:
            frames = [np.frombuffer(v, dtype=DTYPE).reshape(-1, COLS) for v in batch]
            sums = [float(f.sum()) for f in frames]
            shapes = [f.shape for f in frames]
            seqs = [v.seq for v in batch]
            del frames
            if not batch.confirm():
                continue  # overwritten while we looked: discard; the next peek reports the gap
        for seq, shape, total in zip(seqs, shapes, sums):
            print(f"seq {seq}: {shape[0]}x{shape[1]} frame, sum {total:.0f}")
        seen += len(seqs)
    assert reader.missed == 0 and reader.delivered == a.count

    reader.close()
    producer.close()
    shmcast.Producer.remove(a.ring)


if __name__ == "__main__":
    main()
