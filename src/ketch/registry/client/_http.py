"""A small blocking HTTP/1.1 client on plain sockets, for the registry client.

Why not aiohttp or ``http.client``: a ``ketch pull`` is a short process whose start-up
counts.  Importing aiohttp costs ~0.13 s (it builds two TLS contexts, loading the
system CA bundle, at import), ``http.client`` ~20 ms (the email package); this module
needs only ``socket`` (and ``ssl`` when a registry uses HTTPS).  It does what the
distribution API needs: keep-alive connections pooled per origin and shared by
threads, ``Content-Length``/chunked/until-close bodies, request bodies from bytes,
iterables or a file range (``sendfile``), ``readinto`` for zero-copy downloads.

Connection and framing failures raise ``TransferError`` (or ``OSError``); the
transport above retries them and maps them to the error tree.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

__all__ = [
    "URL",
    "FileBody",
    "Pool",
    "Response",
    "TransferError",
    "join_url",
    "parse_url",
]

_MAX_HEADER_BYTES = 64 << 10
_RECV = 1 << 18
_SENDFILE_SLICE = 8 << 20


class TransferError(Exception):
    """The connection broke or the peer spoke malformed HTTP."""


class URL(NamedTuple):
    scheme: str
    host: str  # as in the Host header: name, [v6] or name:port when not the default
    hostname: str
    port: int
    target: str  # path and query

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.hostname, self.port

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def parse_url(text: str) -> URL:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an HTTP URL: {text!r}")
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError as e:
        raise ValueError(f"bad port in {text!r}") from e
    hostname = parts.hostname
    shown = f"[{hostname}]" if ":" in hostname else hostname
    host = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return URL(parts.scheme, host, hostname, port, target)


def join_url(base: URL, location: str) -> URL:
    return parse_url(urljoin(str(base), location))


class FileBody:
    """``length`` bytes of the file ``path`` from ``offset``, sent with sendfile;
    ``progress(sent_so_far + offset)`` after each slice."""

    def __init__(
        self, path: str, offset: int, length: int, progress: Callable[[int], None] | None = None
    ) -> None:
        self.path = path
        self.offset = offset
        self.length = length
        self.progress = progress


Body = bytes | bytearray | FileBody | Iterable[bytes] | None


class _Connection:
    def __init__(self, url: URL, context: Any, timeout: float, connect_timeout: float) -> None:
        self.origin = url.origin
        # an ASCII name as bytes: a str makes getaddrinfo import the idna codec (~1 ms)
        name = url.hostname.encode() if url.hostname.isascii() else url.hostname
        address = (name, url.port)  # getaddrinfo takes bytes too; typeshed says str
        sock = socket.create_connection(address, timeout=connect_timeout)  # type: ignore[arg-type]
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if url.scheme == "https":
                sock = context.wrap_socket(sock, server_hostname=url.hostname)
            sock.settimeout(timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.buffer = bytearray()  # received, not yet consumed
        self.reused = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def fill(self) -> int:
        chunk = self.sock.recv(_RECV)
        self.buffer += chunk
        return len(chunk)

    def read_line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if len(self.buffer) > _MAX_HEADER_BYTES:
                raise TransferError("response header line too long")
            if not self.fill():
                raise TransferError("connection closed by the server")

    def readinto(self, view: memoryview) -> int:
        """Up to len(view) bytes (buffered first); 0 at end of stream."""
        if self.buffer:
            n = min(len(view), len(self.buffer))
            view[:n] = self.buffer[:n]
            del self.buffer[:n]
            return n
        return self.sock.recv_into(view)

    def send(self, head: bytes, body: Body) -> None:
        sock = self.sock
        if body is None:
            sock.sendall(head)
        elif isinstance(body, bytes | bytearray):
            sock.sendall(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                sock.sendall(body)
        elif isinstance(body, FileBody):
            sock.sendall(head)
            with open(body.path, "rb") as f:
                sent = 0
                while sent < body.length:
                    count = min(_SENDFILE_SLICE, body.length - sent)
                    n = sock.sendfile(f, body.offset + sent, count)
                    if n != count:
                        raise TransferError(f"{body.path} is shorter than expected")
                    sent += n
                    if body.progress is not None:
                        body.progress(body.offset + sent)
        else:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)


class Response:
    """Status, headers and a body to read; ``release`` returns the connection to the
    pool when the body was read to its end, and closes it otherwise."""

    def __init__(self, pool: Pool, conn: _Connection, method: str) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        while True:
            line = conn.read_line()
            while line == b"":  # tolerate a stray CRLF left by a previous body
                line = conn.read_line()
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise TransferError(f"malformed status line {line[:80]!r}")
            self.status = int(parts[1])
            if not 100 <= self.status < 200:
                break
            while conn.read_line():  # an interim answer (100 Continue): skip it
                pass
        self.headers: list[tuple[str, str]] = []
        size = 0
        while True:
            raw = conn.read_line()
            if not raw:
                break
            size += len(raw)
            if size > _MAX_HEADER_BYTES:
                raise TransferError("response headers too large")
            name, sep, value = raw.partition(b":")
            if not sep:
                raise TransferError(f"malformed header line {raw[:80]!r}")
            self.headers.append(
                (name.strip().decode("latin-1").lower(), value.strip().decode("latin-1"))
            )
        self._keep_alive = (
            parts[0] != b"HTTP/1.0" and "close" not in (self.header("connection") or "").lower()
        )
        self._chunked = "chunked" in (self.header("transfer-encoding") or "").lower()
        self._chunk_left = 0
        self._done = False
        length = self.header("content-length")
        self.content_length: int | None = None
        if method == "HEAD" or self.status in (204, 304):
            self._left: int | None = 0
        elif self._chunked:
            self._left = None
        elif length is not None:
            if not length.strip().isdigit():
                raise TransferError(f"bad Content-Length {length!r}")
            self.content_length = self._left = int(length)
        else:
            self._left = None  # until the server closes
            self._keep_alive = False
        if self._left == 0:
            self._done = True

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def readinto(self, view: memoryview) -> int:
        """Body bytes into ``view``; 0 at the end.  ``TransferError`` if it ends early."""
        conn = self._conn
        if self._done or conn is None or not len(view):
            return 0
        if self._chunked:
            if self._chunk_left == 0:
                size_line = conn.read_line().split(b";", 1)[0].strip()
                try:
                    self._chunk_left = int(size_line, 16)
                except ValueError as e:
                    raise TransferError(f"bad chunk size {size_line[:20]!r}") from e
                if self._chunk_left == 0:
                    while conn.read_line():  # trailers
                        pass
                    self._done = True
                    return 0
            n = conn.readinto(view[: self._chunk_left])
            if n == 0:
                raise TransferError("connection closed inside a chunk")
            self._chunk_left -= n
            if self._chunk_left == 0 and conn.read_line() != b"":
                raise TransferError("missing CRLF after a chunk")
            return n
        if self._left is None:
            n = conn.readinto(view)
            if n == 0:
                self._done = True
            return n
        n = conn.readinto(view[: self._left])
        if n == 0:
            raise TransferError(
                f"body ended early: {self._left} of {self.content_length} bytes missing"
            )
        self._left -= n
        if self._left == 0:
            self._done = True
        return n

    def read(self, limit: int | None = None) -> bytes:
        """The rest of the body; at most ``limit`` bytes (more are left unread)."""
        out = bytearray()
        buf = bytearray(1 << 16)
        view = memoryview(buf)
        while limit is None or len(out) < limit:
            want = len(view) if limit is None else min(len(view), limit - len(out))
            n = self.readinto(view[:want])
            if n == 0:
                break
            out += view[:n]
        return bytes(out)

    def release(self) -> None:
        """Give the connection back (body fully read, small rest drained) or close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not self._done and self._left is not None and self._left <= 65536:
            try:
                self._conn = conn
                self.read()
                self._conn = None
            except (OSError, TransferError):
                self._conn = None
        if self._done and self._keep_alive:
            self._pool.put(conn)
        else:
            conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Pool:
    """Idle keep-alive connections per origin; safe to share between threads."""

    def __init__(
        self, *, user_agent: str, timeout: float = 120.0, connect_timeout: float = 30.0
    ) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._user_agent = user_agent
        self._timeout = timeout
        self._connect_timeout = connect_timeout

    def put(self, conn: _Connection) -> None:
        conn.reused = True
        with self._lock:
            self._idle.setdefault(conn.origin, []).append(conn)

    def _get(self, url: URL, context: Any) -> _Connection:
        with self._lock:
            idle = self._idle.get(url.origin)
            if idle:
                return idle.pop()
        return _Connection(url, context, self._timeout, self._connect_timeout)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def request(
        self,
        method: str,
        url: URL,
        headers: dict[str, str] | None = None,
        body: Body = None,
        *,
        context: Any = None,
    ) -> Response:
        """Send one request and read the status and headers of its answer."""
        lines = [f"{method} {url.target} HTTP/1.1", f"Host: {url.host}"]
        names = {k.lower() for k in (headers or {})}
        if "user-agent" not in names:
            lines.append(f"User-Agent: {self._user_agent}")
        if "content-length" not in names and method in ("POST", "PUT", "PATCH"):
            if isinstance(body, bytes | bytearray):
                lines.append(f"Content-Length: {len(body)}")
            elif isinstance(body, FileBody):
                lines.append(f"Content-Length: {body.length}")
            elif body is None:
                lines.append("Content-Length: 0")
            else:
                raise ValueError("an iterable body needs a Content-Length header")
        for name, value in (headers or {}).items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"bad header {name!r}")
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        replayable = body is None or isinstance(body, bytes | bytearray | FileBody)
        while True:
            conn = self._get(url, context)
            try:
                conn.send(head, body)
                return Response(self, conn, method)
            except (OSError, TransferError):
                conn.close()
                # a kept-alive connection the server closed meanwhile: once more, fresh
                if conn.reused and replayable:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
