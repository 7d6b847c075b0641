"""``CgroupManager``: the one interface over cgroup v1, v2 and hybrid hosts.

A manager holds the directories of one cgroup (one per v1 hierarchy and/or the
cgroup2 one) and the mountpoints of their hierarchies; it never looks at
/proc itself, so tests point it at fixture trees.  Shared behaviour lives here;
``_v1.V1Manager`` and ``_v2.V2Manager`` write the resources and read stats.
"""

import os
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.cgroups import _files
from ketch.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups._join import CgroupJoin
    from ketch.cgroups.stats import CgroupStats
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["CgroupManager"]

_SIGKILL = 9


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


class CgroupManager:
    """One container's cgroup: create, join, limit, freeze, observe, signal, remove.

    ``dirs`` maps each controller (v1: "memory", "name=systemd"...; the cgroup2
    directory: "") to its cgroup directory; ``roots`` maps the same keys to the
    mountpoint of their hierarchy.
    """

    @property
    def version(self) -> str:
        """ "v1", "v2" or "hybrid"."""
        raise NotImplementedError

    def __init__(self, dirs: Mapping[str, str], roots: Mapping[str, str]) -> None:
        if not dirs:
            raise InvalidArgument("cgroup: no cgroup hierarchy to manage")
        for key, path in dirs.items():
            root = roots.get(key, "")
            if not root or not os.path.normpath(path).startswith(root.rstrip("/") + "/"):
                raise InvalidArgument(f"cgroup: {path} is not below its cgroup mount {root!r}")
        self._dirs = dict(dirs)
        self._roots = dict(roots)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dirs!r})"

    # -- paths -----------------------------------------------------------------------------

    def paths(self) -> Mapping[str, str]:
        """controller -> absolute cgroup directory ("" is the cgroup2 directory)."""
        return dict(self._dirs)

    def _unique_dirs(self) -> list[str]:
        seen: list[str] = []
        for path in self._dirs.values():
            if path not in seen:
                seen.append(path)
        return seen

    def _primary(self) -> str:
        """The directory whose cgroup.procs lists the container's processes."""
        for key in ("pids", "freezer", "devices", "memory", "cpu", "name=systemd", ""):
            if key in self._dirs:
                return self._dirs[key]
        return next(iter(self._dirs.values()))

    def exists(self) -> bool:
        return os.path.isdir(self._primary())

    # -- lifecycle -------------------------------------------------------------------------

    def create(self) -> None:
        """Make every directory (and missing parents)."""
        for key, path in self._dirs.items():
            self._mkdirs(key, path)

    def _mkdirs(self, key: str, path: str) -> None:
        if not self._walk_from_root(key):
            try:  # the parents usually exist: one mkdir instead of one per level
                os.mkdir(path, 0o755)
                return
            except FileExistsError:
                return
            except FileNotFoundError:
                pass  # a parent is missing: made below, from the root down
            except OSError as e:
                raise _mkdir_error(path, e) from e
        root = self._roots[key].rstrip("/")
        parts = path[len(root) :].strip("/").split("/")
        current = root
        for part in parts:
            current = f"{current}/{part}"
            try:
                os.mkdir(current, 0o755)
            except FileExistsError:
                pass
            except OSError as e:
                raise _mkdir_error(current, e) from e
            self._prepare_dir(key, current)

    def _prepare_dir(self, key: str, path: str) -> None:
        """Hook run on each directory from the root down (v1 cpuset fills cpus/mems)."""

    def _walk_from_root(self, key: str) -> bool:
        """Whether ``_prepare_dir`` must see every level of ``key``'s path, made or not."""
        return False

    def open_join(self) -> "CgroupJoin":
        """Handles for a child to be born in (cgroup2) or move itself into (v1) the cgroup.

        Faster than ``add_process`` by a kernel grace period: see ``ketch.cgroups._join``.
        The directories must exist (``create``).
        """
        from ketch.cgroups._join import CgroupJoin

        v1 = [path for key, path in self._dirs.items() if key != ""]
        return CgroupJoin(self._dirs.get(""), list(dict.fromkeys(v1)))

    def add_process(self, pid: int) -> None:
        """Move ``pid`` into the cgroup in every hierarchy (``open_join`` is faster for a new child)."""
        import errno

        for path in self._unique_dirs():
            for attempt in range(6):
                try:
                    _files.write(path, "cgroup.procs", str(pid))
                    break
                except InvalidArgument:
                    # EINVAL may mean the task is still being created (TASK_NEW): retry
                    if attempt == 5:
                        raise
                    _sleep(0.02)
                except FailedPrecondition as e:
                    cause = e.__cause__
                    if isinstance(cause, OSError) and cause.errno == errno.ESRCH:
                        raise NotFound(f"cgroup: process {pid} does not exist") from e
                    raise

    def pids(self) -> list[int]:
        """Every process in the cgroup and its descendants."""
        found: list[int] = []
        top = self._primary()
        if not os.path.isdir(top):
            return found
        for dirpath, _, _ in os.walk(top):
            text = _files.read_optional(dirpath, "cgroup.procs") or ""
            found.extend(int(x) for x in text.split() if x.isdigit())
        return found

    def kill_all(self, signum: int) -> None:
        """Send ``signum`` to every process; SIGKILL via cgroup.kill where the kernel has it.

        After SIGKILL a frozen (paused) cgroup is thawed: a v1 freezer would
        otherwise hold the killed processes until someone resumes it.
        """
        unified = self._dirs.get("")
        if signum == _SIGKILL and unified and os.path.exists(f"{unified}/cgroup.kill"):
            _files.write(unified, "cgroup.kill", "1")
            if self.frozen():
                self.thaw()
            return
        freeze = signum == _SIGKILL and self._can_freeze()
        if freeze:  # no process can fork away between listing and killing
            self.freeze()
        try:
            for pid in self.pids():
                try:  # noqa: SIM105 (contextlib is not worth importing here)
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass
        finally:
            if freeze:
                self.thaw()

    def destroy(self) -> None:
        """Remove every directory (sub-cgroups first); gone already is fine.

        Retries for about two seconds while the last processes exit (EBUSY).
        """
        import errno

        pending = self._unique_dirs()
        delay, waited = 0.002, 0.0
        while True:
            busy: list[str] = []
            errors: list[str] = []
            for path in pending:
                try:
                    _remove_tree(path)
                except OSError as e:
                    if e.errno == errno.EBUSY:
                        busy.append(path)
                    else:
                        errors.append(f"{path}: {os.strerror(e.errno or 0)}")
            if errors or not busy or waited >= 2.0:
                break
            _sleep(delay)
            waited += delay
            pending, delay = busy, min(delay * 2, 0.5)
        errors += [f"{path}: still has processes" for path in busy]
        if errors:
            raise FailedPrecondition("cgroup: cannot remove " + "; ".join(errors))

    # -- implemented per version -----------------------------------------------------------

    def set(self, resources: "LinuxResources") -> None:
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def frozen(self) -> bool:
        raise NotImplementedError

    def _can_freeze(self) -> bool:
        raise NotImplementedError

    def stats(self) -> "CgroupStats":
        raise NotImplementedError

    def oom_kill_count(self) -> int:
        raise NotImplementedError


def _mkdir_error(path: str, err: OSError) -> Exception:
    import errno

    what = f"cgroup: cannot create {path}: {os.strerror(err.errno or 0)}"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionDenied(what)
    if err.errno == errno.ENOENT:
        return NotFound(what + " (is the cgroup hierarchy mounted?)")
    return FailedPrecondition(what)


def _remove_tree(path: str) -> None:
    import errno

    try:  # a leaf cgroup (the usual case) goes without listing its files
        os.rmdir(path)
        return
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _remove_tree(entry.path)
    if os.path.isdir(path):  # (a racing destroy may still win: FileNotFoundError is fine)
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return
