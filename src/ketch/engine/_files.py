"""JSON records and removal for the engine's on-disk state (writes: ``ketch.linux.durable``,
locks: ``ketch.linux.flock``).

Paths are ``str`` or ``os.PathLike`` (``run`` never imports ``pathlib``: ~3 ms)."""

from __future__ import annotations

import os

from ketch.linux.durable import write_file
from ketch.linux.flock import FileLock
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FileLock", "read_json", "remove_tree", "write_json"]


def write_json(path: str | os.PathLike[str], doc: Any, *, sync: bool = True) -> None:
    write_file(path, _json.dumps(doc, separators=(",", ":")).encode(), 0o644, sync=sync)


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
