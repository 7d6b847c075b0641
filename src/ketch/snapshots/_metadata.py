"""The snapshot database: one JSON document under the root, guarded by a file lock.

``root/metadata.json`` holds the snapshot table and an id counter; every change
is written whole with temp + fsync + rename, so a ``kill -9`` leaves the old or
the new table, never a torn one.  ``flock`` on ``root/lock`` serialises writers
across processes (shared for readers).  Directories are made before the entry
that names them and removed after it is gone, so the table never names a
missing directory; an unnamed directory is garbage that ``cleanup`` removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.snapshots._durable import atomic_write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    Db = dict[str, Any]

__all__ = ["MetaStore", "check_key", "check_labels"]

_VERSION = 1
_MAX_KEY = 4096
_MAX_LABELS = 4096  # bytes of all labels of one snapshot


def check_key(key: str, what: str = "key") -> None:
    """A key or name is a non-empty string without NUL, at most 4096 bytes."""
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"snapshot {what} must be a non-empty string")
    if "\0" in key or len(key.encode()) > _MAX_KEY:
        raise InvalidArgument(f"snapshot {what} {key[:80]!r}: NUL or longer than {_MAX_KEY} bytes")


def check_labels(labels: Any) -> dict[str, str]:
    """Labels as a plain dict of strings, bounded in size."""
    if labels is None:
        return {}
    out: dict[str, str] = {}
    total = 0
    for k, v in dict(labels).items():
        if not isinstance(k, str) or not isinstance(v, str) or not k:
            raise InvalidArgument(f"snapshot label {k!r}: keys and values must be strings")
        total += len(k.encode()) + len(v.encode())
        out[k] = v
    if total > _MAX_LABELS:
        raise InvalidArgument(f"snapshot labels take {total} bytes, more than {_MAX_LABELS}")
    return out


class MetaStore:
    """The table of snapshots of one root, read and changed under a file lock."""

    def __init__(self, root: str, kind: str) -> None:
        self.root = root
        self.kind = kind
        self._path = os.path.join(root, "metadata.json")
        self._lock = os.path.join(root, "lock")

    def _read(self) -> bytes:
        with open(self._path, "rb") as f:
            return f.read()

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the last fd of the description drops the lock

    def _load(self) -> Db:
        try:
            raw = self._read()
        except FileNotFoundError:
            return {"version": _VERSION, "kind": self.kind, "next_id": 1, "snapshots": {}}
        try:
            db: Db = json.loads(raw)
        except ValueError as e:
            raise FailedPrecondition(f"{self._path}: corrupt snapshot metadata: {e}") from e
        if db.get("version") != _VERSION:
            raise FailedPrecondition(f"{self._path}: unknown metadata version {db.get('version')}")
        if db.get("kind") != self.kind:
            raise FailedPrecondition(
                f"{self.root} holds {db.get('kind')} snapshots, not {self.kind}"
            )
        return db

    def ensure(self) -> None:
        """Write the empty table of a new root (so its kind is recorded), or check the kind."""
        with self._locked(True):
            db = self._load()
            if not os.path.exists(self._path):
                atomic_write(self._path, json.dumps(db, sort_keys=True).encode())

    def stored_kind(self) -> str | None:
        """The snapshotter kind recorded in the table, or None for a new root."""
        with self._locked(False):
            try:
                value = json.loads(self._read()).get("kind")
            except FileNotFoundError:
                return None
            except ValueError:
                return None
        return value if isinstance(value, str) else None

    @contextlib.contextmanager
    def read(self) -> Iterator[Db]:
        """The table, under a shared lock."""
        with self._locked(False):
            yield self._load()

    @contextlib.contextmanager
    def write(self) -> Iterator[Db]:
        """The table under the exclusive lock; saved durably when the block ends cleanly."""
        with self._locked(True):
            db = self._load()
            before = json.dumps(db, sort_keys=True)
            yield db
            after = json.dumps(db, sort_keys=True)
            if after != before:
                atomic_write(self._path, after.encode())
