"""Remove one or more containers."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="force the removal of a running container")
    parser.add_argument("-v", "--volumes", action="store_true", help="remove anonymous volumes")
    parser.add_argument("-l", "--link", action="store_true", help="remove the specified link")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._each import for_each

    svc = ctx.engine().containers
    return for_each(ctx, args.containers,
                    lambda ref: svc.remove(ref, force=args.force, volumes=args.volumes),
                    missing_ok=args.force)
