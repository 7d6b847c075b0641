"""Durable small-file writes for the metadata (temp, fsync, rename, fsync dir)."""

import os

__all__ = ["atomic_write", "fsync_dir"]


def fsync_dir(path: str) -> None:
    """fsync a directory so a rename, mkdir or unlink in it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new file, never a mix."""
    parent, name = os.path.split(path)
    tmp = os.path.join(parent, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 (contextlib is not worth importing here)
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(parent or ".")
