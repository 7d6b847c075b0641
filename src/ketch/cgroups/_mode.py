"""Which cgroup layout the host has (v1, v2 unified, hybrid) and where it is mounted."""

import os

from ketch.errors import NotImplementedByHost
from ketch.linux import mountinfo
from ketch.oci._record import Record

__all__ = ["V1_CONTROLLERS", "CgroupMode", "CgroupMount", "detect", "parse_mountinfo"]

V1_CONTROLLERS = frozenset(
    (
        "blkio",
        "cpu",
        "cpuacct",
        "cpuset",
        "devices",
        "freezer",
        "hugetlb",
        "memory",
        "misc",
        "net_cls",
        "net_prio",
        "perf_event",
        "pids",
        "rdma",
    )
)


class CgroupMount(Record):
    """One mounted hierarchy: v1 (with its controllers, or ``name=...``) or cgroup2."""

    mountpoint: str
    root: str  # the cgroup the mount shows as its top ("/" unless a bind of a subtree)
    version: int  # 1 or 2
    controllers: tuple[str, ...] = ()  # v1 only: e.g. ("cpu", "cpuacct") or ("name=systemd",)


class CgroupMode(Record):
    """The host's cgroup layout: ``kind`` is "v1", "v2" or "hybrid"."""

    kind: str
    mounts: tuple[CgroupMount, ...] = ()

    @property
    def unified(self) -> CgroupMount | None:
        """The cgroup2 mount (the whole tree on v2; controller-less on hybrid hosts)."""
        for mount in self.mounts:
            if mount.version == 2:
                return mount
        return None

    @property
    def v1_mounts(self) -> tuple[CgroupMount, ...]:
        return tuple(m for m in self.mounts if m.version == 1)

    def mount_for(self, controller: str) -> CgroupMount | None:
        """The v1 hierarchy carrying ``controller`` (``"memory"``, ``"name=systemd"``)."""
        for mount in self.mounts:
            if controller in mount.controllers:
                return mount
        return None


def parse_mountinfo(text: str) -> CgroupMode:
    """The cgroup layout described by the text of a ``/proc/<pid>/mountinfo``."""
    v1: list[CgroupMount] = []
    v2: list[CgroupMount] = []
    seen: set[str] = set()
    for mount in mountinfo.parse_mountinfo(text):
        fstype, superopts = mount.fstype, mount.super_options
        root, mountpoint = mount.root, mount.mount_point
        if fstype == "cgroup2":
            v2.append(CgroupMount(mountpoint, root, 2))
        elif fstype == "cgroup":
            ctrls = tuple(
                o for o in superopts.split(",") if o in V1_CONTROLLERS or o.startswith("name=")
            )
            if not ctrls or any(c in seen for c in ctrls):
                continue  # a second mount of a hierarchy already seen
            seen.update(ctrls)
            v1.append(CgroupMount(mountpoint, root, 1, ctrls))
    # prefer the conventional places when cgroup2 is mounted more than once
    v2.sort(key=lambda m: m.mountpoint not in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"))
    unified = v2[:1]
    if v1 and any(c in V1_CONTROLLERS for m in v1 for c in m.controllers):
        return CgroupMode("hybrid" if unified else "v1", (*v1, *unified))
    if unified:
        return CgroupMode("v2", tuple(unified))
    if v1:  # only named hierarchies: treat as v1 without controllers
        return CgroupMode("v1", tuple(v1))
    raise NotImplementedByHost("cgroup: no cgroup filesystem is mounted on this host")


def detect(mountinfo: str = "/proc/self/mountinfo") -> CgroupMode:
    """Detect the host's cgroup layout from ``mountinfo``."""
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as e:
        raise NotImplementedByHost(
            f"cgroup: cannot read {mountinfo}: {os.strerror(e.errno or 0)}"
        ) from e
    return parse_mountinfo(text)
