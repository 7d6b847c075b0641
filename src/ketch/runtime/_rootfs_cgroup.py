"""The ``cgroup`` mount type: the container's view of /sys/fs/cgroup.

With a cgroup namespace the filesystems are mounted afresh: the kernel roots
each at the namespace's cgroup (a hierarchy the kernel refuses is left out).  Without one, the directory of this process
in each hierarchy is bind-mounted, so the container still sees only its own
subtree.  A cgroup2-only host gets one cgroup2 mount; a v1 or hybrid host gets
a tmpfs holding one mount per hierarchy (``cpu,cpuacct`` also gets ``cpu`` and
``cpuacct`` links), made read-only at the end when asked.
"""

import os

from ketch.errors import FailedPrecondition
from ketch.linux import fs
from ketch.linux import mount as m
from ketch.linux.mountinfo import MountInfo, read_mountinfo
from ketch.runtime._mountopts import MountOptions
from ketch.runtime._rootfs_path import ensure_in_root, open_in_root, real_relpath
from ketch.runtime._rootfs_remount import remount

__all__ = ["mount_cgroup"]

_HOST_CGROUP = "/sys/fs/cgroup"
_KEEP = (
    m.MS_RDONLY
    | m.MS_NOSUID
    | m.MS_NODEV
    | m.MS_NOEXEC
    | m.MS_RELATIME
    | m.MS_NOATIME
    | m.MS_STRICTATIME
)


def _own_cgroups(path: str = "/proc/self/cgroup") -> dict[str, str]:
    """controllers field ("cpu,cpuacct", "name=systemd", "" for v2) -> path of this process."""
    result: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            _, _, rest = line.rstrip("\n").partition(":")
            controllers, _, cg = rest.partition(":")
            result[controllers] = cg
    return result


def _key_for(mi: MountInfo, own: dict[str, str]) -> str | None:
    if mi.fstype == "cgroup2":
        return "" if "" in own else None
    opts = set(mi.super_options.split(","))
    for key in own:
        if key and set(key.split(",")) <= opts:
            return key
    return None


def mount_cgroup(root_fd: int, dest: str, opts: MountOptions, *, cgroupns: bool, what: str) -> None:
    flags = opts.flags & _KEEP
    mounts = [
        mi
        for mi in read_mountinfo()
        if mi.fstype in ("cgroup", "cgroup2")
        and (mi.mount_point == _HOST_CGROUP or mi.mount_point.startswith(_HOST_CGROUP + "/"))
    ]
    own = _own_cgroups()
    fd = ensure_in_root(root_fd, dest, directory=True, what=f"{what}.destination")
    try:
        unified = [mi for mi in mounts if mi.mount_point == _HOST_CGROUP]
        if unified:
            _mount_hierarchy(root_fd, fd, unified[0], own, flags, cgroupns)
            return
        if not mounts:
            raise FailedPrecondition(
                f"{what}: the host has no cgroup filesystem under {_HOST_CGROUP}"
            )
        m.mount(
            "tmpfs",
            fs.fd_path(fd),
            "tmpfs",
            (flags & ~m.MS_RDONLY) | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC,
            "mode=755",
        )
        base = real_relpath(root_fd, fd)
    finally:
        os.close(fd)
    top = open_in_root(root_fd, base, no_symlinks=True)
    try:
        for mi in mounts:
            name = os.path.basename(mi.mount_point)
            sub = ensure_in_root(
                root_fd, f"{base}/{name}", directory=True, what=f"{what}.destination"
            )
            try:
                _mount_hierarchy(root_fd, sub, mi, own, flags, cgroupns)
            finally:
                os.close(sub)
            if "," in name:
                for alias in name.split(","):
                    try:  # noqa: SIM105 (contextlib costs ~2 ms of imports at every start)
                        os.symlink(name, alias, dir_fd=top)
                    except FileExistsError:
                        pass
        if flags & m.MS_RDONLY:
            m.mount(
                None,
                fs.fd_path(top),
                None,
                m.MS_REMOUNT | flags | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC,
                "mode=755",
            )
    finally:
        os.close(top)


def _mount_hierarchy(
    root_fd: int, fd: int, mi: MountInfo, own: dict[str, str], flags: int, cgroupns: bool
) -> None:
    key = _key_for(mi, own)
    if key is None:
        return  # a hierarchy this process is not in (e.g. a foreign named one): leave it out
    target = fs.fd_path(fd)
    if cgroupns:
        try:
            if mi.fstype == "cgroup2":
                m.mount("cgroup2", target, "cgroup2", flags)
            else:
                m.mount("cgroup", target, "cgroup", flags, key)
        except PermissionError:
            # e.g. a user namespace that may not mount this hierarchy.  Leave it out: our
            # paths in /proc/self/cgroup are namespace-relative ("/"), so a bind would
            # show the host's whole hierarchy.
            pass
        return
    rel = own[key]
    root = mi.root.rstrip("/")
    if root and (rel == root or rel.startswith(root + "/")):
        rel = rel[len(root) :]
    source = mi.mount_point.rstrip("/") + "/" + rel.lstrip("/")
    where = real_relpath(root_fd, fd)
    m.mount(source, target, None, m.MS_BIND | m.MS_REC)
    if flags & (m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC):
        top = open_in_root(root_fd, where, no_symlinks=True)  # the new mount, not the dir under it
        try:
            remount(fs.fd_path(top), flags)
        finally:
            os.close(top)
