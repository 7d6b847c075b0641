"""The bookkeeping both snapshotters share: keys, parents, kinds, ids and directories.

Layout under the root: ``metadata.json`` and ``lock`` (see ``_metadata``), and
``snapshots/<id>/`` per snapshot, where ``<id>`` is a short decimal number from
the table's counter (short ids keep overlay ``lowerdir`` lists short).  A new
snapshot's directory is filled as ``snapshots/new-<id>-<pid>`` outside the lock
(a native copy can take long) and renamed to ``<id>`` in the same locked step
that adds its entry.
"""

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ketch.errors import AlreadyExists, FailedPrecondition, NotFound
from ketch.oci.runtime_spec import Mount
from ketch.snapshots._durable import fsync_dir
from ketch.snapshots._metadata import Db, MetaStore, check_key, check_labels
from ketch.snapshots._tree import disk_usage, remove_tree
from ketch.snapshots._types import SnapshotInfo, Usage

__all__ = ["BaseSnapshotter", "bind_mount"]


def bind_mount(source: Path, readonly: bool) -> Mount:
    """A recursive bind of ``source`` (the one-directory form of a snapshot)."""
    return Mount(
        destination="/",
        type="bind",
        source=str(source),
        options=("rbind", "ro" if readonly else "rw"),
    )


def _info(name: str, e: dict[str, Any]) -> SnapshotInfo:
    return SnapshotInfo(
        name=name,
        kind=e["kind"],
        parent=e["parent"],
        labels=dict(e["labels"]),
        created=e["created"],
        updated=e["updated"],
    )


def _entry(db: Db, key: str) -> dict[str, Any]:
    entry: dict[str, Any] | None = db["snapshots"].get(key)
    if entry is None:
        raise NotFound(f"snapshot {key!r} not found")
    return entry


class BaseSnapshotter:
    """Shared logic; subclasses say how a directory is filled and how it is mounted."""

    kind = ""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._snaps = root / "snapshots"
        self._meta = MetaStore(root, self.kind)
        self._snaps.mkdir(parents=True, exist_ok=True)
        self._meta.ensure()

    @property
    def root(self) -> Path:
        return self._root

    # -- hooks -------------------------------------------------------------------------------
    def _populate(self, new_dir: Path, kind: str, parents: list[Path]) -> None:
        raise NotImplementedError

    def _describe(self, sdir: Path, kind: str, parents: list[Path]) -> list[Mount]:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------------
    def _dir(self, sid: str) -> Path:
        return self._snaps / sid

    def _parent_dirs(self, db: Db, parent: str | None) -> list[Path]:
        """The ``fs`` directories of ``parent`` and its ancestors, nearest first."""
        out: list[Path] = []
        while parent is not None:
            e = _entry(db, parent)
            out.append(self._dir(e["id"]) / "fs")
            parent = e["parent"]
        return out

    def _check_parent(self, db: Db, parent: str | None) -> None:
        if parent is None:
            return
        e = db["snapshots"].get(parent)
        if e is None:
            raise NotFound(f"parent snapshot {parent!r} not found")
        if e["kind"] != "committed":
            raise FailedPrecondition(f"parent snapshot {parent!r} is {e['kind']}, not committed")

    # -- the interface -----------------------------------------------------------------------
    def _create(
        self, kind: str, key: str, parent: str | None, labels: Mapping[str, str] | None
    ) -> list[Mount]:
        check_key(key)
        if parent is not None:
            check_key(parent, "parent")
        clean_labels = check_labels(labels)
        with self._meta.write() as db:
            if key in db["snapshots"]:
                raise AlreadyExists(f"snapshot {key!r} already exists")
            self._check_parent(db, parent)
            sid = str(db["next_id"])
            db["next_id"] += 1
            parents = self._parent_dirs(db, parent)
        new_dir = self._snaps / f"new-{sid}-{os.getpid()}"
        try:
            new_dir.mkdir(mode=0o700)
            try:
                self._populate(new_dir, kind, parents)
            except OSError as e:
                raise FailedPrecondition(f"prepare {key!r}: cannot fill the snapshot: {e}") from e
            with self._meta.write() as db:
                if key in db["snapshots"]:
                    raise AlreadyExists(f"snapshot {key!r} already exists")
                self._check_parent(db, parent)
                final = self._dir(sid)
                if final.exists():  # an orphan left by a crash: its entry was never written
                    remove_tree(final)
                os.rename(new_dir, final)
                fsync_dir(self._snaps)
                now = time.time()
                db["snapshots"][key] = {
                    "id": sid,
                    "kind": kind,
                    "parent": parent,
                    "labels": clean_labels,
                    "created": now,
                    "updated": now,
                }
                return self._describe(final, kind, parents)
        except BaseException:
            _remove_quietly(new_dir)
            raise

    def prepare(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        """A new active (writable) snapshot on ``parent``; returns its mounts."""
        return self._create("active", key, parent, labels)

    def view(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        """A new read-only view of ``parent``; returns its mounts."""
        return self._create("view", key, parent, labels)

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of an active snapshot or view."""
        with self._meta.read() as db:
            e = _entry(db, key)
            if e["kind"] == "committed":
                raise FailedPrecondition(f"snapshot {key!r} is committed: prepare or view it")
            return self._describe(self._dir(e["id"]), e["kind"], self._parent_dirs(db, e["parent"]))

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None:
        """Turn active snapshot ``key`` into committed ``name``; ``key`` is gone after."""
        check_key(name, "name")
        clean_labels = check_labels(labels) if labels is not None else None
        with self._meta.write() as db:
            e = _entry(db, key)
            if e["kind"] != "active":
                raise FailedPrecondition(
                    f"snapshot {key!r} is {e['kind']}, only active ones commit"
                )
            if name in db["snapshots"]:
                raise AlreadyExists(f"snapshot {name!r} already exists")
            del db["snapshots"][key]
            e["kind"] = "committed"
            e["updated"] = time.time()
            if clean_labels is not None:
                e["labels"] = clean_labels
            db["snapshots"][name] = e

    def remove(self, key: str) -> None:
        """Remove a snapshot; ``FailedPrecondition`` while another names it as parent."""
        with self._meta.write() as db:
            e = _entry(db, key)
            children = [k for k, c in db["snapshots"].items() if c["parent"] == key]
            if children:
                raise FailedPrecondition(
                    f"snapshot {key!r} has {len(children)} children (e.g. {children[0]!r})"
                )
            del db["snapshots"][key]
        _remove_quietly(self._dir(e["id"]))  # on failure, garbage for cleanup()

    def stat(self, key: str) -> SnapshotInfo:
        """The record of one snapshot (``NotFound``)."""
        with self._meta.read() as db:
            return _info(key, _entry(db, key))

    def walk(self) -> Iterator[SnapshotInfo]:
        """Every snapshot, by name."""
        with self._meta.read() as db:
            items = sorted(db["snapshots"].items())
        for name, e in items:
            yield _info(name, e)

    def usage(self, key: str) -> Usage:
        """Disk use of the snapshot's own directory."""
        with self._meta.read() as db:
            sdir = self._dir(_entry(db, key)["id"]) / "fs"
        try:
            size, inodes = disk_usage(str(sdir))
        except OSError as e:
            raise FailedPrecondition(f"usage of snapshot {key!r}: {e}") from e
        return Usage(size=size, inodes=inodes)

    def _own_dir(self, key: str, kinds: tuple[str, ...]) -> Path:
        with self._meta.read() as db:
            e = _entry(db, key)
            if e["kind"] not in kinds:
                raise FailedPrecondition(f"snapshot {key!r} is {e['kind']}")
            return self._dir(e["id"]) / "fs"

    def apply_dir(self, key: str) -> Path:
        """Where a layer is applied into active snapshot ``key``."""
        return self._own_dir(key, ("active",))

    def upper_dir(self, key: str) -> Path:
        """The snapshot's own directory (an overlay upper, or a native full copy) for diffs."""
        return self._own_dir(key, ("active", "committed"))

    def lower_dirs(self, key: str) -> list[Path]:
        """The directories of the snapshot's ancestors, nearest first."""
        with self._meta.read() as db:
            return self._parent_dirs(db, _entry(db, key)["parent"])

    def cleanup(self) -> int:
        """Remove directories no entry names (left by a crash); returns how many."""
        removed = 0
        with self._meta.write() as db:
            live = {e["id"] for e in db["snapshots"].values()}
            for child in self._snaps.iterdir():
                name = child.name
                if name.isdigit():
                    garbage = name not in live
                elif name.startswith("new-"):
                    garbage = not _pid_alive(name.rsplit("-", 1)[-1])
                else:
                    garbage = False
                if garbage:
                    _remove_quietly(child)
                    removed += 1
        return removed


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        remove_tree(path)


def _pid_alive(text: str) -> bool:
    try:
        os.kill(int(text), 0)
    except ValueError:
        return False
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
