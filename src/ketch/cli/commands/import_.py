"""Import the contents from a tarball to create a filesystem image.

``ketch import [-c CHANGE]... [-m MESSAGE] [--platform os/arch] file|URL|- [REPOSITORY[:TAG]]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="file|URL|-")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument(
        "-c",
        "--change",
        action="append",
        default=[],
        help="apply Dockerfile instruction to the created image",
    )
    parser.add_argument("-m", "--message", help="set commit message for imported image")
    parser.add_argument("--platform", help="set platform (os/arch[/variant])")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.images.import_ import import_rootfs, open_source
    from ketch.images.platforms import parse_platform

    engine = ctx.engine()
    platform = parse_platform(args.platform) if args.platform else None
    stream = open_source(args.source, ctx.stdin)  # type: ignore[arg-type]
    try:
        record = import_rootfs(
            stream,
            engine.content,
            engine.images,
            name=args.repository,
            changes=args.change,
            message=args.message,
            source=args.source,
            platform=platform,
        )
    finally:
        if stream is not ctx.stdin:
            stream.close()
    ctx.stdout.write(f"{engine.images.image_id(record)}\n")
    return 0
