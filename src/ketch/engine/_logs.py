"""Read a container's json-file log: tail, since/until, follow."""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["LogEntry", "parse_time", "read_log"]


class LogEntry:
    __slots__ = ("data", "stream", "time")

    def __init__(self, stream: str, data: bytes, stamp: str) -> None:
        self.stream = stream
        self.data = data
        self.time = stamp


def parse_time(value: str, now: float | None = None) -> float:
    """Unix seconds from docker's ``--since``/``--until``: RFC 3339, unix seconds, or ``10m``."""
    import calendar
    import re

    from ketch.errors import InvalidArgument

    value = value.strip()
    now = time.time() if now is None else now
    rel = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", value)
    if rel:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[rel.group(2)]
        return now - float(rel.group(1)) * scale
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d(?::\d\d)?)(\.\d+)?)?(Z|[+-]\d\d:\d\d)?", value)
    if not match:
        raise InvalidArgument(f'invalid value for "since"/"until": {value}')
    day, clock, frac, zone = match.groups()
    clock = clock or "00:00:00"
    if clock.count(":") == 1:
        clock += ":00"
    seconds = calendar.timegm(time.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S"))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    elif not zone:
        seconds += time.timezone if time.localtime().tm_isdst == 0 else time.altzone
    return seconds + (float(frac) if frac else 0.0)


def _stamp_seconds(stamp: str) -> float:
    import calendar

    try:
        base = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0.0
    frac = stamp[19:].rstrip("Z")
    return base + (float(frac) if frac.startswith(".") and len(frac) > 1 else 0.0)


def _entries(lines: list[bytes]) -> list[LogEntry]:
    out = []
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        out.append(LogEntry(doc.get("stream", "stdout"), str(doc.get("log", "")).encode(), doc.get("time", "")))
    return out


def read_log(
    path: str,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: float | None = None,
    until: float | None = None,
    running: Callable[[], bool] | None = None,
) -> Iterator[LogEntry]:
    """Entries of the log at ``path``; with ``follow``, keep reading while ``running()``."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, generator
    except FileNotFoundError:
        return
    with f:
        lines = f.read().splitlines(keepends=True)
        partial = b""
        if lines and not lines[-1].endswith(b"\n"):
            partial = lines.pop()
        entries = _entries(lines)
        if tail is not None and tail >= 0:
            entries = entries[-tail:] if tail else []
        for entry in entries:
            t = _stamp_seconds(entry.time) if since is not None or until is not None else 0.0
            if since is not None and t < since:
                continue
            if until is not None and t > until:
                continue
            yield entry
        if not follow:
            return
        idle = 0
        while True:
            data = f.read()
            if data:
                idle = 0
                data = partial + data
                chunk = data.splitlines(keepends=True)
                partial = b""
                if chunk and not chunk[-1].endswith(b"\n"):
                    partial = chunk.pop()
                for entry in _entries(chunk):
                    if until is not None and _stamp_seconds(entry.time) > until:
                        return
                    yield entry
                continue
            if running is not None and not running():
                idle += 1
                if idle > 2:
                    return
            if until is not None and time.time() > until:
                return
            time.sleep(0.1)
            _ = os
