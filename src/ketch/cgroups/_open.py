"""Opening the manager for a container's cgroup on whatever layout the host has."""

from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.cgroups._manager import CgroupManager
from ketch.cgroups._mode import CgroupMode, detect
from ketch.errors import InvalidArgument

__all__ = ["load_manager", "open_manager"]


def _make(mode: CgroupMode, dirs: dict[str, str], roots: dict[str, str]) -> CgroupManager:
    if mode.kind == "v2":
        from ketch.cgroups._v2 import V2Manager

        return V2Manager(dirs, roots)
    from ketch.cgroups._v1 import V1Manager

    return V1Manager(dirs, roots)


def open_manager(
    cgroups_path: str | None,
    container_id: str,
    *,
    mode: CgroupMode | None = None,
    mounts: str = "/proc/self/mountinfo",
    proc_cgroup: str = "/proc/self/cgroup",
) -> CgroupManager:
    """The manager for ``linux.cgroupsPath`` (runc's rules; None: ``/ketch/<id>``).

    ``mode`` is detected from ``mounts`` when not given; ``proc_cgroup`` (the
    runtime's own cgroups) is read only for a relative path.  Nothing is created
    until ``create()``.
    """
    from ketch.cgroups._paths import clean_cgroups_path, parse_proc_cgroup, resolve_dirs

    path = clean_cgroups_path(cgroups_path, container_id)
    if path == "/":
        raise InvalidArgument("linux.cgroupsPath: '/' is the root cgroup, not a container's")
    if mode is None:
        mode = detect(mounts)
    own: dict[str, str] = {}
    if not path.startswith("/"):
        try:
            with open(proc_cgroup, encoding="utf-8") as f:
                own = parse_proc_cgroup(f.read())
        except OSError:
            own = {}
    dirs, roots = resolve_dirs(path, mode, own)
    return _make(mode, dirs, roots)


def load_manager(paths: Mapping[str, str], mode: CgroupMode) -> CgroupManager:
    """The manager for directories saved from ``paths()`` (e.g. in container state)."""
    roots: dict[str, str] = {}
    for key in paths:
        mount = mode.unified if key == "" else mode.mount_for(key)
        if mount is None:
            raise InvalidArgument(f"cgroup: saved path for {key!r}, which this host does not mount")
        roots[key] = mount.mountpoint
    return _make(mode, dict(paths), roots)
