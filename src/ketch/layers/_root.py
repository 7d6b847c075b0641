"""Directories inside an apply destination, resolved so that nothing leads out of it.

Every parent directory of a member is opened with ``openat2(RESOLVE_IN_ROOT)``
on the destination: ``..`` and symlinks (absolute or relative, however chained)
resolve as if the destination were ``/``, so a layer's own symlinks can never
carry a later write outside.  Missing directories are made one component at a
time under the resolved parent; a symlink to a missing directory is refused.
Open directory fds are cached by member path, forgotten when the layer
replaces or removes what that path named, and trimmed between members only (a
caller holds the fds it was given until its member is done).
"""

import errno
import os
from collections.abc import Callable
from pathlib import Path

from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.layers._tar import show
from ketch.linux.fs import (
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    openat2,
)

__all__ = ["DestRoot"]

_DIR = os.O_RDONLY | os.O_DIRECTORY
_CACHE_MAX = 512


class DestRoot:
    """The destination directory and a cache of directory fds inside it."""

    def __init__(self, dest: Path, on_mkdir: Callable[[bytes, int], None]) -> None:
        self.fd = os.open(dest, _DIR | os.O_CLOEXEC)
        self._cache: dict[bytes, int] = {}
        st = os.fstat(self.fd)
        # directories that existed before this layer: (atime, mtime) to keep when changed
        self.existing: dict[bytes, tuple[int, int]] = {b"": (st.st_atime_ns, st.st_mtime_ns)}
        self._on_mkdir = on_mkdir

    def close(self) -> None:
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()
        os.close(self.fd)

    def forget(self, key: bytes) -> None:
        """Drop cached directories at or under ``key`` (it was replaced or removed)."""
        prefix = key + b"/"
        for k in [k for k in self._cache if k == key or k.startswith(prefix)]:
            os.close(self._cache.pop(k))

    def open_in_root(self, key: bytes, flags: int = _DIR) -> int:
        """A new fd for ``key`` resolved inside the destination (raises ``OSError``)."""
        return openat2(self.fd, os.fsdecode(key), flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

    def through_symlink(self, key: bytes) -> bool:
        """Whether ``key`` exists only by way of a symlink in its path."""
        if not key:
            return False
        try:
            os.close(
                openat2(self.fd, os.fsdecode(key), os.O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
            )
        except OSError as e:
            return e.errno == errno.ELOOP
        return False

    def dir(self, key: bytes, member: bytes, create: bool = True) -> int:
        """The directory ``key`` (b"" is the destination), made if missing and ``create``."""
        if not key:
            return self.fd
        fd = self._cache.get(key)
        if fd is not None:
            return fd
        try:
            fd = self.open_in_root(key)
            if key not in self.existing:
                st = os.fstat(fd)
                self.existing[key] = (st.st_atime_ns, st.st_mtime_ns)
        except OSError as e:
            if e.errno == errno.ENOENT:
                if not create:
                    raise NotFound(
                        f"layer member {show(member)}: {show(key)} does not exist"
                    ) from e
                fd = self._make(key, member)
            elif e.errno in (errno.ENOTDIR, errno.ELOOP):
                raise InvalidArgument(
                    f"layer member {show(member)}: {show(key)} is not a directory"
                ) from e
            else:
                raise
        self._remember(key, fd)
        return fd

    def _remember(self, key: bytes, fd: int) -> None:
        old = self._cache.get(key)
        if old is not None:
            os.close(old)
        self._cache[key] = fd

    def trim(self) -> None:
        """Close the cached fds if there are many; only between members, when none is in use."""
        if len(self._cache) >= _CACHE_MAX:
            for fd in self._cache.values():
                os.close(fd)
            self._cache.clear()

    def _make(self, key: bytes, member: bytes) -> int:
        """Make the missing directories of ``key`` below its deepest existing ancestor."""
        parts = key.split(b"/")
        have = len(parts) - 1
        while have > 0:  # find the deepest ancestor that resolves
            try:
                self.dir(b"/".join(parts[:have]), member, create=False)
                break
            except NotFound:
                have -= 1
        fd = self.dir(b"/".join(parts[:have]), member, create=False)
        owned = False
        try:
            for i in range(have, len(parts)):
                sub = b"/".join(parts[: i + 1])
                try:
                    os.mkdir(parts[i], 0o755, dir_fd=fd)
                except FileExistsError:
                    raise PermissionDenied(
                        f"layer member {show(member)}: {show(sub)} is a symlink to a missing directory"
                    ) from None
                new = os.open(parts[i], _DIR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                if owned:
                    os.close(fd)
                fd, owned = new, True
                self._on_mkdir(sub, fd)
        except BaseException:
            if owned:
                os.close(fd)
            raise
        return fd
