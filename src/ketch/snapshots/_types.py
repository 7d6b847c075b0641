"""Snapshot records, and the ``Snapshotter`` protocol every implementation keeps.

Vocabulary (containerd's): a snapshot is *active* (writable, made by ``prepare``),
a *view* (read-only, made by ``view``) or *committed* (immutable, made by
``commit`` from an active one; only committed snapshots can be parents).  Active
snapshots and views are named by a *key*, committed ones by a *name*; both live
in one namespace.  A snapshotter never mounts: it describes a snapshot as OCI
mount records that a caller mounts (``ketch.snapshots.mount.mount_all``).

The protocol lives in ``_protocol`` (it needs ``typing``, ~2 ms to import: the
engine's ``run`` path opens a snapshotter but never needs the protocol).
"""

from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.oci._record import Record

__all__ = ["KINDS", "SnapshotInfo", "Usage"]

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
