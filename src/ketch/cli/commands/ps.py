"""List containers."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext

__all__ = ["HEADERS", "configure", "row", "run"]

HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    "State": "STATE", "LocalVolumes": "LOCAL VOLUMES", "Platform": "PLATFORM",
}
DEFAULT_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="show all containers")
    parser.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    parser.add_argument("-n", "--last", type=int, default=-1, help="show n last created containers")
    parser.add_argument("-l", "--latest", action="store_true", help="show the latest created container")
    parser.add_argument("-f", "--filter", action="append", default=[], help="filter output")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")


def _match(
    summary: dict[str, Any], filters: list[str], place: dict[str, int] | None = None
) -> bool:
    """Whether ``summary`` passes every filter; ``place`` ranks ``before``/``since`` (see
    ``_places``)."""
    from ketch.cli._context import UsageError

    groups: dict[str, list[str]] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep:
            raise UsageError(f"bad format of filter (expected name=value): {f}")
        groups.setdefault(key, []).append(value)
    for key, values in groups.items():
        if key == "status":
            ok = summary["State"] in values
        elif key == "name":
            import re

            ok = any(re.search(v, n.lstrip("/")) for v in values for n in summary["Names"])
        elif key == "id":
            ok = any(summary["Id"].startswith(v) for v in values)
        elif key == "label":
            labels = summary["Labels"]
            ok = all(_label_ok(labels, v) for v in values)
        elif key == "exited":
            ok = summary["State"] == "exited" and any(
                summary["Status"].startswith(f"Exited ({v})") for v in values
            )
        elif key == "ancestor":
            ok = any(summary["Image"] == v or summary["ImageID"].removeprefix("sha256:").startswith(v.removeprefix("sha256:")) for v in values)
        elif key in ("before", "since") and place is not None:
            # newest first: "before" is further down the list than the reference, "since" above
            mine = place[summary["Id"]]
            ok = all(mine > place[v] if key == "before" else mine < place[v] for v in values)
        else:
            from ketch.errors import InvalidArgument

            raise InvalidArgument(f"invalid filter '{key}'")
        if not ok:
            return False
    return True


def _places(svc: Any, summaries: list[dict[str, Any]], filters: list[str]) -> dict[str, int]:
    """Rank (newest first) of each container, and of each ``before=``/``since=`` reference."""
    place = {s["Id"]: i for i, s in enumerate(summaries)}
    for f in filters:
        key, _, value = f.partition("=")
        if key in ("before", "since"):
            place[value] = place.get(svc.check_exists(value), -1)
    return place


def _label_ok(labels: dict[str, str], want: str) -> bool:
    key, sep, value = want.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.4g}{unit}"
        value /= 1000
    return f"{n}B"


def row(summary: dict[str, Any], *, no_trunc: bool, size: tuple[int, int] | None = None) -> dict[str, Any]:
    """The fields ``ps --format`` sees for one container."""
    import time

    from ketch.images.units import human_duration

    command = summary["Command"]
    if not no_trunc and len(command) > 20:
        command = command[:19] + "…"
    labels = summary["Labels"]
    return {
        "ID": summary["Id"] if no_trunc else summary["Id"][:12],
        "Image": summary["Image"],
        "Command": f'"{command}"',
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(summary["Created"])),
        "RunningFor": human_duration(time.time() - summary["Created"]) + " ago",
        "Ports": "",
        "Status": summary["Status"],
        "State": summary["State"],
        "Size": f"{_size(size[0])} (virtual {_size(size[1])})" if size else "",
        "Names": ",".join(n.lstrip("/") for n in summary["Names"]),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Label": lambda key: labels.get(key, ""),  # {{.Label "key"}}: "" when unset (docker)
        "Mounts": ",".join(m["Source"] if no_trunc else m["Source"][:15] for m in summary["Mounts"]),
        "Networks": summary["HostConfig"]["NetworkMode"],
        "LocalVolumes": "0",
        "Platform": "linux",
    }


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._format import TemplateExecError, TemplateParseError, format_rows

    svc = ctx.engine().containers
    last = 1 if args.latest else args.last
    summaries = svc.summaries(all_=args.all or last > 0 or bool(args.filter))
    place = _places(svc, summaries, args.filter) if args.filter else None
    summaries = [s for s in summaries if _match(s, args.filter, place)]
    if not args.all and not args.filter and last <= 0:
        summaries = [s for s in summaries if s["State"] in ("running", "paused", "restarting")]
    if last > 0:
        summaries = summaries[:last]
    if args.quiet and not args.format:
        for s in summaries:
            ctx.stdout.write((s["Id"] if args.no_trunc else s["Id"][:12]) + "\n")
        return 0
    fmt = args.format or DEFAULT_FORMAT
    if args.size and not args.format:
        fmt += "\t{{.Size}}"
    if fmt == "table":
        fmt = DEFAULT_FORMAT
    elif fmt == "json":
        fmt = "{{json .}}"
    rows = [
        row(s, no_trunc=args.no_trunc, size=svc.size(s["Id"]) if args.size or "Size" in fmt else None)
        for s in summaries
    ]
    try:
        lines = format_rows(fmt, rows, HEADERS)
    except TemplateParseError as e:  # docker's words and status for ps
        ctx.stderr.write(f"failed to parse template: {e}\n")
        return 1
    except TemplateExecError as e:
        ctx.stderr.write(f"template parsing error: {e}\n")
        return 1
    for line in lines:
        ctx.stdout.write(line + "\n")
    return 0
