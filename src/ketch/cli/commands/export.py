"""Export a container's filesystem as a tar archive."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    parser.add_argument("container")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    svc = ctx.engine().containers
    if args.output:
        import os

        tmp = f"{args.output}.ketch-tmp"
        try:
            with open(tmp, "wb") as f:
                svc.export(args.container, f)
            os.replace(tmp, args.output)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return 0
    out = getattr(ctx.stdout, "buffer", None) or sys.stdout.buffer
    if out.isatty():
        from ketch.cli._context import UsageError

        raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    svc.export(args.container, out)
    out.flush()
    return 0
