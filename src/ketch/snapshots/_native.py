"""The native snapshotter: each active snapshot is a full copy of its parent.

Works on any filesystem and without overlayfs, at the price of copying.  An
active snapshot's ``fs`` starts as a copy of the parent's; a view binds the
parent read-only without copying.  Layers are applied into ``fs`` with
whiteouts as deletions (``apply_layer(..., whiteout="delete")``), and diffs
compare ``fs`` against the parent's (``diff_layer`` two-directory mode).
"""

import os

from ketch.oci.runtime_spec import Mount
from ketch.snapshots._base import BaseSnapshotter, bind_mount
from ketch.snapshots._tree import copy_tree

__all__ = ["NativeSnapshotter"]


class NativeSnapshotter(BaseSnapshotter):
    """Snapshots as plain directory copies under ``root``."""

    kind = "native"

    def _populate(self, new_dir: str, kind: str, parents: list[str]) -> None:
        fs = f"{new_dir}/fs"
        os.mkdir(fs, 0o755)
        if kind == "active" and parents:
            copy_tree(parents[0], fs)

    def _quick(self, kind: str, parents: list[str]) -> bool:
        return not (kind == "active" and parents)  # a copy can take long

    def _describe(self, sdir: str, kind: str, parents: list[str]) -> list[Mount]:
        if kind == "view":
            return [bind_mount(parents[0] if parents else f"{sdir}/fs", readonly=True)]
        return [bind_mount(f"{sdir}/fs", readonly=False)]
