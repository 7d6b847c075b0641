"""Snapshots mounted for real (root): overlay and native give the same trees."""

import errno
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ketch.errors import NotFound
from ketch.layers import apply_layer
from ketch.oci.runtime_spec import Mount
from ketch.snapshots import Snapshotter, open_snapshotter
from ketch.snapshots.mount import mount_all, unmount_all
from tests.support.layers import (
    Member,
    chardev,
    directory,
    file,
    layer,
    opaque,
    snapshot_tree,
    whiteout,
)

pytestmark = pytest.mark.root

L1 = [
    directory("etc"), file("etc/a", b"a"), file("etc/b", b"b"),
    directory("dir"), file("dir/x", b"x"), file("dir/y", b"y"),
    directory("opq"), file("opq/old", b"old"), directory("opq/sub"), file("opq/sub/deep", b"d"),
]
L2 = [
    whiteout("etc/b"), directory("opq"), opaque("opq"), file("opq/new", b"new"),
    file("dir/z", b"z"), whiteout("dir/x"),
    directory("dev"), chardev("dev/null", 1, 3), file("bin/su", b"su", mode=0o4755, uid=1234, gid=5678),
]


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    t = tmp_path / "mnt"
    t.mkdir()
    yield t
    while os.path.ismount(t):
        unmount_all(t, detach=True)


def _commit_layer(s: Snapshotter, name: str, parent: str | None, members: list[Member]) -> None:
    key = f"extract {name}"
    s.prepare(key, parent)
    mode = "overlay" if s.kind == "overlayfs" else "delete"
    apply_layer(io.BytesIO(layer(members, "gzip")), s.apply_dir(key), whiteout=mode,
                parents=s.lower_dirs(key))
    s.commit(name, key)


@pytest.mark.parametrize("kind", ["overlayfs", "native"])
def test_layers_mounted(tmp_path: Path, target: Path, kind: str) -> None:
    s = open_snapshotter(tmp_path / "root", kind)
    _commit_layer(s, "l1", None, L1)
    _commit_layer(s, "l2", "l1", L2)
    mounts = s.prepare("container", "l2")
    mount_all(mounts, target)
    try:
        assert sorted(os.listdir(target / "etc")) == ["a"]
        assert sorted(os.listdir(target / "dir")) == ["y", "z"]
        assert sorted(os.listdir(target / "opq")) == ["new"]
        st = os.stat(target / "bin/su")
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o4755)
        st = os.lstat(target / "dev/null")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
        (target / "written").write_bytes(b"w")
        (target / "etc/a").unlink()
    finally:
        unmount_all(target)
    assert os.listdir(target) == []
    upper = s.upper_dir("container")
    assert (upper / "written").read_bytes() == b"w"
    if kind == "overlayfs":  # the deletion is an overlay whiteout in the upper dir
        st = os.lstat(upper / "etc/a")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    else:
        assert not (upper / "etc/a").exists()


@pytest.mark.parametrize("kind", ["overlayfs", "native"])
def test_views_are_read_only(tmp_path: Path, target: Path, kind: str) -> None:
    s = open_snapshotter(tmp_path / "root", kind)
    _commit_layer(s, "l1", None, L1)
    _commit_layer(s, "l2", "l1", L2)
    for key, parent in (("v1", "l1"), ("v2", "l2")):
        mount_all(s.view(key, parent), target)
        try:
            assert (target / "etc/a").read_bytes() == b"a"
            with pytest.raises(OSError) as e:
                (target / "new").write_bytes(b"x")
            assert e.value.errno == errno.EROFS
        finally:
            unmount_all(target)


@pytest.mark.parametrize("layers,root_len", [(20, 200), (180, 1)], ids=["fd-paths", "chdir"])
def test_long_lowerdir_lists_mount(tmp_path: Path, target: Path, layers: int,
                                   root_len: int) -> None:
    root = tmp_path / ("r" * root_len)
    s = open_snapshotter(root, "overlayfs")
    parent = None
    for i in range(layers):
        s.prepare(f"k{i}", parent)
        (s.apply_dir(f"k{i}") / f"f{i}").write_bytes(b"%d" % i)
        s.commit(f"l{i}", f"k{i}")
        parent = f"l{i}"
    mounts = s.prepare("top", parent)
    assert len(",".join(mounts[0].options)) > 4096
    cwd = os.getcwd()
    mount_all(mounts, target)
    try:
        assert os.getcwd() == cwd
        assert len(os.listdir(target)) == layers
        assert (target / "f0").read_bytes() == b"0"
    finally:
        unmount_all(target)


def test_mount_failure_is_reported_and_undone(tmp_path: Path, target: Path) -> None:
    s = open_snapshotter(tmp_path / "root", "overlayfs")
    s.prepare("k")
    s.commit("l1", "k")
    s.prepare("k2", "l1")
    s.commit("l2", "k2")
    mounts = s.prepare("top", "l2")
    os.rmdir(s.upper_dir("l1"))  # a lower layer is gone
    with pytest.raises(NotFound):
        mount_all(mounts, target)
    assert not os.path.ismount(target)


def test_auto_probes_overlay_and_remembers(tmp_path: Path) -> None:
    s = open_snapshotter(tmp_path / "root", "auto")
    assert s.kind == "overlayfs"
    assert open_snapshotter(tmp_path / "root", "auto").kind == "overlayfs"
    assert not [p for p in os.listdir(tmp_path / "root") if p.startswith("probe")]


def test_native_and_overlay_agree(tmp_path: Path, target: Path) -> None:
    trees = []
    for kind in ("overlayfs", "native"):
        s = open_snapshotter(tmp_path / kind, kind)
        _commit_layer(s, "l1", None, L1)
        _commit_layer(s, "l2", "l1", L2)
        mount_all(s.view("v", "l2"), target)
        try:
            trees.append(snapshot_tree(target))
        finally:
            unmount_all(target)
    assert trees[0] == trees[1]


def test_auto_falls_back_to_native_where_overlay_cannot_stack(tmp_path: Path,
                                                             target: Path) -> None:
    for d in ("l1", "l2", "u", "w"):
        (tmp_path / d).mkdir()
    mount_all([Mount(destination="/", type="overlay", source="overlay", options=(
        f"lowerdir={tmp_path}/l1:{tmp_path}/l2", f"upperdir={tmp_path}/u",
        f"workdir={tmp_path}/w"))], target)
    try:
        s = open_snapshotter(target / "root", "auto")  # an overlay upper cannot be on overlayfs
        assert s.kind == "native"
        s.prepare("k")
        assert open_snapshotter(target / "root", "auto").kind == "native"
    finally:
        unmount_all(target)


def _volatile(target: Path) -> bool:
    """Whether the mount on ``target`` is a volatile overlay (``fsync=volatile`` in 6.x)."""
    with open("/proc/self/mounts") as f:
        entries = [line.split() for line in f]
    options = next(e[3] for e in reversed(entries) if e[1] == str(target)).split(",")
    return any(o in ("volatile", "fsync=volatile") for o in options)


@pytest.mark.parametrize("kind", ["overlayfs", "native"])
def test_volatile_mounts_and_mounts_again(tmp_path: Path, target: Path, kind: str) -> None:
    """A throw-away layer (an --rm container's) is mounted without syncs where overlayfs
    can; the kernel's mark of that (it refuses a second mount) is cleared for the next."""
    s = open_snapshotter(tmp_path / "root", kind)
    _commit_layer(s, "l1", None, L1)
    mounts = s.prepare("c", "l1")
    for _ in range(2):
        mount_all(mounts, target, volatile=True)
        try:
            assert _volatile(target) == (kind == "overlayfs")
            (target / "written").write_bytes(b"w")
            assert (target / "etc" / "a").read_bytes() == b"a"
        finally:
            unmount_all(target)
    mount_all(s.prepare("v", "l1") if kind == "native" else s.view("v", "l1"), target,
              volatile=True)  # read-only: nothing to make volatile
    try:
        assert not _volatile(target)
    finally:
        unmount_all(target)  # (a bind on the same filesystem is no mount to os.path.ismount)
