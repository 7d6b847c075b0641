"""Container records on disk: ``<root>/containers/<id>/config.v2.json``, names, locks.

A record is docker's container document (``ID``, ``Name``, ``Config``,
``HostConfig``, ``State``...) plus ketch's own keys (``Monitor``, ``Snapshot``).
Writes are durable (temp, fsync, rename); the store lock serialises creation,
removal and renames (name uniqueness); a per-container lock serialises state
changes of one container.
"""

from __future__ import annotations

import os
import time

from ketch.engine._files import FileLock, read_json, remove_tree, write_json
from ketch.errors import InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ZERO_TIME", "ContainerStore", "now_rfc3339"]

ZERO_TIME = "0001-01-01T00:00:00Z"
RECORD = "config.v2.json"


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with nanoseconds (docker's timestamps)."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + (
        f".{ns % 1_000_000_000:09d}Z"
    )


class ContainerStore:
    """The container directories under ``root`` (``<engine root>/containers``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)

    def ensure(self) -> None:
        os.makedirs(self.root, mode=0o700, exist_ok=True)

    def lock(self) -> FileLock:
        """The store lock: held while creating, removing or renaming containers."""
        self.ensure()
        return FileLock(f"{self.root}/.lock")

    def container_lock(self, cid: str) -> FileLock:
        return FileLock(f"{self.root}/{cid}/.lock")

    def dir(self, cid: str) -> str:
        return f"{self.root}/{cid}"

    def _has_record(self, cid: str) -> bool:
        """Whether ``cid`` has a record; an empty one is none (see ``half_made``)."""
        try:
            return os.stat(f"{self.root}/{cid}/{RECORD}").st_size > 0
        except FileNotFoundError:
            return False

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return [n for n in names if len(n) == 64 and self._has_record(n)]

    def half_made(self) -> list[str]:
        """Container directories without a record (a create killed half-way), or with an
        empty one: a record is never written empty, but one saved without fsync (an
        ``--rm`` container's, see ``save``) can read empty after a host crash; hold the lock."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return [n for n in names if len(n) == 64 and not self._has_record(n)]

    def load(self, cid: str) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = read_json(f"{self.root}/{cid}/{RECORD}")
        except FileNotFoundError as e:
            raise NotFound(f"No such container: {cid}") from e
        except InvalidArgument as e:  # a torn write cannot happen; a hand-edited file can
            raise InvalidArgument(f"container {cid}: corrupt record: {e}") from e
        return doc

    def save(self, doc: dict[str, Any], *, sync: bool = True) -> None:
        """Write the record atomically; ``sync=False`` for run-time state only (see ketch.linux.durable)."""
        write_json(f"{self.root}/{doc['ID']}/{RECORD}", doc, sync=sync)

    def all(self) -> list[dict[str, Any]]:
        docs = []
        for cid in self.ids():
            try:
                docs.append(self.load(cid))
            except (NotFound, InvalidArgument):
                continue
        return docs

    def resolve(self, ref: str) -> str:
        """The full ID for a full ID, a name (``/name`` too) or a unique ID prefix."""
        if not ref:
            raise NotFound("No such container: ")
        ids = self.ids()
        if ref in ids:
            return ref
        name = ref if ref.startswith("/") else f"/{ref}"
        for cid in ids:
            try:
                if self.load(cid).get("Name") == name:
                    return cid
            except (NotFound, InvalidArgument):
                continue
        if all(c in "0123456789abcdef" for c in ref):
            matches = [cid for cid in ids if cid.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def name_taken(self, name: str) -> str | None:
        """The ID of the container called ``name`` (with the leading ``/``), if any."""
        for doc in self.all():
            if doc.get("Name") == name:
                return str(doc["ID"])
        return None

    def hide(self, cid: str) -> str:
        """Make a container invisible at once (rename to ``.removing-<id>``); the new path."""
        doomed = f"{self.root}/.removing-{cid}"
        try:  # noqa: SIM105 (contextlib costs an import)
            os.rename(self.dir(cid), doomed)
        except FileNotFoundError:
            pass
        return doomed

    def hidden(self) -> list[tuple[str, str]]:
        """Containers hidden for removal whose removal did not finish."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return [(n[10:], f"{self.root}/{n}") for n in names if n.startswith(".removing-")]

    def remove_dir(self, cid: str) -> None:
        """Remove a container's directory: rename first (atomic), then delete."""
        remove_tree(self.hide(cid))
