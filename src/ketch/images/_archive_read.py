"""Read an image archive (tar, any compression) member by member into the content store.

Nothing is extracted to the filesystem: each regular file is ingested as a blob,
so member names are only keys and cannot escape anywhere; still, names that are
absolute or climb with ``..`` are refused, as are links pointing out of the
archive.  The few metadata files (``manifest.json``, ``index.json``,
``repositories``, ``oci-layout``) are also kept in memory, bounded in size.
"""

import os
import posixpath
import tarfile
from typing import IO, BinaryIO

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, ResourceExhausted
from ketch.images._compression import decompressed
from ketch.oci._record import Record

__all__ = ["ArchiveContents", "ArchiveMember", "read_archive"]

METADATA_NAMES = frozenset({"manifest.json", "index.json", "repositories", "oci-layout"})
MAX_METADATA_SIZE = 8 << 20
MAX_MEMBERS = 100_000
_CHUNK = 1 << 20


class ArchiveMember(Record):
    digest: str
    size: int


class ArchiveContents:
    """Members by normalized name; ``new_blobs`` were not in the store before."""

    def __init__(self) -> None:
        self.members: dict[str, ArchiveMember] = {}
        self.metadata: dict[str, bytes] = {}
        self.links: dict[str, str] = {}
        self.new_blobs: set[str] = set()

    def member(self, name: str) -> ArchiveMember:
        """A member by the name a manifest uses, following links inside the archive."""
        key = clean_name(name)
        for _ in range(16):
            found = self.members.get(key)
            if found is not None:
                return found
            target = self.links.get(key)
            if target is None:
                break
            key = target
        raise InvalidArgument(f"archive has no file {name!r}")


def clean_name(name: str) -> str:
    """``name`` normalized; ``InvalidArgument`` if it is absolute or leaves the archive."""
    if "\x00" in name:
        raise InvalidArgument(f"archive member name {name!r} contains NUL")
    if name.startswith("/"):
        raise InvalidArgument(f"archive member name {name!r} is absolute")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"archive member name {name!r} leaves the archive")
    return "/".join(parts)


def _link_target(member: tarfile.TarInfo, name: str) -> str:
    if member.issym():
        joined = posixpath.join(posixpath.dirname(name), member.linkname)
        if member.linkname.startswith("/"):
            raise InvalidArgument(f"archive link {name!r} points outside the archive")
        normalized = posixpath.normpath(joined)
        if normalized.startswith("../") or normalized == "..":
            raise InvalidArgument(f"archive link {name!r} points outside the archive")
        return clean_name(normalized)
    return clean_name(member.linkname)


def read_archive(stream: BinaryIO, content: ContentStore) -> ArchiveContents:
    """Ingest every regular file of the archive; on error, remove the blobs it added."""
    contents = ArchiveContents()
    try:
        _read(stream, content, contents)
    except BaseException:
        discard_new(content, contents.new_blobs)
        raise
    return contents


def discard_new(content: ContentStore, digests: set[str]) -> None:
    for digest in digests:
        try:
            content.delete(digest)
        except NotFound:  # already gone; a failed rollback leaves work for gc only
            continue


def _read(stream: BinaryIO, content: ContentStore, contents: ArchiveContents) -> None:
    raw, _ = decompressed(stream)
    try:
        tar = tarfile.open(fileobj=raw, mode="r|")  # noqa: SIM115 (closed below)
    except tarfile.TarError as e:
        raise InvalidArgument(f"archive is not a tar file: {e}") from e
    try:
        _members(tar, content, contents)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise InvalidArgument(f"archive is corrupt or truncated: {e}") from e
    finally:
        tar.close()
    if not contents.members:
        raise InvalidArgument("archive is empty or not an image archive")


def _members(tar: tarfile.TarFile, content: ContentStore, contents: ArchiveContents) -> None:
    count = 0
    for member in tar:
        count += 1
        if count > MAX_MEMBERS:
            raise ResourceExhausted(f"archive has more than {MAX_MEMBERS} members")
        name = clean_name(member.name)
        if member.isdir() or not name:
            continue
        if member.issym() or member.islnk():
            contents.links[name] = _link_target(member, name)
            continue
        if not member.isfile():
            continue  # devices, fifos: no place in an image archive
        if name in METADATA_NAMES and member.size > MAX_METADATA_SIZE:
            raise ResourceExhausted(
                f"archive member {name} is {member.size} bytes (limit {MAX_METADATA_SIZE})"
            )
        f = tar.extractfile(member)
        if f is None:
            continue
        if name in METADATA_NAMES:  # kept in memory only: no blob for it
            contents.metadata[name] = f.read(MAX_METADATA_SIZE + 1)
            continue
        digest = _ingest_member(content, f, member.size, name, contents)
        contents.members[name] = ArchiveMember(digest=digest, size=member.size)


def _ingest_member(
    content: ContentStore, f: IO[bytes], size: int, name: str, contents: ArchiveContents
) -> str:
    ref = f"archive-{os.getpid()}-{os.urandom(8).hex()}"
    with content.writer(ref, total=size) as w:
        try:
            while chunk := f.read(_CHUNK):
                w.write(chunk)
            if w.offset != size:
                raise InvalidArgument(f"archive member {name} is truncated")
            digest = w.digest()
            existed = content.exists(digest)
            digest = w.commit(size=size)
        except BaseException:
            w.discard()
            raise
    if not existed:
        contents.new_blobs.add(digest)
    return digest
