"""``update [resource flags | -r FILE|-] ID``: change a container's cgroup limits."""

import sys

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import Flag, one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main", "resources_from_flags"]

FLAGS = (
    Flag("resources,r", "str"),
    Flag("memory", "str"),
    Flag("memory-reservation", "str"),
    Flag("memory-swap", "str"),
    Flag("kernel-memory", "str"),
    Flag("kernel-memory-tcp", "str"),
    Flag("cpu-shares", "int"),
    Flag("cpu-quota", "int"),
    Flag("cpu-period", "int"),
    Flag("cpu-rt-period", "int"),
    Flag("cpu-rt-runtime", "int"),
    Flag("cpuset-cpus", "str"),
    Flag("cpuset-mems", "str"),
    Flag("pids-limit", "int"),
    Flag("blkio-weight", "int"),
    Flag("l3-cache-schema", "str"),
    Flag("mem-bw-schema", "str"),
)

_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text: str, flag: str) -> int:
    """``1024``, ``64m``, ``1G``, ``512KiB``; ``-1`` is unlimited."""
    value = text.strip().lower()
    if value == "-1":
        return -1
    for suffix in ("ib", "b"):
        if value.endswith(suffix) and len(value) > len(suffix) and value[-len(suffix) - 1].isalpha():
            value = value[: -len(suffix)]
            break
    unit = 1
    if value and value[-1] in _UNITS:
        unit = _UNITS[value[-1]]
        value = value[:-1]
    try:
        number = float(value)
    except ValueError:
        raise InvalidArgument(f"update: --{flag}: invalid size {text!r}") from None
    if number < 0:
        raise InvalidArgument(f"update: --{flag}: invalid size {text!r}")
    return int(number * unit)


def resources_from_flags(values: dict[str, object]) -> dict[str, object]:
    """The LinuxResources JSON the flags describe (only what was given)."""
    memory: dict[str, object] = {}
    for flag, key in (
        ("memory", "limit"),
        ("memory_reservation", "reservation"),
        ("memory_swap", "swap"),
        ("kernel_memory", "kernel"),
        ("kernel_memory_tcp", "kernelTCP"),
    ):
        if values.get(flag) is not None:
            memory[key] = parse_bytes(str(values[flag]), flag.replace("_", "-"))
    cpu: dict[str, object] = {}
    for flag, key in (
        ("cpu_shares", "shares"),
        ("cpu_quota", "quota"),
        ("cpu_period", "period"),
        ("cpu_rt_period", "realtimePeriod"),
        ("cpu_rt_runtime", "realtimeRuntime"),
        ("cpuset_cpus", "cpus"),
        ("cpuset_mems", "mems"),
    ):
        if values.get(flag) is not None:
            cpu[key] = values[flag]
    result: dict[str, object] = {}
    if memory:
        result["memory"] = memory
    if cpu:
        result["cpu"] = cpu
    if values.get("pids_limit") is not None:
        result["pids"] = {"limit": values["pids_limit"]}
    if values.get("blkio_weight") is not None:
        result["blockIO"] = {"weight": values["blkio_weight"]}
    return result


def main(g: Globals, argv: list[str]) -> int:
    from ketch.oci import _json
    from ketch.oci._decode import decode
    from ketch.oci.runtime_spec import LinuxResources
    from ketch.runtime.container import Container

    values, positional = parse(argv, FLAGS, "update")
    container_id = one_id(positional, "update")
    source = values["resources"]
    if source is not None:
        if source == "-":
            raw = sys.stdin.buffer.read()
        else:
            try:
                with open(source, "rb") as f:
                    raw = f.read()
            except OSError as e:
                raise InvalidArgument(f"update: --resources {source}: {e.strerror}") from None
        data = _json.loads(raw, "resources")
    else:
        data = resources_from_flags(values)
        if not data:
            raise InvalidArgument("update: nothing to update (give resource flags or -r FILE)")
    try:
        resources = decode(LinuxResources, data)
    except InvalidArgument as e:
        raise InvalidArgument(f"update: resources: {e}") from None
    Container.load(g.store(), container_id).update(resources)
    return 0
