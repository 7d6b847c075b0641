"""An existing container: status, OCI state, signals, freezer, processes, resources, stats."""

import os

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.oci.runtime_spec import OCI_VERSION, State
from ketch.runtime._proc import process_start_time
from ketch.runtime.state import (
    CREATED,
    PAUSED,
    RUNNING,
    STOPPED,
    ContainerState,
    StateDir,
    derive_status,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups import CgroupManager
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["Container", "may_have_hooks", "oci_state"]


def may_have_hooks(state: ContainerState, kind: str) -> bool:
    """Whether the stored config may list ``kind`` hooks (``poststart``...): False lets
    the common case (no hooks) skip decoding the whole config (~0.1 ms)."""
    raw = state.config
    if not isinstance(raw, dict):
        return True  # let the decoder say what is wrong
    hooks = raw.get("hooks")
    if hooks is None:
        return False
    return not isinstance(hooks, dict) or bool(hooks.get(kind))


def oci_state(state: ContainerState, status: str) -> State:
    """The OCI state document (what hooks read on stdin and ``state`` prints)."""
    annotations = state.annotations
    return State(
        oci_version=OCI_VERSION,
        id=state.id,
        status=status,
        bundle=state.bundle,
        pid=state.pid if status != STOPPED else 0,
        annotations=annotations or None,
    )


class Container:
    """A container of a ``StateDir``, loaded from its state.json."""

    def __init__(self, store: StateDir, state: ContainerState) -> None:
        self.store = store
        self.state = state
        self._manager: CgroupManager | None = None

    @classmethod
    def load(cls, store: StateDir, container_id: str) -> "Container":
        return cls(store, store.load(container_id))

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def manager(self) -> "CgroupManager":
        if self._manager is None:
            from ketch.cgroups import detect, load_manager

            self._manager = load_manager(self.state.cgroup_paths or {}, detect())
        return self._manager

    def alive(self) -> bool:
        """Whether the init still runs (the same process: its start time matches)."""
        return process_start_time(self.state.pid) == self.state.start_time

    def status(self) -> str:
        alive = self.alive()
        fifo = alive and os.path.exists(self.store.fifo_path(self.id))
        frozen = False
        if alive and not fifo:
            try:
                frozen = self.manager.frozen()
            except (OSError, FailedPrecondition, InvalidArgument):
                frozen = False
        return derive_status(alive=alive, fifo_exists=fifo, frozen=frozen)

    def oci_state(self) -> State:
        return oci_state(self.state, self.status())

    def state_document(self) -> dict[str, object]:
        """runc's ``state`` output: the OCI state plus rootfs, created and owner."""
        from ketch.oci._decode import encode

        status = self.status()
        doc: dict[str, object] = encode(oci_state(self.state, status))
        doc["pid"] = self.state.pid if status != STOPPED else 0
        doc["rootfs"] = self.state.rootfs
        doc["created"] = self.state.created
        doc["owner"] = self.state.owner
        return doc

    def kill(self, signum: int, *, all_processes: bool = False) -> None:
        """Send ``signum`` to the init (or every process of the cgroup)."""
        status = self.status()
        if status == STOPPED:
            raise FailedPrecondition(f"container {self.id!r} is not running")
        if all_processes:
            self.manager.kill_all(signum)
            return
        try:
            os.kill(self.state.pid, signum)
        except ProcessLookupError:
            raise FailedPrecondition(f"container {self.id!r} is not running") from None

    def pause(self) -> None:
        status = self.status()
        if status not in (RUNNING, CREATED):
            raise FailedPrecondition(f"container {self.id!r} is {status}: cannot pause")
        self.manager.freeze()

    def resume(self) -> None:
        status = self.status()
        if status != PAUSED:
            raise FailedPrecondition(f"container {self.id!r} is {status}, not paused")
        self.manager.thaw()

    def pids(self) -> list[int]:
        return sorted(self.manager.pids())

    def update(self, resources: "LinuxResources") -> None:
        if self.status() == STOPPED:
            raise FailedPrecondition(f"container {self.id!r} is stopped")
        self.manager.set(resources)

    def stats(self) -> dict[str, object]:
        """runc's ``events --stats`` data for the container's cgroup."""
        from ketch.cgroups.stats import stats_to_json

        if self.status() == STOPPED:
            raise FailedPrecondition(f"container {self.id!r} is stopped")
        return stats_to_json(self.manager.stats())
