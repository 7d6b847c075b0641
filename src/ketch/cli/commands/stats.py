"""Display a live stream of container(s) resource usage statistics."""

from __future__ import annotations

import argparse
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]

HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="show all containers")
    parser.add_argument("--no-stream", action="store_true", help="print one sample and exit")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("containers", nargs="*", metavar="CONTAINER")


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.4g}{unit}"
        n /= 1024
    return f"{n}B"


def _cpu(sample: dict[str, Any]) -> int:
    return int(((sample.get("cpu") or {}).get("usage") or {}).get("total") or 0)


def _row(doc: dict[str, Any], before: dict[str, Any], after: dict[str, Any], wall: float) -> dict[str, str]:
    cpu = max(0, _cpu(after) - _cpu(before)) / (wall * 1e9) * 100 if wall > 0 else 0.0
    memory = (after.get("memory") or {}).get("usage") or {}
    usage, limit = int(memory.get("usage") or 0), int(memory.get("limit") or 0)
    if not limit or limit > 1 << 60:
        import os

        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    blkio = after.get("blkio") or {}
    read = write = 0
    for entry in blkio.get("ioServiceBytesRecursive") or ():
        if str(entry.get("op", "")).lower() == "read":
            read += int(entry.get("value") or 0)
        elif str(entry.get("op", "")).lower() == "write":
            write += int(entry.get("value") or 0)
    return {
        "ID": doc["ID"][:12], "Container": doc["ID"][:12], "Name": doc["Name"].lstrip("/"),
        "CPUPerc": f"{cpu:.2f}%",
        "MemUsage": f"{_bytes(usage)} / {_bytes(limit)}",
        "MemPerc": f"{(usage / limit * 100) if limit else 0:.2f}%",
        "NetIO": "0B / 0B",
        "BlockIO": f"{_bytes(read)} / {_bytes(write)}",
        "PIDs": str(int((after.get("pids") or {}).get("current") or 0)),
    }


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._format import format_rows

    svc = ctx.engine().containers
    if args.containers:
        docs = [svc.get(ref) for ref in args.containers]
    else:
        docs = svc.records(all_=args.all)
    docs = [d for d in docs if d["State"]["Running"]]
    while True:
        start = time.monotonic()
        before = {d["ID"]: svc.stats(d["ID"]) for d in docs}
        time.sleep(0.5)
        wall = time.monotonic() - start
        rows = [_row(d, before[d["ID"]], svc.stats(d["ID"]), wall) for d in docs]
        for line in format_rows(args.format or DEFAULT, rows, HEADERS):
            ctx.stdout.write(line + "\n")
        ctx.stdout.flush()
        if args.no_stream:
            return 0
