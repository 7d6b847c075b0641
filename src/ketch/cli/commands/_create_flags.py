"""The flags ``create`` and ``run`` share, and their translation to docker's create request."""

from __future__ import annotations

import os

from ketch.cli._context import UsageError
from ketch.cli.commands._args import parse_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["CREATE_FLAGS", "add_create_flags", "add_flags", "create_request"]


# (option strings, kind, default, help); kind: "flag" (store_true), "value", "list" (append).
# One table for argparse (``add_create_flags``) and the lean parser (``_quick.quick_parse``).
CREATE_FLAGS: tuple[tuple[tuple[str, ...], str, Any, str], ...] = (
    (("-i", "--interactive"), "flag", False, "keep STDIN open even if not attached"),
    (("-t", "--tty"), "flag", False, "allocate a pseudo-TTY"),
    (("--name",), "value", None, "assign a name to the container"),
    (("-e", "--env"), "list", None, "set environment variables"),
    (("--env-file",), "list", None, "read in a file of environment variables"),
    (("-w", "--workdir"), "value", None, "working directory inside the container"),
    (("-u", "--user"), "value", None, "username or UID (format: <name|uid>[:<group|gid>])"),
    (("--entrypoint",), "value", None, "overwrite the default ENTRYPOINT of the image"),
    (("-h", "--hostname"), "value", None, "container host name"),
    (("--domainname",), "value", None, "container NIS domain name"),
    (("-l", "--label"), "list", None, "set meta data on a container"),
    (("--read-only",), "flag", False, "mount the container's root filesystem as read only"),
    (("--tmpfs",), "list", None, "mount a tmpfs directory"),
    (("-v", "--volume"), "list", None, "bind mount a volume"),
    (("--mount",), "list", None, "attach a filesystem mount to the container"),
    (("-m", "--memory"), "value", None, "memory limit"),
    (("--memory-swap",), "value", None, "swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    (("--memory-reservation",), "value", None, "memory soft limit"),
    (("--cpus",), "value", None, "number of CPUs"),
    (("-c", "--cpu-shares"), "value", None, "CPU shares (relative weight)"),
    (("--cpu-period",), "value", None, "limit CPU CFS period"),
    (("--cpu-quota",), "value", None, "limit CPU CFS quota"),
    (("--cpuset-cpus",), "value", None, "CPUs in which to allow execution (0-3, 0,1)"),
    (("--cpuset-mems",), "value", None, "MEMs in which to allow execution (0-3, 0,1)"),
    (("--pids-limit",), "value", None, "tune container pids limit (set -1 for unlimited)"),
    (("--ulimit",), "list", None, "ulimit options"),
    (("--cap-add",), "list", None, "add Linux capabilities"),
    (("--cap-drop",), "list", None, "drop Linux capabilities"),
    (("--privileged",), "flag", False, "give extended privileges to this container"),
    (("--security-opt",), "list", None, "security options"),
    (("--init",), "flag", False, "run an init inside the container"),
    (("--stop-signal",), "value", None, "signal to stop the container"),
    (("--stop-timeout",), "value", None, "timeout (in seconds) to stop a container"),
    (("--restart",), "value", "no", "restart policy to apply when a container exits"),
    (("--network", "--net"), "value", "none", "connect a container to a network (none, host)"),
    (("--shm-size",), "value", None, "size of /dev/shm"),
    (("--sysctl",), "list", None, "sysctl options"),
    (("--add-host",), "list", None, "add a custom host-to-IP mapping (host:ip)"),
    (("--dns",), "list", None, "set custom DNS servers"),
    (("--dns-search",), "list", None, "set custom DNS search domains"),
    (("--dns-option", "--dns-opt"), "list", None, "set DNS options"),
    (("--oom-score-adj",), "value", None, "tune host's OOM preferences (-1000 to 1000)"),
    (("--platform",), "value", None, "set platform if server is multi-platform capable"),
    (("--pull",), "value", "missing", "pull image before running (always, missing, never)"),
    (("-a", "--attach"), "list", None, "attach to STDIN, STDOUT or STDERR"),
    (("--detach-keys",), "value", None, "override the key sequence for detaching a container"),
)


def add_flags(p: argparse.ArgumentParser, flags: tuple[tuple[tuple[str, ...], str, Any, str], ...]) -> None:
    """Add a flag table (see ``CREATE_FLAGS``) to an argparse parser."""
    for names, kind, default, text in flags:
        if kind == "flag":
            p.add_argument(*names, action="store_true", help=text)
        elif kind == "list":
            p.add_argument(*names, action="append", default=[], help=text)
        else:
            p.add_argument(*names, default=default, help=text)


def add_create_flags(p: argparse.ArgumentParser) -> None:
    add_flags(p, CREATE_FLAGS)
    p.add_argument("image", help="image")


def _int(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f'invalid argument "{value}" for "{flag}" flag: strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _env_file(path: str) -> list[str]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UsageError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            value = os.environ.get(line)
            if value is None:
                continue
            line = f"{line}={value}"
        out.append(line)
    return out


def _ulimit(text: str) -> dict[str, Any]:
    name, sep, values = text.partition("=")
    if not sep:
        raise UsageError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit argument: {text}')
    soft, _, hard = values.partition(":")
    try:
        s, h = int(soft), int(hard or soft)
    except ValueError:
        raise UsageError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit argument: {text}') from None
    if s < -1 or h < -1:  # -1 is docker's "unlimited"
        raise UsageError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit argument: {text}')
    if h != -1 and (s > h or s == -1):
        raise UsageError(f'invalid argument "{text}" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: {s} > {h}')
    return {"Name": name, "Soft": s, "Hard": h}


def _mount(text: str) -> dict[str, Any]:
    m: dict[str, Any] = {"Type": "volume"}
    for field in text.split(","):
        key, _, value = field.partition("=")
        key = key.strip().lower()
        if key == "type":
            m["Type"] = value
        elif key in ("source", "src"):
            m["Source"] = value
        elif key in ("target", "destination", "dst"):
            m["Target"] = value
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = value.lower() in ("", "1", "true")
        elif key == "bind-propagation":
            m.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "tmpfs-size":
            m.setdefault("TmpfsOptions", {})["SizeBytes"] = parse_bytes(value, "--mount")
        elif key == "tmpfs-mode":
            m.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        else:
            raise UsageError(f'invalid argument "{text}" for "--mount" flag: unexpected key \'{key}\' in \'{field}\'')
    if "Target" not in m:
        raise UsageError(f'invalid argument "{text}" for "--mount" flag: target is required')
    return m


def _restart(text: str) -> dict[str, Any]:
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise UsageError(f'invalid argument "{text}" for "--restart" flag: invalid restart policy {text}')
    if count and name != "on-failure":
        raise UsageError(f"invalid argument \"{text}\" for \"--restart\" flag: maximum retry count cannot be used with restart policy '{name}'")
    return {"Name": name, "MaximumRetryCount": int(count) if count.isdigit() else 0}


def create_request(args: argparse.Namespace, *, detach: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """docker's (``Config``, ``HostConfig``) for the parsed flags."""
    env: list[str] = []
    for path in args.env_file:
        env.extend(_env_file(path))
    env.extend(args.env)
    labels = {}
    for label in args.label:
        key, _, value = label.partition("=")
        labels[key] = value
    attach = {s.lower() for s in args.attach}
    config: dict[str, Any] = {
        "Hostname": args.hostname or "",
        "Domainname": args.domainname or "",
        "User": args.user or "",
        "AttachStdin": (not detach and args.interactive) or "stdin" in attach,
        "AttachStdout": not detach and (not attach or "stdout" in attach),
        "AttachStderr": not detach and (not attach or "stderr" in attach),
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": args.interactive and not detach,
        "Env": env,
        "Cmd": args.command or None,
        "Image": args.image,
        "WorkingDir": args.workdir or "",
        "Entrypoint": None if args.entrypoint is None else ([args.entrypoint] if args.entrypoint else [""]),
        "Labels": labels,
    }
    if args.stop_signal:
        config["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        config["StopTimeout"] = _int(args.stop_timeout, "--stop-timeout")
    memory = parse_bytes(args.memory, "-m, --memory") if args.memory else 0
    swap = 0
    if args.memory_swap:
        swap = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap, "--memory-swap")
    nano = 0
    if args.cpus:
        try:
            nano = round(float(args.cpus) * 1e9)
        except ValueError:
            raise UsageError(f'invalid argument "{args.cpus}" for "--cpus" flag: failed to parse {args.cpus} as a rational number') from None
    tmpfs = {}
    for t in args.tmpfs:
        dest, _, opts = t.partition(":")
        tmpfs[dest] = opts
    sysctls = {}
    for s in args.sysctl:
        key, sep, value = s.partition("=")
        if not sep:
            raise UsageError(f'invalid argument "{s}" for "--sysctl" flag: sysctl \'{s}\' is not allowed')
        sysctls[key] = value
    host_config: dict[str, Any] = {
        "Binds": list(args.volume),
        "Mounts": [_mount(m) for m in args.mount],
        "NetworkMode": args.network,
        "RestartPolicy": _restart(args.restart),
        "AutoRemove": bool(getattr(args, "rm", False)),
        "CapAdd": list(args.cap_add),
        "CapDrop": list(args.cap_drop),
        "Dns": list(args.dns),
        "DnsSearch": list(args.dns_search),
        "DnsOptions": list(args.dns_option),
        "ExtraHosts": list(args.add_host),
        "Privileged": args.privileged,
        "ReadonlyRootfs": args.read_only,
        "SecurityOpt": list(args.security_opt),
        "Tmpfs": tmpfs,
        "Memory": memory,
        "MemorySwap": swap,
        "MemoryReservation": parse_bytes(args.memory_reservation, "--memory-reservation") if args.memory_reservation else 0,
        "NanoCpus": nano,
        "CpuShares": _int(args.cpu_shares, "-c, --cpu-shares") or 0,
        "CpuPeriod": _int(args.cpu_period, "--cpu-period") or 0,
        "CpuQuota": _int(args.cpu_quota, "--cpu-quota") or 0,
        "CpusetCpus": args.cpuset_cpus or "",
        "CpusetMems": args.cpuset_mems or "",
        "PidsLimit": _int(args.pids_limit, "--pids-limit"),
        "Ulimits": [_ulimit(u) for u in args.ulimit],
        "Init": args.init,
        "ShmSize": parse_bytes(args.shm_size, "--shm-size") if args.shm_size else 0,
        "Sysctls": sysctls,
        "OomScoreAdj": _int(args.oom_score_adj, "--oom-score-adj") or 0,
        "LogConfig": {"Type": "json-file", "Config": {}},
    }
    return config, host_config
