"""The snapshotter contract, run against both implementations (no mounts needed)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ketch.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ketch.snapshots import Snapshotter, open_snapshotter
from tests.support.layers import DEEP, deep_tree, shallow_recursion_limit

KINDS = ["overlayfs", "native"]


@pytest.fixture(params=KINDS)
def snap(request: pytest.FixtureRequest, tmp_path: Path) -> Snapshotter:
    return open_snapshotter(tmp_path / "root", request.param)


def _layer(s: Snapshotter, name: str, parent: str | None, files: dict[str, bytes]) -> None:
    s.prepare(f"{name}-active", parent)
    d = s.apply_dir(f"{name}-active")
    for rel, data in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    s.commit(name, f"{name}-active")


def test_prepare_commit_chain(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {"a": b"1"})
    _layer(snap, "mid", "base", {"b": b"2"})
    snap.prepare("work", "mid", labels={"containerd.io/gc.root": "x"})
    info = snap.stat("work")
    assert (info.kind, info.parent, dict(info.labels)) == (
        "active", "mid", {"containerd.io/gc.root": "x"})
    assert snap.stat("base").kind == "committed"
    assert snap.stat("mid").parent == "base"
    with pytest.raises(NotFound):
        snap.stat("base-active")
    assert [i.name for i in snap.walk()] == ["base", "mid", "work"]
    assert snap.lower_dirs("work") == [snap.upper_dir("mid"), snap.upper_dir("base")]


def test_errors(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {})
    snap.prepare("a", "base")
    with pytest.raises(AlreadyExists):
        snap.prepare("a", "base")
    with pytest.raises(AlreadyExists):
        snap.prepare("base")
    with pytest.raises(NotFound):
        snap.prepare("b", "missing")
    with pytest.raises(FailedPrecondition):
        snap.prepare("c", "a")  # an active snapshot cannot be a parent
    snap.view("v", "base")
    with pytest.raises(FailedPrecondition):
        snap.commit("v2", "v")
    with pytest.raises(AlreadyExists):
        snap.commit("base", "a")
    with pytest.raises(NotFound):
        snap.commit("x", "missing")
    with pytest.raises(FailedPrecondition):
        snap.mounts("base")
    with pytest.raises(FailedPrecondition):
        snap.apply_dir("v")
    for bad in ("", "a\0b"):
        with pytest.raises(InvalidArgument):
            snap.prepare(bad)
    with pytest.raises(InvalidArgument):
        snap.prepare("labelled", labels={"k": 1})  # type: ignore[dict-item]


def test_remove_with_children_fails(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {"f": b"1"})
    snap.prepare("child", "base")
    with pytest.raises(FailedPrecondition, match="children"):
        snap.remove("base")
    snap.remove("child")
    snap.remove("base")
    with pytest.raises(NotFound):
        snap.remove("base")
    assert list(snap.walk()) == []
    assert os.listdir(snap.root / "snapshots") == []


def test_commit_labels_replace(snap: Snapshotter) -> None:
    snap.prepare("k", labels={"a": "1"})
    snap.commit("n", "k", labels={"b": "2"})
    assert dict(snap.stat("n").labels) == {"b": "2"}


def test_usage(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {"f": b"x" * 10000, "d/g": b"y"})
    u = snap.usage("base")
    assert u.inodes == 4  # fs, f, d, d/g
    assert u.size >= 10000


def test_metadata_survives_reopen(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {"f": b"1"})
    again = open_snapshotter(snap.root, snap.kind)
    assert again.stat("base").kind == "committed"
    assert open_snapshotter(snap.root, "auto").kind == snap.kind
    other = "native" if snap.kind == "overlayfs" else "overlayfs"
    with pytest.raises(FailedPrecondition):
        open_snapshotter(snap.root, other)


def test_cleanup_removes_orphans(snap: Snapshotter) -> None:
    _layer(snap, "base", None, {"f": b"1"})
    (snap.root / "snapshots" / "999").mkdir()  # as left by a crash before its entry was written
    (snap.root / "snapshots" / "new-7-999999999").mkdir()  # its process is gone
    assert snap.cleanup() == 2
    assert snap.upper_dir("base").exists()


def test_prepare_replaces_an_orphan_under_the_next_id(snap: Snapshotter) -> None:
    """A crash after a snapshot's directory was renamed into place but before the table
    that names it was written leaves the directory under the id the table hands out next."""
    _layer(snap, "base", None, {"f": b"1"})
    next_id = json.loads((snap.root / "metadata.json").read_bytes())["next_id"]
    orphan = snap.root / "snapshots" / str(next_id)
    (orphan / "fs").mkdir(parents=True)
    (orphan / "fs" / "stale").write_bytes(b"from before the crash")
    snap.prepare("k", "base")
    assert json.loads((snap.root / "metadata.json").read_bytes())["snapshots"]["k"]["id"] == str(next_id)
    assert not (snap.apply_dir("k") / "stale").exists()
    assert snap.cleanup() == 0


def test_overlay_mount_descriptions(tmp_path: Path) -> None:
    s = open_snapshotter(tmp_path / "root", "overlayfs")
    (m,) = s.prepare("k")
    assert (m.type, m.options) == ("bind", ("rbind", "rw"))
    s.commit("l1", "k")
    (m,) = s.view("v1", "l1")
    assert (m.type, m.source, m.options) == ("bind", str(s.upper_dir("l1")), ("rbind", "ro"))
    _layer(s, "l2", "l1", {})
    (m,) = s.prepare("top", "l2")
    assert m.type == "overlay" and m.source == "overlay"
    opts = dict(o.split("=", 1) for o in m.options if "=" in o)
    assert opts["lowerdir"] == f"{s.upper_dir('l2')}:{s.upper_dir('l1')}"
    assert opts["upperdir"] == str(s.apply_dir("top"))
    (m,) = s.view("v2", "l2")
    assert m.type == "overlay" and not any(o.startswith("upperdir=") for o in m.options)
    assert s.mounts("top") == s.mounts("top")


def test_overlay_root_with_separator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        open_snapshotter(tmp_path / "a,b", "overlayfs")
    with pytest.raises(InvalidArgument):
        open_snapshotter(tmp_path / "r", "zfs")


def test_native_prepare_copies_parent(tmp_path: Path) -> None:
    s = open_snapshotter(tmp_path / "root", "native")
    s.prepare("k")
    d = s.apply_dir("k")
    (d / "dir").mkdir(mode=0o710)
    (d / "dir/f").write_bytes(b"data")
    os.chmod(d / "dir/f", 0o4751)
    os.link(d / "dir/f", d / "hard")
    os.symlink("/nowhere", d / "link")
    os.mkfifo(d / "fifo")
    os.setxattr(d / "dir/f", "user.k", b"v")
    os.utime(d / "dir/f", ns=(1, 1_500_000_000_123_456_789))
    s.commit("base", "k")
    (m,) = s.prepare("child", "base")
    c = s.apply_dir("child")
    assert m.source == str(c) and m.options == ("rbind", "rw")
    assert (c / "dir/f").read_bytes() == b"data"
    assert os.stat(c / "dir/f").st_mode & 0o7777 == 0o4751
    assert os.stat(c / "dir").st_mode & 0o7777 == 0o710
    assert os.stat(c / "dir/f").st_mtime_ns == 1_500_000_000_123_456_789
    assert os.stat(c / "hard").st_ino == os.stat(c / "dir/f").st_ino
    assert os.readlink(c / "link") == "/nowhere"
    assert os.getxattr(c / "dir/f", "user.k") == b"v"
    (c / "dir/f").write_bytes(b"changed")
    assert (s.upper_dir("base") / "dir/f").read_bytes() == b"data"
    (v,) = s.view("v", "base")
    assert (v.source, v.options) == (str(s.upper_dir("base")), ("rbind", "ro"))


_WORKER = """
import sys
from pathlib import Path
from ketch.snapshots import open_snapshotter
s = open_snapshotter(Path(sys.argv[1]), sys.argv[2])
for i in range(int(sys.argv[4])):
    s.prepare(f"{sys.argv[3]}-{i}", "base")
"""


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_prepares_from_processes(tmp_path: Path, kind: str) -> None:
    s = open_snapshotter(tmp_path / "root", kind)
    _layer(s, "base", None, {"f": b"1"})
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(s.root), kind, f"p{n}", "8"])
             for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    names = {i.name for i in s.walk()}
    assert names == {"base"} | {f"p{n}-{i}" for n in range(4) for i in range(8)}
    ids = json.loads((s.root / "metadata.json").read_bytes())["snapshots"]
    assert len({e["id"] for e in ids.values()}) == 33
    for name in names - {"base"}:
        assert (s.apply_dir(name) / ("f" if kind == "native" else ".")).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_leaves_consistent_metadata(tmp_path: Path, kind: str) -> None:
    s = open_snapshotter(tmp_path / "root", kind)
    _layer(s, "base", None, {"f": b"1"})
    p = subprocess.Popen([sys.executable, "-c", _WORKER, str(s.root), kind, "k", "100000"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(s.walk())) < 10:
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    again = open_snapshotter(s.root, kind)
    infos = list(again.walk())
    assert len(infos) >= 10
    for info in infos:
        assert again.upper_dir(info.name).is_dir() if info.kind != "view" else True
    again.cleanup()
    live = {json.loads((s.root / "metadata.json").read_bytes())["snapshots"][i.name]["id"]
            for i in infos}
    assert set(os.listdir(s.root / "snapshots")) == live
    again.prepare("after", "base")  # ids keep going


def test_deep_trees_copy_and_remove(snap: Snapshotter) -> None:
    snap.prepare("k")
    deep_tree(snap.apply_dir("k"))
    snap.commit("base", "k")
    with shallow_recursion_limit():
        snap.prepare("child", "base")
        if snap.kind == "native":
            assert snap.apply_dir("child").joinpath(*["a"] * DEEP, "f").is_file()
        snap.remove("child")
        snap.remove("base")
    assert os.listdir(snap.root / "snapshots") == []
