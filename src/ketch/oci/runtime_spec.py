"""OCI runtime-spec 1.3 (Linux): config.json and state as frozen dataclasses.

Names are the spec's, in snake_case.  ``load_config`` parses and checks a
config.json; schema validation against the bundled JSON schema is in
``ketch.oci.validate``.  Optional sections are ``None`` when absent; lists are
tuples and maps read-only mappings, so a decoded spec can be shared safely.
"""

from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.errors import InvalidArgument
from ketch.oci._decode import decode, encode
from ketch.oci._record import Record, spec_field

__all__ = [
    "CPU",
    "OCI_VERSION",
    "BlockIO",
    "Capabilities",
    "Config",
    "ConsoleSize",
    "Device",
    "DeviceRule",
    "Hook",
    "Hooks",
    "HugepageLimit",
    "IDMapping",
    "IOPriority",
    "IntelRdt",
    "Linux",
    "LinuxResources",
    "Memory",
    "MemoryPolicy",
    "Mount",
    "Namespace",
    "Network",
    "NetworkPriority",
    "POSIXRlimit",
    "Personality",
    "Pids",
    "Process",
    "Root",
    "Scheduler",
    "Seccomp",
    "SeccompArg",
    "SeccompSyscall",
    "State",
    "ThrottleDevice",
    "TimeOffset",
    "User",
    "WeightDevice",
    "config_from_json",
    "config_to_json",
    "load_config",
]

OCI_VERSION = "1.3.0"

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


class Root(Record):
    path: str
    readonly: bool = False


class IDMapping(Record):
    container_id: int = spec_field(json="containerID")
    host_id: int = spec_field(json="hostID")
    size: int


class Mount(Record):
    destination: str
    type: str | None = None
    source: str | None = None
    options: tuple[str, ...] = ()
    uid_mappings: tuple[IDMapping, ...] = ()
    gid_mappings: tuple[IDMapping, ...] = ()


class ConsoleSize(Record):
    height: int
    width: int


class User(Record):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()
    username: str | None = None


class Capabilities(Record):
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


class POSIXRlimit(Record):
    type: str
    hard: int
    soft: int


class IOPriority(Record):
    class_: str
    priority: int = 0


class Scheduler(Record):
    policy: str
    nice: int = 0
    priority: int = 0
    flags: tuple[str, ...] = ()
    runtime: int = 0
    deadline: int = 0
    period: int = 0


class Process(Record):
    cwd: str
    args: tuple[str, ...] = ()
    command_line: str | None = None
    env: tuple[str, ...] = ()
    terminal: bool = False
    console_size: ConsoleSize | None = None
    user: User = spec_field(default_factory=User)
    capabilities: Capabilities | None = None
    rlimits: tuple[POSIXRlimit, ...] = ()
    no_new_privileges: bool = False
    apparmor_profile: str | None = None
    oom_score_adj: int | None = None
    selinux_label: str | None = None
    io_priority: IOPriority | None = None
    scheduler: Scheduler | None = None
    exec_cpu_affinity: Mapping[str, str] | None = spec_field(default=None, json="execCPUAffinity")


class Hook(Record):
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None


class Hooks(Record):
    prestart: tuple[Hook, ...] = ()
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()


class Namespace(Record):
    type: str
    path: str | None = None


class Device(Record):
    type: str
    path: str
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


class DeviceRule(Record):
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


class Memory(Record):
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    kernel: int | None = None
    kernel_tcp: int | None = spec_field(default=None, json="kernelTCP")
    swappiness: int | None = None
    disable_oom_killer: bool | None = spec_field(default=None, json="disableOOMKiller")
    use_hierarchy: bool | None = None
    check_before_update: bool | None = None


class CPU(Record):
    shares: int | None = None
    quota: int | None = None
    burst: int | None = None
    period: int | None = None
    realtime_runtime: int | None = None
    realtime_period: int | None = None
    cpus: str | None = None
    mems: str | None = None
    idle: int | None = None


class Pids(Record):
    limit: int


class WeightDevice(Record):
    major: int
    minor: int
    weight: int | None = None
    leaf_weight: int | None = None


class ThrottleDevice(Record):
    major: int
    minor: int
    rate: int


class BlockIO(Record):
    weight: int | None = None
    leaf_weight: int | None = None
    weight_device: tuple[WeightDevice, ...] = ()
    throttle_read_bps_device: tuple[ThrottleDevice, ...] = ()
    throttle_write_bps_device: tuple[ThrottleDevice, ...] = ()
    throttle_read_iops_device: tuple[ThrottleDevice, ...] = spec_field(
        default=(), json="throttleReadIOPSDevice"
    )
    throttle_write_iops_device: tuple[ThrottleDevice, ...] = spec_field(
        default=(), json="throttleWriteIOPSDevice"
    )


class HugepageLimit(Record):
    page_size: str
    limit: int


class NetworkPriority(Record):
    name: str
    priority: int


class Network(Record):
    class_id: int | None = spec_field(default=None, json="classID")
    priorities: tuple[NetworkPriority, ...] = ()


class LinuxResources(Record):
    devices: tuple[DeviceRule, ...] = ()
    memory: Memory | None = None
    cpu: CPU | None = None
    pids: Pids | None = None
    block_io: BlockIO | None = spec_field(default=None, json="blockIO")
    hugepage_limits: tuple[HugepageLimit, ...] = ()
    network: Network | None = None
    rdma: Mapping[str, Mapping[str, int]] | None = None
    unified: Mapping[str, str] | None = None


class SeccompArg(Record):
    index: int
    value: int
    op: str
    value_two: int = 0


class SeccompSyscall(Record):
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[SeccompArg, ...] = ()


class Seccomp(Record):
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str | None = None
    listener_metadata: str | None = None
    syscalls: tuple[SeccompSyscall, ...] = ()


class IntelRdt(Record):
    clos_id: str | None = spec_field(default=None, json="closID")
    schemata: tuple[str, ...] = ()
    l3_cache_schema: str | None = None
    mem_bw_schema: str | None = None
    enable_monitoring: bool = False


class MemoryPolicy(Record):
    mode: str
    nodes: str | None = None
    flags: tuple[str, ...] = ()


class Personality(Record):
    domain: str
    flags: tuple[str, ...] = ()


class TimeOffset(Record):
    secs: int = 0
    nanosecs: int = 0


class Linux(Record):
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IDMapping, ...] = ()
    gid_mappings: tuple[IDMapping, ...] = ()
    time_offsets: Mapping[str, TimeOffset] | None = None
    devices: tuple[Device, ...] = ()
    net_devices: Mapping[str, Mapping[str, object]] | None = None
    cgroups_path: str | None = None
    resources: LinuxResources | None = None
    rootfs_propagation: str | None = None
    seccomp: Seccomp | None = None
    sysctl: Mapping[str, str] | None = None
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    mount_label: str | None = None
    intel_rdt: IntelRdt | None = None
    memory_policy: MemoryPolicy | None = None
    personality: Personality | None = None

    def namespace(self, kind: str) -> Namespace | None:
        """The entry for namespace ``kind`` (``pid``, ``network``...), or None."""
        for ns in self.namespaces:
            if ns.type == kind:
                return ns
        return None


class Config(Record):
    oci_version: str = spec_field(json="ociVersion")
    root: Root | None = None
    process: Process | None = None
    hostname: str | None = None
    domainname: str | None = None
    mounts: tuple[Mount, ...] = ()
    hooks: Hooks | None = None
    annotations: Mapping[str, str] | None = None
    linux: Linux | None = None


class State(Record):
    """The OCI state of a container, as ``state`` prints it."""

    oci_version: str = spec_field(json="ociVersion")
    id: str
    status: str  # creating | created | running | stopped (+ paused, as runc reports)
    bundle: str
    pid: int | None = None
    annotations: Mapping[str, str] | None = None


def config_from_json(data: object) -> Config:
    """Decode and check a parsed config.json (schema validation is separate)."""
    config = decode(Config, data)
    linux = config.linux
    if linux is not None:
        seen: set[str] = set()
        for i, ns in enumerate(linux.namespaces):
            if ns.type not in NAMESPACE_TYPES:
                raise InvalidArgument(f"linux.namespaces[{i}].type: unknown namespace {ns.type!r}")
            if ns.type in seen:
                raise InvalidArgument(f"linux.namespaces: {ns.type!r} is listed twice")
            seen.add(ns.type)
        if (linux.uid_mappings or linux.gid_mappings) and "user" not in seen:
            raise InvalidArgument("linux.uidMappings: set without a user namespace")
    return config


def config_to_json(config: Config) -> dict[str, object]:
    result: dict[str, object] = encode(config)
    return result


def load_config(path: str) -> Config:
    """Read, schema-validate and decode ``path`` (a bundle's config.json)."""
    import json

    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise InvalidArgument(f"{path}: no such file (is this an OCI bundle?)") from e
    except json.JSONDecodeError as e:
        raise InvalidArgument(f"{path}: not valid JSON: {e}") from e
    from ketch.oci.validate import validate_runtime_config

    validate_runtime_config(data)
    return config_from_json(data)
