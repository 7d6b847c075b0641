"""The bookkeeping both snapshotters share: keys, parents, kinds, ids and directories.

Layout under the root: ``metadata.json`` and ``lock`` (see ``_metadata``), and
``snapshots/<id>/`` per snapshot, where ``<id>`` is a short decimal number from
the table's counter (short ids keep overlay ``lowerdir`` lists short).  A new
snapshot's directory is filled as ``snapshots/new-<id>-<pid>`` outside the lock
(a native copy can take long) and renamed to ``<id>`` in the same locked step
that adds its entry.  A snapshotter whose filling is a couple of ``mkdir`` calls
(overlayfs) does it all in one locked step instead: one table write, not two
(see ``_create``).

Paths are strings inside (``pathlib`` costs ~3 ms to import, on ``run``'s path);
the methods that hand a directory out return ``Path``.
"""

from __future__ import annotations

import os
import time

from ketch.errors import AlreadyExists, FailedPrecondition, NotFound
from ketch.linux.durable import fsync_dir
from ketch.oci.runtime_spec import Mount
from ketch.snapshots._metadata import MetaStore, check_key, check_labels
from ketch.snapshots._tree import disk_usage, remove_tree
from ketch.snapshots._types import SnapshotInfo, Usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path
    from typing import Any

    from ketch.snapshots._metadata import Db

__all__ = ["BaseSnapshotter", "bind_mount"]


def bind_mount(source: str | os.PathLike[str], readonly: bool) -> Mount:
    """A recursive bind of ``source`` (the one-directory form of a snapshot)."""
    return Mount(
        destination="/",
        type="bind",
        source=os.fspath(source),
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

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = os.fspath(root)
        self._snaps = os.path.join(self._root, "snapshots")
        self._meta = MetaStore(self._root, self.kind)
        os.makedirs(self._snaps, exist_ok=True)
        self._meta.ensure()

    @property
    def root(self) -> Path:
        from pathlib import Path

        return Path(self._root)

    # -- hooks -------------------------------------------------------------------------------
    def _populate(self, new_dir: str, kind: str, parents: list[str]) -> None:
        raise NotImplementedError

    def _quick(self, kind: str, parents: list[str]) -> bool:
        """Whether ``_populate`` is cheap enough to run under the table's lock."""
        return False

    def _describe(self, sdir: str, kind: str, parents: list[str]) -> list[Mount]:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------------
    def _dir(self, sid: str) -> str:
        return f"{self._snaps}/{sid}"

    def _parent_dirs(self, db: Db, parent: str | None) -> list[str]:
        """The ``fs`` directories of ``parent`` and its ancestors, nearest first."""
        out: list[str] = []
        while parent is not None:
            e = _entry(db, parent)
            out.append(f"{self._snaps}/{e['id']}/fs")
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
            if self._quick(kind, parents):
                # one locked step, one table write (a container's prepare: 3 fsyncs, not 5).
                # The directory is made and synced before the table that names it; a crash
                # before the table write leaves an orphan under the id the table still
                # hands out next, removed right here when it is handed out again
                return self._fill(db, sid, f"{self._snaps}/new-{sid}-{os.getpid()}",
                                  key, kind, parent, parents, clean_labels)
        new_dir = f"{self._snaps}/new-{sid}-{os.getpid()}"
        try:  # a native copy can take long: filled outside the lock
            os.mkdir(new_dir, 0o700)
            self._populate_checked(new_dir, key, kind, parents)
            with self._meta.write() as db:
                if key in db["snapshots"]:
                    raise AlreadyExists(f"snapshot {key!r} already exists")
                self._check_parent(db, parent)
                return self._fill(db, sid, new_dir, key, kind, parent, parents, clean_labels,
                                  filled=True)
        except BaseException:
            _remove_quietly(new_dir)
            raise

    def _fill(
        self, db: Db, sid: str, new_dir: str, key: str, kind: str, parent: str | None,
        parents: list[str], labels: dict[str, str], *, filled: bool = False,
    ) -> list[Mount]:
        """Fill ``new_dir`` (unless ``filled`` already), rename it to the snapshot's
        directory and add the entry to ``db`` (written when the caller's block ends)."""
        try:
            if not filled:
                os.mkdir(new_dir, 0o700)
                self._populate_checked(new_dir, key, kind, parents)
            final = self._dir(sid)
            if os.path.lexists(final):  # an orphan left by a crash: its entry was never written
                remove_tree(final)
            os.rename(new_dir, final)
            fsync_dir(self._snaps)
        except BaseException:
            _remove_quietly(new_dir)
            raise
        now = time.time()
        db["snapshots"][key] = {
            "id": sid,
            "kind": kind,
            "parent": parent,
            "labels": labels,
            "created": now,
            "updated": now,
        }
        return self._describe(final, kind, parents)

    def _populate_checked(self, new_dir: str, key: str, kind: str, parents: list[str]) -> None:
        try:
            self._populate(new_dir, kind, parents)
        except OSError as e:
            raise FailedPrecondition(f"prepare {key!r}: cannot fill the snapshot: {e}") from e

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
            sdir = self._dir(_entry(db, key)["id"]) + "/fs"
        try:
            size, inodes = disk_usage(sdir)
        except OSError as e:
            raise FailedPrecondition(f"usage of snapshot {key!r}: {e}") from e
        return Usage(size=size, inodes=inodes)

    def _own_dir(self, key: str, kinds: tuple[str, ...]) -> Path:
        from pathlib import Path

        with self._meta.read() as db:
            e = _entry(db, key)
            if e["kind"] not in kinds:
                raise FailedPrecondition(f"snapshot {key!r} is {e['kind']}")
            return Path(self._dir(e["id"]), "fs")

    def apply_dir(self, key: str) -> Path:
        """Where a layer is applied into active snapshot ``key``."""
        return self._own_dir(key, ("active",))

    def upper_dir(self, key: str) -> Path:
        """The snapshot's own directory (an overlay upper, or a native full copy) for diffs."""
        return self._own_dir(key, ("active", "committed"))

    def lower_dirs(self, key: str) -> list[Path]:
        """The directories of the snapshot's ancestors, nearest first."""
        from pathlib import Path

        with self._meta.read() as db:
            return [Path(d) for d in self._parent_dirs(db, _entry(db, key)["parent"])]

    def cleanup(self) -> int:
        """Remove directories no entry names (left by a crash); returns how many."""
        removed = 0
        with self._meta.write() as db:
            live = {e["id"] for e in db["snapshots"].values()}
            for name in os.listdir(self._snaps):
                child = f"{self._snaps}/{name}"
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


def _remove_quietly(path: str) -> None:
    try:  # noqa: SIM105 (contextlib costs an import)
        remove_tree(path)
    except OSError:
        pass


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
