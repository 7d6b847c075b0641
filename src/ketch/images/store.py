"""``ImageStore``: image metadata, names -> target descriptors.

Each name is a record file ``<root>/records/<sha256(name)>.json``, written
durably; a lock file serializes mutations.  Names are normalized references
(``docker.io/library/busybox:latest``, ``...@sha256:...``); an image with no name
is kept as a *dangling* record named ``dangling@<target digest>``.  The image ID
is the config digest of the manifest chosen for the host (as docker shows it).
Blobs live in the ``ContentStore``; unpacked layers in a snapshotter.
"""

import builtins
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound
from ketch.images.platforms import host_platform, platform_rank
from ketch.images.reference import is_image_id_prefix, parse_reference
from ketch.linux.durable import fsync_dir, write_file
from ketch.oci._decode import decode
from ketch.oci._record import Record
from ketch.oci.digest import parse_digest
from ketch.oci.image_spec import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    ImageConfig,
    Manifest,
    Platform,
    descriptor_to_json,
    detect_media_type,
    parse_image_config,
    parse_index,
    parse_manifest,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.images.unpack import Snapshotter

__all__ = ["DANGLING_PREFIX", "ImageRecord", "ImageStore", "format_time", "now_rfc3339"]

DANGLING_PREFIX = "dangling@"
MAX_DOCUMENT_SIZE = 4 << 20  # manifests, indexes and configs are small; refuse bombs
MAX_INDEX_DEPTH = 4


def now_rfc3339() -> str:
    return format_time(time.time())


def format_time(seconds: float) -> str:
    """RFC 3339 UTC with nanoseconds, as docker prints times."""
    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{stamp}.{nanos:09d}Z"


class ImageRecord(Record):
    name: str
    target: Descriptor
    created: str
    updated: str
    labels: Mapping[str, str] | None = None

    @property
    def is_dangling(self) -> bool:
        return self.name.startswith(DANGLING_PREFIX)


RecordList = list[ImageRecord]


def _record_json(record: ImageRecord) -> bytes:
    doc = {
        "name": record.name,
        "target": descriptor_to_json(record.target),
        "created": record.created,
        "updated": record.updated,
        "labels": dict(record.labels or {}),
    }
    return json.dumps(doc, indent=1).encode()


def normalize_name(name: str) -> str:
    """The stored form of a name (a normalized reference, or a dangling name)."""
    if name.startswith(DANGLING_PREFIX):
        parse_digest(name[len(DANGLING_PREFIX) :])
        return name
    return parse_reference(name).string()


class ImageStore:
    def __init__(
        self, root: Path, content: ContentStore, snapshotter: "Snapshotter | None" = None
    ) -> None:
        self.root = Path(root)
        self.content = content
        self.snapshotter = snapshotter
        self._records = self.root / "records"

    # ------------------------------------------------------------------ records
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialize mutations of the image metadata (a file lock, across processes)."""
        self._records.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _file(self, name: str) -> Path:
        return self._records / f"{hashlib.sha256(name.encode()).hexdigest()}.json"

    def _read(self, path: Path) -> ImageRecord | None:
        try:
            doc = json.loads(path.read_bytes())
            return ImageRecord(
                name=doc["name"],
                target=decode(Descriptor, doc["target"], "target"),
                created=doc["created"],
                updated=doc["updated"],
                labels=doc.get("labels") or None,
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, RecursionError, InvalidArgument) as e:
            raise InvalidArgument(f"image record {path.name} is corrupt: {e}") from e

    def _lookup(self, name: str) -> ImageRecord | None:
        return self._read(self._file(name))

    def put(
        self, name: str, target: Descriptor, labels: Mapping[str, str] | None = None
    ) -> ImageRecord:
        """Create or move the name ``name`` to ``target`` (whose blob must exist).

        An image left without any name by the move is kept as dangling; a dangling
        record of ``target`` is dropped once it has a name.
        """
        name = normalize_name(name)
        if not name.startswith(DANGLING_PREFIX):
            named_digest = parse_reference(name).digest
            if named_digest is not None and named_digest != target.digest:
                raise InvalidArgument(
                    f"{name}: the digest does not match the target {target.digest}"
                )
        if target.media_type not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
            raise InvalidArgument(f"image target: unsupported media type {target.media_type!r}")
        if not self.content.exists(target.digest):
            raise NotFound(f"image target {target.digest}: content not found")
        with self.lock():
            now = now_rfc3339()
            old = self._lookup(name)
            record = ImageRecord(
                name=name,
                target=target,
                created=old.created if old is not None else now,
                updated=now,
                labels=dict(labels) if labels else (old.labels if old is not None else None),
            )
            write_file(self._file(name), _record_json(record), 0o644)
            if not record.is_dangling:
                self._drop(f"{DANGLING_PREFIX}{target.digest}")
            if old is not None and old.target.digest != target.digest:
                self._keep_dangling(old)
        return record

    def _drop(self, name: str) -> bool:
        try:
            self._file(name).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self._records)
        return True

    def _keep_dangling(self, old: ImageRecord) -> None:
        digest = old.target.digest
        if any(r.target.digest == digest for r in self._all()):
            return
        now = now_rfc3339()
        dangling = ImageRecord(f"{DANGLING_PREFIX}{digest}", old.target, old.created, now)
        write_file(self._file(dangling.name), _record_json(dangling), 0o644)

    def _all(self) -> RecordList:
        try:
            paths = sorted(self._records.glob("*.json"))
        except FileNotFoundError:
            return []
        return [r for p in paths if (r := self._read(p)) is not None]

    def list(self) -> RecordList:
        """Every record, sorted by name."""
        return sorted(self._all(), key=lambda r: r.name)

    def delete(self, name: str) -> ImageRecord:
        """Remove one name (``NotFound`` if absent); returns the removed record."""
        stored = normalize_name(name)
        with self.lock():
            record = self._lookup(stored)
            if record is None or not self._drop(stored):
                raise NotFound(f"No such image: {name}")
        return record

    def get(self, name_or_id: str) -> ImageRecord:
        """A record by reference, by ``name@digest``, or by full or short image ID."""
        record = self._find(name_or_id)
        if record is None:
            raise NotFound(f"No such image: {name_or_id}")
        return record

    def _find(self, s: str) -> ImageRecord | None:
        if s.startswith(DANGLING_PREFIX):
            return self._lookup(s)
        try:
            ref = parse_reference(s)
        except InvalidArgument:
            ref = None
        if ref is not None:
            found = self._lookup(ref.string())
            if found is not None:
                return found
            if ref.digest is not None:  # name@digest of an image pulled by tag
                for r in self._all():
                    if (
                        r.target.digest == ref.digest
                        and not r.is_dangling
                        and parse_reference(r.name).name == ref.name
                    ):
                        return r
        if is_image_id_prefix(s):
            return self._by_id_prefix(s)
        if ref is None:
            parse_reference(s)  # raises the reference error
        return None

    def _by_id_prefix(self, s: str) -> ImageRecord | None:
        hex_prefix = s.removeprefix("sha256:")
        matches: dict[str, list[ImageRecord]] = {}
        for r in self._all():
            image_id = self.image_id(r)
            if image_id.removeprefix("sha256:").startswith(hex_prefix) or (
                r.target.digest.removeprefix("sha256:").startswith(hex_prefix)
                and len(hex_prefix) == 64
            ):
                matches.setdefault(image_id, []).append(r)
        if len(matches) > 1:
            raise InvalidArgument(f"image ID prefix {s!r} is ambiguous")
        for records in matches.values():
            return sorted(records, key=lambda r: (r.is_dangling, r.name))[0]
        return None

    def records_of(self, image_id: str) -> RecordList:
        """Every record whose image ID is ``image_id``."""
        return [r for r in self.list() if self.image_id(r) == image_id]

    # ------------------------------------------------------------------ content
    def read_document(self, descriptor: Descriptor) -> bytes:
        """A manifest/index/config blob, bounded and checked against its size."""
        limit = min(descriptor.size, MAX_DOCUMENT_SIZE)
        if descriptor.size > MAX_DOCUMENT_SIZE:
            raise InvalidArgument(
                f"{descriptor.digest}: document of {descriptor.size} bytes is too large"
            )
        data = self.content.read(descriptor.digest, max_size=limit)
        if len(data) != descriptor.size:
            raise InvalidArgument(f"{descriptor.digest}: size {len(data)} != {descriptor.size}")
        return data

    def resolve_manifest(
        self, record: ImageRecord, platform: Platform | None = None
    ) -> tuple[Descriptor, Manifest]:
        """The manifest of ``record`` for ``platform`` (default: the host), walking indexes."""
        want = platform or host_platform()
        descriptor = record.target
        for _ in range(MAX_INDEX_DEPTH):
            data = self.read_document(descriptor)
            media_type = descriptor.media_type
            if media_type in MANIFEST_MEDIA_TYPES:
                return descriptor, parse_manifest(data, what=f"manifest {descriptor.digest}")
            if media_type not in INDEX_MEDIA_TYPES:
                media_type = detect_media_type(data)
                if media_type in MANIFEST_MEDIA_TYPES:
                    return descriptor, parse_manifest(data)
            index = parse_index(data, what=f"index {descriptor.digest}")
            descriptor = self._choose(index.manifests, want, record.name)
        raise InvalidArgument(f"image {record.name}: indexes nested too deeply")

    def _choose(self, manifests: tuple[Descriptor, ...], want: Platform, name: str) -> Descriptor:
        best: tuple[int, int, Descriptor] | None = None
        for i, d in enumerate(manifests):
            if d.media_type not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
                continue  # attestations and other artifacts
            if d.platform is None:
                rank = 50 if d.media_type in MANIFEST_MEDIA_TYPES else 60
            else:
                r = platform_rank(want, d.platform)
                if r is None:
                    continue
                rank = r
            if not self.content.exists(d.digest):
                continue  # a platform that was not pulled
            if best is None or (rank, i) < best[:2]:
                best = (rank, i, d)
        if best is None:
            raise NotFound(f"image {name}: no manifest for platform {want}")
        return best[2]

    def platforms(self, record: ImageRecord) -> "builtins.list[Platform]":
        """The platforms an index offers (the config's platform for a single manifest)."""
        if record.target.media_type in INDEX_MEDIA_TYPES:
            index = parse_index(self.read_document(record.target))
            return [d.platform for d in index.manifests if d.platform is not None]
        return [self.config(record).platform]

    def config(self, record: ImageRecord, platform: Platform | None = None) -> ImageConfig:
        _, manifest = self.resolve_manifest(record, platform)
        return parse_image_config(
            self.read_document(manifest.config), what=f"config {manifest.config.digest}"
        )

    def config_bytes(self, record: ImageRecord, platform: Platform | None = None) -> bytes:
        _, manifest = self.resolve_manifest(record, platform)
        return self.read_document(manifest.config)

    def image_id(self, record: ImageRecord, platform: Platform | None = None) -> str:
        """The config digest (docker's image ID); the target digest if unresolvable."""
        try:
            _, manifest = self.resolve_manifest(record, platform)
        except (NotFound, InvalidArgument):
            return record.target.digest
        return manifest.config.digest

    def size(self, record: ImageRecord, platform: Platform | None = None) -> int:
        """Bytes of the image's config and layer blobs (compressed, as stored)."""
        try:
            _, manifest = self.resolve_manifest(record, platform)
        except (NotFound, InvalidArgument):
            return 0
        return manifest.config.size + sum(layer.size for layer in manifest.layers)

    def unpack(self, record: ImageRecord, platform: Platform | None = None) -> str:
        """Apply the image's layers into committed snapshots keyed by chain ID;
        returns the top chain ID.  Layers already unpacked are skipped."""
        from ketch.images.unpack import unpack_image

        if self.snapshotter is None:
            raise InvalidArgument("image store has no snapshotter to unpack into")
        _, manifest = self.resolve_manifest(record, platform)
        config = self.config(record, platform)
        return unpack_image(self.content, self.snapshotter, manifest, config)
