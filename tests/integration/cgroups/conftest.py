"""Real cgroups under a unique test parent in every hierarchy, removed afterwards."""

import os
import secrets
import subprocess
import sys

import pytest

from ketch.cgroups import CgroupMode, detect, open_manager


class Children:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def python(self, code: str) -> "subprocess.Popen[str]":
        """A Python child that waits for a line on stdin before running ``code``."""
        proc = subprocess.Popen(
            [sys.executable, "-c", f"import sys\nsys.stdin.readline()\n{code}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def sleep(self) -> "subprocess.Popen[str]":
        proc = subprocess.Popen(["sleep", "300"], text=True)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def remove_parents(mode: CgroupMode, name: str) -> None:
    for mount in mode.mounts:
        path = f"{mount.mountpoint}/{name}"
        for dirpath, _, _ in sorted(os.walk(path), key=lambda t: -len(t[0])):
            if os.path.isdir(dirpath):
                os.rmdir(dirpath)


@pytest.fixture
def mode() -> CgroupMode:
    return detect()


@pytest.fixture
def test_parent(mode):
    name = f"ketch-test-{secrets.token_hex(4)}"
    yield name
    remove_parents(mode, name)
    for mount in mode.mounts:
        assert not os.path.exists(f"{mount.mountpoint}/{name}")


@pytest.fixture
def children():
    kids = Children()
    yield kids
    kids.cleanup()


@pytest.fixture
def cgroup(mode, test_parent, children):
    cg = open_manager(f"/{test_parent}/c1", "c1", mode=mode)
    cg.create()
    yield cg
    children.cleanup()
    cg.destroy()
