"""The flags ``create`` and ``run`` share, and their translation to docker's create request."""

from __future__ import annotations

import argparse
import os

from ketch.cli._context import UsageError
from ketch.cli.commands._args import parse_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["add_create_flags", "create_request"]


def add_create_flags(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    a("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    a("--name", help="assign a name to the container")
    a("-e", "--env", action="append", default=[], help="set environment variables")
    a("--env-file", action="append", default=[], help="read in a file of environment variables")
    a("-w", "--workdir", help="working directory inside the container")
    a("-u", "--user", help="username or UID (format: <name|uid>[:<group|gid>])")
    a("--entrypoint", help="overwrite the default ENTRYPOINT of the image")
    a("-h", "--hostname", help="container host name")
    a("--domainname", help="container NIS domain name")
    a("-l", "--label", action="append", default=[], help="set meta data on a container")
    a("--read-only", action="store_true", help="mount the container's root filesystem as read only")
    a("--tmpfs", action="append", default=[], help="mount a tmpfs directory")
    a("-v", "--volume", action="append", default=[], help="bind mount a volume")
    a("--mount", action="append", default=[], help="attach a filesystem mount to the container")
    a("-m", "--memory", help="memory limit")
    a("--memory-swap", help="swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    a("--memory-reservation", help="memory soft limit")
    a("--cpus", help="number of CPUs")
    a("-c", "--cpu-shares", help="CPU shares (relative weight)")
    a("--cpu-period", help="limit CPU CFS period")
    a("--cpu-quota", help="limit CPU CFS quota")
    a("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    a("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    a("--pids-limit", help="tune container pids limit (set -1 for unlimited)")
    a("--ulimit", action="append", default=[], help="ulimit options")
    a("--cap-add", action="append", default=[], help="add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="drop Linux capabilities")
    a("--privileged", action="store_true", help="give extended privileges to this container")
    a("--security-opt", action="append", default=[], help="security options")
    a("--init", action="store_true", help="run an init inside the container")
    a("--stop-signal", help="signal to stop the container")
    a("--stop-timeout", help="timeout (in seconds) to stop a container")
    a("--restart", default="no", help="restart policy to apply when a container exits")
    a("--network", "--net", default="none", help="connect a container to a network (none, host)")
    a("--shm-size", help="size of /dev/shm")
    a("--sysctl", action="append", default=[], help="sysctl options")
    a("--add-host", action="append", default=[], help="add a custom host-to-IP mapping (host:ip)")
    a("--dns", action="append", default=[], help="set custom DNS servers")
    a("--oom-score-adj", help="tune host's OOM preferences (-1000 to 1000)")
    a("--platform", help="set platform if server is multi-platform capable")
    a("--pull", default="missing", help="pull image before running (always, missing, never)")
    a("-a", "--attach", action="append", default=[], help="attach to STDIN, STDOUT or STDERR")
    a("--detach-keys", help="override the key sequence for detaching a container")
    a("image", help="image")


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
    if s > h:
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
