#!/usr/bin/env python3
"""A numpy array per message: written in place into the ring's slot with a zero-copy claim,
read back as numpy views over one batch buffer (no copy after poll_into's one).

    PYTHONPATH=build/python/python python3 examples/python/publish_numpy.py [RING] [--count N]
"""
import argparse

import numpy as np

import shmcast

ROWS, COLS = 4, 3
DTYPE = np.dtype("<f8")
NBYTES = ROWS * COLS * DTYPE.itemsize


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ring", nargs="?", default="numpy-demo")
    ap.add_argument("--count", type=int, default=5)
    a = ap.parse_args()

    producer = shmcast.Producer.create(a.ring, slot_count=1024, slot_size=shmcast.slot_size_for(NBYTES), replace=True)
    reader = shmcast.Reader(a.ring, start="oldest")

    for i in range(a.count):
        # Zero-copy publish: a numpy view of the claimed slot, filled in place, committed on exit.
        # The view must be gone before the claim commits (the claim refuses otherwise).
        with producer.claim(NBYTES, type=1) as slot:
            frame = np.frombuffer(slot, dtype=DTYPE).reshape(ROWS, COLS)
            frame[:] = np.arange(ROWS * COLS).reshape(ROWS, COLS) * (i + 1)
            del frame
        # Or publish an existing array (one copy into the slot): producer.publish(array)

    buf = np.empty(1 << 16, dtype=np.uint8)  # 8-byte aligned offsets: float64 views need no copy
    batch = reader.poll_into(buf)
    for off, seq in zip(batch.offsets, batch.seqs):
        frame = np.frombuffer(buf, dtype=DTYPE, count=ROWS * COLS, offset=int(off)).reshape(ROWS, COLS)
        print(f"seq {seq}: sum {frame.sum():.0f}\n{frame}")
    assert batch.count == a.count and reader.missed == 0

    reader.close()
    producer.close()
    shmcast.Producer.remove(a.ring)


if __name__ == "__main__":
    main()
