"""Snapshots: layered filesystem trees for images and containers (overlayfs or copies).

``open_snapshotter(root, kind)`` returns a ``Snapshotter``: ``prepare``/``view``
make active snapshots described as OCI mounts, ``commit`` freezes one so it can
parent others.  ``ketch.snapshots.mount`` mounts those descriptions.
"""

from pathlib import Path

from ketch.snapshots._types import SnapshotInfo, Snapshotter, Usage

__all__ = ["SnapshotInfo", "Snapshotter", "Usage", "open_snapshotter"]

_KINDS = ("overlayfs", "native", "auto")


def open_snapshotter(root: Path, kind: str = "overlayfs") -> Snapshotter:
    """The snapshotter of ``kind`` at ``root`` (created if missing).

    ``auto`` keeps the kind a root already holds, else probes once whether
    overlayfs works on the filesystem under ``root`` and records the answer.
    A root holds one kind: opening it as another is ``FailedPrecondition``.
    """
    from ketch.errors import InvalidArgument

    if kind not in _KINDS:
        raise InvalidArgument(f"unknown snapshotter {kind!r} (expected one of {', '.join(_KINDS)})")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
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
