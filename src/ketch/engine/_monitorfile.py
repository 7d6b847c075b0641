"""Who monitors a container: ``monitor.pid`` in its directory ("pid starttime").

Read by any command that reconciles a record (``ContainerService._stale``), so it
imports nothing of the monitor's (selectors, termios, the json log, the runtime
client: ~1 ms that ``run`` paid at start for this one check).
"""

from __future__ import annotations

import os

__all__ = ["MONITOR_FILE", "live_monitor", "process_start_time"]

MONITOR_FILE = "monitor.pid"


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":
        return None
    return int(fields[19])


def live_monitor(container_dir: str) -> tuple[int, int] | None:
    """(pid, start time) of the monitor named in ``container_dir``, if it is alive."""
    try:
        with open(os.path.join(container_dir, MONITOR_FILE)) as f:
            pid_text, start_text = f.read().split()
        pid, start = int(pid_text), int(start_text)
    except (OSError, ValueError):
        return None
    return (pid, start) if process_start_time(pid) == start else None
