"""Garbage collection: mark every blob a manifest of any repository references, sweep the rest."""

from __future__ import annotations

import json
import time
from typing import Any

from ketch.oci._record import Record
from ketch.registry._grammar import is_digest
from ketch.registry.server.storage import Storage

__all__ = ["GCResult", "garbage_collect"]


class GCResult(Record):
    """What a collection found and removed."""

    marked: int
    removed: tuple[str, ...]
    freed_bytes: int
    expired_uploads: int


def _references(data: bytes) -> list[str]:
    try:
        doc: Any = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for key in ("config", "subject"):
        if isinstance(doc.get(key), dict):
            out.append(doc[key].get("digest"))
    for key in ("layers", "manifests", "blobs"):
        for desc in doc.get(key) or ():
            if isinstance(desc, dict):
                out.append(desc.get("digest"))
    return [d for d in out if isinstance(d, str) and is_digest(d)]


def garbage_collect(
    storage: Storage, *, dry_run: bool = False, upload_max_age: float = 86400.0
) -> GCResult:
    """Remove blobs that no manifest references (manifests themselves are kept).

    Run it while the server is stopped or read-only: a blob uploaded for a manifest
    not yet pushed is unreferenced and would be removed.
    """
    marked: set[str] = set()
    for name in storage.repositories():
        for digest in storage.manifests(name):
            marked.add(digest)
            found = storage.manifest(name, digest)
            if found is not None:
                marked.update(_references(found[1]))
    removed = []
    freed = 0
    for digest in storage.blobs():
        if digest in marked:
            continue
        removed.append(digest)
        freed += storage.blob_size(digest) or 0
        if not dry_run:
            storage.delete_blob(digest)
    expired = 0 if dry_run else storage.expire_uploads(time.time() - upload_max_age)
    return GCResult(len(marked), tuple(removed), freed, expired)
