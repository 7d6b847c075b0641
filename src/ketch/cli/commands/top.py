"""Display the running processes of a container."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "parse", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container")


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    from ketch.cli.commands._args import parse_with_command

    return parse_with_command(parser, argv)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._format import tabulate

    titles, rows = ctx.engine().containers.top(args.container, " ".join(args.command) or "-ef")
    lines = ["\t".join(titles)] + ["\t".join(r) for r in rows]
    for line in tabulate(lines, minwidth=1, padding=4):
        ctx.stdout.write(line + "\n")
    return 0
