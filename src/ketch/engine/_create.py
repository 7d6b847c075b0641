"""A container record from docker's create request (``Config``, ``HostConfig``) and an image."""

from __future__ import annotations

import os

from ketch.engine._cpus import check_cpus
from ketch.engine._spec import capabilities_for, parse_bind, security_options
from ketch.engine._store import ZERO_TIME, now_rfc3339
from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["check_host_config", "merge_image_config", "new_record", "resolv_conf", "write_etc_files"]

_MIN_MEMORY = 6 * 1024 * 1024
_RESTART = ("", "no", "always", "unless-stopped", "on-failure")


def merge_image_config(config: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """Docker's merge: image defaults under the request; ``Entrypoint`` set resets ``Cmd``."""
    out = dict(config)
    env = list(image.get("Env") or ())
    keys = {e.split("=", 1)[0]: i for i, e in enumerate(env)}
    for e in config.get("Env") or ():
        key = e.split("=", 1)[0]
        if "=" not in e:  # "-e NAME" without a value: take it from the caller's environment
            value = os.environ.get(key)
            if value is None:
                continue
            e = f"{key}={value}"
        if key in keys:
            env[keys[key]] = e
        else:
            keys[key] = len(env)
            env.append(e)
    out["Env"] = env
    if config.get("Entrypoint") is None:
        out["Entrypoint"] = image.get("Entrypoint")
        if not config.get("Cmd"):
            out["Cmd"] = image.get("Cmd")
    elif config.get("Entrypoint") == [""]:
        out["Entrypoint"] = None
    for key in ("WorkingDir", "User", "StopSignal"):
        if not out.get(key) and image.get(key):
            out[key] = image[key]
    labels = dict(image.get("Labels") or {})
    labels.update(config.get("Labels") or {})
    out["Labels"] = labels
    if image.get("ExposedPorts") and not out.get("ExposedPorts"):
        out["ExposedPorts"] = dict(image["ExposedPorts"])
    if image.get("Volumes") and not out.get("Volumes"):
        out["Volumes"] = dict(image["Volumes"])
    if not (out.get("Entrypoint") or out.get("Cmd")):
        raise InvalidArgument("no command specified")
    if out.get("WorkingDir") and not str(out["WorkingDir"]).startswith("/"):
        raise InvalidArgument(
            f"the working directory '{out['WorkingDir']}' is invalid, it needs to be an absolute path"
        )
    return out


def check_host_config(host_config: dict[str, Any]) -> dict[str, Any]:
    """Validate what the engine supports; returns the host config with defaults."""
    hc = dict(host_config)
    memory = int(hc.get("Memory") or 0)
    if memory and memory < _MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    swap = int(hc.get("MemorySwap") or 0)
    if swap > 0 and memory and swap < memory:
        raise InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        )
    if swap and not memory:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit")
    check_cpus(hc)
    if int(hc.get("CpuShares") or 0) < 0:
        raise InvalidArgument("invalid CPU shares: must be positive")
    capabilities_for(hc)  # unknown capability names are errors now, not at start
    security_options(hc)
    for bind in hc.get("Binds") or ():
        source, _, _ = parse_bind(str(bind))
        if not os.path.exists(source):  # docker creates a missing -v source directory
            try:
                os.makedirs(source, mode=0o755, exist_ok=True)
            except OSError as e:
                raise InvalidArgument(f"error while creating mount source path '{source}': {e.strerror}") from e
    for m in hc.get("Mounts") or ():
        target = str(m.get("Target") or "")
        if target.startswith("/") and not target.strip("/"):
            raise InvalidArgument(
                f"invalid mount config for type \"{m.get('Type', 'bind')}\": "
                "invalid specification: destination can't be '/'"
            )
        if m.get("Type", "bind") == "bind":
            source = str(m.get("Source") or "")
            if not source:
                raise InvalidArgument('invalid mount config for type "bind": field Source must not be empty')
            if not source.startswith("/") or not os.path.exists(source):
                raise InvalidArgument(
                    f"invalid mount config for type \"bind\": bind source path does not exist: {source}"
                )
        if not str(m.get("Target") or "").startswith("/"):
            raise InvalidArgument(f"invalid mount config: mount path must be absolute: {m.get('Target')}")
    for dest in hc.get("Tmpfs") or {}:
        if not str(dest).startswith("/"):
            raise InvalidArgument(f"invalid tmpfs mount: {dest} is not an absolute path")
    policy = hc.get("RestartPolicy") or {}
    if policy.get("Name", "") not in _RESTART:
        raise InvalidArgument(f"invalid restart policy '{policy.get('Name')}'")
    if hc.get("AutoRemove") and policy.get("Name") not in ("", "no", None):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    mode = hc.get("NetworkMode") or "none"
    if mode == "default":
        mode = "none"
    if mode not in ("none", "host"):
        raise InvalidArgument(f"network {mode} not found (only none and host are supported yet)")
    hc["NetworkMode"] = mode
    hc.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    hc.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    return hc


def new_record(
    cid: str,
    name: str,
    config: dict[str, Any],
    host_config: dict[str, Any],
    image_id: str,
    snapshot: dict[str, str],
    container_dir: str,
) -> dict[str, Any]:
    entrypoint = list(config.get("Entrypoint") or ())
    cmd = list(config.get("Cmd") or ())
    argv = entrypoint + cmd
    if host_config.get("Init"):
        pass  # the init binary is prepended at start; Path/Args stay the user's command
    config = dict(config)
    config.setdefault("Hostname", cid[:12])
    if not config.get("Hostname"):
        config["Hostname"] = cid[:12]
    return {
        "ID": cid,
        "Created": now_rfc3339(),
        "Path": argv[0],
        "Args": argv[1:],
        "Name": name,
        "Image": image_id,
        "Config": config,
        "HostConfig": host_config,
        "State": {
            "Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME,
        },
        "RestartCount": 0,
        "Snapshot": snapshot,
        "Monitor": None,
        "ResolvConfPath": f"{container_dir}/resolv.conf",
        "HostnamePath": f"{container_dir}/hostname",
        "HostsPath": f"{container_dir}/hosts",
        "LogPath": f"{container_dir}/{cid}-json.log",
    }


def resolv_conf(host_config: dict[str, Any]) -> str:
    """The host's resolv.conf without loopback nameservers (unreachable from the container).

    As docker: ``Dns``, ``DnsSearch`` and ``DnsOptions`` each replace the host's nameservers,
    search domains and options (a search of ``.`` means none).
    """
    try:
        with open("/etc/resolv.conf") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    dns = [str(d) for d in host_config.get("Dns") or ()]
    search = [str(d) for d in host_config.get("DnsSearch") or ()]
    options = [str(o) for o in host_config.get("DnsOptions") or ()]
    host_servers, host_search, host_options = [], [], []
    out = []
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "nameserver" and len(parts) > 1:
            if parts[1].startswith("127.") or parts[1] == "::1":
                continue
            host_servers.append(parts[1])
        elif parts and parts[0] in ("search", "domain"):
            host_search = parts[1:]
        elif parts and parts[0] == "options":
            host_options.extend(parts[1:])
        out.append(line)
    if not (dns or search or options):
        if not host_servers and host_config.get("NetworkMode") == "host":
            out.extend(["nameserver 8.8.8.8", "nameserver 8.8.4.4"])
        return "\n".join(out) + "\n"
    search = [s for s in (search or host_search) if s != "."]
    built = [f"search {' '.join(search)}"] if search else []
    built.extend(f"nameserver {d}" for d in dns or host_servers)
    if options or host_options:
        built.append(f"options {' '.join(options or host_options)}")
    return "\n".join(built) + "\n"


def write_etc_files(container_dir: str, record: dict[str, Any]) -> None:
    """hosts, hostname and resolv.conf in the container directory (bind-mounted at start)."""
    from ketch.linux.durable import write_file

    config, host_config = record["Config"], record["HostConfig"]
    hostname = config.get("Hostname") or record["ID"][:12]
    if host_config.get("NetworkMode") == "host":
        hostname_line = ""
    else:
        hostname_line = f"127.0.0.1\t{hostname}\n" if not config.get("Domainname") else (
            f"127.0.0.1\t{hostname}.{config['Domainname']} {hostname}\n"
        )
    hosts = (
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n" + hostname_line
    )
    for extra in host_config.get("ExtraHosts") or ():
        host, _, addr = str(extra).partition(":")
        hosts += f"{addr}\t{host}\n"
    d = container_dir  # rebuilt by start when missing: no fsync needed
    write_file(f"{d}/hosts", hosts.encode(), 0o644, sync=False)
    write_file(f"{d}/hostname", f"{hostname}\n".encode(), 0o644, sync=False)
    write_file(f"{d}/resolv.conf", resolv_conf(host_config).encode(), 0o644, sync=False)
