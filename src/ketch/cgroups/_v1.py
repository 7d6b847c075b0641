"""The cgroup v1 manager (also hybrid hosts: v1 controllers plus a controller-less cgroup2)."""

import os

from ketch.cgroups import _files
from ketch.cgroups._manager import CgroupManager, _sleep
from ketch.errors import FailedPrecondition, NotImplementedByHost

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.stats import CgroupStats
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["V1Manager"]


class V1Manager(CgroupManager):
    """Per-controller directories; the cgroup2 one (key "") too on a hybrid host."""

    @property
    def version(self) -> str:
        return "hybrid" if "" in self._dirs else "v1"

    def _walk_from_root(self, key: str) -> bool:
        return key == "cpuset"  # an empty cpuset on the way (made by anyone) gets filled

    def _prepare_dir(self, key: str, path: str) -> None:
        # a new v1 cpuset is empty, and a process cannot join an empty cpuset: copy the parent's
        if key != "cpuset":
            return
        parent = os.path.dirname(path)
        for name in ("cpuset.cpus", "cpuset.mems"):
            current = _files.read_optional(path, name)
            if current is not None and not current.strip():
                value = _files.read(parent, name).strip()
                if value:
                    _files.write(path, name, value)

    def set(self, resources: "LinuxResources") -> None:
        """Write ``resources`` (also what ``update`` uses); absent sections are untouched."""
        from ketch.cgroups._v1_set import set_v1
        from ketch.cgroups._validate import check_resources

        check_resources(resources)
        set_v1(self._dirs, resources)

    # -- freezer ---------------------------------------------------------------------------

    def _freezer(self) -> str | None:
        return self._dirs.get("freezer")

    def _can_freeze(self) -> bool:
        return self._freezer() is not None or _v2_can_freeze(self._dirs.get(""))

    def freeze(self) -> None:
        """Freeze every process, returning once the kernel reports FROZEN."""
        path = self._freezer()
        if path is None:
            return _v2_freeze(self._dirs.get(""), True)
        for attempt in range(1000):  # ~10 s
            if attempt % 50 == 0:  # (re)ask: a freeze can stall on a task in the kernel
                if attempt:
                    _files.write(path, "freezer.state", "THAWED")
                _files.write(path, "freezer.state", "FROZEN")
            if _files.read(path, "freezer.state").strip() == "FROZEN":
                return None
            _sleep(0.01)
        _files.write(path, "freezer.state", "THAWED")
        raise FailedPrecondition(f"cgroup: {path} did not freeze (still FREEZING after 10 s)")

    def thaw(self) -> None:
        path = self._freezer()
        if path is None:
            return _v2_freeze(self._dirs.get(""), False)
        _files.write(path, "freezer.state", "THAWED")
        for _ in range(1000):
            if _files.read(path, "freezer.state").strip() == "THAWED":
                return None
            _sleep(0.01)
        raise FailedPrecondition(f"cgroup: {path} did not thaw")

    def frozen(self) -> bool:
        """Whether the freezer reports FROZEN (False when the cgroup is gone)."""
        path = self._freezer()
        if path is None:
            return _v2_frozen(self._dirs.get(""))
        return (_files.read_optional(path, "freezer.state") or "").strip() == "FROZEN"

    # -- stats -----------------------------------------------------------------------------

    def stats(self) -> "CgroupStats":
        from ketch.cgroups._stats_v1 import stats_v1

        return stats_v1(self._dirs)

    def oom_kill_count(self) -> int:
        from ketch.cgroups._stats_v1 import oom_kill_count_v1

        return oom_kill_count_v1(self._dirs)


def _v2_can_freeze(path: str | None) -> bool:
    return path is not None and os.path.exists(f"{path}/cgroup.freeze")


def _v2_freeze(path: str | None, freeze: bool) -> None:
    if not _v2_can_freeze(path):
        raise NotImplementedByHost("cgroup: no freezer (v1 freezer not mounted, no cgroup.freeze)")
    from ketch.cgroups._v2 import freeze_v2

    assert path is not None
    freeze_v2(path, freeze)


def _v2_frozen(path: str | None) -> bool:
    if not _v2_can_freeze(path):
        return False
    from ketch.cgroups._v2 import frozen_v2

    assert path is not None
    return frozen_v2(path)
