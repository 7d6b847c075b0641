"""Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.

``ketch tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.errors import InvalidArgument
    from ketch.images.reference import parse_reference

    target = parse_reference(args.target)
    if target.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    images = ctx.engine().images
    record = images.get(args.source)
    images.put(target.string(), record.target)
    return 0
