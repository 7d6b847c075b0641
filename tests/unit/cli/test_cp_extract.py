"""``ketch cp`` to the host: a container's archive cannot write outside the destination
(the checks must hold on Debian 12's Python 3.11.2, which has no tarfile filters)."""

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from ketch.cli.commands.cp import extract_for_host
from ketch.errors import PermissionDenied


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> tarfile.TarFile:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r:")


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    d = tmp_path / "dest"
    d.mkdir()
    return d


def test_plain_tree_is_extracted_without_special_bits(dest: Path) -> None:
    d = tarfile.TarInfo("dir")
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    extract_for_host(
        _tar((d, None), _file("dir/a", b"hello", 0o4777), _link("dir/l", "a")), str(dest)
    )
    assert (dest / "dir" / "a").read_bytes() == b"hello"
    assert stat.S_IMODE(os.stat(dest / "dir" / "a").st_mode) == 0o755
    assert os.readlink(dest / "dir" / "l") == "a"


@pytest.mark.parametrize(
    "members",
    [
        [_file("../outside/evil")],
        [_file("/outside/evil")],
        [_link("l", "../outside"), _file("l/evil")],
        [_link("l", "/tmp"), _file("l/evil")],
        [_link("h", "../outside/x", tarfile.LNKTYPE)],
        [_link("l", "."), _link("l/m", "../outside"), _file("m/evil")],
    ],
    ids=["dotdot", "absolute", "write-through-symlink", "write-through-absolute-symlink", "hardlink-out", "chain"],
)
def test_hostile_members_are_refused(dest: Path, members: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(PermissionDenied, match="copy refused"):
        extract_for_host(_tar(*members), str(dest))
    assert list((dest.parent / "outside").iterdir()) == []


def test_symlinks_are_copied_as_they_are(dest: Path) -> None:
    extract_for_host(_tar(_link("passwd", "/etc/passwd"), _link("up", "../outside")), str(dest))
    assert os.readlink(dest / "passwd") == "/etc/passwd"
    assert os.readlink(dest / "up") == "../outside"


def test_device_nodes_and_fifos_are_skipped(dest: Path) -> None:
    dev = tarfile.TarInfo("null")
    dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
    fifo = tarfile.TarInfo("fifo")
    fifo.type = tarfile.FIFOTYPE
    extract_for_host(_tar((dev, None), (fifo, None), _file("ok")), str(dest))
    assert sorted(os.listdir(dest)) == ["ok"]
