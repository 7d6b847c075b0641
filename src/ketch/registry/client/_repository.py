"""One repository on one registry endpoint: manifests, blobs, uploads, tags."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from yarl import URL

from ketch.content import ContentStore
from ketch.errors import Conflict, InvalidArgument, NotFound, Unavailable
from ketch.oci.digest import digest_bytes, parse_digest
from ketch.oci.image_spec import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
)
from ketch.registry.client._transport import Transport, raise_for_status, read_error
from ketch.registry.config import Endpoint

__all__ = ["MANIFEST_ACCEPT", "MAX_MANIFEST_SIZE", "RemoteRepository"]

MAX_MANIFEST_SIZE = 4 << 20
MANIFEST_ACCEPT = ", ".join(
    (MEDIA_TYPE_OCI_INDEX, DOCKER_MANIFEST_LIST, MEDIA_TYPE_OCI_MANIFEST, DOCKER_MANIFEST_V2)
)
_READ_CHUNK = 1 << 20
_WRITE_BATCH = 1 << 21
_TRANSIENT = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)

Progress = Callable[[int], None]


class RemoteRepository:
    """Operations on ``endpoint.repository`` at ``endpoint.host``."""

    def __init__(self, transport: Transport, endpoint: Endpoint, *, push: bool = False) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.host = endpoint.host
        self.name = endpoint.repository
        self.scopes: tuple[str, ...] = (
            f"repository:{self.name}:pull,push" if push else f"repository:{self.name}:pull",
        )

    def _path(self, tail: str) -> str:
        return f"/v2/{self.name}/{tail}"

    async def _request(self, method: str, tail: str | URL, **kwargs: Any) -> aiohttp.ClientResponse:
        target = self._path(tail) if isinstance(tail, str) else tail
        return await self.transport.request(
            method, self.host, target, scopes=kwargs.pop("scopes", self.scopes), **kwargs
        )

    # -- manifests ---------------------------------------------------------------

    async def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """``(bytes, media type, digest)``; a digest reference is verified."""
        resp = await self._request(
            "GET", f"manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        what = f"{self.host}/{self.name}:{reference}"
        if resp.status == 404:
            raise NotFound(f"manifest for {what} not found: {await read_error(resp)}")
        if resp.status != 200:
            raise_for_status(resp.status, f"manifest {what}", await read_error(resp))
        try:
            if (resp.content_length or 0) > MAX_MANIFEST_SIZE:
                raise InvalidArgument(f"manifest {what} is larger than {MAX_MANIFEST_SIZE} bytes")
            data = await resp.content.read(MAX_MANIFEST_SIZE + 1)
            if len(data) > MAX_MANIFEST_SIZE:
                raise InvalidArgument(f"manifest {what} is larger than {MAX_MANIFEST_SIZE} bytes")
            media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            header_digest = resp.headers.get("Docker-Content-Digest")
        except _TRANSIENT as e:
            raise Unavailable(f"manifest {what}: {e}") from e
        finally:
            resp.release()
        if ":" in reference:
            expected = reference
        elif header_digest:
            expected = header_digest
        else:
            expected = digest_bytes(data)
        algorithm, _ = parse_digest(expected)
        actual = digest_bytes(data, algorithm)
        if actual != expected:
            raise InvalidArgument(f"manifest {what}: content has digest {actual}, not {expected}")
        if not media_type or media_type in ("application/json", "text/plain"):
            media_type = _declared_media_type(data)
        return data, media_type, actual

    async def manifest_exists(self, reference: str) -> bool:
        resp = await self._request(
            "HEAD", f"manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        resp.release()
        return resp.status == 200

    async def put_manifest(self, reference: str, media_type: str, data: bytes) -> str:
        resp = await self._request(
            "PUT", f"manifests/{reference}", data=data, headers={"Content-Type": media_type}
        )
        if resp.status not in (200, 201, 202):
            raise_for_status(
                resp.status, f"push manifest {self.name}:{reference}", await read_error(resp)
            )
        digest = resp.headers.get("Docker-Content-Digest") or digest_bytes(data)
        resp.release()
        return digest

    async def tags(self) -> list[str]:
        """Every tag, following ``Link`` pagination."""
        out: list[str] = []
        target: str | URL = "tags/list"
        for _ in range(10000):
            resp = await self._request("GET", target)
            if resp.status != 200:
                raise_for_status(resp.status, f"tags of {self.name}", await read_error(resp))
            try:
                doc = await resp.json(content_type=None)
            finally:
                resp.release()
            tags = doc.get("tags") if isinstance(doc, dict) else None
            out.extend(t for t in tags or () if isinstance(t, str))
            link = resp.headers.get("Link")
            if not link or 'rel="next"' not in link:
                return out
            target = URL(link.split(";")[0].strip().strip("<>"))
        raise Unavailable(f"tags of {self.name}: too many pages")

    # -- blobs -------------------------------------------------------------------

    async def blob_exists(self, digest: str) -> bool:
        resp = await self._request("HEAD", f"blobs/{digest}")
        resp.release()
        if resp.status in (200, 404):
            return resp.status == 200
        raise_for_status(resp.status, f"blob {digest}", f"HTTP {resp.status}")
        return False

    async def fetch_blob(
        self, desc: Descriptor, content: ContentStore, progress: Progress | None = None
    ) -> None:
        """Stream a blob into ``content`` (verified), resuming with Range after failures."""
        if content.exists(desc.digest):
            return
        writer = None
        for _ in range(600):  # another writer holds the ingest: wait for it
            try:
                writer = content.writer(
                    f"pull-{desc.digest}", expected=desc.digest, total=desc.size
                )
                break
            except Conflict:
                await asyncio.sleep(0.1)
                if content.exists(desc.digest):
                    return
        if writer is None:
            raise Unavailable(f"blob {desc.digest} is locked by another pull")
        try:
            attempts = max(self.transport.retries, 1)
            for attempt in range(1, attempts + 1):
                try:
                    await self._download(desc, writer, progress)
                    break
                except _TRANSIENT as e:
                    if attempt == attempts:
                        raise Unavailable(f"blob {desc.digest}: {e or type(e).__name__}") from e
                    await asyncio.sleep(self.transport.backoff * 2 ** (attempt - 1))
            await asyncio.to_thread(writer.commit, desc.size, desc.digest)
        finally:
            writer.close()

    async def _download(self, desc: Descriptor, writer: Any, progress: Progress | None) -> None:
        headers = {}
        pending: list[bytes] = []
        pending_size = 0
        inflight: asyncio.Future[None] | None = None
        offset = writer.offset
        if offset >= desc.size > 0:
            return
        if offset:
            headers["Range"] = f"bytes={offset}-"
        resp = await self._request("GET", f"blobs/{desc.digest}", headers=headers)
        try:
            if resp.status == 206:
                start = _range_start(resp.headers.get("Content-Range", ""))
                if start != offset:
                    writer.truncate(0)
                    raise aiohttp.ClientPayloadError("server ignored the requested range")
            elif resp.status == 200:
                if offset:
                    writer.truncate(0)
            else:
                raise_for_status(resp.status, f"blob {desc.digest}", await read_error(resp))
            # file writes and hashing run in a thread (both release the GIL) while the
            # loop keeps receiving: on a fast link the first touch of page cache dominates
            async for chunk in resp.content.iter_any():
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= _WRITE_BATCH:
                    if inflight is not None:  # one batch is written while the next arrives
                        await asyncio.shield(inflight)
                        if progress is not None:
                            progress(writer.offset)
                    batch, pending, pending_size = pending, [], 0
                    inflight = asyncio.ensure_future(asyncio.to_thread(_write_all, writer, batch))
            if inflight is not None:
                await asyncio.shield(inflight)
        finally:
            if inflight is not None and not inflight.done():
                await asyncio.wait([inflight])  # the thread finishes before anything else writes
            failed = inflight is not None and (
                inflight.cancelled() or inflight.exception() is not None
            )
            if not failed:  # what arrived (also before a failure: kept for the resume)
                _write_all(writer, pending)
            resp.release()
        if progress is not None:
            progress(writer.offset)
        if writer.offset != desc.size:
            raise aiohttp.ClientPayloadError(
                f"blob ended after {writer.offset} of {desc.size} bytes"
            )

    async def mount_blob(self, digest: str, source: str) -> URL | None:
        """Try a cross-repository mount; returns None if mounted, else an upload URL."""
        scopes = (*self.scopes, f"repository:{source}:pull")
        resp = await self._request(
            "POST", "blobs/uploads/", params={"mount": digest, "from": source}, scopes=scopes
        )
        location = resp.headers.get("Location")
        resp.release()
        if resp.status == 201:
            return None
        if resp.status == 202 and location:
            return URL(location)
        raise_for_status(resp.status, f"mount {digest} from {source}", f"HTTP {resp.status}")
        return None

    async def start_upload(self) -> URL:
        resp = await self._request("POST", "blobs/uploads/")
        location = resp.headers.get("Location")
        if resp.status != 202 or not location:
            raise_for_status(resp.status, f"upload to {self.name}", await read_error(resp))
            raise InvalidArgument(f"upload to {self.name}: no Location in the answer")
        resp.release()
        return URL(location)

    async def upload_blob(
        self,
        desc: Descriptor,
        content: ContentStore,
        location: URL,
        progress: Progress | None = None,
        *,
        chunk_size: int | None = None,
    ) -> None:
        """Send a stored blob to an upload session: one PUT, or PATCH chunks then PUT."""
        if chunk_size is not None and desc.size > chunk_size:
            offset = 0
            while offset < desc.size:
                length = min(chunk_size, desc.size - offset)
                resp = await self._request(
                    "PATCH",
                    location,
                    data=_file_chunks(content, desc.digest, offset, length, progress),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(length),
                        "Content-Range": f"{offset}-{offset + length - 1}",
                    },
                )
                if resp.status != 202:
                    raise_for_status(resp.status, f"upload {desc.digest}", await read_error(resp))
                next_location = resp.headers.get("Location")
                resp.release()
                if next_location:
                    location = URL(next_location)
                offset += length
            resp = await self._request(
                "PUT", location.update_query(digest=desc.digest), headers={"Content-Length": "0"}
            )
        else:
            resp = await self._request(
                "PUT",
                location.update_query(digest=desc.digest),
                data=_file_chunks(content, desc.digest, 0, desc.size, progress),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(desc.size),
                },
            )
        if resp.status not in (201, 204):
            raise_for_status(resp.status, f"upload {desc.digest}", await read_error(resp))
        resp.release()


async def _file_chunks(
    content: ContentStore, digest: str, offset: int, length: int, progress: Progress | None
) -> AsyncIterator[bytes]:
    with content.open(digest) as f:
        f.seek(offset)
        left, sent = length, offset
        while left > 0:
            chunk = f.read(min(_READ_CHUNK, left))
            if not chunk:
                raise NotFound(f"blob {digest} is shorter than its descriptor says")
            left -= len(chunk)
            sent += len(chunk)
            yield chunk
            if progress is not None:
                progress(sent)


def _write_all(writer: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        writer.write(chunk)


def _range_start(header: str) -> int | None:
    value = header.strip()
    if value.startswith("bytes "):
        value = value[6:]
    start, sep, _ = value.partition("-")
    return int(start) if sep and start.isdigit() else None


def _declared_media_type(data: bytes) -> str:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise InvalidArgument(f"manifest is not JSON: {e}") from e
    if isinstance(doc, dict):
        declared = doc.get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
        if "manifests" in doc:
            return MEDIA_TYPE_OCI_INDEX
    return MEDIA_TYPE_OCI_MANIFEST
