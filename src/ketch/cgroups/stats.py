"""Cgroup statistics as records, and their JSON shaped like runc's ``events --stats`` "data".

Units are the kernel's: bytes, nanoseconds of CPU time, counts.  A limit of
"max" (no limit) reads as 2**64-1, as runc reports it.
"""

from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.oci._record import Record, spec_field

__all__ = [
    "BlkioEntry",
    "BlkioStats",
    "CgroupStats",
    "CpuStats",
    "CpuUsage",
    "CpusetStats",
    "HugetlbStats",
    "MemoryEntry",
    "MemoryStats",
    "PidsStats",
    "Throttling",
    "stats_to_json",
]


class MemoryEntry(Record):
    limit: int = 0
    usage: int = 0
    max: int = 0
    failcnt: int = 0


class MemoryStats(Record):
    cache: int = 0
    usage: MemoryEntry = spec_field(default_factory=MemoryEntry)
    swap: MemoryEntry = spec_field(default_factory=MemoryEntry)
    kernel: MemoryEntry = spec_field(default_factory=MemoryEntry)
    kernel_tcp: MemoryEntry = spec_field(default_factory=MemoryEntry)
    raw: Mapping[str, int] = spec_field(default_factory=dict)


class CpuUsage(Record):
    total: int = 0
    percpu: tuple[int, ...] = ()
    percpu_kernel: tuple[int, ...] = ()
    percpu_user: tuple[int, ...] = ()
    kernel: int = 0
    user: int = 0


class Throttling(Record):
    periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0


class CpuStats(Record):
    usage: CpuUsage = spec_field(default_factory=CpuUsage)
    throttling: Throttling = spec_field(default_factory=Throttling)


class PidsStats(Record):
    current: int = 0
    limit: int = 0  # 0: no limit


class BlkioEntry(Record):
    major: int
    minor: int
    op: str
    value: int


class BlkioStats(Record):
    io_service_bytes_recursive: tuple[BlkioEntry, ...] = ()
    io_serviced_recursive: tuple[BlkioEntry, ...] = ()


class HugetlbStats(Record):
    usage: int = 0
    max: int = 0
    failcnt: int = 0


class CpusetStats(Record):
    cpus: tuple[int, ...] = ()
    mems: tuple[int, ...] = ()
    cpu_exclusive: int = 0
    mem_hardwall: int = 0
    mem_exclusive: int = 0
    memory_migrate: int = 0
    memory_spread_page: int = 0
    memory_spread_slab: int = 0
    memory_pressure: int = 0
    sched_load_balance: int = 0
    sched_relax_domain_level: int = 0


class CgroupStats(Record):
    cpu: CpuStats = spec_field(default_factory=CpuStats)
    cpuset: CpusetStats = spec_field(default_factory=CpusetStats)
    memory: MemoryStats = spec_field(default_factory=MemoryStats)
    pids: PidsStats = spec_field(default_factory=PidsStats)
    blkio: BlkioStats = spec_field(default_factory=BlkioStats)
    hugetlb: Mapping[str, HugetlbStats] = spec_field(default_factory=dict)


def _omit_zero(d: dict[str, object], *keys: str) -> dict[str, object]:
    for key in keys:
        if not d.get(key):
            d.pop(key, None)
    return d


def _memory_entry(e: MemoryEntry) -> dict[str, object]:
    return _omit_zero(
        {"limit": e.limit, "usage": e.usage, "max": e.max, "failcnt": e.failcnt}, "usage", "max"
    )


def _blkio(entries: tuple[BlkioEntry, ...]) -> list[dict[str, object]]:
    return [
        _omit_zero(
            {"major": e.major, "minor": e.minor, "op": e.op, "value": e.value},
            "major",
            "minor",
            "op",
            "value",
        )
        for e in entries
    ]


def _cpuset(c: CpusetStats) -> dict[str, object]:
    out: dict[str, object] = {}
    for info in c.__fields__:
        value = getattr(c, info.name)
        if isinstance(value, tuple):
            if value:
                out[info.name] = list(value)
        else:
            out[info.name] = value
    return out


def stats_to_json(stats: CgroupStats) -> dict[str, object]:
    """The ``data`` object of runc's ``events --stats`` (empty fields left out as runc does)."""
    u, t, m = stats.cpu.usage, stats.cpu.throttling, stats.memory
    usage = _omit_zero(
        {
            "total": u.total,
            "percpu": list(u.percpu),
            "percpu_kernel": list(u.percpu_kernel),
            "percpu_user": list(u.percpu_user),
            "kernel": u.kernel,
            "user": u.user,
        },
        "total",
        "percpu",
        "percpu_kernel",
        "percpu_user",
    )
    throttling = _omit_zero(
        {
            "periods": t.periods,
            "throttledPeriods": t.throttled_periods,
            "throttledTime": t.throttled_time,
        },
        "periods",
        "throttledPeriods",
        "throttledTime",
    )
    memory = _omit_zero(
        {
            "cache": m.cache,
            "usage": _memory_entry(m.usage),
            "swap": _memory_entry(m.swap),
            "kernel": _memory_entry(m.kernel),
            "kernelTCP": _memory_entry(m.kernel_tcp),
            "raw": dict(m.raw),
        },
        "cache",
        "raw",
    )
    blkio = _omit_zero(
        {
            "ioServiceBytesRecursive": _blkio(stats.blkio.io_service_bytes_recursive),
            "ioServicedRecursive": _blkio(stats.blkio.io_serviced_recursive),
        },
        "ioServiceBytesRecursive",
        "ioServicedRecursive",
    )
    return {
        "cpu": {"usage": usage, "throttling": throttling},
        "cpuset": _cpuset(stats.cpuset),
        "memory": memory,
        "pids": _omit_zero(
            {"current": stats.pids.current, "limit": stats.pids.limit}, "current", "limit"
        ),
        "blkio": blkio,
        "hugetlb": {
            size: _omit_zero({"usage": h.usage, "max": h.max, "failcnt": h.failcnt}, "usage", "max")
            for size, h in stats.hugetlb.items()
        },
        "intel_rdt": {},
        "network_interfaces": None,
    }
