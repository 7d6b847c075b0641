"""``ContentWriter``: one resumable ingest, made visible only by ``commit``."""

import fcntl
import hashlib
import os
import shutil
import time
from pathlib import Path

from ketch.errors import Conflict, InvalidArgument
from ketch.linux.durable import fsync_dir
from ketch.oci.digest import Digester, parse_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

__all__ = ["ContentWriter", "ingest_dir_name", "open_ingest"]

_CHUNK = 1 << 20


def ingest_dir_name(ref: str) -> str:
    """The directory name of the ingest for ``ref`` (a hash: refs are free text)."""
    return hashlib.sha256(ref.encode()).hexdigest()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _lock(ingest_root: Path, ref: str, wait: bool) -> tuple[Path, int]:
    """Create or reopen the ingest directory of ``ref`` and hold its lock."""
    directory = ingest_root / ingest_dir_name(ref)
    while True:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            continue  # removed by a concurrent commit between mkdir and open
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as e:
            os.close(fd)
            raise Conflict(f"ref {ref} is locked: another writer is ingesting it") from e
        # the previous holder may have committed and removed the directory meanwhile
        try:
            same = os.stat(directory / "lock").st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return directory, fd
        os.close(fd)


def open_ingest(
    ingest_root: Path,
    blobs_root: Path,
    ref: str,
    expected: str | None,
    total: int | None,
    wait: bool,
) -> "ContentWriter":
    if expected is not None:
        parse_digest(expected)
    if total is not None and total < 0:
        raise InvalidArgument(f"ingest {ref}: negative total size {total}")
    directory, fd = _lock(ingest_root, ref, wait)
    try:
        return ContentWriter(directory, blobs_root, ref, fd, expected, total)
    except BaseException:
        os.close(fd)
        raise


class ContentWriter:
    """Appends to ``ingest/<ref-hash>/data``; ``commit`` verifies and publishes it.

    Holding a writer holds an exclusive lock on its ref.  ``close`` without
    ``commit`` keeps the data for a later writer on the same ref to resume
    at ``offset``.
    """

    def __init__(
        self,
        directory: Path,
        blobs_root: Path,
        ref: str,
        lock_fd: int,
        expected: str | None,
        total: int | None,
    ) -> None:
        self.ref = ref
        self._dir = directory
        self._blobs = blobs_root
        self._lock_fd: int | None = lock_fd
        old_expected = _read_text(directory / "expected") or None
        if expected is not None and old_expected is not None and old_expected != expected:
            (directory / "data").unlink(missing_ok=True)  # a different blob: start over
        self.expected = expected or old_expected
        stored_total = _read_text(directory / "total")
        self.total = total if total is not None else (int(stored_total) if stored_total else None)
        (directory / "ref").write_text(ref)
        (directory / "expected").write_text(self.expected or "")
        (directory / "total").write_text("" if self.total is None else str(self.total))
        algorithm = parse_digest(self.expected)[0] if self.expected else "sha256"
        self._digester = Digester(algorithm)
        # unbuffered: the ingest file always holds what was written (status, resume)
        self._file = open(directory / "data", "a+b", buffering=0)  # noqa: SIM115 (closed in close())
        self._file.seek(0)
        self.offset = 0
        while chunk := self._file.read(_CHUNK):
            self._digester.update(chunk)
            self.offset += len(chunk)
        if not (directory / "startedat").exists():
            (directory / "startedat").write_text(str(time.time()))

    # -- context manager
    def __enter__(self) -> "Self":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: "TracebackType | None",
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._lock_fd is None:
            raise InvalidArgument(f"ingest {self.ref}: writer is closed")

    def write(self, data: bytes) -> None:
        self._check_open()
        if self.total is not None and self.offset + len(data) > self.total:
            raise InvalidArgument(
                f"ingest {self.ref}: more data than the expected size {self.total}"
            )
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written or 0 :]
        self._digester.update(data)
        self.offset += len(data)

    def digest(self) -> str:
        """The digest of the bytes written so far."""
        return self._digester.digest()

    def truncate(self, size: int) -> None:
        """Cut the ingest back to ``size`` bytes (resume after a failed transfer)."""
        self._check_open()
        if size < 0 or size > self.offset:
            raise InvalidArgument(f"ingest {self.ref}: cannot truncate to {size}")
        self._file.flush()
        self._file.truncate(size)
        self._digester = Digester(self._digester.algorithm)
        self._file.seek(0)
        left = size
        while left:
            chunk = self._file.read(min(_CHUNK, left))
            if not chunk:
                break
            self._digester.update(chunk)
            left -= len(chunk)
        self._file.seek(0, os.SEEK_END)
        self.offset = size

    def commit(self, size: int | None = None, expected: str | None = None) -> str:
        """Verify size and digest, publish ``blobs/<alg>/<hex>``; returns the digest.

        A mismatch discards the ingest and raises ``InvalidArgument``.  If the
        blob already exists the ingest is dropped and the digest returned.
        """
        self._check_open()
        size = size if size is not None else self.total
        expected = expected or self.expected
        self._file.flush()
        os.fsync(self._file.fileno())
        try:
            if size is not None and size != self.offset:
                raise InvalidArgument(
                    f"ingest {self.ref}: size mismatch: got {self.offset} bytes, expected {size}"
                )
            actual = self._actual_digest(expected)
            if expected is not None and actual != expected:
                raise InvalidArgument(
                    f"ingest {self.ref}: digest mismatch: got {actual}, expected {expected}"
                )
        except InvalidArgument:
            self.discard()
            raise
        algorithm, encoded = parse_digest(actual)
        target_dir = self._blobs / algorithm
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / encoded
        if target.exists():
            self.discard()
            return actual
        os.chmod(self._dir / "data", 0o444)
        os.rename(self._dir / "data", target)
        fsync_dir(target_dir)
        self.discard()
        return actual

    def _actual_digest(self, expected: str | None) -> str:
        if expected is None or parse_digest(expected)[0] == self._digester.algorithm:
            return self._digester.digest()
        other = Digester(parse_digest(expected)[0])  # the caller asked for another algorithm
        self._file.seek(0)
        while chunk := self._file.read(_CHUNK):
            other.update(chunk)
        return other.digest()

    def discard(self) -> None:
        """Drop the ingest (data and all) and release the lock; no-op once closed."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self._dir, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Release the writer, keeping any uncommitted data for a later resume."""
        if self._lock_fd is None:
            return
        self._file.close()
        fd, self._lock_fd = self._lock_fd, None
        os.close(fd)
