"""Which namespaces a container gets: new ones, joined ones (by path), and in which process.

``pid`` and ``time`` apply to the children of the process that unshares them, so
the process that forks the init sets them up.  Without a user namespace the
runtime does that itself (and returns to its own namespaces after the fork):
one fork, the init is PID 1 at once.  With a user namespace the pid namespace
must belong to it, so a middle process enters the user namespace first and forks
the init (runc's two stages).
"""

import os

from ketch.errors import InvalidArgument, NotFound
from ketch.linux import ns
from ketch.oci.runtime_spec import Linux

__all__ = ["FOR_CHILDREN", "NamespacePlan", "plan_namespaces"]

FOR_CHILDREN = ("pid", "time")
_NSFS_MAGIC = 0x6E736673
# setns order: the user namespace first (it grants the rights for the rest), mount last
_JOIN_ORDER = ("user", "ipc", "uts", "network", "cgroup", "pid", "time", "mount")


class NamespacePlan:
    """New namespaces as clone flags, and open fds of the namespaces to join."""

    __slots__ = ("join", "new", "new_kinds")

    def __init__(self, new_kinds: frozenset[str], join: dict[str, int]) -> None:
        self.new_kinds = new_kinds
        self.new = 0
        for kind in new_kinds:
            self.new |= ns.NAMESPACE_FLAGS[kind]
        self.join = join

    @property
    def user(self) -> bool:
        return "user" in self.new_kinds or "user" in self.join

    def flags(self, kinds: tuple[str, ...]) -> int:
        result = 0
        for kind in kinds:
            if kind in self.new_kinds:
                result |= ns.NAMESPACE_FLAGS[kind]
        return result

    def join_kinds(self, kinds: tuple[str, ...]) -> None:
        """setns into the joined namespaces among ``kinds``, in a safe order."""
        for kind in _JOIN_ORDER:
            if kind in kinds and kind in self.join:
                ns.setns(self.join[kind], ns.NAMESPACE_FLAGS[kind])

    def close(self) -> None:
        for fd in self.join.values():
            try:  # noqa: SIM105 (contextlib costs an import)
                os.close(fd)
            except OSError:
                pass
        self.join = {}


def plan_namespaces(linux: Linux | None) -> NamespacePlan:
    """Check ``linux.namespaces`` and open the paths to join (on the host, before any fork)."""
    new: set[str] = set()
    join: dict[str, int] = {}
    try:
        for i, entry in enumerate(linux.namespaces if linux is not None else ()):
            kind = entry.type
            if kind not in ns.NAMESPACE_FLAGS:
                raise InvalidArgument(f"linux.namespaces[{i}].type: unknown namespace {kind!r}")
            if not entry.path:
                new.add(kind)
                continue
            join[kind] = _open_ns(entry.path, f"linux.namespaces[{i}].path")
    except BaseException:
        for fd in join.values():
            os.close(fd)
        raise
    return NamespacePlan(frozenset(new), join)


def _open_ns(path: str, what: str) -> int:
    if not os.path.isabs(path):
        raise InvalidArgument(f"{what}: {path!r} is not an absolute path")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"{what}: {path} does not exist") from None
    except OSError as e:
        raise InvalidArgument(f"{what}: {path}: {e.strerror}") from None
    from ketch.linux.fs import fstatfs_type

    try:
        kind = fstatfs_type(fd)
    except OSError:
        kind = -1
    if kind != _NSFS_MAGIC:
        os.close(fd)
        raise InvalidArgument(f"{what}: {path} is not a namespace file")
    return fd
