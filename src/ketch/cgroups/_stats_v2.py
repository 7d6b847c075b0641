"""Reading cgroup v2 statistics into ``CgroupStats`` (shaped like the v1 ones, as runc does)."""

import os

from ketch.cgroups import _files
from ketch.cgroups._stats_v1 import cpu_list, flat_keyed
from ketch.cgroups.stats import (
    BlkioEntry,
    BlkioStats,
    CgroupStats,
    CpusetStats,
    CpuStats,
    CpuUsage,
    HugetlbStats,
    MemoryEntry,
    MemoryStats,
    PidsStats,
    Throttling,
)

__all__ = ["io_stat", "stats_v2"]

_MAX = (1 << 64) - 1
_IO_KEYS = {
    "rbytes": (0, "Read"),
    "wbytes": (0, "Write"),
    "dbytes": (0, "Discard"),
    "rios": (1, "Read"),
    "wios": (1, "Write"),
    "dios": (1, "Discard"),
}


def _cpu(path: str) -> CpuStats:
    stat = flat_keyed(_files.read_optional(path, "cpu.stat"))
    return CpuStats(
        usage=CpuUsage(
            total=stat.get("usage_usec", 0) * 1000,
            kernel=stat.get("system_usec", 0) * 1000,
            user=stat.get("user_usec", 0) * 1000,
        ),
        throttling=Throttling(
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_time=stat.get("throttled_usec", 0) * 1000,
        ),
    )


def _memory(path: str) -> MemoryStats:
    raw = flat_keyed(_files.read_optional(path, "memory.stat"))
    current = _files.read_int(path, "memory.current")
    limit = _files.read_int(path, "memory.max", _MAX)
    events = flat_keyed(_files.read_optional(path, "memory.events"))
    usage = MemoryEntry(
        limit=limit,
        usage=current,
        max=_files.read_int(path, "memory.peak"),
        failcnt=events.get("max", 0),
    )
    # like v1 memsw (and runc): swap is reported as memory+swap
    swap_max = _files.read_int(path, "memory.swap.max", _MAX)
    swap = MemoryEntry(
        limit=_MAX if _MAX in (limit, swap_max) else limit + swap_max,
        usage=current + _files.read_int(path, "memory.swap.current"),
        max=_files.read_int(path, "memory.swap.peak"),
        failcnt=flat_keyed(_files.read_optional(path, "memory.swap.events")).get("fail", 0),
    )
    return MemoryStats(cache=raw.get("file", 0), usage=usage, swap=swap, raw=raw)


def _pids(path: str) -> PidsStats:
    if os.path.exists(f"{path}/pids.current"):
        current = _files.read_int(path, "pids.current")
    else:  # no pids controller: count the members
        current = len((_files.read_optional(path, "cgroup.procs") or "").split())
    limit = _files.read_int(path, "pids.max", _MAX)
    return PidsStats(current=current, limit=0 if limit == _MAX else limit)


def io_stat(text: str | None) -> BlkioStats:
    """io.stat ("8:0 rbytes=1 wbytes=2 rios=3 ...") as v1-shaped entries."""
    lists: tuple[list[BlkioEntry], list[BlkioEntry]] = ([], [])
    for line in (text or "").splitlines():
        device, *pairs = line.split()
        major, _, minor = device.partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key in _IO_KEYS and value.isdigit():
                which, op = _IO_KEYS[key]
                lists[which].append(BlkioEntry(int(major), int(minor), op, int(value)))
    return BlkioStats(tuple(lists[0]), tuple(lists[1]))


def _hugetlb(path: str) -> dict[str, HugetlbStats]:
    out: dict[str, HugetlbStats] = {}
    for name in sorted(os.listdir(path)):
        if name.startswith("hugetlb.") and name.endswith(".current") and ".rsvd." not in name:
            size = name[len("hugetlb.") : -len(".current")]
            events = flat_keyed(_files.read_optional(path, f"hugetlb.{size}.events"))
            out[size] = HugetlbStats(
                usage=_files.read_int(path, name),
                max=_files.read_int(path, f"hugetlb.{size}.max"),
                failcnt=events.get("max", 0),
            )
    return out


def stats_v2(path: str) -> CgroupStats:
    return CgroupStats(
        cpu=_cpu(path),
        cpuset=CpusetStats(
            cpus=cpu_list(_files.read_optional(path, "cpuset.cpus.effective")),
            mems=cpu_list(_files.read_optional(path, "cpuset.mems.effective")),
        ),
        memory=_memory(path),
        pids=_pids(path),
        blkio=io_stat(_files.read_optional(path, "io.stat")),
        hugetlb=_hugetlb(path),
    )
