"""Load an image from a tar archive or STDIN (docker-archive or OCI layout, any compression).

``ketch load [-i FILE] [-q]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--input",
        help="read from tar archive file (or OCI layout directory), instead of STDIN",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress the load output")
    parser.add_argument("--platform", action="append", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import os

    from ketch.errors import InvalidArgument
    from ketch.images.load import load_archive, load_path

    engine = ctx.engine()
    if args.input and args.input != "-":
        loaded = load_path(args.input, engine.content, engine.images)
    else:
        stdin = ctx.stdin
        fileno = getattr(stdin, "fileno", None)
        try:
            tty = fileno is not None and os.isatty(fileno())
        except (OSError, ValueError):
            tty = False
        if tty:
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        loaded = load_archive(stdin, engine.content, engine.images)  # type: ignore[arg-type]
    for image in loaded:
        if image.replaced_id is not None:
            ctx.stdout.write(
                f"The image {image.name} already exists, renaming the old one with ID "
                f"{image.replaced_id} to empty string\n"
            )
        if image.name is not None:
            ctx.stdout.write(f"Loaded image: {image.name}\n")
        else:
            ctx.stdout.write(f"Loaded image ID: {image.image_id}\n")
    return 0
