"""Durable small-file writes and flock-based locks for the engine's on-disk state.

Paths are ``str`` or ``os.PathLike`` (``run`` never imports ``pathlib``: ~3 ms)."""

from __future__ import annotations

import os

from ketch.linux.flock import FileLock
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FileLock", "read_json", "remove_tree", "write_durable", "write_json"]


def write_durable(
    path: str | os.PathLike[str], data: bytes, mode: int = 0o644, *, sync: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync the directory.

    ``sync=False`` keeps the atomic rename (readers never see a torn file) but not
    the fsyncs: for files that are rebuilt on use (config.json, /etc/hosts) and
    for run-time state that a host crash makes moot anyway (running/exited: after
    a reboot no monitor is alive and the container reads as exited).
    """
    parent, name = os.path.split(os.fspath(path))
    tmp = os.path.join(parent, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if not sync:
        return
    dfd = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def write_json(path: str | os.PathLike[str], doc: Any, *, sync: bool = True) -> None:
    write_durable(path, _json.dumps(doc, separators=(",", ":")).encode(), sync=sync)


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON document in ``path``; ``InvalidArgument`` (naming the file) if it is not JSON."""
    return _json.read(os.fspath(path))


def remove_tree(path: str) -> None:
    """Remove ``path`` and all below it, never following a symlink; errors are ignored
    (``sweep`` finishes a hidden directory left behind).  Not ``shutil.rmtree``: its
    imports (``fnmatch``, ``re``, the compression modules) cost ~3 ms in the monitor."""
    from ketch.snapshots._tree import remove_tree as remove

    try:  # noqa: SIM105 (contextlib costs an import)
        remove(path)
    except OSError:
        pass
