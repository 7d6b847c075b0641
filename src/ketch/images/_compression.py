"""Detect and undo stream compression (gzip, zstd, bzip2, xz) by magic bytes."""

import io
from typing import BinaryIO, cast

__all__ = ["PeekStream", "decompressed", "sniff"]

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


def sniff(head: bytes) -> str:
    """``gzip``, ``zstd``, ``bzip2``, ``xz`` or ``""`` (uncompressed)."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    if head.startswith(_BZIP2):
        return "bzip2"
    if head.startswith(_XZ):
        return "xz"
    return ""


class PeekStream(io.RawIOBase):
    """A read-only stream whose first bytes can be looked at before reading."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._head = b""

    def peek(self, n: int) -> bytes:
        while len(self._head) < n:
            chunk = self._raw.read(n - len(self._head))
            if not chunk:
                break
            self._head += chunk
        return self._head[:n]

    def readable(self) -> bool:
        return True

    def readinto(self, b: "bytearray | memoryview") -> int:  # type: ignore[override]
        view = memoryview(b)
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)


def decompressed(stream: BinaryIO) -> tuple[BinaryIO, str]:
    """A stream of the decompressed bytes of ``stream`` and the compression found."""
    peek = PeekStream(stream)
    kind = sniff(peek.peek(6))
    buffered = io.BufferedReader(peek, 1 << 20)
    if kind == "gzip":
        from isal import igzip

        gz = igzip.IGzipFile(fileobj=buffered, mode="rb")  # type: ignore[no-untyped-call]
        return cast("BinaryIO", gz), kind
    if kind == "zstd":
        import zstandard

        return cast("BinaryIO", zstandard.ZstdDecompressor().stream_reader(buffered)), kind
    if kind == "bzip2":
        import bz2

        return cast("BinaryIO", bz2.BZ2File(buffered, "rb")), kind
    if kind == "xz":
        import lzma

        return cast("BinaryIO", lzma.LZMAFile(buffered, "rb")), kind
    return buffered, kind
