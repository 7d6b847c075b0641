"""The uncompressed tar stream of a layer, decompressed and hashed in a helper thread.

Compression is told by magic bytes (gzip through isal's igzip, zstd through
``zstandard``, else plain tar).  A thread reads the blob, decompresses it in
bounded chunks, counts and hashes the output (the diff ID) and hands chunks to
the applying thread through a bounded queue: decompression runs while files are
written, as GNU tar's gzip child does.  Errors (corrupt stream, too many bytes)
reach the consumer as ``StreamError``; the consumer names the member.
"""

import contextlib
import hashlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from ketch.errors import InvalidArgument, KetchError, ResourceExhausted

__all__ = ["LayerSource", "StreamError", "detect"]

_READ = 1 << 20
_CHUNK = 1 << 20
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_UNSUPPORTED = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}


class StreamError(Exception):
    """A failure of the layer stream itself; ``kind`` is the ketch error to raise."""

    def __init__(self, kind: type[KetchError], message: str) -> None:
        super().__init__(message)
        self.kind = kind


def detect(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``tar`` from the first bytes of a layer blob."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    for magic, name in _UNSUPPORTED.items():
        if head.startswith(magic):
            raise InvalidArgument(f"layer is {name}-compressed: only gzip, zstd and plain tar")
    return "tar"


def _gzip_chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    from isal import isal_zlib

    d = isal_zlib.decompressobj(wbits=31)
    data = head
    while True:
        if not data:
            data = stream.read(_READ)
            if not data:
                while not d.eof:  # output held back by the max_length bound
                    out = d.decompress(b"", _CHUNK)
                    if not out:
                        raise StreamError(InvalidArgument, "the gzip stream is truncated")
                    yield out
                return
        while data:
            out = d.decompress(data, _CHUNK)
            if out:
                yield out
            data = d.unconsumed_tail
            if d.eof:
                rest = d.unused_data
                if rest.strip(b"\0"):  # another gzip member follows
                    d = isal_zlib.decompressobj(wbits=31)
                    data = rest
                else:
                    data = b""
                    while stream.read(_READ):  # trailing zero padding
                        pass
                    return


def _zstd_chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    import zstandard

    class _Joined:
        """``head`` then the rest of ``stream``: what ``stream_reader`` reads from."""

        def __init__(self) -> None:
            self._head = head

        def read(self, n: int = -1) -> bytes:
            if self._head:
                out, self._head = self._head, b""
                return out
            return stream.read(n)

    joined: Any = _Joined()
    reader = zstandard.ZstdDecompressor().stream_reader(
        joined, read_size=_READ, read_across_frames=True
    )
    while True:
        out = reader.read(_CHUNK)
        if not out:
            return
        yield out


def _plain_chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    if head:
        yield head
    while True:
        data = stream.read(_READ)
        if not data:
            return
        yield data


class LayerSource:
    """Iterate ``chunks()`` for the uncompressed tar; ``digest``/``size`` once it is drained."""

    def __init__(self, stream: BinaryIO, max_bytes: int) -> None:
        head = stream.read(_READ)
        while 0 < len(head) < 8:  # a short read: magic numbers need a few bytes
            more = stream.read(_READ)
            if not more:
                break
            head += more
        self.compression = detect(head)
        self._gen = {"gzip": _gzip_chunks, "zstd": _zstd_chunks, "tar": _plain_chunks}[
            self.compression
        ](head, stream)
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=16)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="layer-decompress", daemon=True)
        self._thread.start()

    @property
    def diff_id(self) -> str:
        return f"sha256:{self._hash.hexdigest()}"

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for chunk in self._gen:
                self.size += len(chunk)
                if self.size > self._max:
                    raise StreamError(
                        ResourceExhausted, f"the uncompressed layer exceeds {self._max} bytes"
                    )
                self._hash.update(chunk)
                if not self._put(chunk):
                    return
        except StreamError as e:
            self._put(e)
        except Exception as e:  # a corrupt stream: zlib, zstd or read errors
            self._put(StreamError(InvalidArgument, f"cannot decompress the layer: {e}"))
        else:
            self._put(None)

    def chunks(self) -> Iterator[bytes]:
        """The uncompressed chunks in order; raises ``StreamError`` where the stream fails."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the helper thread (also after an error) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self._thread.join(timeout=0.05)
