"""Where the registry server keeps blobs, manifests, tags, referrers and uploads.

``Storage`` is the interface the HTTP handlers use; ``FilesystemStorage`` lays it out
on a local directory (an S3-like backend could implement the same methods)::

    blobs/<alg>/<hex>                                 content, by digest (manifests too)
    repositories/<name>/_layers/<alg>/<hex>           blob linked into a repository
    repositories/<name>/_manifests/revisions/<alg>/<hex>   manifest of the repository
                                                      (the file holds its media type)
    repositories/<name>/_manifests/tags/<tag>         the tag's manifest digest
    repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>   a referrer's descriptor (JSON)
    uploads/<uuid>/{data,name}                        resumable upload sessions

Every file appears complete or not at all (temp file, fsync, rename, fsync dir); a
blob becomes visible only after its digest was verified.  Names and digests are
checked against the spec's grammar before they reach a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid as uuidlib
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ketch.errors import InvalidArgument, NotFound
from ketch.linux.durable import fsync_dir, write_file
from ketch.registry._grammar import is_name, is_tag, split_digest

__all__ = ["FilesystemStorage", "Storage", "Upload"]


class Upload(Protocol):
    """An upload session being written."""

    uuid: str
    name: str

    @property
    def size(self) -> int: ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Storage(Protocol):
    """What the registry handlers need from a storage backend."""

    def blob_size(self, digest: str) -> int | None: ...
    def blob_path(self, digest: str) -> Path | None: ...
    def read_blob(self, digest: str) -> bytes: ...
    def put_blob(self, data: bytes, digest: str) -> None: ...
    def delete_blob(self, digest: str) -> None: ...
    def blobs(self) -> list[str]: ...

    def link_blob(self, name: str, digest: str) -> None: ...
    def blob_linked(self, name: str, digest: str) -> bool: ...
    def unlink_blob(self, name: str, digest: str) -> bool: ...

    def start_upload(self, name: str) -> Upload: ...
    def open_upload(self, name: str, upload_id: str) -> Upload: ...
    def commit_upload(self, upload: Upload, digest: str, max_size: int) -> int: ...
    def cancel_upload(self, upload: Upload) -> None: ...
    def expire_uploads(self, older_than: float) -> int: ...

    def repositories(self) -> list[str]: ...
    def repository_exists(self, name: str) -> bool: ...

    def put_manifest(self, name: str, digest: str, media_type: str, data: bytes) -> None: ...
    def manifest(self, name: str, digest: str) -> tuple[str, bytes] | None: ...
    def manifests(self, name: str) -> list[str]: ...
    def delete_manifest(self, name: str, digest: str) -> bool: ...

    def tag(self, name: str, tag: str, digest: str) -> None: ...
    def resolve_tag(self, name: str, tag: str) -> str | None: ...
    def tags(self, name: str) -> list[str]: ...
    def untag(self, name: str, tag: str) -> bool: ...

    def add_referrer(self, name: str, subject: str, descriptor: dict[str, Any]) -> None: ...
    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]: ...
    def remove_referrer(self, name: str, subject: str, digest: str) -> None: ...


def _digest_parts(digest: str) -> tuple[str, str]:
    parts = split_digest(digest)
    if parts is None:
        raise InvalidArgument(f"invalid digest {digest!r}")
    return parts


def _hasher(algorithm: str) -> Any:
    return hashlib.new(algorithm)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, data, 0o644)


class _FileUpload:
    """An upload session: appends to ``uploads/<uuid>/data``, hashing as it goes.

    The running hash survives only in memory; after a restart (or a second process)
    ``commit`` re-reads the data to verify it.
    """

    def __init__(self, directory: Path, upload_id: str, name: str) -> None:
        self.uuid = upload_id
        self.name = name
        self.directory = directory
        self._file: BinaryIO | None = None
        self._size = (directory / "data").stat().st_size
        # a running sha256 exists only for sessions this object saw from the first byte
        self._hashers: dict[str, Any] = {"sha256": _hasher("sha256")} if self._size == 0 else {}
        self._hashed = 0  # bytes seen by the running hashers

    @property
    def size(self) -> int:
        return self._size

    def refresh(self) -> None:
        """Re-read the size from disk (another process may have appended)."""
        if self._file is not None:
            return
        size = (self.directory / "data").stat().st_size
        if size != self._size:
            self._size = size
            self._hashers = {}

    def write(self, data: bytes) -> None:
        if self._file is None:
            self._file = open(self.directory / "data", "ab")  # noqa: SIM115
        self._file.write(data)
        if self._hashers and self._hashed == self._size:
            for h in self._hashers.values():
                h.update(data)
            self._hashed += len(data)
        self._size += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def digest_of_data(self, algorithm: str) -> str:
        """The digest of everything written (from the running hash when it is whole)."""
        self.close()
        running = self._hashers.get(algorithm)
        if running is not None and self._hashed == self._size:
            return f"{algorithm}:{running.hexdigest()}"
        h = _hasher(algorithm)
        with open(self.directory / "data", "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return f"{algorithm}:{h.hexdigest()}"


class FilesystemStorage:
    """``Storage`` on a local directory (see the module docstring for the layout).

    Open upload sessions are kept per instance so a running hash is reused between
    the PATCH and PUT of one upload; several server processes may share one root (a
    session's size is re-read from disk, and its digest recomputed when another
    process appended to it).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._uploads: dict[str, _FileUpload] = {}
        for sub in ("blobs", "repositories", "uploads"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    # -- blobs -----------------------------------------------------------------

    def _blob(self, digest: str) -> Path:
        algorithm, encoded = _digest_parts(digest)
        return self.root / "blobs" / algorithm / encoded

    def blob_size(self, digest: str) -> int | None:
        try:
            return self._blob(digest).stat().st_size
        except FileNotFoundError:
            return None

    def blob_path(self, digest: str) -> Path | None:
        path = self._blob(digest)
        return path if path.is_file() else None

    def read_blob(self, digest: str) -> bytes:
        try:
            return self._blob(digest).read_bytes()
        except FileNotFoundError as e:
            raise NotFound(f"blob {digest} not found") from e

    def put_blob(self, data: bytes, digest: str) -> None:
        algorithm, encoded = _digest_parts(digest)
        if hashlib.new(algorithm, data).hexdigest() != encoded:
            raise InvalidArgument(f"content does not match digest {digest}")
        path = self._blob(digest)
        if not path.exists():
            _atomic_write(path, data)

    def delete_blob(self, digest: str) -> None:
        self._blob(digest).unlink(missing_ok=True)

    def blobs(self) -> list[str]:
        out = []
        base = self.root / "blobs"
        for algorithm in sorted(os.listdir(base)):
            for encoded in sorted(os.listdir(base / algorithm)):
                if not encoded.startswith("."):
                    out.append(f"{algorithm}:{encoded}")
        return out

    # -- repositories ------------------------------------------------------------

    def _repo(self, name: str) -> Path:
        if not is_name(name):
            raise InvalidArgument(f"invalid repository name {name!r}")
        return self.root / "repositories" / name

    def repositories(self) -> list[str]:
        base = self.root / "repositories"
        found = []
        for dirpath, dirnames, _files in os.walk(base):
            if "_manifests" in dirnames or "_layers" in dirnames:
                found.append(os.path.relpath(dirpath, base))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(found)

    def repository_exists(self, name: str) -> bool:
        repo = self._repo(name)
        return (repo / "_manifests").is_dir() or (repo / "_layers").is_dir()

    def link_blob(self, name: str, digest: str) -> None:
        algorithm, encoded = _digest_parts(digest)
        link = self._repo(name) / "_layers" / algorithm / encoded
        if not link.exists():
            _atomic_write(link, digest.encode())

    def blob_linked(self, name: str, digest: str) -> bool:
        algorithm, encoded = _digest_parts(digest)
        link = self._repo(name) / "_layers" / algorithm / encoded
        return link.exists() and self._blob(digest).exists()

    def unlink_blob(self, name: str, digest: str) -> bool:
        algorithm, encoded = _digest_parts(digest)
        link = self._repo(name) / "_layers" / algorithm / encoded
        try:
            link.unlink()
        except FileNotFoundError:
            return False
        return True

    # -- uploads -----------------------------------------------------------------

    def start_upload(self, name: str) -> _FileUpload:
        self._repo(name)  # validates the name
        upload_id = str(uuidlib.uuid4())
        directory = self.root / "uploads" / upload_id
        directory.mkdir()
        (directory / "data").touch()
        (directory / "name").write_text(name)
        upload = _FileUpload(directory, upload_id, name)
        self._uploads[upload_id] = upload
        return upload

    def open_upload(self, name: str, upload_id: str) -> _FileUpload:
        try:
            canonical = str(uuidlib.UUID(upload_id))
        except ValueError as e:
            raise NotFound(f"upload {upload_id!r} not found") from e
        if canonical != upload_id:
            raise NotFound(f"upload {upload_id!r} not found")
        directory = self.root / "uploads" / upload_id
        upload = self._uploads.get(upload_id)
        if upload is not None and upload.name == name:
            try:
                upload.refresh()
            except FileNotFoundError as e:  # finished or cancelled by another process
                self._uploads.pop(upload_id, None)
                raise NotFound(f"upload {upload_id} not found") from e
            return upload
        try:
            owner = (directory / "name").read_text()
        except FileNotFoundError as e:
            raise NotFound(f"upload {upload_id} not found") from e
        if owner != name:
            raise NotFound(f"upload {upload_id} not found in {name}")
        upload = _FileUpload(directory, upload_id, name)
        self._uploads[upload_id] = upload
        return upload

    def commit_upload(self, upload: Upload, digest: str, max_size: int) -> int:
        """Verify the upload against ``digest``, move it into place, link it; returns its size.

        On a mismatch the session is removed and ``InvalidArgument`` raised: nothing stored.
        """
        assert isinstance(upload, _FileUpload)
        algorithm, _ = _digest_parts(digest)
        try:
            actual = upload.digest_of_data(algorithm)
            if actual != digest:
                raise InvalidArgument(f"upload content has digest {actual}, not {digest}")
            size = upload.size
            target = self._blob(digest)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                data = upload.directory / "data"
                with open(data, "rb") as f:
                    os.fsync(f.fileno())
                os.replace(data, target)
                fsync_dir(target.parent)
            self.link_blob(upload.name, digest)
            return size
        finally:
            self.cancel_upload(upload)

    def cancel_upload(self, upload: Upload) -> None:
        assert isinstance(upload, _FileUpload)
        upload.close()
        self._uploads.pop(upload.uuid, None)
        for entry in ("data", "name"):
            (upload.directory / entry).unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            upload.directory.rmdir()

    def expire_uploads(self, older_than: float) -> int:
        """Remove upload sessions untouched since ``older_than`` (a time.time() value)."""
        count = 0
        base = self.root / "uploads"
        for upload_id in os.listdir(base):
            directory = base / upload_id
            try:
                mtime = (directory / "data").stat().st_mtime
            except FileNotFoundError:
                mtime = 0.0
            if mtime < older_than:
                upload = self._uploads.pop(upload_id, None)
                if upload is not None:
                    upload.close()
                for entry in ("data", "name"):
                    (directory / entry).unlink(missing_ok=True)
                directory.rmdir()
                count += 1
        return count

    # -- manifests and tags ----------------------------------------------------

    def _revision(self, name: str, digest: str) -> Path:
        algorithm, encoded = _digest_parts(digest)
        return self._repo(name) / "_manifests" / "revisions" / algorithm / encoded

    def put_manifest(self, name: str, digest: str, media_type: str, data: bytes) -> None:
        self.put_blob(data, digest)
        _atomic_write(self._revision(name, digest), media_type.encode())

    def manifest(self, name: str, digest: str) -> tuple[str, bytes] | None:
        try:
            media_type = self._revision(name, digest).read_text()
            return media_type, self._blob(digest).read_bytes()
        except FileNotFoundError:
            return None

    def manifests(self, name: str) -> list[str]:
        base = self._repo(name) / "_manifests" / "revisions"
        if not base.is_dir():
            return []
        return [
            f"{algorithm}:{encoded}"
            for algorithm in sorted(os.listdir(base))
            for encoded in sorted(os.listdir(base / algorithm))
            if not encoded.startswith(".")
        ]

    def delete_manifest(self, name: str, digest: str) -> bool:
        try:
            self._revision(name, digest).unlink()
        except FileNotFoundError:
            return False
        for tag in self.tags(name):
            if self.resolve_tag(name, tag) == digest:
                self.untag(name, tag)
        return True

    def _tag(self, name: str, tag: str) -> Path:
        if not is_tag(tag):
            raise InvalidArgument(f"invalid tag {tag!r}")
        return self._repo(name) / "_manifests" / "tags" / tag

    def tag(self, name: str, tag: str, digest: str) -> None:
        _digest_parts(digest)
        _atomic_write(self._tag(name, tag), digest.encode())

    def resolve_tag(self, name: str, tag: str) -> str | None:
        try:
            return self._tag(name, tag).read_text()
        except FileNotFoundError:
            return None

    def tags(self, name: str) -> list[str]:
        base = self._repo(name) / "_manifests" / "tags"
        if not base.is_dir():
            return []
        return sorted(t for t in os.listdir(base) if not t.startswith("."))

    def untag(self, name: str, tag: str) -> bool:
        try:
            self._tag(name, tag).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- referrers ---------------------------------------------------------------

    def _referrers(self, name: str, subject: str) -> Path:
        algorithm, encoded = _digest_parts(subject)
        return self._repo(name) / "_referrers" / algorithm / encoded

    def add_referrer(self, name: str, subject: str, descriptor: dict[str, Any]) -> None:
        entry = str(descriptor["digest"]).replace(":", "-")
        _atomic_write(self._referrers(name, subject) / entry, json.dumps(descriptor).encode())

    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]:
        base = self._referrers(name, subject)
        if not base.is_dir():
            return []
        out = []
        for entry in sorted(os.listdir(base)):
            if entry.startswith("."):
                continue
            descriptor = json.loads((base / entry).read_bytes())
            if self.manifest(name, descriptor["digest"]) is not None:
                out.append(descriptor)
        return out

    def remove_referrer(self, name: str, subject: str, digest: str) -> None:
        (self._referrers(name, subject) / digest.replace(":", "-")).unlink(missing_ok=True)
