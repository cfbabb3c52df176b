"""Fixtures of the Python binding's tests: unique ring names (removed afterwards), the
`shmcast` CLI of the same build (SHMCAST_CLI, set by ctest; else found on PATH) and the C++
test peer tests/python/peer.cpp (SHMCAST_PYTHON_PEER, set by ctest; built with the module)."""
import itertools
import os
import shutil

import pytest

import shmcast

_counter = itertools.count()


@pytest.fixture
def ring_name():
    names = []

    def make(tag="t"):
        name = f"pytest-{os.getpid()}-{next(_counter)}-{tag}"
        names.append(name)
        return name

    yield make
    for name in names:
        try:
            shmcast.Producer.remove(name)
        except shmcast.Error:
            pass


@pytest.fixture
def cli():
    path = os.environ.get("SHMCAST_CLI") or shutil.which("shmcast")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the shmcast CLI was not found or not built (set SHMCAST_CLI)")
    return path


@pytest.fixture
def peer():
    here = os.path.dirname(shmcast.__file__)
    path = os.environ.get("SHMCAST_PYTHON_PEER") or os.path.join(here, "shmcast-python-peer")
    if not os.access(path, os.X_OK):
        pytest.skip("the C++ test peer was not found (build shmcast_python, or set SHMCAST_PYTHON_PEER)")
    return path


@pytest.fixture
def python_env():
    """The environment a child Python needs to import the same shmcast module."""
    env = dict(os.environ)
    here = os.path.dirname(shmcast.__file__)
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
