"""``commit``: a container's changes as a new image layer on top of its image."""

from __future__ import annotations

import contextlib
import tempfile
import time

from ketch.errors import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.engine.containers import ContainerService

__all__ = ["commit_container"]

# the container settings an image keeps (docker commits the container's config)
_IMAGE_KEYS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
               "Labels", "StopSignal")


def _write_layer(svc: ContainerService, key: str, out: Any) -> Any:
    from ketch.layers import diff_layer

    snap = svc.engine.snapshotter
    upper = snap.upper_dir(key)
    lowers = snap.lower_dirs(key)
    if getattr(snap, "kind", "overlayfs") == "overlayfs":
        return diff_layer(upper, lowers, out, whiteout="overlay")
    return diff_layer(upper, lowers[:1], out, whiteout="delete")


def commit_container(
    svc: ContainerService,
    ref: str,
    *,
    reference: str | None = None,
    comment: str = "",
    author: str = "",
    changes: list[str] | None = None,
    pause: bool = True,
) -> str:
    """Commit ``ref``'s filesystem changes and config; returns the new image ID."""
    from ketch.images.changes import apply_changes
    from ketch.images.store import DANGLING_PREFIX, format_time
    from ketch.oci._decode import decode
    from ketch.oci.image_spec import (
        MEDIA_TYPE_OCI_CONFIG,
        MEDIA_TYPE_OCI_MANIFEST,
        ContainerConfig,
        Descriptor,
        History,
        Manifest,
        RootFS,
        image_config_to_json,
        manifest_to_json,
    )

    images, content = svc.engine.images, svc.engine.content
    if reference is not None:
        from ketch.images.reference import parse_reference

        reference = parse_reference(reference).string()
    doc = svc.get(ref)
    try:
        base = images.get(doc["Image"])
    except NotFound as e:
        raise NotFound(f"the image of container {doc['ID'][:12]} is gone: {doc['Image']}") from e
    base_config = images.config(base)
    _, base_manifest = images.resolve_manifest(base)
    container = {k: doc["Config"].get(k) for k in _IMAGE_KEYS if doc["Config"].get(k)}
    new_cc = apply_changes(decode(ContainerConfig, container), changes or [])  # before any write
    paused_here = False
    cid = doc["ID"]
    if pause and doc["State"]["Running"] and not doc["State"]["Paused"]:
        svc.runtime.pause(cid)
        paused_here = True
    try:
        with tempfile.TemporaryFile(dir=svc.engine.root) as spool:
            result = _write_layer(svc, doc["Snapshot"]["Key"], spool)
            spool.seek(0)
            content.ingest_stream(spool, expected=result.digest, total=result.size)
    finally:
        if paused_here:
            with contextlib.suppress(Exception):
                svc.runtime.resume(cid)
    created = format_time(time.time())
    command = " ".join([doc["Path"], *doc["Args"]])
    config = base_config.replace(
        config=new_cc,
        rootfs=RootFS(type="layers", diff_ids=(*base_config.rootfs.diff_ids, result.diff_id)),
        history=(*base_config.history,
                 History(created=created, created_by=command, comment=comment or None,
                         author=author or None)),
        created=created,
        author=author or None,
    )
    config_bytes = image_config_to_json(config)
    config_digest = content.ingest(config_bytes)
    manifest = Manifest(
        schema_version=2,
        media_type=MEDIA_TYPE_OCI_MANIFEST,
        config=Descriptor(MEDIA_TYPE_OCI_CONFIG, config_digest,
                          len(config_bytes)),
        layers=(*base_manifest.layers, Descriptor(result.media_type, result.digest, result.size)),
    )
    manifest_bytes = manifest_to_json(manifest)
    manifest_digest = content.ingest(manifest_bytes)
    target = Descriptor(MEDIA_TYPE_OCI_MANIFEST, manifest_digest,
                        len(manifest_bytes))
    images.put(reference or f"{DANGLING_PREFIX}{manifest_digest}", target)
    return str(config_digest)
