"""Small-file writes, the one implementation: temp file, (fsync,) rename, (fsync the directory).

Readers see the old file or the new one, never a mix.  ``sync=True`` (the house
rule for data that must survive a host crash: records, metadata, content) also
puts the data and the rename on disk before returning; ``sync=False`` is for what
a crash makes moot or rebuilds (runtime state, files regenerated at start, caches).
"""

import os

__all__ = ["fsync_dir", "write_file"]


def fsync_dir(path: "str | os.PathLike[str]") -> None:
    """fsync a directory so a rename, mkdir or unlink in it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(
    path: "str | os.PathLike[str]", data: bytes, mode: int = 0o600, *, sync: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically (``mode`` for a new file, less the umask)."""
    path = os.fspath(path)
    parent, name = os.path.split(path)
    # a fresh name (O_EXCL: never an existing file or a planted symlink), unique per writer
    tmp = os.path.join(parent, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 (contextlib costs an import)
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync:
        fsync_dir(parent or ".")
