"""Docker's json-file log: one ``{"log","stream","time"}`` object per line of output.

Output is split at newlines; a line longer than 16 KiB is written in 16 KiB
pieces, and what is left without a newline is written when its stream ends.
"""

from __future__ import annotations

import os

from ketch.engine._store import now_rfc3339
from ketch.oci import _json

__all__ = ["LINE_MAX", "JsonLog"]

LINE_MAX = 16 * 1024


class JsonLog:
    """Appends to the log at ``path``; ``write``/``flush`` per source fd (partial lines)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.partial: dict[int, bytearray] = {}

    def write(self, source: int, stream: str, data: bytes) -> None:
        buf = self.partial.setdefault(source, bytearray())
        buf += data
        lines = []
        while (nl := buf.find(b"\n")) >= 0:
            lines.append(bytes(buf[: nl + 1]))
            del buf[: nl + 1]
        while len(buf) >= LINE_MAX:
            lines.append(bytes(buf[:LINE_MAX]))
            del buf[:LINE_MAX]
        self._lines(stream, lines)

    def flush(self, source: int, stream: str) -> None:
        buf = self.partial.pop(source, None)
        if buf:
            self._lines(stream, [bytes(buf)])

    def _lines(self, stream: str, lines: list[bytes]) -> None:
        if not lines:
            return
        stamp = now_rfc3339()
        out = "".join(
            _json.dumps({"log": line.decode(errors="replace"), "stream": stream, "time": stamp},
                       separators=(",", ":")) + "\n"
            for line in lines
        )
        try:  # noqa: SIM105 (contextlib costs an import)
            os.write(self.fd, out.encode())
        except OSError:  # a full disk must not kill the container's output
            pass
