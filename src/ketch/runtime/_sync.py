"""The sync channel between the runtime and the init it forks: two pipes of text lines.

A message is one line ``tag payload``; writes are far below PIPE_BUF, so each is
atomic.  Both ends are close-on-exec: when the init execs the container process,
the runtime reads end-of-file.
"""

import os

from ketch import errors
from ketch.errors import FailedPrecondition, KetchError

__all__ = ["Channel", "channel_pair", "error_from_payload", "error_payload"]


def error_payload(error: BaseException) -> str:
    """``Kind|message`` for an ``error`` message: the runtime re-raises the same kind."""
    if isinstance(error, KetchError):
        return f"{type(error).__name__}|{error}"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"FailedPrecondition|{error.strerror or error}{where}"
    return f"FailedPrecondition|{type(error).__name__}: {error}"


def error_from_payload(payload: str) -> KetchError:
    kind, sep, message = payload.partition("|")
    cls = getattr(errors, kind, None) if sep else None
    if not (isinstance(cls, type) and issubclass(cls, KetchError)):
        return FailedPrecondition(payload)
    return cls(message)


class Channel:
    """One side: reads from ``rfd``, writes to ``wfd``."""

    __slots__ = ("_buf", "rfd", "wfd")

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self._buf = b""

    def send(self, tag: str, payload: str = "") -> None:
        line = f"{tag} {payload}".replace("\n", " ").encode("utf-8", "replace") + b"\n"
        os.write(self.wfd, line[:4000] if len(line) > 4000 else line)

    def recv(self) -> tuple[str, str] | None:
        """The next message, or None at end-of-file (the other side exited or exec'd)."""
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        tag, _, payload = line.decode("utf-8", "replace").partition(" ")
        return tag, payload

    def expect(self, tag: str) -> str:
        """Wait for ``tag``; an ``error`` message or end-of-file raises."""
        message = self.recv()
        if message is None:
            raise FailedPrecondition(f"container init exited before {tag!r}")
        got, payload = message
        if got == "error":
            raise error_from_payload(payload)
        if got != tag:
            raise FailedPrecondition(f"sync: expected {tag!r}, got {got!r}")
        return payload

    def close(self) -> None:
        """Close both fds (again is a no-op)."""
        for fd in (self.rfd, self.wfd):
            if fd >= 0:
                try:  # noqa: SIM105 (contextlib costs an import)
                    os.close(fd)
                except OSError:
                    pass
        self.rfd = self.wfd = -1


def channel_pair() -> tuple[Channel, Channel]:
    """(runtime side, init side); every fd close-on-exec."""
    to_init_r, to_init_w = os.pipe2(os.O_CLOEXEC)
    to_rt_r, to_rt_w = os.pipe2(os.O_CLOEXEC)
    return Channel(to_rt_r, to_init_w), Channel(to_init_r, to_rt_w)
