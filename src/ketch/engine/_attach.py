"""The monitor's attach protocol: docker-style frames on a unix socket.

A client sends one JSON line ``{"stdin": bool, "stdout": bool, "stderr": bool}``,
then frames; the monitor answers with frames.  A frame is docker's stream
header (type byte, three zero bytes, big-endian 32-bit length) and payload.
Client -> monitor: ``STDIN`` data, ``CLOSE_STDIN``, ``RESIZE`` (``"rows cols"``).
Monitor -> client: ``STDOUT``, ``STDERR``, then ``EXIT`` (JSON
``{"StatusCode": n}``) when the container has exited and its state is recorded.
"""

from __future__ import annotations

import os
import socket
import struct

from ketch.oci import _json

__all__ = [
    "CLOSE_STDIN",
    "EXIT",
    "RESIZE",
    "STDERR",
    "STDIN",
    "STDOUT",
    "FrameReader",
    "connect",
    "frame",
    "send_header",
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


def connect(container_dir: str) -> socket.socket:
    """Connect to the monitor of the container in ``container_dir`` (OSError if none)."""
    dfd = os.open(container_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(socket_path(dfd))
        except OSError:
            sock.close()
            raise
        return sock
    finally:
        os.close(dfd)


def send_header(sock: socket.socket, *, stdin: bool, stdout: bool, stderr: bool) -> None:
    header = {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    sock.sendall(_json.dumps(header).encode() + b"\n")
