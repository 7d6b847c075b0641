"""``ContentStore``: a local content-addressed blob store.

Layout under ``root``: ``blobs/<alg>/<hex>`` (read-only files, visible only once
committed) and ``ingest/<sha256(ref)>/{data,ref,expected,total,startedat,lock}``.
"""

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ketch.content._writer import ContentWriter, ingest_dir_name, open_ingest
from ketch.errors import Conflict, InvalidArgument, NotFound
from ketch.oci._record import Record
from ketch.oci.digest import ALGORITHMS, parse_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO  # typing costs ~2 ms at run time

__all__ = ["BlobInfo", "ContentStore", "IngestStatus"]

_CHUNK = 1 << 20


class BlobInfo(Record):
    digest: str
    size: int
    created: float  # seconds since the epoch (commit time)


class IngestStatus(Record):
    ref: str
    offset: int
    total: int | None
    expected: str | None
    started_at: float
    updated_at: float


class ContentStore:
    """Blobs by digest.  Safe for concurrent readers and for concurrent writers of
    different refs; a second writer of the same ref gets ``Conflict`` unless it asks
    to ``wait`` for the first to finish.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._ingest = self.root / "ingest"

    # ------------------------------------------------------------------ reading
    def path(self, digest: str) -> Path:
        """The file of a committed blob; ``NotFound`` if absent."""
        algorithm, encoded = parse_digest(digest)
        p = self._blobs / algorithm / encoded
        if not p.is_file():
            raise NotFound(f"content {digest}: not found")
        return p

    def exists(self, digest: str) -> bool:
        try:
            self.path(digest)
        except NotFound:
            return False
        return True

    def info(self, digest: str) -> BlobInfo:
        p = self.path(digest)
        try:
            st = p.stat()
        except FileNotFoundError as e:
            raise NotFound(f"content {digest}: not found") from e
        return BlobInfo(digest=digest, size=st.st_size, created=st.st_mtime)

    def open(self, digest: str) -> "BinaryIO":
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as e:
            raise NotFound(f"content {digest}: not found") from e

    def read(self, digest: str, *, max_size: int | None = None) -> bytes:
        """The whole blob; ``max_size`` bounds it (``InvalidArgument`` beyond)."""
        with self.open(digest) as f:
            if max_size is not None:
                data = f.read(max_size + 1)
                if len(data) > max_size:
                    raise InvalidArgument(f"content {digest}: larger than {max_size} bytes")
                return data
            return f.read()

    def walk(self) -> Iterator[BlobInfo]:
        """Every committed blob (in no particular order)."""
        for algorithm in ALGORITHMS:
            directory = self._blobs / algorithm
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for entry in entries:
                digest = f"{algorithm}:{entry.name}"
                try:
                    parse_digest(digest)
                    st = entry.stat(follow_symlinks=False)
                except (InvalidArgument, FileNotFoundError):
                    continue
                yield BlobInfo(digest=digest, size=st.st_size, created=st.st_mtime)

    # ------------------------------------------------------------------ writing
    def writer(
        self,
        ref: str,
        *,
        expected: str | None = None,
        total: int | None = None,
        wait: bool = False,
    ) -> ContentWriter:
        """Open (or resume) the ingest named ``ref``; see ``ContentWriter``."""
        if not ref:
            raise InvalidArgument("ingest ref must not be empty")
        return open_ingest(self._ingest, self._blobs, ref, expected, total, wait)

    def ingest(self, data: bytes, expected: str | None = None) -> str:
        """Store ``data``; returns its digest (verified against ``expected``)."""
        if expected is not None and self.exists(expected):
            return expected
        ref = f"ingest-{expected or os.urandom(16).hex()}"
        with self.writer(ref, expected=expected, total=len(data), wait=True) as w:
            if w.offset:
                w.truncate(0)
            w.write(data)
            return w.commit()

    def ingest_stream(
        self, stream: "BinaryIO", expected: str | None = None, total: int | None = None
    ) -> str:
        """Store everything ``stream`` yields; returns the digest.  On error nothing
        is left behind."""
        if expected is not None and self.exists(expected):
            return expected
        ref = f"ingest-{expected or os.urandom(16).hex()}"
        with self.writer(ref, expected=expected, total=total, wait=True) as w:
            try:
                if w.offset:
                    w.truncate(0)
                while chunk := stream.read(_CHUNK):
                    w.write(chunk)
                return w.commit()
            except BaseException:
                shutil.rmtree(self._ingest / ingest_dir_name(ref), ignore_errors=True)
                raise

    def delete(self, digest: str) -> None:
        p = self.path(digest)
        try:
            p.unlink()
        except FileNotFoundError as e:
            raise NotFound(f"content {digest}: not found") from e

    # ------------------------------------------------------------------ ingests
    def ingests(self) -> list[IngestStatus]:
        """The ingests in progress or left for resume."""
        result = []
        try:
            entries = sorted(os.scandir(self._ingest), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        for entry in entries:
            d = Path(entry.path)
            try:
                ref = (d / "ref").read_text()
                expected = (d / "expected").read_text() or None
                total_text = (d / "total").read_text()
                started = float((d / "startedat").read_text() or 0)
            except (FileNotFoundError, ValueError):
                continue
            try:
                st = (d / "data").stat()
                offset, updated = st.st_size, st.st_mtime
            except FileNotFoundError:
                offset, updated = 0, started
            result.append(
                IngestStatus(
                    ref=ref,
                    offset=offset,
                    total=int(total_text) if total_text else None,
                    expected=expected,
                    started_at=started,
                    updated_at=updated,
                )
            )
        return result

    def abort(self, ref: str) -> None:
        """Discard the ingest of ``ref``; ``Conflict`` if a writer holds it."""
        directory = self._ingest / ingest_dir_name(ref)
        if not directory.is_dir():
            raise NotFound(f"ingest {ref}: not found")
        w = self.writer(ref)  # takes the lock (Conflict while in use)
        shutil.rmtree(directory, ignore_errors=True)
        w.close()

    def prune_ingests(self, older_than: float) -> int:
        """Remove unlocked ingests not updated for ``older_than`` seconds."""
        now, removed = time.time(), 0
        for status in self.ingests():
            if now - status.updated_at >= older_than:
                try:
                    self.abort(status.ref)
                    removed += 1
                except (NotFound, Conflict):  # gone, or held by a live writer
                    continue
        return removed
