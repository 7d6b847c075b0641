"""Create/start/delete through ``ketch.runtime`` in the monitor's own process.

The same lifecycle ``ketch-runtime create|start|delete`` runs, without paying
an interpreter start and its imports three times per container: the monitor is
already a (forked, single-threaded) Python with ketch loaded.  The container's
stdio is what the runtime passes from its own fds 0-2, so they are pointed at
the container's pipes for the duration of ``create``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["InProcessRuntime", "is_ketch_runtime"]


def is_ketch_runtime(binary: str) -> bool:
    """Whether ``binary`` is this package's ``ketch-runtime`` (and may run in-process)."""
    if os.environ.get("KETCH_RUNTIME_EXEC") == "1":
        return False
    return os.path.basename(binary) == "ketch-runtime"


class InProcessRuntime:
    """The runtime lifecycle for containers whose state is under ``root``.

    ``start`` after ``create`` on the same object uses the state ``create`` made
    instead of reading state.json back (the monitor's create -> start handshake)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self._created: dict[str, Any] = {}  # id -> the ContainerState create saved

    def create(
        self,
        cid: str,
        bundle: str,
        pid_file: str,
        stdio: tuple[int, int, int],
        console_fd: int | None = None,
    ) -> int:
        """``create``: the init waits for ``start``; ``console_fd`` (taken over) gets the pty.
        Returns the init's pid (also written to ``pid_file``)."""
        from ketch.runtime.create import create_container
        from ketch.runtime.state import StateDir

        saved = [os.dup(fd) for fd in (0, 1, 2)]
        try:
            for fd, target in zip(stdio, (0, 1, 2), strict=True):
                os.dup2(fd, target)
            launched = create_container(
                StateDir(self.root), cid, bundle, pid_file=pid_file,
                console_socket=console_fd,
            )
            launched.channel.close()
        finally:
            for fd, target in zip(saved, (0, 1, 2), strict=True):
                os.dup2(fd, target)
                os.close(fd)
        self._created[cid] = launched.state
        return int(launched.state.pid)

    def start(self, cid: str) -> None:
        from ketch.runtime.container import Container
        from ketch.runtime.start import start_container
        from ketch.runtime.state import StateDir

        state = self._created.pop(cid, None)
        store = StateDir(self.root)
        start_container(Container(store, state) if state is not None else Container.load(store, cid))

    def delete(self, cid: str) -> None:
        from ketch.errors import NotFound
        from ketch.runtime.container import Container
        from ketch.runtime.delete import delete_container
        from ketch.runtime.state import StateDir

        store = StateDir(self.root)
        try:
            container = Container.load(store, cid)
        except NotFound:
            try:
                if os.path.isdir(store.path(cid)):
                    store.remove(cid)
            except Exception:
                pass
            return
        delete_container(container, force=True)
