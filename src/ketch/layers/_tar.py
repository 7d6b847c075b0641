"""A lean streaming tar reader (ustar, GNU long names, PAX) over decompressed chunks.

Python's ``tarfile`` builds a ``TarInfo`` per member through many small reads
and method calls; applying a base image spends most of its time there.  This
reader parses a header from one 512-byte slice and hands file data to the
caller as memoryviews of the decompressed chunks, so a file's content goes from
the decompressor to ``os.write`` without copies.
"""

from collections.abc import Iterator

from ketch.errors import InvalidArgument, ResourceExhausted
from ketch.layers._source import StreamError

__all__ = ["Entry", "TarReader", "show"]


_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_POSIX_MAGIC = b"ustar\x00"
_KNOWN = frozenset(b"01234567")


class Entry:
    """One member: its name and link name as bytes, type flag, numbers and PAX extras."""

    __slots__ = (
        "devmajor",
        "devminor",
        "gid",
        "linkname",
        "mode",
        "mtime_ns",
        "name",
        "size",
        "type",
        "uid",
        "xattrs",
    )

    def __init__(self) -> None:
        self.name = b""
        self.linkname = b""
        self.type = 48  # ord("0")
        self.mode = 0
        self.uid = 0
        self.gid = 0
        self.size = 0
        self.mtime_ns = 0
        self.devmajor = 0
        self.devminor = 0
        self.xattrs: list[tuple[str, bytes]] = []


def show(name: bytes) -> str:
    """A member name (bytes) quoted for a message; undecodable bytes as ``\\xNN``."""
    return repr(name.decode("utf-8", "backslashreplace"))


def _number(field: bytes, what: str, name: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field, "big")
        if field[0] == 0xFF:
            value -= 1 << (8 * len(field))
        else:
            value &= (1 << (8 * len(field) - 1)) - 1
        return value
    try:  # the common form: octal digits padded with NULs or spaces
        return int(field.translate(None, b"\0") or b"0", 8)
    except ValueError:
        pass
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise InvalidArgument(f"layer member {show(name)}: bad {what} field {show(text)}") from None


def _pax_records(data: bytes, where: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise InvalidArgument(f"layer member {show(where)}: malformed PAX header") from None
        record = data[space + 1 : pos + length]
        if space < 0 or length <= 0 or pos + length > end or not record.endswith(b"\n"):
            raise InvalidArgument(f"layer member {show(where)}: malformed PAX header")
        key, sep, value = record[:-1].partition(b"=")
        if not sep:
            raise InvalidArgument(
                f"layer member {show(where)}: malformed PAX record {show(key[:40])}"
            )
        out[key] = value
        pos += length
    return out


class TarReader:
    """Members of a tar stream given as an iterator of byte chunks (any sizes)."""

    def __init__(self, chunks: Iterator[bytes], max_name: int, max_header: int) -> None:
        self._chunks = chunks
        self._buf = b""
        self._view = memoryview(self._buf)
        self._pos = 0
        self._max_name = max_name
        self._max_header = max_header
        self._global: dict[bytes, bytes] = {}
        self.current = b""

    # -- buffer --------------------------------------------------------------------------------
    def _fill(self) -> bool:
        try:
            chunk = next(self._chunks, None)
        except StreamError as e:
            raise e.kind(f"layer member {show(self.current)}: {e}") from e
        if chunk is None:
            return False
        self._buf = chunk
        self._view = memoryview(chunk)
        self._pos = 0
        return True

    def _read(self, n: int) -> bytes:
        pos = self._pos
        if pos + n <= len(self._buf):
            self._pos = pos + n
            return self._buf[pos : pos + n]
        parts = [self._buf[pos:]]
        need = n - (len(self._buf) - pos)
        self._pos = len(self._buf)
        while need > 0:
            if not self._fill():
                raise InvalidArgument(
                    f"layer member {show(self.current)}: the tar stream is truncated"
                )
            take = min(need, len(self._buf))
            parts.append(self._buf[:take])
            self._pos = take
            need -= take
        return b"".join(parts)

    def skip(self, n: int) -> None:
        """Skip ``n`` bytes of data."""
        while n > 0:
            avail = len(self._buf) - self._pos
            if avail == 0:
                if not self._fill():
                    raise InvalidArgument(
                        f"layer member {show(self.current)}: the tar stream is truncated"
                    )
                continue
            take = min(n, avail)
            self._pos += take
            n -= take

    def data(self, n: int) -> Iterator[memoryview]:
        """The next ``n`` data bytes as views of the chunks (valid until the next call)."""
        while n > 0:
            avail = len(self._buf) - self._pos
            if avail == 0:
                if not self._fill():
                    raise InvalidArgument(
                        f"layer member {show(self.current)}: the tar stream is truncated"
                    )
                continue
            take = min(n, avail)
            pos = self._pos
            self._pos = pos + take
            n -= take
            yield self._view[pos : pos + take]

    def end_data(self, size: int) -> None:
        """Skip the padding after ``size`` data bytes."""
        pad = -size % _BLOCK
        if pad:
            self.skip(pad)

    def drain(self) -> None:
        """Read the stream to its end (the bytes after the end marker count in the diff ID)."""
        self._buf = b""
        self._pos = 0
        while self._fill():
            pass

    # -- headers -------------------------------------------------------------------------------
    def _long(self, size: int, what: str) -> bytes:
        limit = self._max_header if what == "PAX" else self._max_name + 1
        if size > limit:
            raise ResourceExhausted(
                f"layer member after {show(self.current)}: {what} header of {size} bytes "
                f"exceeds {limit}"
            )
        data = self._read(size)
        self.end_data(size)
        return data

    def next(self) -> Entry | None:
        """The next member, its data unread; None at the end of the archive."""
        pax: dict[bytes, bytes] = {}
        long_name = long_link = None
        while True:
            header = self._read_header()
            if header is None:
                return None
            flag = header[156]
            name = header[:100].split(b"\0", 1)[0]
            if header[257:263] == _POSIX_MAGIC and header[345] != 0:
                name = header[345:500].split(b"\0", 1)[0] + b"/" + name
            size = _number(header[124:136], "size", name)
            if size < 0:
                raise InvalidArgument(f"layer member {show(name)}: negative size")
            if flag == 120:  # 'x'
                pax.update(_pax_records(self._long(size, "PAX"), name))
                continue
            if flag == 103:  # 'g'
                self._global.update(_pax_records(self._long(size, "PAX"), name))
                continue
            if flag == 76:  # 'L'
                long_name = self._long(size, "long name").split(b"\0", 1)[0]
                continue
            if flag == 75:  # 'K'
                long_link = self._long(size, "long link").split(b"\0", 1)[0]
                continue
            break
        e = Entry()
        e.type = 48 if flag == 0 else flag
        e.name = long_name if long_name is not None else name
        e.linkname = long_link if long_link is not None else header[157:257].split(b"\0", 1)[0]
        e.mode = _number(header[100:108], "mode", name) & 0o7777
        e.uid = _number(header[108:116], "uid", name)
        e.gid = _number(header[116:124], "gid", name)
        e.size = size
        e.mtime_ns = _number(header[136:148], "mtime", name) * 1_000_000_000
        if flag in (51, 52):  # '3' '4'
            e.devmajor = _number(header[329:337], "devmajor", name)
            e.devminor = _number(header[337:345], "devminor", name)
        if self._global:
            pax = {**self._global, **pax}
        if pax:
            self._apply_pax(e, pax)
        self.current = e.name
        if len(e.name) > self._max_name or len(e.linkname) > self._max_name:
            raise InvalidArgument(
                f"layer member {show(e.name[:200])}: name longer than {self._max_name} bytes"
            )
        if e.type not in _KNOWN:
            raise InvalidArgument(
                f"layer member {show(e.name)}: unsupported tar entry type {chr(e.type)!r}"
            )
        if e.type in (49, 50, 51, 52, 53, 54):
            e.size = 0  # header-only types carry no data, whatever the size field says
        return e

    def _read_header(self) -> bytes | None:
        pos = self._pos
        if pos + _BLOCK <= len(self._buf):
            header = self._buf[pos : pos + _BLOCK]
            self._pos = pos + _BLOCK
        else:
            if pos == len(self._buf) and not self._fill():
                return None  # no end marker: accepted, as GNU tar does
            header = self._read(_BLOCK)
        if header == _ZERO_BLOCK:
            return None
        field = header[148:156]
        stored = _number(field, "checksum", self.current)
        unsigned = sum(header) - sum(field) + 256
        if stored != unsigned:
            signed = unsigned - sum(b for b in header if b > 127) * 2
            if stored != signed:
                raise InvalidArgument(
                    f"layer member after {show(self.current)}: bad tar header checksum"
                )
        return header

    def _apply_pax(self, e: Entry, pax: dict[bytes, bytes]) -> None:
        where = e.name
        for key, value in pax.items():
            try:
                if key == b"path":
                    e.name = value
                elif key == b"linkpath":
                    e.linkname = value
                elif key == b"size":
                    e.size = int(value)
                elif key == b"uid":
                    e.uid = int(value)
                elif key == b"gid":
                    e.gid = int(value)
                elif key == b"mtime":
                    e.mtime_ns = _pax_time(value)
                elif key.startswith(b"SCHILY.xattr."):
                    e.xattrs.append((key[13:].decode("utf-8", "surrogateescape"), value))
                elif key.startswith(b"LIBARCHIVE.xattr."):  # bsdtar: %-encoded name, base64 value
                    import base64
                    import urllib.parse

                    name = urllib.parse.unquote_to_bytes(key[17:])
                    e.xattrs.append(
                        (
                            name.decode("utf-8", "surrogateescape"),
                            base64.b64decode(value, validate=True),
                        )
                    )
                elif key.startswith(b"GNU.sparse."):
                    raise InvalidArgument(
                        f"layer member {show(where)}: sparse files are not supported"
                    )
            except ValueError:
                raise InvalidArgument(
                    f"layer member {show(where)}: bad PAX value for {key.decode(errors='replace')}"
                ) from None


def _pax_time(value: bytes) -> int:
    whole, _, frac = value.partition(b".")
    ns = int(whole) * 1_000_000_000
    if frac:
        digits = (frac[:9] + b"000000000")[:9]
        ns += -int(digits) if whole.startswith(b"-") else int(digits)
    return ns
