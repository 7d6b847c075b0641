"""Create a new image from a container's changes."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--author", default="", help='author (e.g. "Jane <jane@example.com>")')
    parser.add_argument("-c", "--change", action="append", default=[], help="apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="commit message")
    parser.add_argument("-p", "--pause", default="true", help="pause container during commit")
    parser.add_argument("container")
    parser.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    image_id = ctx.engine().containers.commit(
        args.container, args.reference, comment=args.message, author=args.author,
        changes=args.change, pause=args.pause.lower() not in ("false", "0"),
    )
    ctx.stdout.write(image_id + "\n")
    return 0
