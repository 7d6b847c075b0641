"""``save``: write images as a docker-archive with OCI layout entries (as docker 25+
does) or as a pure OCI layout archive.

The tarball holds ``blobs/sha256/<hex>`` for every blob reachable from each image
(all platforms present in the store), ``oci-layout`` and ``index.json`` naming each
image, and, for docker, ``manifest.json`` and ``repositories``.  Loading it back
gives the same manifest and config digests.
"""

import io
import json
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound
from ketch.images.reference import parse_reference
from ketch.images.store import ImageRecord, ImageStore
from ketch.linux.durable import fsync_dir
from ketch.oci.digest import parse_digest
from ketch.oci.image_spec import (
    ANNOTATION_REF_NAME,
    INDEX_MEDIA_TYPES,
    MEDIA_TYPE_OCI_INDEX,
    Descriptor,
    Platform,
    descriptor_to_json,
    is_foreign_layer,
    parse_index,
    parse_manifest,
)

__all__ = ["save_images", "save_to_path"]

ANNOTATION_IMAGE_NAME = "io.containerd.image.name"


def _blob_name(digest: str) -> str:
    algorithm, encoded = parse_digest(digest)
    return f"blobs/{algorithm}/{encoded}"


class _Image:
    def __init__(self, record: ImageRecord) -> None:
        self.record = record
        self.target = record.target
        self.names: list[str] = []  # normalized references (tagged)


def _collect(images: ImageStore, refs: Sequence[str]) -> list[_Image]:
    by_target: dict[str, _Image] = {}
    for ref in refs:
        record = images.get(ref)
        image = by_target.setdefault(record.target.digest, _Image(record))
        named = not record.is_dangling and not _is_id(ref, images, record)
        if named and record.name not in image.names and parse_reference(record.name).tag:
            image.names.append(record.name)
    return list(by_target.values())


def _is_id(ref: str, images: ImageStore, record: ImageRecord) -> bool:
    bare = ref.removeprefix("sha256:")
    return images.image_id(record).removeprefix("sha256:").startswith(bare) and ":" not in bare


def _reachable(
    content: ContentStore, images: ImageStore, d: Descriptor, out: dict[str, int], depth: int = 0
) -> None:
    """Every blob under ``d`` that is in the store (an index's missing platforms are skipped)."""
    if depth > 4:
        raise InvalidArgument(f"{d.digest}: indexes nested too deeply")
    out[d.digest] = d.size
    data = images.read_document(d)
    if d.media_type in INDEX_MEDIA_TYPES:
        for child in parse_index(data).manifests:
            if content.exists(child.digest):
                _reachable(content, images, child, out, depth + 1)
        return
    manifest = parse_manifest(data)
    out[manifest.config.digest] = manifest.config.size
    for layer in manifest.layers:
        if is_foreign_layer(layer.media_type):
            continue
        if not content.exists(layer.digest):
            raise NotFound(f"layer {layer.digest} of {d.digest} is not in the content store")
        out[layer.digest] = layer.size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = tarfile.DIRTYPE, 0, 0o755
    tar.addfile(info)


def save_images(
    images: ImageStore,
    refs: Sequence[str],
    out: BinaryIO,
    *,
    oci_only: bool = False,
    platform: Platform | None = None,
) -> None:
    """Write the images named by ``refs`` (names or IDs) to ``out`` as one tarball."""
    if not refs:
        raise InvalidArgument("save needs at least one image")
    content = images.content
    selected = _collect(images, refs)
    blobs: dict[str, int] = {}
    index_entries: list[dict[str, Any]] = []
    docker_entries: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for image in selected:
        _reachable(content, images, image.target, blobs)
        base = descriptor_to_json(
            Descriptor(image.target.media_type, image.target.digest, image.target.size)
        )
        names: list[str | None] = [*image.names] or [None]
        for name in names:
            entry = dict(base)
            if name is not None:
                ref = parse_reference(name)
                entry["annotations"] = {
                    ANNOTATION_IMAGE_NAME: ref.string(),
                    ANNOTATION_REF_NAME: ref.tag or "latest",
                }
            index_entries.append(entry)
        if oci_only:
            continue
        _, manifest = images.resolve_manifest(image.record, platform)
        layers = [x for x in manifest.layers if not is_foreign_layer(x.media_type)]
        tags = [parse_reference(n).familiar() for n in image.names]
        docker_entries.append(
            {
                "Config": _blob_name(manifest.config.digest),
                "RepoTags": tags or None,
                "Layers": [_blob_name(x.digest) for x in layers],
            }
        )
        top = parse_digest(layers[-1].digest)[1] if layers else ""
        for name in image.names:
            ref = parse_reference(name)
            repositories.setdefault(ref.familiar_name(), {})[ref.tag or "latest"] = top
    index = {"schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX, "manifests": index_entries}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs")
        for algorithm in sorted({parse_digest(d)[0] for d in blobs}):
            _add_dir(tar, f"blobs/{algorithm}")
        for digest in sorted(blobs):
            info = tarfile.TarInfo(_blob_name(digest))
            info.mtime, info.mode = 0, 0o444
            with content.open(digest) as f:
                info.size = os.fstat(f.fileno()).st_size
                tar.addfile(info, f)
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, "index.json", json.dumps(index, separators=(",", ":")).encode())
        if not oci_only:
            _add_bytes(tar, "manifest.json", json.dumps(docker_entries).encode())
            if repositories:
                _add_bytes(tar, "repositories", json.dumps(repositories).encode())


def save_to_path(
    images: ImageStore,
    refs: Sequence[str],
    path: Path | str,
    *,
    oci_only: bool = False,
    platform: Platform | None = None,
) -> None:
    """``save_images`` into ``path``: a temp file renamed into place when complete."""
    target = Path(path)
    if target.is_dir():
        raise InvalidArgument(f"{path}: is a directory")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            save_images(images, refs, f, oci_only=oci_only, platform=platform)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent.resolve())
