"""What ``create`` needs of an image, cached per reference: image ID, config, top chain ID.

Resolving a reference reads the image record, the manifest and the config
(checked against the image-spec schemas) and imports the image store, the
content store and hashlib: most of a ``ketch run``'s own work.  The answer
only changes when an image record changes, so it is kept in
``<root>/cache/images.json`` together with a stamp of the image store's
records directory (device, inode, mtime and ctime in ns): every record write,
rename or removal changes the directory, so a different stamp drops the whole
cache.  A stamp is only trusted once it is older than the file system clock's
granularity when read (racy-git's rule): a change in the same tick as the read
would otherwise leave the stamp unchanged.

The top snapshot is not checked here: ``create`` prepares the container's
snapshot on it, and if it has gone (image pruned) falls back to the full path,
which unpacks it again.  The cache is an optimisation only: unreadable, torn
(it is written atomically but not fsynced) or foreign content is a miss.
"""

from __future__ import annotations

import os
import time

from ketch.errors import InvalidArgument
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ImageCache", "Resolved"]

_VERSION = 1
_MAX_ENTRIES = 64
_RACY_NS = 2_000_000_000  # a stamp this recent is not trusted (timestamps are coarse)

# (image ID, the image's config section as docker's JSON, top chain ID or "")
Resolved = tuple[str, "dict[str, Any]", str]


class ImageCache:
    """The cache file ``path``, validated by the directory ``records``."""

    def __init__(self, path: str, records: str) -> None:
        self.path = path
        self.records = records

    def _stamp(self) -> list[int] | None:
        try:
            st = os.stat(self.records)
        except OSError:
            return None
        return [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]

    def _load(self) -> dict[str, Any] | None:
        try:
            with open(self.path, "rb") as f:
                doc = _json.loads(f.read(), self.path)
        except (OSError, InvalidArgument):
            return None
        if not isinstance(doc, dict) or doc.get("version") != _VERSION:
            return None
        entries = doc.get("entries")
        if not isinstance(entries, dict):
            return None
        return doc

    def get(self, ref: str) -> Resolved | None:
        """The cached answer for ``ref`` if the image records have not changed since."""
        doc = self._load()
        if doc is None:
            return None
        stamp = self._stamp()
        if stamp is None or doc.get("stamp") != stamp:
            return None
        entry = doc["entries"].get(ref)
        if not isinstance(entry, list) or len(entry) != 3:
            return None
        image_id, config, top = entry
        if not (isinstance(image_id, str) and isinstance(config, dict) and isinstance(top, str)):
            return None
        return image_id, config, top

    def put(self, ref: str, resolved: Resolved, stamp: list[int] | None) -> None:
        """Remember ``resolved`` for ``ref``; ``stamp`` is ``stamp()`` from before resolving."""
        if stamp is None or stamp != self._stamp():
            return  # changed while we resolved
        if time.time_ns() - max(stamp[2], stamp[3]) < _RACY_NS:
            return  # too recent to tell a later change in the same tick apart
        doc = self._load()
        if doc is None or doc.get("stamp") != stamp:
            doc = {"version": _VERSION, "stamp": stamp, "entries": {}}
        entries: dict[str, Any] = doc["entries"]
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[ref] = list(resolved)
        data = _json.dumps(doc, separators=(",", ":")).encode()
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError:
            pass

    def stamp(self) -> list[int] | None:
        """The records directory's stamp now (take it before resolving, pass it to ``put``)."""
        return self._stamp()
