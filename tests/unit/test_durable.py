"""``ketch.linux.durable.write_file``: atomic replace, modes, nothing left behind on failure."""

import os
from pathlib import Path

import pytest

from ketch.linux import durable


@pytest.mark.parametrize("sync", [True, False])
def test_replaces_atomically_with_the_mode_of_a_new_file(tmp_path: Path, sync: bool) -> None:
    target = tmp_path / "record"
    durable.write_file(target, b"first", sync=sync)
    assert (target.read_bytes(), target.stat().st_mode & 0o777) == (b"first", 0o600)
    inode = target.stat().st_ino
    durable.write_file(str(target), b"second" * 1000, 0o644, sync=sync)
    assert target.read_bytes() == b"second" * 1000
    assert target.stat().st_ino != inode  # a new file renamed over: readers never saw a mix
    assert os.listdir(tmp_path) == ["record"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "record"
    durable.write_file(target, b"old")

    def broken(path: str, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable.os, "write", broken)
    with pytest.raises(OSError):
        durable.write_file(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["record"]


def test_a_missing_directory_is_an_error_not_a_creation(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        durable.write_file(tmp_path / "absent" / "record", b"x")
    assert os.listdir(tmp_path) == []
