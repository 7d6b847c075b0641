"""The engine: containers and images as a user sees them.

One library that both the ``ketch`` CLI (embedded, no daemon) and ``ketchd``
(the Docker Engine API) call.  State lives under ``root``::

    <root>/content      blobs           <root>/images     image store
    <root>/snapshots    snapshotter     <root>/containers/<id>/  one container
    <root>/runtime      the OCI runtime's state root

Parts are built on first use so a command pays only for what it touches.  Paths
are strings inside (``root_dir``, ``runtime_dir``): ``run`` never imports
``pathlib`` (~3 ms); ``root`` and ``runtime_root`` are ``Path`` for other callers.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ketch.engine.containers import ContainerService

__all__ = ["DEFAULT_SNAPSHOTTER", "Engine", "default_runtime"]

DEFAULT_SNAPSHOTTER = "overlayfs"


def default_runtime() -> str:
    """``ketch-runtime`` next to the running interpreter, else the one on ``PATH``."""
    beside = os.path.join(os.path.dirname(sys.executable), "ketch-runtime")
    return beside if os.path.exists(beside) else "ketch-runtime"


class Engine:
    """The engine rooted at ``root``; ``runtime`` is the OCI runtime binary (runc's CLI)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        runtime: str | None = None,
        snapshotter: str | None = None,
        monitor: str | None = None,
    ) -> None:
        """``monitor``: "fork" (the CLI's default: a fork of this single-threaded process)
        or "exec" (a fresh interpreter: what a threaded caller such as the daemon needs)."""
        self.root_dir = os.fspath(root)
        self.runtime_dir = f"{self.root_dir}/runtime"
        self.monitor = monitor or os.environ.get("KETCH_MONITOR", "fork")
        if self.monitor not in ("fork", "exec"):
            from ketch.errors import InvalidArgument

            raise InvalidArgument(f"monitor mode {self.monitor!r}: expected 'fork' or 'exec'")
        self.runtime = runtime or default_runtime()
        self.snapshotter_kind = snapshotter or os.environ.get(
            "KETCH_SNAPSHOTTER", DEFAULT_SNAPSHOTTER
        )
        self._content: Any = None
        self._snapshotter: Any = None
        self._images: Any = None
        self._containers: ContainerService | None = None

    @property
    def root(self) -> Path:
        from pathlib import Path

        return Path(self.root_dir)

    @property
    def runtime_root(self) -> Path:
        from pathlib import Path

        return Path(self.runtime_dir)

    @property
    def content(self) -> Any:
        """The content store (``ketch.content.ContentStore``)."""
        if self._content is None:
            from ketch.content import ContentStore

            self._content = ContentStore(self.root / "content")
        return self._content

    @property
    def snapshotter(self) -> Any:
        """The snapshotter (``ketch.snapshots``) of kind ``snapshotter_kind``."""
        if self._snapshotter is None:
            from ketch.snapshots import open_snapshotter

            self._snapshotter = open_snapshotter(f"{self.root_dir}/snapshots", self.snapshotter_kind)
        return self._snapshotter

    @property
    def images(self) -> Any:
        """The image store (``ketch.images.ImageStore``)."""
        if self._images is None:
            from ketch.images.store import ImageStore

            self._images = ImageStore(self.root / "images", self.content, self.snapshotter)
        return self._images

    @property
    def containers(self) -> ContainerService:
        """Containers: create, start, stop, inspect... (``ContainerService``)."""
        if self._containers is None:
            from ketch.engine.containers import ContainerService

            self._containers = ContainerService(self)
        return self._containers
