"""The monitor's attach protocol: docker-style frames on a unix socket.

A client sends one JSON line ``{"stdin": bool, "stdout": bool, "stderr": bool}``,
then frames; the monitor answers with frames.  A frame is docker's stream
header (type byte, three zero bytes, big-endian 32-bit length) and payload.
Client -> monitor: ``STDIN`` data, ``CLOSE_STDIN``, ``RESIZE`` (``"rows cols"``).
Monitor -> client: ``STDOUT``, ``STDERR``, then ``EXIT`` (JSON
``{"StatusCode": n}``) when the container has exited and its state is recorded.

The sockets are ``Connection``s: ``_socket``'s (the C half of ``socket``) with
``with`` support, since ``import socket`` (``enum``, ``selectors``,
``collections``, ``functools``) costs ~3.5 ms of every ``run``, on both sides of
the monitor's fork.
"""

from __future__ import annotations

import _socket
import os
import struct

from ketch.oci import _json

__all__ = [
    "CLOSE_STDIN",
    "EXIT",
    "RESIZE",
    "STDERR",
    "STDIN",
    "STDOUT",
    "Connection",
    "FrameReader",
    "accept",
    "connect",
    "frame",
    "listen",
    "recv_fd",
    "send_header",
    "socketpair",
]

STDIN, STDOUT, STDERR = 0, 1, 2
EXIT, CLOSE_STDIN, RESIZE = 0x10, 0x11, 0x12
SOCKET_NAME = "attach.sock"
_HEADER = struct.Struct(">BxxxI")


def frame(kind: int, payload: bytes) -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


class FrameReader:
    """Accumulates bytes and yields complete ``(kind, payload)`` frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out = []
        while len(self._buf) >= 8:
            kind, size = _HEADER.unpack_from(self._buf)
            if len(self._buf) < 8 + size:
                break
            out.append((kind, bytes(self._buf[8 : 8 + size])))
            del self._buf[: 8 + size]
        return out


def socket_path(dir_fd: int) -> str:
    """A short path for the socket in the directory ``dir_fd`` (sun_path is 108 bytes)."""
    return f"/proc/self/fd/{dir_fd}/{SOCKET_NAME}"


class Connection(_socket.socket):
    """A unix stream socket (not inherited by exec), usable in ``with`` (closed at the end)."""

    def __init__(self, fileno: int | None = None) -> None:
        if fileno is None:
            super().__init__(_socket.AF_UNIX, _socket.SOCK_STREAM)
        else:
            super().__init__(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, fileno)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def socketpair() -> tuple[Connection, Connection]:
    """A connected pair of unix stream sockets."""
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    return Connection(a.detach()), Connection(b.detach())


def listen(path: str, backlog: int = 16) -> Connection:
    """A socket listening on ``path`` (an existing one there is replaced)."""
    try:  # noqa: SIM105 (contextlib costs an import)
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = Connection()
    try:
        sock.bind(path)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def accept(listener: _socket.socket) -> Connection:
    """The next connection on ``listener`` (blocking)."""
    fd, _ = listener._accept()  # type: ignore[attr-defined]  # accept4(SOCK_CLOEXEC)
    sock = Connection(fd)
    sock.setblocking(True)
    return sock


def recv_fd(sock: _socket.socket) -> int | None:
    """One file descriptor sent with ``SCM_RIGHTS`` on ``sock`` (None: none came)."""
    size = struct.calcsize("i")
    _, ancdata, _, _ = sock.recvmsg(1024, _socket.CMSG_SPACE(size))
    fd = None
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            for i in range(0, len(data) - len(data) % size, size):
                (got,) = struct.unpack_from("i", data, i)
                if fd is None:
                    fd = got
                else:
                    os.close(got)  # one was asked for
    return fd


def connect(container_dir: str) -> Connection:
    """Connect to the monitor of the container in ``container_dir`` (OSError if none)."""
    dfd = os.open(container_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock = Connection()
        try:
            sock.connect(socket_path(dfd))
        except OSError:
            sock.close()
            raise
        return sock
    finally:
        os.close(dfd)


def send_header(sock: _socket.socket, *, stdin: bool, stdout: bool, stderr: bool) -> None:
    header = {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    sock.sendall(_json.dumps(header).encode() + b"\n")
