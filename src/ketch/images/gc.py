"""Garbage collection: mark blobs and snapshots reachable from image records (and
the caller's extra roots), sweep the rest.

Blobs: every record's target, the manifests of an index that are present, each
manifest's config and layers.  Snapshots: the chain IDs of every present
manifest, plus the caller's roots; a committed snapshot with a chain-ID name is
removed when unmarked and no remaining snapshot has it as parent (containers'
active snapshots thereby keep their parents).  Blobs younger than
``grace_seconds`` are kept, so a pull that has not yet named its image survives.
"""

import contextlib
import time
from collections.abc import Iterable

from ketch.errors import InvalidArgument, KetchError, NotFound
from ketch.images.store import ImageStore
from ketch.images.unpack import chain_ids
from ketch.oci._record import Record
from ketch.oci.digest import is_digest
from ketch.oci.image_spec import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    parse_image_config,
    parse_index,
    parse_manifest,
)

__all__ = ["GcResult", "collect_garbage", "mark", "reachable"]

STALE_EXTRACT_SECONDS = 3600.0
ABANDONED_INGEST_SECONDS = 86400.0


class GcResult(Record):
    removed_blobs: tuple[str, ...]
    freed_bytes: int
    removed_snapshots: tuple[str, ...]


def _walk(images: ImageStore, d: Descriptor, blobs: set[str], chains: set[str], depth: int) -> None:
    content = images.content
    if depth > 4 or not content.exists(d.digest):
        return
    blobs.add(d.digest)
    try:
        data = images.read_document(d)
        if d.media_type in INDEX_MEDIA_TYPES:
            for child in parse_index(data).manifests:
                _walk(images, child, blobs, chains, depth + 1)
            return
        if d.media_type not in MANIFEST_MEDIA_TYPES:
            return
        manifest = parse_manifest(data)
    except (InvalidArgument, NotFound):
        return  # a corrupt document protects only itself
    blobs.add(manifest.config.digest)
    blobs.update(layer.digest for layer in manifest.layers)
    try:
        config = parse_image_config(images.read_document(manifest.config))
    except (InvalidArgument, NotFound):
        return
    chains.update(chain_ids(config.rootfs.diff_ids))


def reachable(images: ImageStore, descriptor: Descriptor) -> tuple[set[str], set[str]]:
    """The blobs and chain IDs under one image target (present ones only)."""
    blobs: set[str] = set()
    chains: set[str] = set()
    _walk(images, descriptor, blobs, chains, 0)
    return blobs, chains


def mark(images: ImageStore, extra_roots: Iterable[str] = ()) -> tuple[set[str], set[str]]:
    """The blob digests and snapshot chain IDs reachable from records and ``extra_roots``."""
    blobs: set[str] = set()
    chains: set[str] = set()
    for record in images.list():
        _walk(images, record.target, blobs, chains, 0)
    blobs.update(extra_roots)
    return blobs, chains


def collect_garbage(
    images: ImageStore,
    *,
    extra_roots: Iterable[str] = (),
    snapshot_roots: Iterable[str] = (),
    grace_seconds: float = 0.0,
    snapshots: bool = True,
    only: Iterable[str] | None = None,
) -> GcResult:
    """Delete unreachable blobs (and snapshots); returns what was removed.

    ``only`` limits the sweep to those blobs (e.g. the ones of a removed image),
    which then need no grace period."""
    candidates = set(only) if only is not None else None
    with images.lock():
        blobs, chains = mark(images, extra_roots)
        now = time.time()
        removed: list[str] = []
        freed = 0
        for info in list(images.content.walk()):
            if info.digest in blobs:
                continue
            if candidates is not None:
                if info.digest not in candidates:
                    continue
            elif now - info.created < grace_seconds:
                continue
            with contextlib.suppress(NotFound):
                images.content.delete(info.digest)
                removed.append(info.digest)
                freed += info.size
        if candidates is None:  # a full sweep also drops day-old abandoned ingests
            images.content.prune_ingests(ABANDONED_INGEST_SECONDS)
        removed_snapshots: list[str] = []
        if snapshots and images.snapshotter is not None:
            chains.update(snapshot_roots)
            removed_snapshots = _sweep_snapshots(images, chains, now)
    return GcResult(tuple(sorted(removed)), freed, tuple(removed_snapshots))


def _sweep_snapshots(images: ImageStore, marked: set[str], now: float) -> list[str]:
    snapshotter = images.snapshotter
    assert snapshotter is not None
    removed: list[str] = []
    tried: set[str] = set()
    while True:
        every = list(snapshotter.walk())
        parents = {i.parent for i in every if i.parent}
        infos = [i for i in every if i.name not in tried]
        victims = [
            i
            for i in infos
            if (
                i.kind == "committed"
                and is_digest(i.name)
                and i.name not in marked
                and i.name not in parents
            )
            or (
                i.kind == "active"
                and i.name.startswith("extract-")
                and now - i.updated > STALE_EXTRACT_SECONDS
            )
        ]
        if not victims:
            return removed
        for info in victims:
            tried.add(info.name)
            try:
                snapshotter.remove(info.name)
            except KetchError:  # in use or gone: leave it
                continue
            removed.append(info.name)
