"""Kill one or more running containers."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="KILL", help="signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._each import for_each
    from ketch.engine.containers import parse_signal

    parse_signal(args.signal)
    svc = ctx.engine().containers
    return for_each(ctx, args.containers, lambda ref: svc.kill(ref, args.signal))
