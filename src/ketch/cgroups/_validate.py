"""Checks on ``LinuxResources`` done before anything is written (v1 and v2 alike)."""

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.devices import Rule
    from ketch.oci.runtime_spec import LinuxResources

__all__ = ["check_resources"]

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
