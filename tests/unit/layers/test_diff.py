"""diff_layer in two-directory mode (native snapshots): apply(diff(new, old)) over old == new."""

import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument
from ketch.layers import apply_layer, diff_layer
from ketch.snapshots import open_snapshotter
from tests.support.layers import (
    DEEP,
    deep_tree,
    directory,
    file,
    layer,
    shallow_recursion_limit,
    snapshot_tree,
    symlink,
)

BASE = [
    directory("etc"), file("etc/keep", b"k"), file("etc/change", b"old"),
    file("etc/chmod", b"m"), file("gone", b"g"), directory("gone-dir"), file("gone-dir/f", b"x"),
    directory("becomes-file"), file("becomes-file/f", b"x"), file("becomes-dir", b"x"),
    symlink("link", "etc/keep"), directory("deep/er/still"), file("deep/er/still/same", b"s"),
]


def _native_pair(tmp_path: Path) -> tuple[Path, Path]:
    """(new, old): a committed base and an active copy of it, as the native snapshotter makes."""
    s = open_snapshotter(tmp_path / "root", "native")
    s.prepare("k")
    apply_layer(io.BytesIO(layer(BASE)), s.apply_dir("k"), whiteout="delete")
    s.commit("base", "k")
    s.prepare("c", "base")
    return s.apply_dir("c"), s.upper_dir("base")


def _change(new: Path) -> None:
    (new / "etc/change").write_bytes(b"new contents")
    os.chmod(new / "etc/chmod", 0o600)
    (new / "gone").unlink()
    shutil.rmtree(new / "gone-dir")
    shutil.rmtree(new / "becomes-file")
    (new / "becomes-file").write_bytes(b"file now")
    (new / "becomes-dir").unlink()
    (new / "becomes-dir").mkdir()
    (new / "becomes-dir/inner").write_bytes(b"i")
    (new / "link").unlink()
    (new / "link").symlink_to("etc/change")
    (new / "added").write_bytes(b"a")
    os.link(new / "added", new / "added-hardlink")
    os.setxattr(new / "etc/keep", "user.tag", b"t")


def _members(blob: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        return t.getnames()


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_round_trip(tmp_path: Path, compression: str) -> None:
    new, old = _native_pair(tmp_path)
    _change(new)
    out = io.BytesIO()
    result = diff_layer(new, [old], out, compression=compression, whiteout="delete")
    blob = out.getvalue()
    assert result.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert result.size == len(blob)
    assert result.media_type.endswith({"gzip": "+gzip", "zstd": "+zstd", "none": ".tar"}[compression])
    target = tmp_path / "target"
    shutil.copytree(old, target, symlinks=True)
    applied = apply_layer(io.BytesIO(blob), target, whiteout="delete")
    assert applied.diff_id == result.diff_id
    assert snapshot_tree(target) == snapshot_tree(new)


def test_only_changes_are_archived(tmp_path: Path) -> None:
    new, old = _native_pair(tmp_path)
    _change(new)
    out = io.BytesIO()
    diff_layer(new, [old], out, compression="none", whiteout="delete")
    names = _members(out.getvalue())
    assert "etc/change" in names and ".wh.gone" in names and ".wh.gone-dir" in names
    assert "gone-dir/f" not in names and "deep" not in names and "etc/keep" in names
    assert names.index("etc") < names.index("etc/change")  # a directory precedes its contents
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        assert t.getmember("added-hardlink").islnk()


def test_unchanged_tree_is_empty_and_deterministic(tmp_path: Path) -> None:
    new, old = _native_pair(tmp_path)
    a, b = io.BytesIO(), io.BytesIO()
    r1 = diff_layer(new, [old], a, whiteout="delete")
    r2 = diff_layer(new, [old], b, whiteout="delete")
    assert r1 == r2 and a.getvalue() == b.getvalue()
    assert _members(a.getvalue()) == []


def test_whole_tree_without_parent(tmp_path: Path) -> None:
    new, _ = _native_pair(tmp_path)
    out = io.BytesIO()
    diff_layer(new, [], out, whiteout="delete")
    target = tmp_path / "t"
    target.mkdir()
    out.seek(0)
    apply_layer(out, target, whiteout="delete")
    assert snapshot_tree(target) == snapshot_tree(new)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        diff_layer(tmp_path, [], io.BytesIO(), compression="lz4")
    with pytest.raises(InvalidArgument):
        diff_layer(tmp_path, [], io.BytesIO(), whiteout="nope")
    with pytest.raises(InvalidArgument):
        diff_layer(tmp_path, [tmp_path, tmp_path], io.BytesIO(), whiteout="delete")


def test_deep_trees(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    upper.mkdir()
    deep_tree(upper)
    with shallow_recursion_limit():
        for whiteout in ("overlay", "delete"):
            out = io.BytesIO()
            diff_layer(upper, [], out, compression="none", whiteout=whiteout)
            names = _members(out.getvalue())
            assert len(names) == DEEP + 1 and names[-1].endswith("/a/f")
        out = io.BytesIO()
        diff_layer(upper, [upper], out, compression="none", whiteout="delete")
    assert _members(out.getvalue()) == []
