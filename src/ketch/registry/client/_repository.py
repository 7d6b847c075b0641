"""One repository on one registry endpoint: manifests, blobs, uploads, tags."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ketch.content import ContentStore
from ketch.errors import Conflict, InvalidArgument, NotFound, Unavailable
from ketch.oci.digest import digest_bytes, parse_digest
from ketch.oci.image_spec import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
    parse_json,
)
from ketch.registry.client._http import URL, FileBody, Response, TransferError, join_url
from ketch.registry.client._transport import (
    TRANSIENT,
    Transport,
    raise_for_status,
    read_error,
    read_json,
)
from ketch.registry.config import Endpoint

__all__ = ["MANIFEST_ACCEPT", "MAX_MANIFEST_SIZE", "Cancelled", "RemoteRepository"]

MAX_MANIFEST_SIZE = 4 << 20
MANIFEST_ACCEPT = ", ".join(
    (MEDIA_TYPE_OCI_INDEX, DOCKER_MANIFEST_LIST, MEDIA_TYPE_OCI_MANIFEST, DOCKER_MANIFEST_V2)
)
_READ_CHUNK = 1 << 20

Progress = Callable[[int], None]


class Cancelled(Exception):
    """Another part of the same operation failed: stop this transfer."""


class RemoteRepository:
    """Operations on ``endpoint.repository`` at ``endpoint.host`` (thread-safe)."""

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

    def _request(self, method: str, tail: str | URL, **kwargs: Any) -> Response:
        target = self._path(tail) if isinstance(tail, str) else tail
        return self.transport.request(
            method, self.host, target, scopes=kwargs.pop("scopes", self.scopes), **kwargs
        )

    # -- manifests ---------------------------------------------------------------

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """``(bytes, media type, digest)``; a digest reference is verified."""
        resp = self._request("GET", f"manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
        what = f"{self.host}/{self.name}:{reference}"
        if resp.status == 404:
            raise NotFound(f"manifest for {what} not found: {read_error(resp)}")
        if resp.status != 200:
            raise_for_status(resp.status, f"manifest {what}", read_error(resp))
        try:
            if (resp.content_length or 0) > MAX_MANIFEST_SIZE:
                raise InvalidArgument(f"manifest {what} is larger than {MAX_MANIFEST_SIZE} bytes")
            data = resp.read(MAX_MANIFEST_SIZE + 1)
            if len(data) > MAX_MANIFEST_SIZE:
                raise InvalidArgument(f"manifest {what} is larger than {MAX_MANIFEST_SIZE} bytes")
            media_type = (resp.header("content-type") or "").split(";")[0].strip()
            header_digest = resp.header("docker-content-digest")
        except TRANSIENT as e:
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
            media_type = _declared_media_type(data, f"manifest {what}")
        return data, media_type, actual

    def manifest_exists(self, reference: str) -> bool:
        resp = self._request("HEAD", f"manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
        resp.release()
        return resp.status == 200

    def put_manifest(self, reference: str, media_type: str, data: bytes) -> str:
        resp = self._request(
            "PUT", f"manifests/{reference}", data=data, headers={"Content-Type": media_type}
        )
        if resp.status not in (200, 201, 202):
            raise_for_status(
                resp.status, f"push manifest {self.name}:{reference}", read_error(resp)
            )
        digest = resp.header("docker-content-digest") or digest_bytes(data)
        resp.release()
        return digest

    def tags(self) -> list[str]:
        """Every tag, following ``Link`` pagination."""
        out: list[str] = []
        target: str | URL = "tags/list"
        for _ in range(10000):
            resp = self._request("GET", target)
            if resp.status != 200:
                raise_for_status(resp.status, f"tags of {self.name}", read_error(resp))
            try:
                doc = read_json(resp, f"tags list of {self.host}/{self.name}")
            except TRANSIENT as e:
                raise Unavailable(f"tags of {self.name}: {e}") from e
            finally:
                resp.release()
            tags = doc.get("tags") if isinstance(doc, dict) else None
            out.extend(t for t in tags or () if isinstance(t, str))
            link = resp.header("link")
            if not link or 'rel="next"' not in link:
                return out
            try:
                target = join_url(
                    self.transport.base_url(self.host), link.split(";")[0].strip().strip("<>")
                )
            except ValueError as e:
                raise Unavailable(f"tags of {self.name}: bad Link {link!r}") from e
        raise Unavailable(f"tags of {self.name}: too many pages")

    # -- blobs -------------------------------------------------------------------

    def blob_exists(self, digest: str) -> bool:
        resp = self._request("HEAD", f"blobs/{digest}")
        resp.release()
        if resp.status in (200, 404):
            return resp.status == 200
        raise_for_status(resp.status, f"blob {digest}", f"HTTP {resp.status}")
        return False

    def fetch_blob(
        self,
        desc: Descriptor,
        content: ContentStore,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
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
                time.sleep(0.1)
                if content.exists(desc.digest):
                    return
        if writer is None:
            raise Unavailable(f"blob {desc.digest} is locked by another pull")
        try:
            attempts = max(self.transport.retries, 1)
            for attempt in range(1, attempts + 1):
                try:
                    self._download(desc, writer, progress, cancel)
                    break
                except TRANSIENT as e:
                    if attempt == attempts:
                        raise Unavailable(f"blob {desc.digest}: {e or type(e).__name__}") from e
                    time.sleep(self.transport.backoff * 2 ** (attempt - 1))
            # the writer hashed every byte as it was written: commit compares, never re-reads
            writer.commit(desc.size, desc.digest)
        finally:
            writer.close()

    def _download(
        self,
        desc: Descriptor,
        writer: Any,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> None:
        headers = {}
        offset = writer.offset
        if offset >= desc.size > 0:
            return
        if offset:
            headers["Range"] = f"bytes={offset}-"
        resp = self._request("GET", f"blobs/{desc.digest}", headers=headers)
        try:
            if resp.status == 206:
                start = _range_start(resp.header("content-range") or "")
                if start != offset:
                    writer.truncate(0)
                    raise TransferError("server ignored the requested range")
            elif resp.status == 200:
                if offset:
                    writer.truncate(0)
            else:
                raise_for_status(resp.status, f"blob {desc.digest}", read_error(resp))
            buf = bytearray(_READ_CHUNK)
            view = memoryview(buf)
            filled = 0
            while True:
                try:
                    n = resp.readinto(view[filled:])
                except BaseException:
                    writer.write(view[:filled])  # kept for the resume
                    raise
                filled += n
                if n == 0 or filled == len(buf):
                    if filled:
                        writer.write(view[:filled])
                        filled = 0
                        if progress is not None:
                            progress(writer.offset)
                    if n == 0:
                        break
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
        finally:
            resp.release()
        if writer.offset != desc.size:
            raise TransferError(f"blob ended after {writer.offset} of {desc.size} bytes")

    def mount_blob(self, digest: str, source: str) -> URL | None:
        """Try a cross-repository mount; returns None if mounted, else an upload URL."""
        scopes = (*self.scopes, f"repository:{source}:pull")
        resp = self._request(
            "POST", "blobs/uploads/", params={"mount": digest, "from": source}, scopes=scopes
        )
        location = resp.header("location")
        resp.release()
        if resp.status == 201:
            return None
        if resp.status == 202 and location:
            return self._location(location)
        raise_for_status(resp.status, f"mount {digest} from {source}", f"HTTP {resp.status}")
        return None

    def _location(self, location: str) -> URL:
        try:
            return join_url(self.transport.base_url(self.host), location)
        except ValueError as e:
            raise Unavailable(f"{self.host}: bad upload Location {location!r}") from e

    def start_upload(self) -> URL:
        resp = self._request("POST", "blobs/uploads/")
        location = resp.header("location")
        if resp.status != 202 or not location:
            raise_for_status(resp.status, f"upload to {self.name}", read_error(resp))
            raise InvalidArgument(f"upload to {self.name}: no Location in the answer")
        resp.release()
        return self._location(location)

    def upload_blob(
        self,
        desc: Descriptor,
        content: ContentStore,
        location: URL,
        progress: Progress | None = None,
        *,
        chunk_size: int | None = None,
    ) -> None:
        """Send a stored blob to an upload session: one PUT, or PATCH chunks then PUT."""
        path = str(content.path(desc.digest))
        if chunk_size is not None and desc.size > chunk_size:
            offset = 0
            while offset < desc.size:
                length = min(chunk_size, desc.size - offset)
                resp = self._request(
                    "PATCH",
                    location,
                    data=FileBody(path, offset, length, progress),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + length - 1}",
                    },
                    retry=False,
                )
                if resp.status != 202:
                    raise_for_status(resp.status, f"upload {desc.digest}", read_error(resp))
                next_location = resp.header("location")
                resp.release()
                if next_location:
                    location = self._location(next_location)
                offset += length
            resp = self._request("PUT", _with_digest(location, desc.digest), retry=False)
        else:
            resp = self._request(
                "PUT",
                _with_digest(location, desc.digest),
                data=FileBody(path, 0, desc.size, progress),
                headers={"Content-Type": "application/octet-stream"},
                retry=False,
            )
        if resp.status not in (201, 204):
            raise_for_status(resp.status, f"upload {desc.digest}", read_error(resp))
        resp.release()


def _with_digest(location: URL, digest: str) -> URL:
    from urllib.parse import quote

    sep = "&" if "?" in location.target else "?"
    return location._replace(target=f"{location.target}{sep}digest={quote(digest, safe='')}")


def _range_start(header: str) -> int | None:
    value = header.strip()
    if value.startswith("bytes "):
        value = value[6:]
    start, sep, _ = value.partition("-")
    return int(start) if sep and start.isdigit() else None


def _declared_media_type(data: bytes, what: str) -> str:
    doc = parse_json(data, what)
    if isinstance(doc, dict):
        declared = doc.get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
        if "manifests" in doc:
            return MEDIA_TYPE_OCI_INDEX
    return MEDIA_TYPE_OCI_MANIFEST
