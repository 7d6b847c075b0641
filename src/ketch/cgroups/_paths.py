"""Where a container's cgroup lives: runc's rules for ``linux.cgroupsPath``.

* absolute (``/a/b``): under the root of every hierarchy;
* relative (``a/b``): under the cgroup of the runtime process itself (per hierarchy);
* absent: ``/ketch/<container id>``;
* systemd's ``slice:prefix:name``: refused (no systemd cgroup driver here).
"""

from ketch.cgroups._mode import CgroupMode
from ketch.errors import InvalidArgument, NotImplementedByHost

__all__ = ["UNIFIED", "clean_cgroups_path", "parse_proc_cgroup", "resolve_dirs"]

UNIFIED = ""  # the key of the cgroup2 directory in a manager's paths


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` as controller -> cgroup path; cgroup2 is under the key ""."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if not ctrls:
            result[UNIFIED] = path
        for ctrl in ctrls.split(","):
            if ctrl:
                result[ctrl] = path
    return result


def clean_cgroups_path(cgroups_path: str | None, container_id: str) -> str:
    """``cgroups_path`` checked and normalised (absolute stays absolute)."""
    if cgroups_path is None or cgroups_path == "":
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise InvalidArgument(f"cgroup: invalid container id {container_id!r}")
        return f"/ketch/{container_id}"
    what = f"linux.cgroupsPath {cgroups_path!r}"
    if "\0" in cgroups_path or "\n" in cgroups_path:
        raise InvalidArgument(f"{what}: contains a NUL or newline")
    if not cgroups_path.startswith("/") and cgroups_path.count(":") == 2:
        raise NotImplementedByHost(
            f"{what}: the systemd form slice:prefix:name needs the systemd cgroup driver, "
            "which ketch does not have; give a path such as /ketch/<id>"
        )
    parts = [p for p in cgroups_path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"{what}: '..' is not allowed in a cgroup path")
    if not parts and not cgroups_path.startswith("/"):
        raise InvalidArgument(f"{what}: empty cgroup path")
    joined = "/".join(parts)
    return "/" + joined if cgroups_path.startswith("/") else joined


def _under(mountpoint: str, *parts: str) -> str:
    path = mountpoint.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            path = f"{path}/{part}"
    return path or "/"


def _own_relative(own: str | None, mount_root: str) -> str:
    """The runtime's own cgroup relative to what the mount shows ("" at the top)."""
    if own is None:
        return ""
    root = mount_root.rstrip("/")
    if root and (own == root or own.startswith(root + "/")):
        own = own[len(root) :]
    elif root:
        return ""  # outside the mounted subtree: fall back to its top
    return "" if ".." in own.split("/") else own


def resolve_dirs(
    cgroups_path: str, mode: CgroupMode, own: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(controller -> cgroup dir, controller -> hierarchy mountpoint) for a cleaned path.

    ``own`` is the runtime's ``/proc/self/cgroup`` (used for relative paths only).
    v1 hierarchies give one key per controller (``name=systemd`` included); the
    cgroup2 hierarchy, if any, the key "".
    """
    relative = not cgroups_path.startswith("/")
    dirs: dict[str, str] = {}
    roots: dict[str, str] = {}
    for mount in mode.mounts:
        keys = mount.controllers if mount.version == 1 else (UNIFIED,)
        base = _own_relative(own.get(keys[0]), mount.root) if relative else ""
        path = _under(mount.mountpoint, base, cgroups_path)
        for key in keys:
            dirs[key] = path
            roots[key] = mount.mountpoint
    return dirs, roots

