"""ensure_in_root / open_in_root on plain temp trees (openat2 needs no privilege)."""

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ketch.errors import PermissionDenied
from ketch.runtime._rootfs_path import ensure_in_root, open_in_root, real_relpath


@pytest.fixture
def root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root")
    fd = os.open(r, os.O_PATH | os.O_DIRECTORY)
    yield r, fd
    os.close(fd)


def _where(root_fd: int, fd: int) -> str:
    try:
        return real_relpath(root_fd, fd)
    finally:
        os.close(fd)


def test_existing_path(root: tuple[Path, int]) -> None:
    _, fd = root
    assert _where(fd, ensure_in_root(fd, "/etc/passwd", directory=False, what="t")) == "etc/passwd"
    assert _where(fd, ensure_in_root(fd, "/", directory=True, what="t")) == ""


def test_missing_dirs_and_file_are_created(root: tuple[Path, int]) -> None:
    r, fd = root
    assert _where(fd, ensure_in_root(fd, "/a/b/c", directory=True, what="t")) == "a/b/c"
    assert (r / "a" / "b" / "c").is_dir()
    got = ensure_in_root(fd, "/x/y/file", directory=False, what="t", file_mode=0o600)
    assert _where(fd, got) == "x/y/file"
    st = (r / "x" / "y" / "file").stat()
    assert stat.S_ISREG(st.st_mode) and (r / "x" / "y").is_dir()


def test_absolute_symlink_stays_inside(root: tuple[Path, int], tmp_path: Path) -> None:
    r, fd = root
    outside = tmp_path / "outside"
    outside.mkdir()
    (r / "evil").symlink_to(outside)
    assert _where(fd, ensure_in_root(fd, "/evil/new", directory=True, what="t")) == os.path.join(
        str(outside).lstrip("/"), "new"
    )
    assert os.listdir(outside) == []


def test_dotdot_symlink_stays_inside(root: tuple[Path, int]) -> None:
    r, fd = root
    (r / "up").symlink_to("../../../../../../etc")
    assert _where(fd, ensure_in_root(fd, "/up/passwd", directory=False, what="t")) == "etc/passwd"


def test_dangling_relative_symlink_ending_in_dotdot(root: tuple[Path, int]) -> None:
    r, fd = root
    (r / "sub").mkdir()
    (r / "d").symlink_to("sub/new/..")
    assert _where(fd, ensure_in_root(fd, "/d", directory=True, what="t")) == "sub"
    assert (r / "sub" / "new").is_dir()


def test_dangling_chain_is_followed_inside(root: tuple[Path, int]) -> None:
    r, fd = root
    (r / "a").symlink_to("b")
    (r / "b").symlink_to("/run/systemd/resolv.conf")
    assert (
        _where(fd, ensure_in_root(fd, "/a", directory=False, what="t")) == "run/systemd/resolv.conf"
    )
    assert (r / "run" / "systemd" / "resolv.conf").is_file()


def test_loops_and_files_in_the_way_are_named(root: tuple[Path, int]) -> None:
    r, fd = root
    (r / "l1").symlink_to("l2")
    (r / "l2").symlink_to("/l1")
    with pytest.raises(PermissionDenied, match=r"mounts\[3\].destination /l1/x: .*symlink"):
        ensure_in_root(fd, "/l1/x", directory=True, what="mounts[3].destination")
    with pytest.raises(PermissionDenied, match=r"/etc/passwd/x"):
        ensure_in_root(fd, "/etc/passwd/x", directory=True, what="t")


def test_magic_links_are_refused() -> None:
    # taking the host's /proc as the root: /self/root is a magic link to the host's /
    proc = os.open("/proc", os.O_PATH | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError) as info:
            open_in_root(proc, "/self/root/etc")
        assert info.value.errno in (errno.ELOOP, errno.EXDEV)
        with pytest.raises(PermissionDenied, match="/self/root/etc"):
            ensure_in_root(proc, "/self/root/etc", directory=True, what="t")
    finally:
        os.close(proc)
