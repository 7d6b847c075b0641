"""Fetch the logs of a container."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="follow log output")
    parser.add_argument("-n", "--tail", default="all", help="number of lines to show from the end")
    parser.add_argument("--since", help="show logs since timestamp or relative (e.g. 42m)")
    parser.add_argument("--until", help="show logs before a timestamp or relative")
    parser.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("--details", action="store_true", help="show extra details")
    parser.add_argument("container")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._context import UsageError
    from ketch.cli.commands._session import write_bytes
    from ketch.engine._logs import parse_time

    tail = None
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError:
            raise UsageError(f'invalid argument "{args.tail}" for "-n, --tail" flag') from None
        if tail < 0:
            tail = None
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    svc = ctx.engine().containers
    doc = svc.get(args.container)
    if doc["Config"].get("Tty"):
        pass  # a tty's output is all on stdout, as docker does
    for entry in svc.logs(doc["ID"], follow=args.follow, tail=tail, since=since, until=until):
        data = entry.data
        if args.timestamps:
            data = entry.time.encode() + b" " + data
        write_bytes(ctx.stderr if entry.stream == "stderr" else ctx.stdout, data)
    return 0
