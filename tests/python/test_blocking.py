"""read(timeout), peek(timeout) and poll_into(timeout) wait with the GIL released, and SIGINT
interrupts a blocked read."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import shmcast


def test_read_releases_the_gil(ring_name):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p, shmcast.Reader(p.name) as r:
        progress = 0
        stop = threading.Event()

        def spin():
            nonlocal progress
            while not stop.is_set():
                progress += 1

        t = threading.Thread(target=spin)
        t.start()
        try:
            time.sleep(0.05)
            before = progress
            t0 = time.monotonic()
            assert r.read(timeout=0.5) is None
            elapsed = time.monotonic() - t0
            during = progress - before
        finally:
            stop.set()
            t.join()
        assert 0.45 <= elapsed < 5
        assert during > 10000, f"the other thread made only {during} steps while read() waited"


def test_read_wakes_for_a_message_from_another_thread(ring_name):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p, shmcast.Reader(p.name) as r:
        t = threading.Timer(0.2, lambda: p.publish(b"late"))
        t.start()
        ev = r.read(timeout=10)
        t.join()
        assert ev.data == b"late"


def test_peek_and_poll_into_wait_with_the_gil_released(ring_name):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p, shmcast.Reader(p.name) as r:
        for wait in (lambda: r.peek(8, timeout=10), lambda: r.poll_into(bytearray(8192), timeout=10)):
            t = threading.Timer(0.2, lambda: p.publish(b"late"))
            t0 = time.monotonic()
            t.start()  # runs only if the waiting call lets go of the GIL
            got = wait()
            t.join()
            assert len(got) == 1 and 0.15 <= time.monotonic() - t0 < 5
            if isinstance(got, shmcast.PeekBatch):
                assert got[0].tobytes() == b"late" and got.confirm()
        assert r.delivered == 2


def test_reader_busy_in_another_thread_raises(ring_name):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p:
        r = shmcast.Reader(p.name)
        t = threading.Thread(target=lambda: r.read(timeout=0.5))
        t.start()
        time.sleep(0.1)
        try:
            for use in (r.try_read, r.close, lambda: r.position, r.peek, lambda: r.poll_into(bytearray(8192))):
                try:
                    use()
                    raise AssertionError("use during a waiting read did not raise")
                except ValueError:
                    pass
        finally:
            t.join()
        r.close()


BLOCKED_READER = r"""
import sys, time, shmcast
r = shmcast.Reader(sys.argv[1])
print("ready", flush=True)
t0 = time.monotonic()
try:
    r.read()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
sys.exit(3)
"""


def interrupt_child(script, arg, python_env):
    """Runs `script` with `arg` in a child Python, SIGINTs it once it has said "ready" and is
    well inside its wait, and returns its exit code, its output after "ready", and how long
    it took to end after the signal."""
    child = subprocess.Popen([sys.executable, "-c", script, arg], env=python_env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # well inside the wait
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        rc = child.wait(timeout=10)
        elapsed = time.monotonic() - t0
        out = child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    return rc, out.strip(), elapsed


def test_sigint_interrupts_a_blocked_read(ring_name, python_env):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p:
        rc, out, elapsed = interrupt_child(BLOCKED_READER, p.name, python_env)
        assert rc == 0 and out == "interrupted"
        # 100 ms slices, plus the interpreter's exit: generous for a loaded machine.
        assert elapsed < 1.5, elapsed


def test_sigint_in_process(ring_name):
    with shmcast.Producer.create(ring_name(), ring_bytes=8192) as p, shmcast.Reader(p.name) as r:
        timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        try:
            r.read()
            raise AssertionError("read() returned")
        except KeyboardInterrupt:
            pass
        timer.join()
        assert time.monotonic() - t0 < 0.2 + 0.5
        assert r.try_read() is None  # still usable


WAITING_FOR_RING = r"""
import sys, shmcast
print("ready", flush=True)
try:
    shmcast.Reader(sys.argv[1], wait_for_ring=True, attach_timeout=30)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
sys.exit(3)
"""


def test_sigint_interrupts_waiting_for_a_ring(ring_name, python_env):
    """Reader(wait_for_ring=True) waits for the ring in slices and answers Ctrl-C between them
    (it once waited out the whole attach_timeout, deaf to signals)."""
    rc, out, elapsed = interrupt_child(WAITING_FOR_RING, ring_name(), python_env)
    assert rc == 0 and out == "interrupted"
    assert elapsed < 1.5, elapsed  # 100 ms slices, plus the interpreter's exit
    with pytest.raises(shmcast.NotFoundError):  # and without waiting, at once as before
        shmcast.Reader(ring_name(), attach_timeout=30)
