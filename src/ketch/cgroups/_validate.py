"""Checks on ``LinuxResources`` done before anything is written (v1 and v2 alike)."""

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.devices import Rule
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["check_resources", "needed_controllers"]

R = "linux.resources"
_CORE_LIMITS = ("cgroup.max.depth", "cgroup.max.descendants")
_UNITS = ("KB", "MB", "GB", "TB", "PB")


def _name(value: str, what: str) -> None:
    if not value or any(c.isspace() or c in "/\0" for c in value):
        raise InvalidArgument(f"{what}: invalid name {value!r}")


def check_resources(r: "LinuxResources") -> "list[Rule]":
    """Raise InvalidArgument naming the first bad field; return the checked device rules."""
    from ketch.cgroups.devices import normalize

    rules = [normalize(d, f"{R}.devices[{i}]") for i, d in enumerate(r.devices)]
    m = r.memory
    if m is not None:
        if m.swappiness is not None and m.swappiness != -1 and not 0 <= m.swappiness <= 100:
            raise InvalidArgument(f"{R}.memory.swappiness: {m.swappiness} is not between 0 and 100")
        for field in ("limit", "reservation", "swap"):
            value = getattr(m, field)
            if value is not None and value < -1:
                raise InvalidArgument(f"{R}.memory.{field}: {value} is not a byte count or -1")
    c = r.cpu
    if c is not None:
        for field in ("shares", "period", "realtime_period"):
            value = getattr(c, field)
            if value is not None and value < 0:
                raise InvalidArgument(f"{R}.cpu.{field}: {value} is negative")
        for field in ("cpus", "mems"):
            value = getattr(c, field)
            if value and any(ch not in "0123456789,-" for ch in value):
                raise InvalidArgument(f"{R}.cpu.{field}: {value!r} is not a list like '0-2,4'")
    for i, h in enumerate(r.hugepage_limits):
        size = h.page_size
        if not (size[:-2].isdigit() and size[-2:] in _UNITS):
            raise InvalidArgument(f"{R}.hugepageLimits[{i}].pageSize: {size!r} is not like '2MB'")
    if r.network is not None:
        for i, p in enumerate(r.network.priorities):
            _name(p.name, f"{R}.network.priorities[{i}].name")
    for device in r.rdma or {}:
        _name(device, f"{R}.rdma")
    for key, value in (r.unified or {}).items():
        if key.startswith(".") or "/" in key or "\0" in key or "." not in key:
            raise InvalidArgument(f"{R}.unified: {key!r} is not a cgroup file name")
        if key.startswith("cgroup.") and key not in _CORE_LIMITS:
            # cgroup.procs, .kill, .freeze, .subtree_control...: membership and state, not limits
            raise InvalidArgument(f"{R}.unified: {key!r} is not a resource limit")
        if "\0" in value:
            raise InvalidArgument(f"{R}.unified.{key}: contains a NUL")
    return rules


def needed_controllers(r: "LinuxResources") -> dict[str, str]:
    """controller -> the field that needs it (v1 names; v2 calls blkio "io")."""
    need: dict[str, str] = {}
    c = r.cpu
    if c is not None:
        if c.cpus or c.mems:
            need["cpuset"] = f"{R}.cpu.cpus"
        if any(v is not None for v in (c.shares, c.quota, c.period, c.burst, c.idle)) or (
            c.realtime_period or c.realtime_runtime
        ):
            need["cpu"] = f"{R}.cpu"
    if r.memory is not None:
        need["memory"] = f"{R}.memory"
    if r.pids is not None:
        need["pids"] = f"{R}.pids"
    if r.block_io is not None:
        need["blkio"] = f"{R}.blockIO"
    if r.hugepage_limits:
        need["hugetlb"] = f"{R}.hugepageLimits"
    if r.rdma:
        need["rdma"] = f"{R}.rdma"
    if r.network is not None:
        if r.network.class_id is not None:
            need["net_cls"] = f"{R}.network.classID"
        if r.network.priorities:
            need["net_prio"] = f"{R}.network.priorities"
    return need
