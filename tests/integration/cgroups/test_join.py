"""``CgroupJoin``: a new child joins every hierarchy without a cgroup.procs write by us."""

import errno
import os
import threading

import pytest

from ketch.cgroups import open_manager
from ketch.errors import NotFound
from ketch.linux import clone

pytestmark = pytest.mark.root


def _cgroups_of_forked_child(join) -> dict[str, str]:
    """Fork through ``join``; the child enters and reports its /proc/self/cgroup."""
    r, w = os.pipe()
    pid = join.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            join.enter()
            with open("/proc/self/cgroup", "rb") as f:
                os.write(w, f.read())
        except BaseException as e:
            os.write(w, f"error {e}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    try:
        join.finish(pid)
        data = b""
        while chunk := os.read(r, 4096):
            data += chunk
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data.decode()
    found = {}
    for line in data.decode().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _expected(cgroup, test_parent: str) -> dict[str, str]:
    return {key: f"/{test_parent}/c1" for key in cgroup.paths()}


def test_the_child_is_in_the_cgroup_of_every_hierarchy(cgroup, test_parent):
    where = _cgroups_of_forked_child(cgroup.open_join())
    for key, path in _expected(cgroup, test_parent).items():
        assert where[key] == path, key
    assert cgroup.pids() == []  # the child has gone: it was counted in the cgroup, not elsewhere


def test_without_clone3_the_parent_moves_the_child_into_cgroup2(cgroup, test_parent, monkeypatch):
    def unavailable(_fd: int) -> int:
        raise OSError(errno.ENOSYS, "clone3: not here")

    monkeypatch.setattr(clone, "fork_into_cgroup", unavailable)
    where = _cgroups_of_forked_child(cgroup.open_join())
    for key, path in _expected(cgroup, test_parent).items():
        assert where[key] == path, key


def test_clone3_places_the_child_at_birth(cgroup, test_parent):
    v2 = cgroup.paths().get("")
    if v2 is None:
        pytest.skip("no cgroup2 hierarchy")
    fd = os.open(v2, os.O_RDONLY | os.O_DIRECTORY)
    r, w = os.pipe()
    try:
        pid = clone.fork_into_cgroup(fd)
        if pid == 0:  # pragma: no cover - the child
            with open("/proc/self/cgroup", "rb") as f:
                os.write(w, f.read())
            os._exit(0)
        os.close(w)
        data = os.read(r, 65536).decode()
        os.waitpid(pid, 0)
    finally:
        os.close(fd)
        os.close(r)
    assert f"0::/{test_parent}/c1" in data.splitlines()


def test_clone3_refuses_a_process_with_threads(mode, test_parent):
    if not any(m.version == 2 for m in mode.mounts):
        pytest.skip("no cgroup2 mount")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(OSError) as caught:
            clone.fork_into_cgroup(-1)
        assert caught.value.errno in clone.CLONE_INTO_CGROUP_UNAVAILABLE
    finally:
        stop.set()
        thread.join()


def test_a_missing_cgroup_is_named(mode, test_parent):
    manager = open_manager(f"/{test_parent}/never-made", "x", mode=mode)
    with pytest.raises(NotFound, match="never-made"):
        manager.open_join()
