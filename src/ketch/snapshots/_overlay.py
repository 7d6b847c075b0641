"""The overlayfs snapshotter: each snapshot is one overlay layer directory.

A snapshot directory holds ``fs`` (the layer: an overlay upper while active,
a lower once committed) and ``work`` (overlay's scratch).  Mounts:

- active without parent: a writable bind of ``fs``;
- active with parents: ``overlay`` with ``lowerdir`` = parents' ``fs`` (nearest
  first), ``upperdir`` = ``fs``, ``workdir`` = ``work``;
- view of one parent: a read-only bind of the parent's ``fs``; of several: an
  ``overlay`` with only ``lowerdir`` (read-only by nature); of none: a read-only
  bind of its own empty ``fs``.
"""

import os

from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import Mount
from ketch.snapshots._base import BaseSnapshotter, bind_mount

__all__ = ["OverlaySnapshotter"]

_BAD_CHARS = (",", ":", "\\", "\n")


class OverlaySnapshotter(BaseSnapshotter):
    """Snapshots as overlayfs layers under ``root``."""

    kind = "overlayfs"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        for ch in _BAD_CHARS:
            if ch in text:
                raise InvalidArgument(
                    f"snapshot root {text!r}: {ch!r} cannot appear in overlay mount options"
                )
        super().__init__(root)

    def _populate(self, new_dir: str, kind: str, parents: list[str]) -> None:
        os.mkdir(f"{new_dir}/fs", 0o755)
        if kind == "active":
            os.mkdir(f"{new_dir}/work", 0o700)

    def _quick(self, kind: str, parents: list[str]) -> bool:
        return True  # two mkdirs

    def _describe(self, sdir: str, kind: str, parents: list[str]) -> list[Mount]:
        fs = f"{sdir}/fs"
        if kind == "view":
            if not parents:
                return [bind_mount(fs, readonly=True)]
            if len(parents) == 1:
                return [bind_mount(parents[0], readonly=True)]
            lower = ":".join(parents)
            return [
                Mount(
                    destination="/",
                    type="overlay",
                    source="overlay",
                    options=(f"lowerdir={lower}",),
                )
            ]
        if not parents:
            return [bind_mount(fs, readonly=False)]
        lower = ":".join(parents)
        return [
            Mount(
                destination="/",
                type="overlay",
                source="overlay",
                options=(
                    "index=off",
                    f"lowerdir={lower}",
                    f"upperdir={fs}",
                    f"workdir={sdir}/work",
                ),
            )
        ]
