"""The cgroup v2 (unified) manager: one directory holds every controller."""

import os

from ketch.cgroups import _files
from ketch.cgroups._manager import CgroupManager, _sleep
from ketch.errors import FailedPrecondition, KetchError, NotImplementedByHost

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.stats import CgroupStats
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["V2Manager", "enable_controllers", "freeze_v2", "frozen_v2"]


def enable_controllers(parent: str) -> None:
    """Delegate every controller ``parent`` has to its children (cgroup.subtree_control).

    One write per controller, failures ignored: a controller that cannot be
    enabled shows up later as a clear "no such file" when a limit needs it.
    """
    available = (_files.read_optional(parent, "cgroup.controllers") or "").split()
    enabled = (_files.read_optional(parent, "cgroup.subtree_control") or "").split()
    for controller in available:
        if controller not in enabled:
            try:  # noqa: SIM105 (contextlib is not worth importing here)
                _files.write(parent, "cgroup.subtree_control", f"+{controller}")
            except KetchError:
                pass


def _events(path: str) -> dict[str, str]:
    text = _files.read_optional(path, "cgroup.events") or ""
    return dict(line.split(None, 1) for line in text.splitlines() if " " in line)


def frozen_v2(path: str) -> bool:
    return _events(path).get("frozen", "0").strip() == "1"


def freeze_v2(path: str, freeze: bool) -> None:
    """Write cgroup.freeze and wait until cgroup.events reports the new state."""
    if not os.path.exists(f"{path}/cgroup.freeze"):
        raise NotImplementedByHost(f"cgroup: {path}/cgroup.freeze missing (kernel < 5.2?)")
    _files.write(path, "cgroup.freeze", "1" if freeze else "0")
    for _ in range(1000):  # ~10 s
        if frozen_v2(path) == freeze:
            return
        _sleep(0.01)
    if freeze:
        _files.write(path, "cgroup.freeze", "0")
    raise FailedPrecondition(f"cgroup: {path} did not {'freeze' if freeze else 'thaw'} in 10 s")


class V2Manager(CgroupManager):
    """A cgroup on a cgroup v2 host (the key "" of ``dirs``)."""

    @property
    def version(self) -> str:
        return "v2"

    @property
    def _dir(self) -> str:
        return self._dirs[""]

    def _walk_from_root(self, key: str) -> bool:
        return True  # each level delegates its controllers to the next (subtree_control)

    def _prepare_dir(self, key: str, path: str) -> None:
        enable_controllers(os.path.dirname(path))

    def set(self, resources: "LinuxResources") -> None:
        """Write ``resources`` (also what ``update`` uses); absent sections are untouched."""
        from ketch.cgroups._v2_set import set_v2
        from ketch.cgroups._validate import check_resources

        rules = check_resources(resources)
        set_v2(self._dir, resources, rules)

    def _can_freeze(self) -> bool:
        return os.path.exists(f"{self._dir}/cgroup.freeze")

    def freeze(self) -> None:
        freeze_v2(self._dir, True)

    def thaw(self) -> None:
        freeze_v2(self._dir, False)

    def frozen(self) -> bool:
        return frozen_v2(self._dir)

    def stats(self) -> "CgroupStats":
        from ketch.cgroups._stats_v2 import stats_v2

        return stats_v2(self._dir)

    def oom_kill_count(self) -> int:
        from ketch.cgroups._stats_v1 import flat_keyed

        return flat_keyed(_files.read_optional(self._dir, "memory.events")).get("oom_kill", 0)
