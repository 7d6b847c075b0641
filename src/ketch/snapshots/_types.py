"""Snapshot records and the ``Snapshotter`` protocol every implementation keeps.

Vocabulary (containerd's): a snapshot is *active* (writable, made by ``prepare``),
a *view* (read-only, made by ``view``) or *committed* (immutable, made by
``commit`` from an active one; only committed snapshots can be parents).  Active
snapshots and views are named by a *key*, committed ones by a *name*; both live
in one namespace.  A snapshotter never mounts: it describes a snapshot as OCI
mount records that a caller mounts (``ketch.snapshots.mount.mount_all``).
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

from ketch.oci._record import Record
from ketch.oci.runtime_spec import Mount

__all__ = ["KINDS", "SnapshotInfo", "Snapshotter", "Usage"]

KINDS = ("active", "view", "committed")


class SnapshotInfo(Record):
    """One snapshot: its key or name, kind, parent name, labels and times (epoch seconds)."""

    name: str
    kind: str
    parent: str | None
    labels: Mapping[str, str]
    created: float
    updated: float


class Usage(Record):
    """Disk use of a snapshot's own layer: bytes allocated and inodes (hardlinks once)."""

    size: int
    inodes: int


class Snapshotter(Protocol):
    """What ``open_snapshotter`` returns (overlayfs or native)."""

    @property
    def kind(self) -> str: ...

    @property
    def root(self) -> Path: ...

    def prepare(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def view(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def mounts(self, key: str) -> list[Mount]: ...

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None: ...

    def remove(self, key: str) -> None: ...

    def stat(self, key: str) -> SnapshotInfo: ...

    def walk(self) -> Iterator[SnapshotInfo]: ...

    def usage(self, key: str) -> Usage: ...

    def apply_dir(self, key: str) -> Path: ...

    def upper_dir(self, key: str) -> Path: ...

    def lower_dirs(self, key: str) -> list[Path]: ...

    def cleanup(self) -> int: ...
