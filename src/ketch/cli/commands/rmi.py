"""Remove one or more images.

``ketch rmi [-f] [--no-prune] IMAGE [IMAGE...]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext
    from ketch.images.remove import Users

__all__ = ["configure", "image_users", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-f", "--force", action="store_true", help="force removal of the image")
    parser.add_argument(
        "--no-prune",
        action="store_true",
        help="do not delete untagged parents (kept for docker compatibility)",
    )
    parser.add_argument("--platform", action="append", help=argparse.SUPPRESS)


def image_users(engine: Any) -> Users:
    """Which containers use an image, from the engine's container list."""
    from ketch.images.remove import users_from_containers

    containers = engine.containers
    listing = getattr(containers, "records", None) or containers.list
    return users_from_containers(listing(all_=True))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.errors import KetchError
    from ketch.images.gc import collect_garbage
    from ketch.images.remove import remove_image

    engine = ctx.engine()
    images = engine.images
    users = image_users(engine)
    status = 0
    candidates: set[str] = set()
    for ref in args.images:
        try:
            result = remove_image(images, ref, force=args.force, users=users)
        except KetchError as e:
            ctx.stderr.write(f"Error response from daemon: {e}\n")
            status = 1
            continue
        candidates.update(result.blobs)
        for line in result.lines():
            ctx.stdout.write(line + "\n")
    if candidates:
        collect_garbage(images, only=candidates)
    return status
