"""Check ``--cpus`` and ``--cpuset-cpus``/``--cpuset-mems`` against the host, in docker's words."""

from __future__ import annotations

import os

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["check_cpus", "parse_cpuset"]

_MAX_INDEX = 1 << 16


def parse_cpuset(text: str, what: str) -> set[int]:
    """``0-3,5`` -> {0, 1, 2, 3, 5}; a bad list is an ``InvalidArgument`` naming ``what``."""
    found: set[int] = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            raise InvalidArgument(f"Invalid value {text} for {what}")
        first, last = int(low), int(high) if sep else int(low)
        if first > last or last > _MAX_INDEX:
            raise InvalidArgument(f"Invalid value {text} for {what}")
        found.update(range(first, last + 1))
    return found


def _online(cgroup_root: str, name: str, fallback: set[int]) -> tuple[set[int], str]:
    """(indexes, as the kernel writes them) of the host's cpuset ``name``."""
    for path in (f"{cgroup_root}/cpuset/cpuset.{name}", f"{cgroup_root}/cpuset.{name}.effective"):
        try:
            with open(path) as f:
                text = f.read().strip()
            return parse_cpuset(text, name), text
        except (OSError, InvalidArgument):
            continue
    ordered = sorted(fallback)
    return fallback, ",".join(str(i) for i in ordered)


def check_cpus(host_config: dict[str, Any], cgroup_root: str = "/sys/fs/cgroup") -> None:
    """Refuse more CPUs than the host has, or cpuset indexes it does not have."""
    count = len(os.sched_getaffinity(0))
    nano = int(host_config.get("NanoCpus") or 0)
    if nano < 0 or nano > count * 1_000_000_000:
        raise InvalidArgument(
            f"Range of CPUs is from 0.01 to {count}.00, as there are only {count} CPUs available"
        )
    for key, name, what in (("CpusetCpus", "cpus", "cpuset cpus"), ("CpusetMems", "mems", "cpuset mems")):
        text = str(host_config.get(key) or "")
        if not text:
            continue
        wanted = parse_cpuset(text, what)
        have, shown = _online(cgroup_root, name, set(os.sched_getaffinity(0)) if name == "cpus" else {0})
        if not wanted <= have:
            kind = "CPUs" if name == "cpus" else "memory nodes"
            raise InvalidArgument(
                f"Requested {kind} are not available - requested {text}, available: {shown}"
            )
