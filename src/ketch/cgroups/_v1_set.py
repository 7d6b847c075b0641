"""Writing ``LinuxResources`` to cgroup v1 controller files."""

import os
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.cgroups import _files
from ketch.cgroups._convert import v1_limit
from ketch.errors import FailedPrecondition, InvalidArgument, NotImplementedByHost

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.devices import Rule
    from ketch.oci.runtime_spec import CPU, BlockIO, LinuxResources, Memory, Network

__all__ = ["set_v1"]

R = "linux.resources"


def _dir(dirs: Mapping[str, str], controller: str, what: str) -> str:
    path = dirs.get(controller)
    if path is None:
        raise NotImplementedByHost(
            f"{R}.{what}: the {controller} cgroup controller is not mounted on this host"
        )
    return path


def set_v1(dirs: Mapping[str, str], r: "LinuxResources") -> None:
    """Write every resource given in ``r``; sections left out are not touched."""
    from ketch.cgroups._validate import needed_controllers

    if r.unified:
        raise NotImplementedByHost(
            f"{R}.unified: needs cgroup v2; this host's controllers are on cgroup v1"
        )
    for controller, what in needed_controllers(r).items():  # all checked before any write
        _dir(dirs, controller, what[len(R) + 1 :])
    if r.devices and "devices" not in dirs and "" not in dirs:
        _dir(dirs, "devices", "devices")
    if r.cpu is not None:
        _cpu(dirs, r.cpu)
    if r.memory is not None:
        _memory(dirs, r.memory)
    if r.pids is not None:
        limit = r.pids.limit
        _files.write(_dir(dirs, "pids", "pids"), "pids.max", "max" if limit <= 0 else str(limit))
    if r.block_io is not None:
        _blkio(dirs, r.block_io)
    for i, h in enumerate(r.hugepage_limits):
        path = _dir(dirs, "hugetlb", f"hugepageLimits[{i}]")
        size = _page_size(h.page_size, i)
        _files.write(path, f"hugetlb.{size}.limit_in_bytes", v1_limit(h.limit))
        if os.path.exists(f"{path}/hugetlb.{size}.rsvd.limit_in_bytes"):
            _files.write(path, f"hugetlb.{size}.rsvd.limit_in_bytes", v1_limit(h.limit))
    if r.network is not None:
        _network(dirs, r.network)
    if r.rdma:
        path = _dir(dirs, "rdma", "rdma")
        for device, limits in r.rdma.items():
            _files.write(path, "rdma.max", rdma_line(device, limits))
    if r.devices:
        _devices(dirs, r)


def _page_size(size: str, i: int) -> str:
    digits = size[:-2]
    if not (digits.isdigit() and size[-2:] in ("KB", "MB", "GB", "TB", "PB")):
        raise InvalidArgument(f"{R}.hugepageLimits[{i}].pageSize: {size!r} is not like '2MB'")
    return size


def rdma_line(device: str, limits: Mapping[str, int]) -> str:
    if not device or any(c.isspace() or c == "/" for c in device):
        raise InvalidArgument(f"{R}.rdma: invalid device name {device!r}")
    parts = [device]
    for key, json in (("hcaHandles", "hca_handle"), ("hcaObjects", "hca_object")):
        if key in limits:
            parts.append(f"{json}={limits[key]}")
    return " ".join(parts)


def _cpu(dirs: Mapping[str, str], cpu: "CPU") -> None:
    if cpu.cpus is not None or cpu.mems is not None:
        path = _dir(dirs, "cpuset", "cpu.cpus")
        if cpu.cpus:
            _files.write(path, "cpuset.cpus", cpu.cpus)
        if cpu.mems:
            _files.write(path, "cpuset.mems", cpu.mems)
    fields = (
        cpu.shares,
        cpu.quota,
        cpu.period,
        cpu.burst,
        cpu.idle,
        cpu.realtime_period,
        cpu.realtime_runtime,
    )
    if all(v is None for v in fields):
        return
    path = _dir(dirs, "cpu", "cpu")
    if cpu.shares:
        _files.write(path, "cpu.shares", str(cpu.shares))
        got = _files.read(path, "cpu.shares").strip()
        if got != str(cpu.shares):
            raise InvalidArgument(
                f"{R}.cpu.shares: {cpu.shares} is out of range (the kernel set {got}; "
                "valid: 2 to 262144)"
            )
    _pair(path, ("cpu.cfs_period_us", cpu.period), ("cpu.cfs_quota_us", cpu.quota))
    if cpu.burst is not None:
        _files.write(path, "cpu.cfs_burst_us", str(cpu.burst))
    _pair(
        path, ("cpu.rt_period_us", cpu.realtime_period), ("cpu.rt_runtime_us", cpu.realtime_runtime)
    )
    if cpu.idle is not None:
        _files.write(path, "cpu.idle", str(cpu.idle))


def _pair(path: str, period: tuple[str, int | None], value: tuple[str, int | None]) -> None:
    """Write a period then its quota/runtime; if the period is refused, the other way round."""
    pname, pvalue = period
    vname, vvalue = value
    if pvalue:
        try:
            _files.write(path, pname, str(pvalue))
        except InvalidArgument:
            if not vvalue:
                raise
            _files.write(path, vname, str(vvalue))  # the old quota may not fit the new period
            _files.write(path, pname, str(pvalue))
            return
    if vvalue:
        _files.write(path, vname, str(vvalue))


def _memory(dirs: Mapping[str, str], m: "Memory") -> None:
    path = _dir(dirs, "memory", "memory")
    limit = m.limit or 0
    swap = m.swap or 0
    if limit == -1 and swap == 0:
        swap = -1  # unlimited memory and no swap given: lift the swap limit too
    memsw = "memory.memsw.limit_in_bytes"
    if swap and not os.path.exists(f"{path}/{memsw}"):
        if swap != -1:
            raise NotImplementedByHost(
                f"{R}.memory.swap: {path}/{memsw} is missing (swap accounting is off)"
            )
        swap = 0
    if limit and swap:
        current = _files.read_int(path, "memory.limit_in_bytes")
        # the kernel wants memory <= memory+swap at every step: order the two writes
        if swap == -1 or current < swap:
            _write_memory(path, memsw, swap)
            _write_memory(path, "memory.limit_in_bytes", limit)
        else:
            _write_memory(path, "memory.limit_in_bytes", limit)
            _write_memory(path, memsw, swap)
    elif limit:
        _write_memory(path, "memory.limit_in_bytes", limit)
    elif swap:
        _write_memory(path, memsw, swap)
    if m.reservation:
        _files.write(path, "memory.soft_limit_in_bytes", v1_limit(m.reservation))
    if m.kernel_tcp and os.path.exists(f"{path}/memory.kmem.tcp.limit_in_bytes"):
        _files.write(path, "memory.kmem.tcp.limit_in_bytes", v1_limit(m.kernel_tcp))
    # m.kernel: kernel memory limits are deprecated and refused by current kernels; ignored
    if m.swappiness is not None and m.swappiness != -1:
        if not 0 <= m.swappiness <= 100:
            raise InvalidArgument(f"{R}.memory.swappiness: {m.swappiness} is not between 0 and 100")
        _files.write(path, "memory.swappiness", str(m.swappiness))
    if m.disable_oom_killer:
        _files.write(path, "memory.oom_control", "1")


def _write_memory(path: str, name: str, value: int) -> None:
    import errno

    try:
        _files.write(path, name, v1_limit(value))
    except FailedPrecondition as e:
        cause = e.__cause__
        if isinstance(cause, OSError) and cause.errno == errno.EBUSY:
            usage = _files.read_int(path, "memory.usage_in_bytes")
            raise FailedPrecondition(
                f"{R}.memory: cannot set {name} to {value}: the cgroup already uses {usage} bytes"
            ) from e
        raise


def _blkio(dirs: Mapping[str, str], b: "BlockIO") -> None:
    path = _dir(dirs, "blkio", "blockIO")
    # CFQ names its files blkio.weight...; with BFQ they are blkio.bfq.weight...
    prefix = "blkio." if os.path.exists(f"{path}/blkio.weight") else "blkio.bfq."
    if b.weight:
        _files.write(path, f"{prefix}weight", str(b.weight))
    if b.leaf_weight:
        _files.write(path, "blkio.leaf_weight", str(b.leaf_weight))
    for wd in b.weight_device:
        if wd.weight:
            _files.write(path, f"{prefix}weight_device", f"{wd.major}:{wd.minor} {wd.weight}")
        if wd.leaf_weight:
            _files.write(
                path, "blkio.leaf_weight_device", f"{wd.major}:{wd.minor} {wd.leaf_weight}"
            )
    for name, devices in (
        ("read_bps_device", b.throttle_read_bps_device),
        ("write_bps_device", b.throttle_write_bps_device),
        ("read_iops_device", b.throttle_read_iops_device),
        ("write_iops_device", b.throttle_write_iops_device),
    ):
        for td in devices:
            _files.write(path, f"blkio.throttle.{name}", f"{td.major}:{td.minor} {td.rate}")


def _network(dirs: Mapping[str, str], n: "Network") -> None:
    if n.class_id is not None:
        _files.write(_dir(dirs, "net_cls", "network.classID"), "net_cls.classid", str(n.class_id))
    for p in n.priorities:
        if not p.name or any(c.isspace() or c == "/" for c in p.name):
            raise InvalidArgument(f"{R}.network.priorities: invalid interface {p.name!r}")
        path = _dir(dirs, "net_prio", "network.priorities")
        _files.write(path, "net_prio.ifpriomap", f"{p.name} {p.priority}")


def _devices(dirs: Mapping[str, str], r: "LinuxResources") -> None:
    from ketch.cgroups.devices import normalize

    rules = [normalize(d, f"{R}.devices[{i}]") for i, d in enumerate(r.devices)]
    if "devices" not in dirs and "" in dirs:  # hybrid host without the v1 devices controller
        from ketch.cgroups._v2_set import attach_device_filter

        attach_device_filter(dirs[""], rules)
        return
    set_devices_v1(_dir(dirs, "devices", "devices"), rules)


def _parse_list(text: str) -> "list[Rule] | None":
    """devices.list as allow exceptions, or None when the cgroup allows everything
    (the kernel then shows "a *:* rwm" and hides its deny exceptions)."""
    from ketch.cgroups.devices import WILDCARD, Rule

    out = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        numbers, _, access = rest.partition(" ")
        if kind == "a":
            return None
        major, _, minor = numbers.partition(":")
        out.append(
            Rule(
                True,
                kind,
                WILDCARD if major == "*" else int(major),
                WILDCARD if minor == "*" else int(minor),
                access,
            )
        )
    return out


def set_devices_v1(path: str, rules: "list[Rule]") -> None:
    """Bring devices.list to what ``rules`` (from deny-all, in order) give.

    When both the current and the wanted state deny by default, only the
    difference is written, grants first: a running container never loses a
    device it keeps (``update``).  Otherwise everything is reset with "a" first.
    """
    from ketch.cgroups.devices import effective_rules, v1_rule_line

    default_allow, exceptions = effective_rules(rules)
    current = _parse_list(_files.read_optional(path, "devices.list") or "a *:* rwm\n")
    if not default_allow and current is not None:
        have = {(e.type, e.major, e.minor): e.access for e in current}
        want = {(e.type, e.major, e.minor): e.access for e in exceptions}
        for key, access in want.items():
            missing = "".join(c for c in access if c not in have.get(key, ""))
            if missing:
                _files.write(path, "devices.allow", _line(key, missing))
        for key, access in have.items():
            extra = "".join(c for c in access if c not in want.get(key, ""))
            if extra:
                _files.write(path, "devices.deny", _line(key, extra))
        return
    _files.write(path, "devices.allow" if default_allow else "devices.deny", "a")
    for e in exceptions:
        _files.write(path, "devices.allow" if e.allow else "devices.deny", v1_rule_line(e))


def _line(key: tuple[str, int, int], access: str) -> str:
    from ketch.cgroups.devices import Rule, v1_rule_line

    return v1_rule_line(Rule(True, key[0], key[1], key[2], access))
