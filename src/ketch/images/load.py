"""``load``: import a docker-archive or OCI layout/archive into the stores.

Accepted: a ``docker save`` tarball (``manifest.json`` + config + layer tars, in
the legacy ``<id>/layer.tar`` layout or docker 25+'s ``blobs/``), an OCI image
layout as a tarball or a directory (``oci-layout``, ``index.json``, ``blobs/``),
compressed or not.  Every blob is verified against its digest and size and every
image is checked complete before any name is written; on error the blobs this
load added are removed again and no name changes.
"""

from pathlib import Path
from typing import Any, BinaryIO

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, ResourceExhausted
from ketch.images._archive_read import (
    ArchiveContents,
    ArchiveMember,
    discard_new,
    read_archive,
)
from ketch.images._compression import decompressed
from ketch.images.reference import parse_reference
from ketch.images.store import DANGLING_PREFIX, MAX_DOCUMENT_SIZE, ImageStore
from ketch.oci._record import Record
from ketch.oci.digest import Digester, parse_digest
from ketch.oci.image_spec import (
    ANNOTATION_REF_NAME,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST_V2,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    Manifest,
    is_foreign_layer,
    parse_image_config,
    parse_index,
    parse_json,
    parse_manifest,
    to_json_bytes,
)

__all__ = ["LoadedImage", "load_archive", "load_layout_dir", "load_path"]

ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
_CHUNK = 1 << 20


class LoadedImage(Record):
    name: str | None  # familiar name (busybox:latest), None for an untagged image
    image_id: str
    target: Descriptor
    replaced_id: str | None = None  # the image that had the name before, if another


def load_path(path: Path | str, content: ContentStore, images: ImageStore) -> list[LoadedImage]:
    """Load from a tarball or an OCI layout directory."""
    p = Path(path)
    if p.is_dir():
        return load_layout_dir(p, content, images)
    try:
        f = open(p, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError as e:
        raise NotFound(f"open {path}: no such file or directory") from e
    with f:
        return load_archive(f, content, images)


def load_archive(stream: BinaryIO, content: ContentStore, images: ImageStore) -> list[LoadedImage]:
    """Load every image of the archive read from ``stream``."""
    contents = read_archive(stream, content)
    try:
        return _load_contents(contents, content, images)
    except BaseException:
        discard_new(content, contents.new_blobs)
        raise


def load_layout_dir(
    directory: Path, content: ContentStore, images: ImageStore
) -> list[LoadedImage]:
    """Load an OCI image layout directory (its blobs are copied and verified)."""
    contents = ArchiveContents()
    try:
        for name in ("oci-layout", "index.json", "manifest.json", "repositories"):
            p = directory / name
            if p.is_file():
                if p.stat().st_size > MAX_DOCUMENT_SIZE:
                    raise ResourceExhausted(f"{p}: larger than {MAX_DOCUMENT_SIZE} bytes")
                contents.metadata[name] = p.read_bytes()
        blobs = directory / "blobs"
        for alg_dir in sorted(blobs.iterdir()) if blobs.is_dir() else ():
            for blob in sorted(alg_dir.iterdir()):
                if not blob.is_file():
                    continue
                name = f"blobs/{alg_dir.name}/{blob.name}"
                existed = _existing(content, alg_dir.name, blob.name)
                with open(blob, "rb") as f:
                    digest = content.ingest_stream(f)
                if not existed:
                    contents.new_blobs.add(digest)
                contents.members[name] = ArchiveMember(digest=digest, size=blob.stat().st_size)
        return _load_contents(contents, content, images)
    except BaseException:
        discard_new(content, contents.new_blobs)
        raise


def _existing(content: ContentStore, algorithm: str, encoded: str) -> bool:
    try:
        return content.exists(f"{algorithm}:{encoded}")
    except InvalidArgument:
        return False


# ---------------------------------------------------------------------- shared


def _json(data: bytes, what: str) -> Any:
    return parse_json(data, what)


def _verify_blob_names(contents: ArchiveContents) -> None:
    """``blobs/<alg>/<hex>`` members must hash to their names."""
    for name, member in contents.members.items():
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "blobs":
            expected = f"{parts[1]}:{parts[2]}"
            try:
                parse_digest(expected)
            except InvalidArgument as e:
                raise InvalidArgument(f"archive blob {name}: not a digest name") from e
            if member.digest != expected:
                raise InvalidArgument(
                    f"archive blob {name}: digest mismatch (content is {member.digest})"
                )


def _load_contents(
    contents: ArchiveContents, content: ContentStore, images: ImageStore
) -> list[LoadedImage]:
    _verify_blob_names(contents)
    plan: list[tuple[list[str], Descriptor]] = []
    if "index.json" in contents.metadata:
        plan = _plan_oci(contents, content, images)
    elif "manifest.json" in contents.metadata:
        plan = _plan_docker(contents, content)
    else:
        raise InvalidArgument(
            "not an image archive: neither manifest.json nor index.json found"
            " (pre-1.10 docker archives are not supported)"
        )
    # every name is valid before any is written
    for names, _ in plan:
        for n in names:
            parse_reference(n)
    from ketch.images.gc import reachable

    used: set[str] = set()
    for _, target in plan:
        used |= reachable(images, target)[0]
    result: list[LoadedImage] = []
    for names, target in plan:
        replaced: dict[str, str | None] = {}
        for n in names:
            try:
                old = images.get(parse_reference(n).string())
                replaced[n] = images.image_id(old) if old.target != target else None
            except NotFound:
                replaced[n] = None
        records = [images.put(n, target) for n in names]
        if not records:
            records = [images.put(f"{DANGLING_PREFIX}{target.digest}", target)]
        image_id = images.image_id(records[0])
        if names:
            result += [
                LoadedImage(
                    parse_reference(n).familiar(),
                    image_id,
                    target,
                    replaced[n] if replaced[n] != image_id else None,
                )
                for n in names
            ]
        else:
            result.append(LoadedImage(None, image_id, target))
    # what the archive held beyond the images (docker's legacy v1 json, VERSION files)
    discard_new(content, contents.new_blobs - used)
    return result


# ---------------------------------------------------------------------- OCI layout


def _plan_oci(
    contents: ArchiveContents, content: ContentStore, images: ImageStore
) -> list[tuple[list[str], Descriptor]]:
    layout = contents.metadata.get("oci-layout")
    if layout is not None:
        doc = _json(layout, "oci-layout")
        if not isinstance(doc, dict) or doc.get("imageLayoutVersion") != "1.0.0":
            raise InvalidArgument("oci-layout: unsupported imageLayoutVersion")
    index = parse_index(contents.metadata["index.json"], what="index.json")
    tags_by_config: dict[str, list[str]] = {}
    if "manifest.json" in contents.metadata:  # docker 25+: names live in manifest.json too
        for entry in _docker_entries(contents):
            config = contents.member(entry["Config"])
            tags_by_config.setdefault(config.digest, []).extend(entry.get("RepoTags") or [])
    plan = []
    for i, d in enumerate(index.manifests):
        what = f"index.json.manifests[{i}]"
        if d.media_type not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
            continue  # attestations and other artifacts are kept out of the image list
        _check_complete(content, images, d, what, depth=0)
        names: list[str] = []
        annotations = d.annotations or {}
        full = annotations.get(ANNOTATION_IMAGE_NAME)
        ref_name = annotations.get(ANNOTATION_REF_NAME)
        if full:
            names.append(full)
        elif ref_name and ("/" in ref_name or ":" in ref_name):
            names.append(ref_name)
        if not names and tags_by_config and d.media_type in MANIFEST_MEDIA_TYPES:
            manifest = parse_manifest(images.read_document(d))
            names += tags_by_config.get(manifest.config.digest, [])
        plan.append((list(dict.fromkeys(names)), _plain(d)))
    if not plan:
        raise InvalidArgument("index.json lists no images")
    return plan


def _plain(d: Descriptor) -> Descriptor:
    """The descriptor as an image target (no platform or annotations)."""
    return Descriptor(media_type=d.media_type, digest=d.digest, size=d.size)


def _check_blob(content: ContentStore, d: Descriptor, what: str) -> None:
    try:
        info = content.info(d.digest)
    except NotFound as e:
        raise InvalidArgument(f"{what}: blob {d.digest} is missing from the archive") from e
    if info.size != d.size:
        raise InvalidArgument(f"{what}: blob {d.digest} has {info.size} bytes, expected {d.size}")


def _check_complete(
    content: ContentStore, images: ImageStore, d: Descriptor, what: str, depth: int
) -> None:
    """Check that the manifest ``d`` (or an index's manifests) and all their blobs are present."""
    if depth > 4:
        raise InvalidArgument(f"{what}: indexes nested too deeply")
    _check_blob(content, d, what)
    data = images.read_document(d)
    if d.media_type in INDEX_MEDIA_TYPES:
        index = parse_index(data, what=what)
        present = 0
        for j, child in enumerate(index.manifests):
            if child.media_type not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
                continue
            if not content.exists(child.digest):
                continue  # docker saves only the platforms it has
            _check_complete(content, images, child, f"{what}.manifests[{j}]", depth + 1)
            present += 1
        if not present:
            raise InvalidArgument(f"{what}: no manifest of the index is in the archive")
        return
    manifest = parse_manifest(data, what=what)
    _check_manifest(content, manifest, what)


def _check_manifest(content: ContentStore, manifest: Manifest, what: str) -> None:
    _check_blob(content, manifest.config, f"{what}.config")
    config = parse_image_config(
        content.read(manifest.config.digest, max_size=MAX_DOCUMENT_SIZE), what=f"{what} config"
    )
    layers = [layer for layer in manifest.layers if not is_foreign_layer(layer.media_type)]
    for j, layer in enumerate(layers):
        _check_blob(content, layer, f"{what}.layers[{j}]")
    if len(layers) != len(config.rootfs.diff_ids):
        raise InvalidArgument(
            f"{what}: {len(layers)} layers but the config lists"
            f" {len(config.rootfs.diff_ids)} diff IDs"
        )


# ---------------------------------------------------------------------- docker-archive


def _docker_entries(contents: ArchiveContents) -> list[dict[str, Any]]:
    doc = _json(contents.metadata["manifest.json"], "manifest.json")
    if not isinstance(doc, list):
        raise InvalidArgument("manifest.json: expected a JSON array")
    for i, entry in enumerate(doc):
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidArgument(f"manifest.json[{i}].Config: required field is missing")
        layers = entry.get("Layers")
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise InvalidArgument(f"manifest.json[{i}].Layers: expected an array of strings")
        tags = entry.get("RepoTags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            raise InvalidArgument(f"manifest.json[{i}].RepoTags: expected an array of strings")
    return doc


def _plan_docker(
    contents: ArchiveContents, content: ContentStore
) -> list[tuple[list[str], Descriptor]]:
    plan = []
    for i, entry in enumerate(_docker_entries(contents)):
        what = f"manifest.json[{i}]"
        config_member = contents.member(entry["Config"])
        config_bytes = content.read(config_member.digest, max_size=MAX_DOCUMENT_SIZE)
        config = parse_image_config(config_bytes, what=f"{what} config")
        diff_ids = config.rootfs.diff_ids
        if len(entry["Layers"]) != len(diff_ids):
            raise InvalidArgument(
                f"{what}: {len(entry['Layers'])} layers but the config lists {len(diff_ids)}"
            )
        layers = []
        for j, (layer_name, diff_id) in enumerate(zip(entry["Layers"], diff_ids, strict=True)):
            member = contents.member(layer_name)
            media_type, actual = _layer_diff_id(content, member.digest)
            if actual != diff_id:
                raise InvalidArgument(
                    f"{what}.Layers[{j}]: diff ID {actual} does not match the config's {diff_id}"
                )
            layers.append(Descriptor(media_type=media_type, digest=member.digest, size=member.size))
        manifest = Manifest(
            schema_version=2,
            media_type=DOCKER_MANIFEST_V2,
            config=Descriptor(
                media_type=DOCKER_CONFIG, digest=config_member.digest, size=config_member.size
            ),
            layers=tuple(layers),
        )
        manifest_bytes = to_json_bytes(manifest)
        existed = content.exists(_digest_of(manifest_bytes))
        digest = content.ingest(manifest_bytes)
        if not existed:
            contents.new_blobs.add(digest)
        target = Descriptor(media_type=DOCKER_MANIFEST_V2, digest=digest, size=len(manifest_bytes))
        plan.append((list(dict.fromkeys(entry.get("RepoTags") or [])), target))
    return plan


def _digest_of(data: bytes) -> str:
    d = Digester()
    d.update(data)
    return d.digest()


def _layer_diff_id(content: ContentStore, digest: str) -> tuple[str, str]:
    """The media type and diff ID of a layer blob (compressed or not)."""
    with content.open(digest) as f:
        stream, kind = decompressed(f)
        if kind == "":
            return DOCKER_LAYER, digest
        if kind != "gzip":
            raise InvalidArgument(
                f"layer {digest}: {kind} layers are not supported in docker archives"
            )
        d = Digester()
        try:
            while chunk := stream.read(_CHUNK):
                d.update(chunk)
        except (OSError, EOFError) as e:
            raise InvalidArgument(f"layer {digest}: corrupt gzip: {e}") from e
        return DOCKER_LAYER_GZIP, d.digest()
