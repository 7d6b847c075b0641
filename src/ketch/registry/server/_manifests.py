"""Manifest, tag-list and referrers endpoints."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from ketch.registry._grammar import is_digest, is_tag, split_digest
from ketch.registry.server._errors import RegistryError
from ketch.registry.server._state import STATE, State

__all__ = ["manifest", "paginate", "referrers", "tags_list"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
_INDEXES = (OCI_INDEX, DOCKER_LIST)
_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
_FOREIGN = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
)


def _state(request: web.Request) -> State:
    return request.app[STATE]


def _descriptor(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RegistryError("MANIFEST_INVALID", f"{where}: expected a descriptor object")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if not isinstance(digest, str) or not is_digest(digest):
        raise RegistryError("MANIFEST_INVALID", f"{where}.digest: invalid digest {digest!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RegistryError("MANIFEST_INVALID", f"{where}.size: expected a non-negative integer")
    if not isinstance(media_type, str) or not media_type:
        raise RegistryError("MANIFEST_INVALID", f"{where}.mediaType: expected a string")
    return value


def _check_manifest(data: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The media type and JSON of a valid manifest, else MANIFEST_INVALID."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise RegistryError("MANIFEST_INVALID", f"manifest is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise RegistryError("MANIFEST_INVALID", "manifest must be a JSON object")
    if doc.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", "only schemaVersion 2 manifests are accepted")
    declared = doc.get("mediaType")
    media_type = content_type.split(";")[0].strip()
    if declared is not None:
        if not isinstance(declared, str):
            raise RegistryError("MANIFEST_INVALID", "mediaType must be a string")
        if media_type and media_type != declared and media_type != "application/json":
            raise RegistryError(
                "MANIFEST_INVALID", f"mediaType {declared} does not match Content-Type"
            )
        media_type = declared
    if media_type not in _MANIFESTS + _INDEXES:
        if "manifests" in doc:
            media_type = OCI_INDEX
        elif "config" in doc:
            media_type = OCI_MANIFEST
        else:
            raise RegistryError("MANIFEST_INVALID", f"unsupported manifest type {media_type!r}")
    if media_type in _INDEXES:
        children = doc.get("manifests")
        if not isinstance(children, list):
            raise RegistryError("MANIFEST_INVALID", "manifests: expected an array")
        for i, child in enumerate(children):
            _descriptor(child, f"manifests[{i}]")
    else:
        _descriptor(doc.get("config"), "config")
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise RegistryError("MANIFEST_INVALID", "layers: expected an array")
        for i, layer in enumerate(layers):
            _descriptor(layer, f"layers[{i}]")
    if "subject" in doc:
        _descriptor(doc["subject"], "subject")
    return media_type, doc


def _check_references(state: State, name: str, media_type: str, doc: dict[str, Any]) -> None:
    storage = state.storage
    if media_type in _INDEXES:
        for child in doc["manifests"]:
            if storage.manifest(name, child["digest"]) is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", {"digest": child["digest"]})
        return
    for desc in [doc["config"], *doc.get("layers", [])]:
        if desc.get("urls") and desc["mediaType"] in _FOREIGN:
            continue
        size = (
            storage.blob_size(desc["digest"]) if storage.blob_linked(name, desc["digest"]) else None
        )
        if size is None:
            raise RegistryError("MANIFEST_BLOB_UNKNOWN", {"digest": desc["digest"]})
        if size != desc["size"]:
            raise RegistryError(
                "MANIFEST_INVALID", f"{desc['digest']} has size {size}, not {desc['size']}"
            )


def _artifact_type(media_type: str, doc: dict[str, Any]) -> str | None:
    value = doc.get("artifactType")
    if isinstance(value, str):
        return value
    config = doc.get("config")
    if media_type in _MANIFESTS and isinstance(config, dict):
        config_type = config.get("mediaType")
        return config_type if isinstance(config_type, str) else None
    return None


def _resolve(state: State, name: str, reference: str) -> str:
    if ":" in reference:
        if not is_digest(reference):
            raise RegistryError("DIGEST_INVALID", {"digest": reference})
        return reference
    if not is_tag(reference):
        raise RegistryError("TAG_INVALID", {"tag": reference})
    digest = state.storage.resolve_tag(name, reference)
    if digest is None:
        raise RegistryError("MANIFEST_UNKNOWN", {"tag": reference})
    return digest


def _accepts(request: web.Request, media_type: str) -> bool:
    values = request.headers.getall("Accept", [])
    if not values:
        return True
    accepted = {v.split(";")[0].strip() for header in values for v in header.split(",")}
    return bool(accepted & {media_type, "*/*", "application/*"}) or (
        media_type in _MANIFESTS + _INDEXES
        and not accepted & set(_MANIFESTS + _INDEXES)
        and "application/vnd.docker.distribution.manifest.v1+prettyjws" not in accepted
    )


async def manifest(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    """GET/HEAD/PUT/DELETE ``/v2/<name>/manifests/<reference>``."""
    state = _state(request)
    method = request.method
    if method in ("GET", "HEAD"):
        digest = _resolve(state, name, reference)
        found = state.storage.manifest(name, digest)
        if found is None:
            raise RegistryError("MANIFEST_UNKNOWN", {"digest": digest})
        media_type, data = found
        if not _accepts(request, media_type):
            raise RegistryError("MANIFEST_UNKNOWN", f"{media_type} is not in Accept")
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        if method == "HEAD":
            headers["Content-Length"] = str(len(data))
            headers["Content-Type"] = media_type
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=data, content_type=media_type, headers=headers)
    if state.config.read_only:
        raise RegistryError("UNSUPPORTED", "the registry is read-only")
    if method == "PUT":
        return await _put(request, state, name, reference)
    if method == "DELETE":
        if not state.config.delete_enabled:
            raise RegistryError("UNSUPPORTED", "deletion is disabled")
        return _delete(state, name, reference)
    raise RegistryError("UNSUPPORTED", f"{method} on a manifest")


async def _put(request: web.Request, state: State, name: str, reference: str) -> web.Response:
    if ":" in reference and not is_digest(reference):
        raise RegistryError("DIGEST_INVALID", {"digest": reference})
    if ":" not in reference and not is_tag(reference):
        raise RegistryError("TAG_INVALID", {"tag": reference})
    limit = state.config.max_manifest_size
    if request.content_length is not None and request.content_length > limit:
        raise RegistryError("SIZE_INVALID", f"manifest is larger than {limit} bytes", status=413)
    data = bytearray()
    while chunk := await request.content.read(1 << 16):
        data += chunk
        if len(data) > limit:
            raise RegistryError(
                "SIZE_INVALID", f"manifest is larger than {limit} bytes", status=413
            )
    body = bytes(data)
    if ":" in reference:
        parts = split_digest(reference)
        if parts is None:
            raise RegistryError("DIGEST_INVALID", {"digest": reference})
        digest = f"{parts[0]}:{hashlib.new(parts[0], body).hexdigest()}"
        tag = None
    else:
        if not is_tag(reference):
            raise RegistryError("TAG_INVALID", {"tag": reference})
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        tag = reference
    media_type, doc = _check_manifest(body, request.headers.get("Content-Type", ""))
    if tag is None and digest != reference:
        raise RegistryError("DIGEST_INVALID", f"manifest has digest {digest}")
    _check_references(state, name, media_type, doc)
    storage = state.storage
    storage.put_manifest(name, digest, media_type, body)
    if tag is not None:
        storage.tag(name, tag, digest)
    headers = {
        "Location": f"/v2/{name}/manifests/{digest}",
        "Docker-Content-Digest": digest,
    }
    subject = doc.get("subject")
    if isinstance(subject, dict):
        entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(body)}
        artifact_type = _artifact_type(media_type, doc)
        if artifact_type is not None:
            entry["artifactType"] = artifact_type
        if isinstance(doc.get("annotations"), dict):
            entry["annotations"] = doc["annotations"]
        storage.add_referrer(name, subject["digest"], entry)
        headers["OCI-Subject"] = subject["digest"]
    return web.Response(status=201, headers=headers)


def _delete(state: State, name: str, reference: str) -> web.Response:
    storage = state.storage
    if ":" not in reference:
        if not is_tag(reference):
            raise RegistryError("TAG_INVALID", {"tag": reference})
        if not storage.untag(name, reference):
            raise RegistryError("MANIFEST_UNKNOWN", {"tag": reference})
        return web.Response(status=202)
    if not is_digest(reference):
        raise RegistryError("DIGEST_INVALID", {"digest": reference})
    found = storage.manifest(name, reference)
    if found is None:
        raise RegistryError("MANIFEST_UNKNOWN", {"digest": reference})
    try:
        doc = json.loads(found[1])
    except (ValueError, RecursionError):
        doc = {}
    storage.delete_manifest(name, reference)
    subject = doc.get("subject") if isinstance(doc, dict) else None
    if (
        isinstance(subject, dict)
        and isinstance(subject.get("digest"), str)
        and is_digest(subject["digest"])
    ):
        storage.remove_referrer(name, subject["digest"], reference)
    return web.Response(status=202)


def paginate(request: web.Request, items: list[str], max_page: int) -> tuple[list[str], str | None]:
    """Apply ``n`` and ``last``; returns the page and the ``last`` for the next link, if any."""
    raw_n, last = request.query.get("n"), request.query.get("last")
    if last is not None:
        items = [item for item in items if item > last]
    if raw_n is None:
        return items, None
    try:
        n = int(raw_n)
    except ValueError as e:
        raise RegistryError("PAGINATION_NUMBER_INVALID", {"n": raw_n}) from e
    if n < 0 or n > max_page:
        raise RegistryError("PAGINATION_NUMBER_INVALID", {"n": raw_n, "max": max_page})
    page = items[:n]
    more = len(items) > n and n > 0
    return page, (page[-1] if more else None)


async def tags_list(request: web.Request, name: str) -> web.Response:
    """GET ``/v2/<name>/tags/list`` with ``n``/``last`` pagination and a ``Link`` header."""
    state = _state(request)
    if request.method not in ("GET", "HEAD"):
        raise RegistryError("UNSUPPORTED", f"{request.method} on tags")
    if not state.storage.repository_exists(name):
        raise RegistryError("NAME_UNKNOWN", {"name": name})
    page, next_last = paginate(request, state.storage.tags(name), state.config.max_page)
    headers = {}
    if next_last is not None:
        n = request.query["n"]
        headers["Link"] = f'</v2/{name}/tags/list?n={n}&last={next_last}>; rel="next"'
    return web.json_response({"name": name, "tags": page}, headers=headers)


async def referrers(request: web.Request, name: str, digest: str) -> web.Response:
    """GET ``/v2/<name>/referrers/<digest>`` with the ``artifactType`` filter."""
    state = _state(request)
    if request.method not in ("GET", "HEAD"):
        raise RegistryError("UNSUPPORTED", f"{request.method} on referrers")
    if not is_digest(digest):
        raise RegistryError("DIGEST_INVALID", {"digest": digest})
    entries = state.storage.referrers(name, digest)
    headers = {}
    artifact_type = request.query.get("artifactType")
    if artifact_type is not None:
        entries = [e for e in entries if e.get("artifactType") == artifact_type]
        headers["OCI-Filters-Applied"] = "artifactType"
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    return web.Response(
        status=200, body=json.dumps(index).encode(), content_type=OCI_INDEX, headers=headers
    )
