"""Rename a container."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container")
    parser.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.engine().containers.rename(args.container, args.new_name)
    return 0
