"""Remove all stopped containers."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "human_size", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    parser.add_argument("--filter", action="append", default=[], help="provide filter values")


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.4g}{unit}"
        n /= 1000
    return f"{n}B"


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.force:
        ctx.stdout.write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        answer = ctx.stdin.readline().decode(errors="replace").strip().lower()
        if answer not in ("y", "yes"):
            return 0
    removed, space = ctx.engine().containers.prune()
    if removed:
        ctx.stdout.write("Deleted Containers:\n" + "".join(f"{cid}\n" for cid in removed) + "\n")
    ctx.stdout.write(f"Total reclaimed space: {human_size(space)}\n")
    return 0
