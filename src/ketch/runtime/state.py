"""Where the runtime keeps its containers: ``<root>/<id>/state.json`` and ``exec.fifo``.

``state.json`` is written once the init's pid is known, atomically (temp file,
rename) but without fsync: see ``write_atomic``.  The status is never stored:
``derive_status`` computes it from the init's liveness, ``exec.fifo`` and the
cgroup freezer, as runc does.
"""

import os
import time
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.errors import AlreadyExists, InvalidArgument, NotFound
from ketch.linux.durable import write_file
from ketch.oci import _json
from ketch.oci._decode import decode, encode
from ketch.oci._record import Record

__all__ = [
    "CREATED",
    "PAUSED",
    "RUNNING",
    "STOPPED",
    "ContainerState",
    "StateDir",
    "derive_status",
    "now_rfc3339",
    "validate_id",
    "write_atomic",
]

CREATED, RUNNING, PAUSED, STOPPED = "created", "running", "paused", "stopped"
STATE_FILE = "state.json"
FIFO = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
_ID_MAX = 1024


def validate_id(container_id: str) -> str:
    """runc's rule: letters, digits, ``_ + - .``; not ``.``/``..``; returns the ID."""
    if not container_id:
        raise InvalidArgument("container ID cannot be empty")
    if len(container_id) > _ID_MAX:
        raise InvalidArgument(f"container ID is too long (more than {_ID_MAX} characters)")
    if container_id in (".", "..") or not _ID_CHARS.issuperset(container_id):
        raise InvalidArgument(f"invalid container ID {container_id!r}: use letters, digits, _ + - .")
    return container_id


class ContainerState(Record):
    """What the runtime records about a container (state.json)."""

    id: str
    bundle: str
    rootfs: str
    pid: int
    start_time: int  # of the init, in clock ticks after boot (/proc/<pid>/stat field 22)
    created: str  # RFC 3339
    config: object  # the bundle's config.json as it was at create
    cgroup_paths: Mapping[str, str] | None = None
    owner: str = ""

    @property
    def annotations(self) -> dict[str, str]:
        cfg = self.config
        if isinstance(cfg, dict) and isinstance(cfg.get("annotations"), dict):
            return dict(cfg["annotations"])
        return {}


def derive_status(*, alive: bool, fifo_exists: bool, frozen: bool) -> str:
    """The OCI status from what can be observed (``alive``: init runs and is the same process)."""
    if not alive:
        return STOPPED
    if fifo_exists:
        return CREATED
    if frozen:
        return PAUSED
    return RUNNING


def now_rfc3339() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``path`` atomically (temp file, rename): readers never see a partial file.

    No fsync, on purpose (the house rule of durable writes is for data that must
    survive a host crash).  The runtime's ``state.json`` and ``--pid-file`` live
    under the runtime root (a tmpfs such as ``/run`` in real use) and describe
    processes that a host crash kills anyway: after a reboot the state is stale
    whatever was synced, and ``derive_status`` already treats a dead init as
    stopped.  runc writes the same files the same way.
    """
    write_file(path, data, mode, sync=False)


class StateDir:
    """The runtime's state root (``--root``); one directory per container."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def path(self, container_id: str) -> str:
        return os.path.join(self.root, validate_id(container_id))

    @property
    def seccomp_cache(self) -> str:
        """Where compiled seccomp filters are kept (``@``: never a container ID)."""
        return os.path.join(self.root, "@seccomp")

    def fifo_path(self, container_id: str) -> str:
        return os.path.join(self.path(container_id), FIFO)

    def reserve(self, container_id: str) -> str:
        """Create ``<root>/<id>`` (atomically: a second create of the ID fails)."""
        path = self.path(container_id)
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            raise AlreadyExists(f"container {container_id!r} already exists") from None
        return path

    def save(self, state: ContainerState) -> None:
        data = _json.dumps(encode(state)).encode()
        write_atomic(os.path.join(self.path(state.id), STATE_FILE), data)

    def load(self, container_id: str) -> ContainerState:
        path = os.path.join(self.path(container_id), STATE_FILE)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"container {container_id!r} does not exist") from None
        return decode(ContainerState, _json.loads(raw, f"{path}"))

    def remove(self, container_id: str) -> None:
        """Remove the container's directory and everything in it."""
        path = self.path(container_id)
        try:
            names = os.listdir(path)
        except FileNotFoundError:
            return
        for name in names:
            try:  # noqa: SIM105 (contextlib costs an import)
                os.unlink(os.path.join(path, name))
            except FileNotFoundError:
                pass
        try:  # noqa: SIM105 (contextlib costs an import)
            os.rmdir(path)
        except FileNotFoundError:
            pass

    def ids(self) -> list[str]:
        """IDs of the containers with a state.json, sorted."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(
            n for n in names if os.path.exists(os.path.join(self.root, n, STATE_FILE))
        )
