"""``FileLock``: the one ``flock(2)`` context manager of the on-disk stores (engine, snapshots).

Kept apart from ``ketch.linux.fs`` so that a lock costs no ctypes import.
"""

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["FileLock"]


class FileLock:
    """``flock`` on ``path`` (created 0600) for a ``with`` block; re-entrant per object.

    Exclusive unless ``shared``.  A class, not ``contextlib.contextmanager``:
    ``contextlib`` costs ~2 ms of imports on a container start's path.
    """

    def __init__(self, path: "str | os.PathLike[str]", *, shared: bool = False) -> None:
        self.path = path
        self._shared = shared
        self._fd = -1
        self._depth = 0

    def __enter__(self) -> "FileLock":
        if self._depth == 0:
            import fcntl

            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH if self._shared else fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: "type[BaseException] | None",
        exc: "BaseException | None",
        tb: "TracebackType | None",
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # closing the last fd of the description drops the lock
