"""apply_layer: what a layer member becomes on disk (no root needed)."""

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ketch.errors import InvalidArgument, NotFound, NotImplementedByHost
from ketch.layers import ApplyResult, apply_layer
from tests.support.layers import (
    DEEP,
    MTIME,
    compress,
    directory,
    fifo,
    file,
    hardlink,
    layer,
    opaque,
    shallow_recursion_limit,
    symlink,
    tar_bytes,
    whiteout,
)


def _apply(blob: bytes, dest: Path, **kw: Any) -> ApplyResult:
    dest.mkdir(exist_ok=True)
    return apply_layer(io.BytesIO(blob), dest, **kw)


BASIC = [
    directory("etc", mode=0o750, mtime=MTIME - 100),
    file("etc/hosts", b"127.0.0.1 localhost\n", mode=0o640, mtime=MTIME - 5),
    file("bin/tool", b"#!/bin/sh\n", mode=0o755),
    file("bin/su", b"x", mode=0o4755),
    file("bin/wall", b"y", mode=0o2711),
    directory("tmp", mode=0o1777),
    symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
    symlink("sbin", "bin"),
    hardlink("bin/tool2", "bin/tool"),
    fifo("run-fifo", mode=0o600),
]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_members_modes_times_and_diff_id(tmp_path: Path, compression: str) -> None:
    raw = tar_bytes(BASIC)
    result = _apply(compress(raw, compression), tmp_path / "d")
    d = tmp_path / "d"
    assert result.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert result.size == len(raw)
    assert (d / "etc/hosts").read_bytes() == b"127.0.0.1 localhost\n"
    assert stat.S_IMODE((d / "etc/hosts").stat().st_mode) == 0o640
    assert stat.S_IMODE((d / "etc").stat().st_mode) == 0o750
    assert stat.S_IMODE((d / "bin/su").stat().st_mode) == 0o4755
    assert stat.S_IMODE((d / "bin/wall").stat().st_mode) == 0o2711
    assert stat.S_IMODE((d / "tmp").stat().st_mode) == 0o1777
    assert (d / "etc/hosts").stat().st_mtime == MTIME - 5
    # a directory's time is set after its contents were written
    assert (d / "etc").stat().st_mtime == MTIME - 100
    assert os.readlink(d / "etc/localtime") == "/usr/share/zoneinfo/UTC"
    assert os.readlink(d / "sbin") == "bin"
    assert os.lstat(d / "sbin").st_mtime == MTIME
    assert (d / "bin/tool").stat().st_ino == (d / "bin/tool2").stat().st_ino
    assert stat.S_ISFIFO((d / "run-fifo").lstat().st_mode)
    assert stat.S_IMODE((d / "run-fifo").lstat().st_mode) == 0o600


def test_implicit_parents_are_made(tmp_path: Path) -> None:
    _apply(layer([file("a/b/c/f", b"1")]), tmp_path / "d")
    assert (tmp_path / "d/a/b/c/f").read_bytes() == b"1"


def test_implicit_parent_takes_mode_from_lower_layers(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    (lower / "opt/app").mkdir(parents=True)
    os.chmod(lower / "opt/app", 0o711)
    _apply(layer([file("opt/app/f", b"1")]), tmp_path / "d", parents=[lower])
    assert stat.S_IMODE((tmp_path / "d/opt/app").stat().st_mode) == 0o711


def test_user_xattrs_are_applied(tmp_path: Path) -> None:
    blob = layer([directory("x", xattrs={"user.dir": b"D"}),
                  file("x/f", b"1", xattrs={"user.k": b"v\xff"})])
    _apply(blob, tmp_path / "d")
    assert os.getxattr(tmp_path / "d/x/f", "user.k") == b"v\xff"
    assert os.getxattr(tmp_path / "d/x", "user.dir") == b"D"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_in_every_header_format(tmp_path: Path, fmt: int) -> None:
    deep = "/".join(["d" * 60] * 3) + "/file"  # > 100 bytes: GNU longname, ustar prefix, PAX
    target = "t" * 99
    _apply(layer([file(deep, b"x"), symlink("s", target)], fmt=fmt), tmp_path / "d")
    assert (tmp_path / "d" / deep).read_bytes() == b"x"
    assert os.readlink(tmp_path / "d/s") == target


def test_large_file_spans_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"
    _apply(layer([file("big", data), file("after", b"ok")], "gzip"), tmp_path / "d")
    assert (tmp_path / "d/big").read_bytes() == data
    assert (tmp_path / "d/after").read_bytes() == b"ok"


def test_multi_member_gzip(tmp_path: Path) -> None:
    raw = tar_bytes([file("a", b"1"), file("b", b"2")])
    blob = compress(raw[:1024], "gzip") + compress(raw[1024:], "gzip")
    result = _apply(blob, tmp_path / "d")
    assert result.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (tmp_path / "d/b").read_bytes() == b"2"


def test_replacements(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _apply(layer([directory("x"), file("x/inner", b"1"), file("y", b"2"), symlink("z", "/")]), d)
    _apply(layer([file("x", b"now a file"), directory("y"), directory("z"), file("z/f", b"3")]), d)
    assert (d / "x").read_bytes() == b"now a file"
    assert (d / "y").is_dir()
    assert (d / "z").is_dir() and not (d / "z").is_symlink()
    assert (d / "z/f").read_bytes() == b"3"


def test_existing_directory_merges(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _apply(layer([directory("x"), file("x/a", b"1")]), d)
    _apply(layer([directory("x", mode=0o700), file("x/b", b"2")]), d)
    assert sorted(os.listdir(d / "x")) == ["a", "b"]
    assert stat.S_IMODE((d / "x").stat().st_mode) == 0o700


def test_delete_whiteouts_remove_lower_entries(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _apply(layer([file("keep", b"k"), file("gone", b"g"), directory("dir"), file("dir/f", b"f")]), d)
    _apply(layer([whiteout("gone"), whiteout("dir"), whiteout("never-existed")]), d,
           whiteout="delete")
    assert sorted(os.listdir(d)) == ["keep"]


def test_whiteout_does_not_hide_its_own_layer(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _apply(layer([file("new", b"n"), whiteout("new")]), d, whiteout="delete")
    assert (d / "new").read_bytes() == b"n"


def test_delete_opaque_empties_lower_contents_only(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _apply(layer([directory("o"), file("o/old", b"1"), directory("o/sub"), file("o/sub/old2", b"2"),
                  file("other", b"3")]), d)
    _apply(layer([directory("o"), file("o/sub/mine", b"m"), opaque("o"), file("o/new", b"n")]), d,
           whiteout="delete")
    assert sorted(os.listdir(d / "o")) == ["new", "sub"]
    assert os.listdir(d / "o/sub") == ["mine"]
    assert (d / "other").exists()


@pytest.mark.parametrize("blob", [
    tar_bytes([file("a", b"1")])[:700],  # data cut short
    tar_bytes([file("a", b"x" * 600)])[:512 + 100],
], ids=["truncated-header", "truncated-data"])
def test_truncated_tar(tmp_path: Path, blob: bytes) -> None:
    with pytest.raises(InvalidArgument, match="truncated"):
        _apply(blob, tmp_path / "d")


def test_bad_checksum(tmp_path: Path) -> None:
    raw = bytearray(tar_bytes([file("a", b"1")]))
    raw[0] ^= 0x01  # the name changes, the stored checksum does not
    with pytest.raises(InvalidArgument, match="checksum"):
        _apply(bytes(raw), tmp_path / "d")


def test_corrupt_gzip(tmp_path: Path) -> None:
    blob = bytearray(compress(tar_bytes([file("a", os.urandom(5000))]), "gzip"))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(InvalidArgument):
        _apply(bytes(blob), tmp_path / "d")


def test_truncated_gzip(tmp_path: Path) -> None:
    blob = compress(tar_bytes([file("a", os.urandom(5000))]), "gzip")
    with pytest.raises(InvalidArgument):
        _apply(blob[:-20], tmp_path / "d")


def test_unsupported_compression_and_media_types(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="bzip2"):
        _apply(b"BZh91AY&SY" + bytes(100), tmp_path / "d")
    with pytest.raises(NotImplementedByHost):
        _apply(layer([]), tmp_path / "d",
               media_type="application/vnd.oci.image.layer.v1.tar+gzip+encrypted")
    with pytest.raises(InvalidArgument):
        _apply(layer([]), tmp_path / "d", media_type="application/vnd.oci.image.config.v1+json")
    with pytest.raises(InvalidArgument):
        _apply(layer([]), tmp_path / "d", whiteout="rename")


def test_sparse_and_unknown_types_are_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("odd")
    info.type = b"S"
    with pytest.raises(InvalidArgument, match="odd"):
        _apply(tar_bytes([(info, b"")], fmt=tarfile.GNU_FORMAT), tmp_path / "d")


def test_header_only_types_carry_no_data(tmp_path: Path) -> None:
    link, _ = hardlink("b", "a")
    link.size = 4096  # Go's and Python's readers ignore it; so must we
    blob = tar_bytes([file("a", b"1"), (link, b""), file("c", b"3")])
    _apply(blob, tmp_path / "d")
    assert (tmp_path / "d/c").read_bytes() == b"3"
    assert (tmp_path / "d/b").stat().st_ino == (tmp_path / "d/a").stat().st_ino


def test_tree_deeper_than_the_recursion_limit_is_replaced(tmp_path: Path) -> None:
    d = tmp_path / "d"
    deep = "d/" + "a/" * DEEP + "f"
    with shallow_recursion_limit():
        _apply(layer([file(deep, b"1")]), d)
        _apply(layer([file("d", b"flat now")]), d, whiteout="delete")
    assert (d / "d").read_bytes() == b"flat now"


def test_many_directories_and_cross_links(tmp_path: Path) -> None:
    n = 700  # more directories than the fd cache keeps
    members = [file(f"d{i}/f", b"%d" % i) for i in range(n)]
    members += [hardlink(f"d{i}/link", f"d{(i + 350) % n}/f") for i in range(n)]
    _apply(layer(members, "gzip"), tmp_path / "d")
    for i in (0, 349, 699):
        assert (tmp_path / f"d/d{i}/link").read_bytes() == b"%d" % ((i + 350) % n)


def test_hardlink_over_its_own_target_directory(tmp_path: Path) -> None:
    blob = layer([directory("x"), file("x/y", b"1"), hardlink("x", "x/y")])
    with pytest.raises(InvalidArgument, match="does not exist"):
        _apply(blob, tmp_path / "d")


def test_libarchive_xattrs(tmp_path: Path) -> None:
    info, data = file("f", b"1")
    info.pax_headers = {"LIBARCHIVE.xattr.user.a%3Db": "dmFsdWU="}  # name "user.a=b", "value"
    _apply(tar_bytes([(info, data)]), tmp_path / "d")
    assert os.getxattr(tmp_path / "d/f", "user.a=b") == b"value"


def test_missing_destination(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        apply_layer(io.BytesIO(layer([file("a")])), tmp_path / "nope")


def test_short_reads_still_detect_compression(tmp_path: Path) -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            out, self.data = self.data[:3], self.data[3:]
            return out

    blob = layer([file("a", b"x" * 1000)], "zstd")
    (tmp_path / "d").mkdir()
    apply_layer(Trickle(blob), tmp_path / "d")  # type: ignore[arg-type]
    assert (tmp_path / "d/a").read_bytes() == b"x" * 1000


def test_hardlink_to_a_lower_layer_file_copies_it_up(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    (lower / "usr/bin").mkdir(parents=True)
    (lower / "usr/bin/a").write_bytes(b"tool")
    os.chmod(lower / "usr/bin/a", 0o751)
    os.setxattr(lower / "usr/bin/a", "user.k", b"v")
    d = tmp_path / "upper"
    _apply(layer([hardlink("usr/bin/b", "usr/bin/a")]), d, parents=[lower])
    assert (d / "usr/bin/b").stat().st_ino == (d / "usr/bin/a").stat().st_ino
    assert (d / "usr/bin/a").stat().st_ino != (lower / "usr/bin/a").stat().st_ino
    assert (d / "usr/bin/b").read_bytes() == b"tool"
    assert stat.S_IMODE((d / "usr/bin/a").stat().st_mode) == 0o751
    assert os.getxattr(d / "usr/bin/a", "user.k") == b"v"
    with pytest.raises(InvalidArgument, match="does not exist"):
        _apply(layer([hardlink("c", "usr/bin/missing")]), d, parents=[lower])
    with pytest.raises(InvalidArgument, match="does not exist"):  # delete mode: dest has all
        _apply(layer([hardlink("c", "usr/bin/a")]), tmp_path / "copy", parents=[lower],
               whiteout="delete")
