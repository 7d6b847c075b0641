"""The snapshot database: one JSON document under the root, guarded by a file lock.

``root/metadata.json`` holds the snapshot table and an id counter; every change
is written whole with temp + fsync + rename, so a ``kill -9`` leaves the old or
the new table, never a torn one.  ``flock`` on ``root/lock`` serialises writers
across processes (shared for readers).  Directories are made before the entry
that names them and removed after it is gone, so the table never names a
missing directory; an unnamed directory is garbage that ``cleanup`` removes.
"""

from __future__ import annotations

import os

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.linux.durable import write_file
from ketch.linux.flock import FileLock
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
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

    def _locked(self, exclusive: bool) -> FileLock:
        return FileLock(self._lock, shared=not exclusive)

    def _load(self) -> Db:
        try:
            raw = self._read()
        except FileNotFoundError:
            return {"version": _VERSION, "kind": self.kind, "next_id": 1, "snapshots": {}}
        try:
            db: Db = _json.loads(raw, self._path)
        except InvalidArgument as e:
            raise FailedPrecondition(f"corrupt snapshot metadata: {e}") from e
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
                write_file(self._path, _json.dumps(db, sort_keys=True).encode())

    def stored_kind(self) -> str | None:
        """The snapshotter kind recorded in the table, or None for a new root."""
        with self._locked(False):
            try:
                value = _json.loads(self._read(), self._path).get("kind")
            except FileNotFoundError:
                return None
            except InvalidArgument:
                return None
        return value if isinstance(value, str) else None

    def read(self) -> _Table:
        """The table, under a shared lock (a context manager)."""
        return _Table(self, exclusive=False)

    def write(self) -> _Table:
        """The table under the exclusive lock; saved durably when the block ends cleanly."""
        return _Table(self, exclusive=True)



# a context manager as a small class: ``contextlib`` costs ~2 ms of imports on ``run``'s path
class _Table:
    """The table of ``meta`` under its lock; an exclusive one is saved if the block
    changed it and ended cleanly."""

    def __init__(self, meta: MetaStore, *, exclusive: bool) -> None:
        self._meta = meta
        self._lock = FileLock(meta._lock, shared=not exclusive)
        self._exclusive = exclusive
        self._before = ""
        self._db: Db = {}

    def __enter__(self) -> Db:
        self._lock.__enter__()
        try:
            self._db = self._meta._load()
            if self._exclusive:
                self._before = _json.dumps(self._db, sort_keys=True)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self._db

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self._exclusive:
                after = _json.dumps(self._db, sort_keys=True)
                if after != self._before:
                    write_file(self._meta._path, after.encode())
        finally:
            self._lock.__exit__(None, None, None)
