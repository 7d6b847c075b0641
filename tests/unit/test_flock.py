"""``ketch.linux.flock.FileLock``: exclusive or shared, re-entrant, released on exit."""

import fcntl
import os
from pathlib import Path

import pytest

from ketch.linux.flock import FileLock


def _can_lock(path: Path, op: int) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_exclusive_reentrant_and_released(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    lock = FileLock(str(path))
    with lock, lock:  # re-entrant on one object
        assert (path.stat().st_mode & 0o777) == 0o600
        assert not _can_lock(path, fcntl.LOCK_SH)
    assert _can_lock(path, fcntl.LOCK_EX)


def test_shared_admits_readers_not_writers(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with FileLock(path, shared=True):
        assert _can_lock(path, fcntl.LOCK_SH)
        assert not _can_lock(path, fcntl.LOCK_EX)
    assert _can_lock(path, fcntl.LOCK_EX)


def test_a_failed_open_leaves_nothing_held(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "missing-dir" / "lock")
    with pytest.raises(FileNotFoundError), lock:
        pass
    with pytest.raises(FileNotFoundError), lock:  # the depth did not move
        pass
