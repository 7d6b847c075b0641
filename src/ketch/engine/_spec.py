"""The bundle's config.json for a container, from its record, as Docker builds it.

Inputs are the container record (docker's ``Config`` and ``HostConfig``, with the
image's config already merged at create time), the resolved user and the paths
of the container directory.  Output is the OCI runtime config as JSON data.
"""

from __future__ import annotations

import os

from ketch.engine._seccomp_default import seccomp_profile
from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.engine._user import ExecUser

__all__ = [
    "DEFAULT_CAPS",
    "MASKED_PATHS",
    "READONLY_PATHS",
    "all_capabilities",
    "build_spec",
    "capabilities_for",
    "process_spec",
]

DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# (path, type, major, minor): the devices every container gets
_DEVICES = (
    ("/dev/null", "c", 1, 3), ("/dev/zero", "c", 1, 5), ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8), ("/dev/urandom", "c", 1, 9), ("/dev/tty", "c", 5, 0),
)
_DEVICE_RULES = (
    *(("c", major, minor) for _, _, major, minor in _DEVICES),
    ("c", 5, 1),  # /dev/console
    ("c", 5, 2),  # /dev/ptmx
    ("c", 136, -1),  # /dev/pts/*
    ("c", 10, 200),  # /dev/net/tun
)

_RLIMITS = {
    "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
    "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
    "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC",
    "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
    "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}


def all_capabilities() -> tuple[str, ...]:
    """Every capability this kernel knows (the names ``--cap-add`` accepts)."""
    from ketch.linux.capabilities import CAPABILITY_NAMES

    return CAPABILITY_NAMES


def _bounding_set() -> int:
    """This process's bounding set: a container cannot be given more (docker filters too)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << 64) - 1


def grantable_capabilities() -> tuple[str, ...]:
    """``ALL`` / ``--privileged``: the known capabilities in our bounding set."""
    bounding = _bounding_set()
    return tuple(name for i, name in enumerate(all_capabilities()) if bounding >> i & 1)


def _cap_name(name: str) -> str:
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    full = upper if upper.startswith("CAP_") else f"CAP_{upper}"
    if full not in all_capabilities():
        raise InvalidArgument(f"unknown capability: {name!r}")
    return full


def capabilities_for(host_config: dict[str, Any]) -> tuple[str, ...]:
    """The capability set after ``--privileged``, ``--cap-add`` and ``--cap-drop``."""
    if host_config.get("Privileged"):
        return grantable_capabilities()
    adds = [_cap_name(c) for c in host_config.get("CapAdd") or ()]
    drops = [_cap_name(c) for c in host_config.get("CapDrop") or ()]
    caps = list(grantable_capabilities()) if "ALL" in adds else list(DEFAULT_CAPS)
    if "ALL" in drops:
        caps = [c for c in caps if c in adds]
    caps = [c for c in caps if c not in drops]
    caps.extend(c for c in adds if c != "ALL" and c not in caps)
    return tuple(caps)


def _rlimits(host_config: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for u in host_config.get("Ulimits") or ():
        name = str(u.get("Name", ""))
        kind = _RLIMITS.get(name)
        if kind is None:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        out.append({"type": kind, "hard": _rlimit_value(u["Hard"]), "soft": _rlimit_value(u["Soft"])})
    return out


_RLIM_INFINITY = (1 << 64) - 1


def _rlimit_value(value: object) -> int:
    """Docker's -1 (unlimited) as the OCI spec's uint64 RLIM_INFINITY."""
    number = int(str(value))
    if number == -1:
        return _RLIM_INFINITY
    if not 0 <= number <= _RLIM_INFINITY:
        raise InvalidArgument(f"invalid ulimit value {number}: expected -1 (unlimited) or 0 to 2^64-1")
    return number


_BOOLS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}


def security_options(host_config: dict[str, Any]) -> tuple[bool, str | None]:
    """(no_new_privileges, seccomp): seccomp is "default", "unconfined" or a file path.

    As docker: ``key=value`` or the older ``key:value``; no-new-privileges alone means true.
    """
    nnp, seccomp = False, "default"
    for opt in host_config.get("SecurityOpt") or ():
        opt = str(opt)
        if opt == "no-new-privileges":
            nnp = True
            continue
        key, sep, value = opt.partition("=") if "=" in opt else opt.partition(":")
        if not sep:
            raise InvalidArgument(f"invalid --security-opt: {opt!r}")
        if key == "no-new-privileges":
            flag = _BOOLS.get(value.lower())
            if flag is None:
                raise InvalidArgument(f"invalid --security-opt: {opt!r}: expected a boolean")
            nnp = flag
        elif key == "seccomp":
            seccomp = value
        elif key in ("label", "apparmor"):
            continue  # not supported by this host: docker also ignores them when disabled
        else:
            raise InvalidArgument(f"invalid --security-opt: {opt!r}")
    return nnp, seccomp


def _seccomp(host_config: dict[str, Any], caps: tuple[str, ...]) -> dict[str, Any] | None:
    if host_config.get("Privileged"):
        return None
    _, choice = security_options(host_config)
    if choice == "unconfined":
        return None
    if choice in ("default", "builtin", None):
        return seccomp_profile(os.uname().machine, caps)
    from ketch.oci._json import read

    try:
        profile = read(str(choice))
    except (OSError, InvalidArgument) as e:
        raise InvalidArgument(f"opening seccomp profile ({choice}) failed: {e}") from e
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise InvalidArgument(f"seccomp profile {choice}: expected an object with defaultAction")
    return {k: profile[k] for k in ("defaultAction", "defaultErrnoRet", "architectures",
                                       "flags", "syscalls") if k in profile}


def process_spec(
    record: dict[str, Any],
    args: list[str],
    user: ExecUser,
    *,
    env: list[str] | None = None,
    cwd: str | None = None,
    terminal: bool = False,
    console_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The OCI ``process`` for the container's main process or an exec."""
    config, host_config = record["Config"], record["HostConfig"]
    environ = list(env if env is not None else config.get("Env") or ())
    if not any(e.startswith("PATH=") for e in environ):
        environ.insert(0, DEFAULT_PATH)
    if not any(e.startswith("HOSTNAME=") for e in environ):
        environ.insert(1, f"HOSTNAME={config.get('Hostname') or record['ID'][:12]}")
    if terminal and not any(e.startswith("TERM=") for e in environ):
        environ.append("TERM=xterm")
    if not any(e.startswith("HOME=") for e in environ):
        environ.append(f"HOME={user.home}")
    caps = list(capabilities_for(host_config))
    nnp, _ = security_options(host_config)
    proc: dict[str, Any] = {
        "terminal": terminal,
        "user": {"uid": user.uid, "gid": user.gid},
        "args": args,
        "env": environ,
        "cwd": cwd or config.get("WorkingDir") or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": nnp,
    }
    if user.additional_gids:
        proc["user"]["additionalGids"] = list(user.additional_gids)
    if terminal and console_size:
        proc["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    rlimits = _rlimits(host_config)
    if rlimits:
        proc["rlimits"] = rlimits
    if host_config.get("OomScoreAdj"):
        proc["oomScoreAdj"] = int(host_config["OomScoreAdj"])
    return proc


_SKIP_DEVICES = ("/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd", "/dev/console", "/dev/ptmx")


def host_devices(top: str = "/dev") -> list[dict[str, Any]]:
    """Every character and block device under /dev, for ``--privileged`` (as docker does)."""
    import stat

    found: list[dict[str, Any]] = []
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            path = entry.path
            if path in _SKIP_DEVICES:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(path)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                found.append({
                    "path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
                })
    found.sort(key=lambda d: d["path"])
    return found


def _resources(host_config: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {}
    devices: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    if host_config.get("Privileged"):
        devices = [{"allow": True, "access": "rwm"}]
    else:
        for kind, major, minor in _DEVICE_RULES:
            devices.append({"allow": True, "type": kind, "major": major, "minor": minor,
                            "access": "rwm"})
    res["devices"] = devices
    memory: dict[str, int] = {}
    if host_config.get("Memory"):
        memory["limit"] = int(host_config["Memory"])
        swap = int(host_config.get("MemorySwap") or 0)
        memory["swap"] = swap if swap else 2 * memory["limit"]
    if host_config.get("MemoryReservation"):
        memory["reservation"] = int(host_config["MemoryReservation"])
    if memory:
        res["memory"] = memory
    cpu: dict[str, Any] = {}
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if host_config.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = int(host_config["NanoCpus"]) * 100000 // 1_000_000_000
    if host_config.get("CpuQuota"):
        cpu["quota"] = int(host_config["CpuQuota"])
        cpu["period"] = int(host_config.get("CpuPeriod") or 100000)
    if host_config.get("CpusetCpus"):
        cpu["cpus"] = str(host_config["CpusetCpus"])
    if host_config.get("CpusetMems"):
        cpu["mems"] = str(host_config["CpusetMems"])
    if cpu:
        res["cpu"] = cpu
    pids = host_config.get("PidsLimit")
    if pids:
        res["pids"] = {"limit": int(pids) if int(pids) > 0 else -1}
    return res


def _mount(dest: str, kind: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": dest, "type": kind, "source": source, "options": options}


def _user_mounts(host_config: dict[str, Any]) -> list[dict[str, Any]]:
    mounts = []
    for bind in host_config.get("Binds") or ():
        source, dest, mode = parse_bind(str(bind))
        opts = ["rbind", "ro" if "ro" in mode else "rw"]
        opts.append(next((m for m in mode if m in _PROPAGATIONS), "rprivate"))
        mounts.append(_mount(dest, "bind", source, opts))
    for m in host_config.get("Mounts") or ():
        kind = m.get("Type", "bind")
        if kind == "bind":
            opts = ["rbind", "ro" if m.get("ReadOnly") else "rw"]
            prop = (m.get("BindOptions") or {}).get("Propagation") or "rprivate"
            opts.append(prop)
            mounts.append(_mount(m["Target"], "bind", m["Source"], opts))
        elif kind == "tmpfs":
            opts = ["nosuid", "nodev", "noexec"]
            tmpfs = m.get("TmpfsOptions") or {}
            if tmpfs.get("SizeBytes"):
                opts.append(f"size={int(tmpfs['SizeBytes'])}")
            if tmpfs.get("Mode"):
                opts.append(f"mode={int(tmpfs['Mode']):o}")
            if m.get("ReadOnly"):
                opts.append("ro")
            mounts.append(_mount(m["Target"], "tmpfs", "tmpfs", opts))
        else:
            raise InvalidArgument(f"mount type {kind!r} is not supported yet")
    for dest, options in (host_config.get("Tmpfs") or {}).items():
        opts = ["nosuid", "nodev", "noexec"]
        for o in str(options).split(","):
            if o and o not in opts:
                opts.append(o)
        mounts.append(_mount(dest, "tmpfs", "tmpfs", opts))
    return mounts


def user_mount_destinations(host_config: dict[str, Any]) -> list[str]:
    """Where the container's binds, ``--mount`` and ``--tmpfs`` mounts land."""
    return [str(m["destination"]) for m in _user_mounts(host_config)]


_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def parse_bind(spec: str) -> tuple[str, str, list[str]]:
    """``/host:/ctr[:ro,z,...]`` -> (source, destination, modes); named volumes are not yet."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidArgument(f"invalid volume specification: '{spec}'")
    source, dest = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    for mode in modes:
        if mode not in ("ro", "rw", "z", "Z", "nocopy", *_PROPAGATIONS):
            raise InvalidArgument(f"invalid mode: {mode}")
    if not source.startswith("/"):
        raise InvalidArgument(
            f"invalid volume specification: '{spec}': named volumes are not supported yet"
        )
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid volume specification: '{spec}': {dest} is not absolute")
    if not dest.strip("/"):
        raise InvalidArgument(
            f"invalid volume specification: '{spec}': invalid mount config for type \"bind\": "
            "invalid specification: destination can't be '/'"
        )
    return os.path.normpath(source), os.path.normpath(dest), modes


def build_spec(
    record: dict[str, Any],
    user: ExecUser,
    *,
    rootfs: str,
    container_dir: str,
    console_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The whole config.json for starting ``record``."""
    config, host_config = record["Config"], record["HostConfig"]
    args = [record["Path"], *record["Args"]]
    privileged = bool(host_config.get("Privileged"))
    proc = process_spec(
        record, args, user, terminal=bool(config.get("Tty")), console_size=console_size
    )
    ro = ["nosuid", "noexec", "nodev", "ro"]
    mounts = [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount("/dev/pts", "devpts", "devpts",
               ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        _mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev",
                                          "rw" if privileged else "ro"]),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup",
               ["nosuid", "noexec", "nodev", "relatime", "rw" if privileged else "ro"]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/dev/shm", "tmpfs", "shm",
               ["nosuid", "noexec", "nodev", "mode=1777",
                f"size={int(host_config.get('ShmSize') or 64 << 20)}"]),
    ]
    user_mounts = _user_mounts(host_config)
    taken = {m["destination"] for m in user_mounts}
    mounts = [m for m in mounts if m["destination"] not in taken]
    for name in ("resolv.conf", "hostname", "hosts"):
        if f"/etc/{name}" not in taken:
            mounts.append(_mount(f"/etc/{name}", "bind", f"{container_dir}/{name}",
                                 ["rbind", "rprivate"]))
    mounts.extend(user_mounts)
    del ro
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    network_mode = host_config.get("NetworkMode") or "none"
    if network_mode != "host":
        namespaces.append({"type": "network"})
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "resources": _resources(host_config),
        "cgroupsPath": f"/ketch/{record['ID']}",
    }
    if privileged:
        linux["devices"] = host_devices()
    else:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
        seccomp = _seccomp(host_config, tuple(proc["capabilities"]["bounding"]))
        if seccomp is not None:
            linux["seccomp"] = seccomp
    sysctls = host_config.get("Sysctls")
    if sysctls:
        linux["sysctl"] = {str(k): str(v) for k, v in sysctls.items()}
    spec: dict[str, Any] = {
        "ociVersion": "1.2.0",
        "process": proc,
        "root": {"path": rootfs, "readonly": bool(host_config.get("ReadonlyRootfs"))},
        "hostname": config.get("Hostname") or record["ID"][:12],
        "mounts": mounts,
        "linux": linux,
    }
    if config.get("Domainname"):
        spec["domainname"] = config["Domainname"]
    return spec
