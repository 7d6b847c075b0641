"""Manage containers (``ketch container ls|rm|start|...``, the docker aliases)."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["SUBCOMMANDS", "configure", "parse", "run"]

SUBCOMMANDS = {
    "attach": "attach", "commit": "commit", "cp": "cp", "create": "create", "exec": "exec_",
    "export": "export", "inspect": "inspect", "kill": "kill", "logs": "logs", "ls": "ps",
    "list": "ps", "ps": "ps", "pause": "pause", "prune": "container_prune", "rename": "rename",
    "restart": "restart", "rm": "rm", "remove": "rm", "run": "run", "start": "start",
    "stats": "stats", "stop": "stop", "top": "top", "unpause": "unpause", "wait": "wait",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subcommand", choices=sorted(SUBCOMMANDS), metavar="COMMAND")


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    from ketch.cli.commands._args import split_at_positional

    head, tail = split_at_positional(parser, argv)
    args = parser.parse_args(head)
    args.rest = tail
    return args


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._context import run_command

    return run_command(ctx, f"container {args.subcommand}", SUBCOMMANDS[args.subcommand], args.rest)
