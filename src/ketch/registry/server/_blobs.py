"""Blob endpoints: GET/HEAD/DELETE blobs and the upload protocol (POST, PATCH, PUT, GET, DELETE)."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from ketch.errors import InvalidArgument, NotFound
from ketch.registry._grammar import is_digest, is_name
from ketch.registry.server._errors import RegistryError
from ketch.registry.server._state import MAY_PULL, STATE, State
from ketch.registry.server.storage import Upload

__all__ = ["blob", "upload", "uploads"]

_CONTENT_RANGE = re.compile(r"(?:bytes )?(\d+)-(\d+)(?:/\d+|/\*)?")
_CHUNK = 1 << 20
_WRITE_BATCH = 1 << 21


def _state(request: web.Request) -> State:
    return request.app[STATE]


def _check_digest(digest: str) -> None:
    if not is_digest(digest):
        raise RegistryError("DIGEST_INVALID", {"digest": digest})


async def blob(request: web.Request, name: str, digest: str) -> web.StreamResponse:
    """GET/HEAD (with Range) and DELETE of ``/v2/<name>/blobs/<digest>``."""
    state = _state(request)
    _check_digest(digest)
    if request.method == "DELETE":
        if not state.config.delete_enabled or state.config.read_only:
            raise RegistryError("UNSUPPORTED", "deletion is disabled")
        if not state.storage.unlink_blob(name, digest):
            raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
        return web.Response(status=202, headers={"Docker-Content-Digest": digest})
    if request.method not in ("GET", "HEAD"):
        raise RegistryError("UNSUPPORTED", f"{request.method} on a blob")
    path = state.storage.blob_path(digest) if state.storage.blob_linked(name, digest) else None
    if path is None:
        raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
    headers = {
        "Docker-Content-Digest": digest,
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        "Cache-Control": "max-age=31536000",
    }
    return web.FileResponse(path, chunk_size=1 << 18, headers=headers)


def _upload_headers(name: str, upload: Upload) -> dict[str, str]:
    end = upload.size - 1 if upload.size > 0 else 0
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload.uuid}",
        "Range": f"0-{end}",
        "Docker-Upload-UUID": upload.uuid,
    }


async def _receive(request: web.Request, state: State, upload: Upload) -> int:
    """Append the request body to ``upload``; returns the bytes received.

    Writes and hashing run in a worker thread (both release the GIL) in batches while
    the event loop keeps reading the socket.
    """
    limit = state.config.max_blob_size
    received = 0
    pending: list[bytes] = []
    pending_size = 0
    inflight: asyncio.Future[None] | None = None
    try:
        while True:
            chunk = await request.content.readany()
            if chunk:
                received += len(chunk)
                if upload.size + pending_size + len(chunk) > limit:
                    pending, pending_size = [], 0
                    if inflight is not None:
                        await asyncio.wait([inflight])
                    state.storage.cancel_upload(upload)
                    raise RegistryError(
                        "SIZE_INVALID", f"blob is larger than {limit} bytes", status=413
                    )
                pending.append(chunk)
                pending_size += len(chunk)
            if pending_size >= _WRITE_BATCH or (not chunk and pending):
                if inflight is not None:
                    await inflight
                batch, pending, pending_size = pending, [], 0
                inflight = asyncio.ensure_future(asyncio.to_thread(_write_all, upload, batch))
            if not chunk:
                break
    finally:
        if inflight is not None and not inflight.done():
            await asyncio.wait([inflight])
        _write_all(upload, pending)  # what arrived before a failure stays for a resume
        upload.close()
    if inflight is not None:
        inflight.result()
    return received


def _write_all(upload: Upload, chunks: list[bytes]) -> None:
    for chunk in chunks:
        upload.write(chunk)


def _check_content_range(request: web.Request, upload: Upload) -> None:
    header = request.headers.get("Content-Range")
    if header is None:
        return
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise RegistryError("RANGE_INVALID", f"bad Content-Range {header!r}", status=416)
    start, end = int(match.group(1)), int(match.group(2))
    if start != upload.size or end < start:
        raise RegistryError(
            "RANGE_INVALID",
            f"chunk starts at {start}, upload has {upload.size} bytes",
            status=416,
            headers=_upload_headers(upload.name, upload),
        )
    length = request.content_length
    if length is not None and length != end - start + 1:
        raise RegistryError(
            "RANGE_INVALID",
            "Content-Range does not match Content-Length",
            status=416,
            headers=_upload_headers(upload.name, upload),
        )


async def _finish(state: State, upload: Upload, digest: str) -> web.Response:
    try:
        await asyncio.to_thread(
            state.storage.commit_upload, upload, digest, state.config.max_blob_size
        )
    except InvalidArgument as e:
        raise RegistryError("DIGEST_INVALID", str(e)) from e
    return web.Response(
        status=201,
        headers={
            "Location": f"/v2/{upload.name}/blobs/{digest}",
            "Docker-Content-Digest": digest,
        },
    )


def _writable(state: State) -> None:
    if state.config.read_only:
        raise RegistryError("UNSUPPORTED", "the registry is read-only")


async def uploads(request: web.Request, name: str) -> web.StreamResponse:
    """POST ``/v2/<name>/blobs/uploads/``: start an upload, monolithic upload or mount."""
    state = _state(request)
    if request.method != "POST":
        raise RegistryError("UNSUPPORTED", f"{request.method} on uploads")
    _writable(state)
    query = request.query
    mount, source = query.get("mount"), query.get("from")
    if mount is not None:
        _check_digest(mount)
        if (
            source is not None
            and is_name(source)
            and request.get(MAY_PULL, _may_pull_default)(source)
            and state.storage.blob_linked(source, mount)
        ):
            state.storage.link_blob(name, mount)
            return web.Response(
                status=201,
                headers={
                    "Location": f"/v2/{name}/blobs/{mount}",
                    "Docker-Content-Digest": mount,
                },
            )
        # not mountable: fall back to a new upload session (202)
    digest = query.get("digest")
    if digest is not None:
        _check_digest(digest)
    upload = state.storage.start_upload(name)
    if digest is not None:
        try:
            await _receive(request, state, upload)
        except BaseException:  # nobody knows this session's id: drop it
            state.storage.cancel_upload(upload)
            raise
        return await _finish(state, upload, digest)
    if request.body_exists:
        await _receive(request, state, upload)
    return web.Response(status=202, headers=_upload_headers(name, upload))


def _may_pull_default(name: str) -> bool:
    return True


async def upload(request: web.Request, name: str, upload_id: str) -> web.StreamResponse:
    """GET/PATCH/PUT/DELETE ``/v2/<name>/blobs/uploads/<uuid>``.

    Requests that change one session are serialized; a request that waited finds the
    session gone if the one before it finished or cancelled it.
    """
    state = _state(request)
    if request.method == "GET":
        return web.Response(
            status=204, headers=_upload_headers(name, _open(state, name, upload_id))
        )
    _writable(state)
    lock = state.upload_locks.setdefault(upload_id, asyncio.Lock())
    async with lock:
        session = _open(state, name, upload_id)
        method = request.method
        if method == "DELETE":
            state.storage.cancel_upload(session)
            state.upload_locks.pop(upload_id, None)
            return web.Response(status=204)
        if method == "PATCH":
            _check_content_range(request, session)
            await _receive(request, state, session)
            return web.Response(status=202, headers=_upload_headers(name, session))
        if method == "PUT":
            digest = request.query.get("digest")
            if digest is None:
                raise RegistryError("DIGEST_INVALID", "digest query parameter is required")
            _check_digest(digest)
            if request.body_exists:
                _check_content_range(request, session)
                await _receive(request, state, session)
            state.upload_locks.pop(upload_id, None)
            return await _finish(state, session, digest)
    raise RegistryError("UNSUPPORTED", f"{request.method} on an upload")


def _open(state: State, name: str, upload_id: str) -> Upload:
    try:
        return state.storage.open_upload(name, upload_id)
    except NotFound as e:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", str(e)) from e
