"""docker's ContainerInspect document and ``ps`` summary for a container record."""

from __future__ import annotations

from ketch.images.units import human_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["inspect_document", "mounts_of", "summary"]


def mounts_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    from ketch.engine._spec import parse_bind

    host_config = doc["HostConfig"]
    out = []
    for bind in host_config.get("Binds") or ():
        source, dest, modes = parse_bind(str(bind))
        out.append({
            "Type": "bind", "Source": source, "Destination": dest, "Mode": ",".join(modes),
            "RW": "ro" not in modes,
            "Propagation": next((m for m in modes if "private" in m or "shared" in m or "slave" in m), "rprivate"),
        })
    for m in host_config.get("Mounts") or ():
        out.append({
            "Type": m.get("Type", "bind"), "Source": m.get("Source", ""),
            "Destination": m.get("Target", ""), "Mode": "", "RW": not m.get("ReadOnly"),
            "Propagation": (m.get("BindOptions") or {}).get("Propagation", "rprivate")
            if m.get("Type", "bind") == "bind" else "",
        })
    return out


def _state(doc: dict[str, Any]) -> dict[str, Any]:
    state = dict(doc["State"])
    return {
        "Status": state.get("Status", "created"),
        "Running": bool(state.get("Running")),
        "Paused": bool(state.get("Paused")),
        "Restarting": bool(state.get("Restarting")),
        "OOMKilled": bool(state.get("OOMKilled")),
        "Dead": bool(state.get("Dead")),
        "Pid": int(state.get("Pid") or 0),
        "ExitCode": int(state.get("ExitCode") or 0),
        "Error": state.get("Error", ""),
        "StartedAt": state.get("StartedAt"),
        "FinishedAt": state.get("FinishedAt"),
    }


def inspect_document(doc: dict[str, Any], *, snapshot_dirs: dict[str, str] | None = None,
                     size: tuple[int, int] | None = None) -> dict[str, Any]:
    config = dict(doc["Config"])
    config.setdefault("Volumes", None)
    config.setdefault("OnBuild", None)
    host_config = dict(doc["HostConfig"])
    network_mode = host_config.get("NetworkMode", "none")
    result: dict[str, Any] = {
        "Id": doc["ID"],
        "Created": doc["Created"],
        "Path": doc["Path"],
        "Args": doc["Args"],
        "State": _state(doc),
        "Image": doc["Image"],
        "ResolvConfPath": doc["ResolvConfPath"],
        "HostnamePath": doc["HostnamePath"],
        "HostsPath": doc["HostsPath"],
        "LogPath": doc["LogPath"],
        "Name": doc["Name"],
        "RestartCount": int(doc.get("RestartCount") or 0),
        "Driver": doc["Snapshot"].get("Kind", "overlayfs"),
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": host_config,
        "GraphDriver": {"Data": snapshot_dirs or {}, "Name": doc["Snapshot"].get("Kind", "overlayfs")},
        "Mounts": mounts_of(doc),
        "Config": config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {},
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
            "Networks": {network_mode: {
                "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "",
                "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
                "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None,
            }},
        },
    }
    if size is not None:
        result["SizeRw"], result["SizeRootFs"] = size
    return result


def summary(doc: dict[str, Any], image_name: str) -> dict[str, Any]:
    """docker's ContainerSummary (``GET /containers/json``, ``ps``)."""
    import calendar
    import time

    created = doc["Created"]
    try:
        epoch = calendar.timegm(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        epoch = 0
    command = " ".join([doc["Path"], *doc["Args"]])
    return {
        "Id": doc["ID"],
        "Names": [doc["Name"]],
        "Image": image_name,
        "ImageID": doc["Image"],
        "Command": command,
        "Created": epoch,
        "Ports": [],
        "Labels": dict(doc["Config"].get("Labels") or {}),
        "State": doc["State"]["Status"],
        "Status": status_text(doc),
        "HostConfig": {"NetworkMode": doc["HostConfig"].get("NetworkMode", "none")},
        "NetworkSettings": {"Networks": {}},
        "Mounts": mounts_of(doc),
    }


def _since(stamp: str) -> float:
    import calendar
    import time

    try:
        then = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0.0
    return max(0.0, time.time() - then)


def status_text(doc: dict[str, Any]) -> str:
    state = doc["State"]
    status = state.get("Status")
    if state.get("Running"):
        text = f"Up {human_duration(_since(state['StartedAt']))}"
        return f"{text} (Paused)" if state.get("Paused") else text
    if status == "created":
        return "Created"
    if status == "removing":
        return "Removal In Progress"
    if status == "dead":
        return "Dead"
    finished = state.get("FinishedAt") or ""
    if finished.startswith("0001"):
        return "Created"
    return f"Exited ({state.get('ExitCode', 0)}) {human_duration(_since(finished))} ago"
