"""The native snapshotter: each active snapshot is a full copy of its parent.

Works on any filesystem and without overlayfs, at the price of copying.  An
active snapshot's ``fs`` starts as a copy of the parent's; a view binds the
parent read-only without copying.  Layers are applied into ``fs`` with
whiteouts as deletions (``apply_layer(..., whiteout="delete")``), and diffs
compare ``fs`` against the parent's (``diff_layer`` two-directory mode).
"""

from pathlib import Path

from ketch.oci.runtime_spec import Mount
from ketch.snapshots._base import BaseSnapshotter, bind_mount
from ketch.snapshots._tree import copy_tree

__all__ = ["NativeSnapshotter"]


class NativeSnapshotter(BaseSnapshotter):
    """Snapshots as plain directory copies under ``root``."""

    kind = "native"

    def _populate(self, new_dir: Path, kind: str, parents: list[Path]) -> None:
        fs = new_dir / "fs"
        fs.mkdir(mode=0o755)
        if kind == "active" and parents:
            copy_tree(str(parents[0]), str(fs))

    def _describe(self, sdir: Path, kind: str, parents: list[Path]) -> list[Mount]:
        if kind == "view":
            return [bind_mount(parents[0] if parents else sdir / "fs", readonly=True)]
        return [bind_mount(sdir / "fs", readonly=False)]
