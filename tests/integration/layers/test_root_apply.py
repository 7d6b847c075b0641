"""Layer apply and diff as root: overlay whiteouts, devices, ownership, trusted xattrs."""

import io
import os
import shutil
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ketch.layers import apply_layer, diff_layer
from ketch.snapshots import open_snapshotter
from ketch.snapshots.mount import mount_all, unmount_all
from tests.support.layers import (
    blockdev,
    chardev,
    directory,
    file,
    layer,
    opaque,
    snapshot_tree,
    whiteout,
)

pytestmark = pytest.mark.root

# struct vfs_cap_data v2: magic|effective, then permitted/inheritable low and high words
CAP_NET_RAW = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    t = tmp_path / "mnt"
    t.mkdir()
    yield t
    while os.path.ismount(t):
        unmount_all(t, detach=True)


def _apply(blob: bytes, dest: Path, **kw: Any) -> None:
    dest.mkdir(exist_ok=True)
    apply_layer(io.BytesIO(blob), dest, **kw)


def test_overlay_whiteouts_are_overlay_native(tmp_path: Path) -> None:
    d = tmp_path / "upper"
    _apply(layer([whiteout("etc/gone"), directory("var"), opaque("var"), file("var/new", b"n")]), d)
    st = os.lstat(d / "etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(d / "var", "trusted.overlay.opaque") == b"y"
    assert (d / "var/new").read_bytes() == b"n"


def test_layer_cannot_forge_overlay_xattrs(tmp_path: Path) -> None:
    d = tmp_path / "upper"
    _apply(layer([
        directory("d", xattrs={"trusted.overlay.opaque": b"y", "trusted.overlay.redirect": b"/etc"}),
        file("f", b"1", xattrs={"trusted.overlay.metacopy": b"", "trusted.other": b"kept"}),
    ]), d)
    assert os.listxattr(d / "d") == []
    assert os.listxattr(d / "f") == ["trusted.other"]


def test_ownership_setuid_capabilities_devices(tmp_path: Path) -> None:
    d = tmp_path / "dest"
    _apply(layer([
        directory("home/app", mode=0o700, uid=1000, gid=1000),
        file("home/app/f", b"1", mode=0o640, uid=1000, gid=1001),
        file("bin/ping", b"p", mode=0o755, xattrs={"security.capability": CAP_NET_RAW}),
        file("bin/su", b"s", mode=0o4755, uid=0, gid=0),
        file("bin/sg", b"s", mode=0o2755, uid=5, gid=50),
        chardev("dev/null", 1, 3),
        blockdev("dev/loop0", 7, 0),
    ], "gzip"), d)
    st = os.stat(d / "home/app")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o700)
    st = os.stat(d / "home/app/f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1001, 0o640)
    assert os.getxattr(d / "bin/ping", "security.capability") == CAP_NET_RAW
    assert stat.S_IMODE(os.stat(d / "bin/su").st_mode) == 0o4755
    st = os.stat(d / "bin/sg")
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (50, 0o2755)
    st = os.lstat(d / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    st = os.lstat(d / "dev/loop0")
    assert stat.S_ISBLK(st.st_mode) and st.st_rdev == os.makedev(7, 0)


BASE = [
    directory("etc"), file("etc/keep", b"k"), file("etc/change", b"old"), file("etc/gone", b"g"),
    directory("var/lib/state"), file("var/lib/state/a", b"a"), file("var/lib/state/b", b"b"),
    directory("opt"), file("opt/old", b"o"), file("owned", b"x", uid=7, gid=7),
]


def test_overlay_diff_round_trip(tmp_path: Path, target: Path) -> None:
    s = open_snapshotter(tmp_path / "root", "overlayfs")
    s.prepare("k")
    _apply(layer(BASE), s.apply_dir("k"), whiteout="overlay")
    s.commit("base", "k")
    mount_all(s.prepare("container", "base"), target)
    try:
        (target / "etc/change").write_bytes(b"new")
        (target / "etc/gone").unlink()
        shutil.rmtree(target / "var/lib/state")
        (target / "var/lib/state").mkdir()  # overlayfs makes this directory opaque
        (target / "var/lib/state/c").write_bytes(b"c")
        os.chown(target / "owned", 8, 9)
        (target / "new-dir/sub").mkdir(parents=True)
        os.mknod(target / "new-dir/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        expected = snapshot_tree(target)
    finally:
        unmount_all(target)
    upper = s.upper_dir("container")
    assert os.getxattr(upper / "var/lib/state", "trusted.overlay.opaque") == b"y"
    out = io.BytesIO()
    result = diff_layer(upper, s.lower_dirs("container"), out, whiteout="overlay")
    blob = out.getvalue()

    # 1. into an overlay upper on the same parent, mounted
    s.prepare("k2", "base")
    applied = apply_layer(io.BytesIO(blob), s.apply_dir("k2"), whiteout="overlay")
    assert applied.diff_id == result.diff_id
    s.commit("changes", "k2")
    mount_all(s.view("v", "changes"), target)
    try:
        assert snapshot_tree(target) == expected
    finally:
        unmount_all(target)

    # 2. into a plain copy of the parent, deleting what whiteouts hide
    n = open_snapshotter(tmp_path / "native", "native")
    n.prepare("k")
    _apply(layer(BASE), n.apply_dir("k"), whiteout="delete")
    n.commit("base", "k")
    n.prepare("k2", "base")
    apply_layer(io.BytesIO(blob), n.apply_dir("k2"), whiteout="delete")
    assert snapshot_tree(n.apply_dir("k2")) == expected
