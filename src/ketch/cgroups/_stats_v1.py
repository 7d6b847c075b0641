"""Reading cgroup v1 statistics into ``CgroupStats``."""

import os
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.cgroups import _files
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

__all__ = ["cpu_list", "flat_keyed", "oom_kill_count_v1", "stats_v1"]

_NS_PER_TICK = 10**9 // 100  # cpuacct.stat counts USER_HZ ticks (100 on Linux)


def flat_keyed(text: str | None) -> dict[str, int]:
    """ "key value" lines (memory.stat, cpu.stat...) as a dict; unparsable lines skipped."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = _files.parse_int(parts[1])
    return out


def _ints(text: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in (text or "").split() if x.isdigit())


def _cpu(dirs: Mapping[str, str]) -> CpuStats:
    usage = CpuUsage()
    acct = dirs.get("cpuacct")
    if acct is not None:
        stat = flat_keyed(_files.read_optional(acct, "cpuacct.stat"))
        usage = CpuUsage(
            total=_files.read_int(acct, "cpuacct.usage"),
            percpu=_ints(_files.read_optional(acct, "cpuacct.usage_percpu")),
            percpu_kernel=_ints(_files.read_optional(acct, "cpuacct.usage_percpu_sys")),
            percpu_user=_ints(_files.read_optional(acct, "cpuacct.usage_percpu_user")),
            kernel=stat.get("system", 0) * _NS_PER_TICK,
            user=stat.get("user", 0) * _NS_PER_TICK,
        )
    throttling = Throttling()
    cpu = dirs.get("cpu")
    if cpu is not None:
        stat = flat_keyed(_files.read_optional(cpu, "cpu.stat"))
        throttling = Throttling(
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_time=stat.get("throttled_time", 0),
        )
    return CpuStats(usage=usage, throttling=throttling)


def cpu_list(text: str | None) -> tuple[int, ...]:
    """A kernel list like "0-2,5" as (0, 1, 2, 5); nonsense gives ()."""
    out: list[int] = []
    for part in (text or "").strip().split(","):
        first, _, last = part.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            out.extend(range(int(first), int(last or first) + 1))
        elif part:
            return ()
    return tuple(out)


def _cpuset(path: str | None) -> CpusetStats:
    if path is None:
        return CpusetStats()
    values = {
        name: _files.read_int(path, f"cpuset.{name}")
        for name in (
            "cpu_exclusive",
            "mem_hardwall",
            "mem_exclusive",
            "memory_migrate",
            "memory_spread_page",
            "memory_spread_slab",
            "memory_pressure",
            "sched_load_balance",
            "sched_relax_domain_level",
        )
    }
    return CpusetStats(
        cpus=cpu_list(_files.read_optional(path, "cpuset.cpus")),
        mems=cpu_list(_files.read_optional(path, "cpuset.mems")),
        **values,
    )


def _entry(path: str, prefix: str) -> MemoryEntry:
    return MemoryEntry(
        limit=_files.read_int(path, f"{prefix}.limit_in_bytes"),
        usage=_files.read_int(path, f"{prefix}.usage_in_bytes"),
        max=_files.read_int(path, f"{prefix}.max_usage_in_bytes"),
        failcnt=_files.read_int(path, f"{prefix}.failcnt"),
    )


def _memory(path: str | None) -> MemoryStats:
    if path is None:
        return MemoryStats()
    raw = flat_keyed(_files.read_optional(path, "memory.stat"))
    return MemoryStats(
        cache=raw.get("cache", 0),
        usage=_entry(path, "memory"),
        swap=_entry(path, "memory.memsw"),
        kernel=_entry(path, "memory.kmem"),
        kernel_tcp=_entry(path, "memory.kmem.tcp"),
        raw=raw,
    )


def _pids(path: str | None) -> PidsStats:
    if path is None:
        return PidsStats()
    limit = (_files.read_optional(path, "pids.max") or "max").strip()
    return PidsStats(
        current=_files.read_int(path, "pids.current"),
        limit=0 if limit == "max" else _files.parse_int(limit),
    )


def blkio_entries(text: str | None) -> tuple[BlkioEntry, ...]:
    """ "8:0 Read 4096" lines (the "Total" line is left out)."""
    out = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            if major.isdigit() and minor.isdigit() and parts[2].isdigit():
                out.append(BlkioEntry(int(major), int(minor), parts[1], int(parts[2])))
    return tuple(out)


def _blkio(path: str | None) -> BlkioStats:
    if path is None:
        return BlkioStats()
    # CFQ, then BFQ, then the throttle files (always there): the first with data wins
    for prefix in ("blkio.", "blkio.bfq.", "blkio.throttle."):
        service_bytes = _files.read_optional(path, f"{prefix}io_service_bytes_recursive")
        if service_bytes is None:
            continue
        serviced = _files.read_optional(path, f"{prefix}io_serviced_recursive")
        stats = BlkioStats(blkio_entries(service_bytes), blkio_entries(serviced))
        if stats.io_service_bytes_recursive or prefix == "blkio.throttle.":
            return stats
    return BlkioStats()


def _hugetlb(path: str | None) -> dict[str, HugetlbStats]:
    out: dict[str, HugetlbStats] = {}
    if path is None:
        return out
    for name in sorted(os.listdir(path)):
        if (
            name.startswith("hugetlb.")
            and name.endswith(".limit_in_bytes")
            and ".rsvd." not in name
        ):
            size = name[len("hugetlb.") : -len(".limit_in_bytes")]
            out[size] = HugetlbStats(
                usage=_files.read_int(path, f"hugetlb.{size}.usage_in_bytes"),
                max=_files.read_int(path, f"hugetlb.{size}.max_usage_in_bytes"),
                failcnt=_files.read_int(path, f"hugetlb.{size}.failcnt"),
            )
    return out


def stats_v1(dirs: Mapping[str, str]) -> CgroupStats:
    return CgroupStats(
        cpu=_cpu(dirs),
        cpuset=_cpuset(dirs.get("cpuset")),
        memory=_memory(dirs.get("memory")),
        pids=_pids(dirs.get("pids")),
        blkio=_blkio(dirs.get("blkio")),
        hugetlb=_hugetlb(dirs.get("hugetlb")),
    )


def oom_kill_count_v1(dirs: Mapping[str, str]) -> int:
    path = dirs.get("memory")
    if path is None:
        return 0
    return flat_keyed(_files.read_optional(path, "memory.oom_control")).get("oom_kill", 0)
