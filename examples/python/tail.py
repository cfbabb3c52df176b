#!/usr/bin/env python3
"""A Python `tail -f` of any shmcast ring.

    PYTHONPATH=build/python/python python3 examples/python/tail.py RING [--from oldest|latest|snapshot|SEQ]
        [--on-gap oldest|latest|snapshot] [--hex] [--batch | --in-place]

Prints each message as `seq type len: payload` (text, or hex with --hex), reports gaps and
snapshots on stderr, follows the ring across a producer restart (reattach), and exits on
Ctrl-C with the reader's counters. --batch reads with poll_into() (the fast path: batches
copied into one buffer); --in-place reads with peek(), formatting each message straight from
the ring and printing a batch only once confirm() says it was not overwritten meanwhile.
"""
import argparse
import sys

import shmcast


def show(seq, typ, data, as_hex):
    text = data.hex() if as_hex else data.decode("utf-8", "backslashreplace")
    print(f"{seq} {typ} {len(data)}: {text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ring")
    ap.add_argument("--from", dest="start", default="latest", help="oldest, latest, snapshot or a sequence number")
    ap.add_argument("--on-gap", default="oldest", choices=["oldest", "latest", "snapshot"])
    ap.add_argument("--hex", action="store_true", help="print payloads in hex")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--batch", action="store_true", help="read batches with poll_into()")
    mode.add_argument("--in-place", action="store_true", help="read batches in place with peek() and confirm()")
    a = ap.parse_args()

    start, start_seq = (a.start, 0) if not a.start.isdigit() else ("sequence", int(a.start))
    try:
        reader = shmcast.Reader(a.ring, start=start, start_seq=start_seq, on_gap=a.on_gap, label="tail.py",
                                wait_for_ring=True, attach_timeout=10.0)
    except shmcast.Error as e:
        sys.exit(f"tail.py: {e} ({e.code})")

    buf = bytearray(max(1 << 20, reader.max_message))  # poll_into's buffer holds at least one message
    view = memoryview(buf)
    with reader:
        try:
            while True:
                if reader.replaced:
                    print(f"ring '{a.ring}' was replaced: reattaching", file=sys.stderr)
                    reader.reattach()
                if a.batch:
                    b = reader.poll_into(buf, timeout=0.5)
                    for off, n, seq, typ in zip(b.offsets, b.lengths, b.seqs, b.types):
                        show(int(seq), int(typ), bytes(view[off:off + n]), a.hex)
                    events = [e for e in (b.gap, b.snapshot) if e is not None]
                elif a.in_place:
                    with reader.peek(256, timeout=0.5) as batch:
                        # Format straight from the ring (MessageView: tobytes, [i], len...), but
                        # print nothing before confirm() vouches for it.
                        lines = [(v.seq, v.type, v.tobytes()) for v in batch]
                        if not batch.confirm():
                            lines = []  # overwritten while formatted: the next read reports the gap
                    for seq, typ, data in lines:
                        show(seq, typ, data, a.hex)
                    events = [batch.event] if batch.event is not None else []
                else:
                    ev = reader.read(timeout=0.5)
                    events = [ev] if ev is not None else []
                for ev in events:
                    if isinstance(ev, shmcast.Message):
                        show(ev.seq, ev.type, ev.data, a.hex)
                    elif isinstance(ev, shmcast.Gap):
                        print(f"gap: missed {ev.missed} messages from {ev.first}", file=sys.stderr)
                    elif isinstance(ev, shmcast.Snapshot):
                        print(f"snapshot as of {ev.as_of} ({len(ev.data)} bytes)", file=sys.stderr)
                sys.stdout.flush()
        except KeyboardInterrupt:
            print(f"delivered {reader.delivered}, missed {reader.missed} in {reader.gaps} gaps", file=sys.stderr)


if __name__ == "__main__":
    main()
