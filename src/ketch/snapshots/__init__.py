"""Snapshots: layered filesystem trees for images and containers (overlayfs or copies).

``open_snapshotter(root, kind)`` returns a ``Snapshotter``: ``prepare``/``view``
make active snapshots described as OCI mounts, ``commit`` freezes one so it can
parent others.  ``ketch.snapshots.mount`` mounts those descriptions.

Start time: a container's ``run`` opens a snapshotter and prepares one
snapshot, so this package imports neither ``typing`` nor ``pathlib`` on that
path (~5 ms together); the methods that return ``Path`` import it on use.
"""

from __future__ import annotations

import os

from ketch.snapshots._types import SnapshotInfo, Usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.snapshots._protocol import Snapshotter

__all__ = ["SnapshotInfo", "Snapshotter", "Usage", "open_snapshotter"]

_KINDS = ("overlayfs", "native", "auto")


def __getattr__(name: str) -> Any:
    if name == "Snapshotter":  # typing on demand
        from ketch.snapshots._protocol import Snapshotter

        return Snapshotter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_snapshotter(root: str | os.PathLike[str], kind: str = "overlayfs") -> Snapshotter:
    """The snapshotter of ``kind`` at ``root`` (created if missing).

    ``auto`` keeps the kind a root already holds, else probes once whether
    overlayfs works on the filesystem under ``root`` and records the answer.
    A root holds one kind: opening it as another is ``FailedPrecondition``.
    """
    from ketch.errors import InvalidArgument

    if kind not in _KINDS:
        raise InvalidArgument(f"unknown snapshotter {kind!r} (expected one of {', '.join(_KINDS)})")
    root = os.fspath(root)
    os.makedirs(root, mode=0o700, exist_ok=True)
    if kind == "auto":
        from ketch.snapshots._metadata import MetaStore

        stored = MetaStore(root, "").stored_kind()
        if stored is not None:
            kind = stored
        else:
            from ketch.snapshots._probe import overlay_supported

            kind = "overlayfs" if overlay_supported(root) else "native"
    if kind == "overlayfs":
        from ketch.snapshots._overlay import OverlaySnapshotter

        return OverlaySnapshotter(root)
    from ketch.snapshots._native import NativeSnapshotter

    return NativeSnapshotter(root)
