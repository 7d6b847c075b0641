"""Block until one or more containers stop, then print their exit codes."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._each import for_each

    svc = ctx.engine().containers

    def wait(ref: str) -> None:
        code = svc.wait(ref)
        ctx.stdout.write(f"{code}\n")
        ctx.stdout.flush()

    return for_each(ctx, args.containers, wait, echo=False)
