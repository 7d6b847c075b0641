"""Upload an image to a registry.

``ketch push [-a] [-q] NAME[:TAG]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG]")
    parser.add_argument("-a", "--all-tags", action="store_true", help="push all tags of the name")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    parser.add_argument("--disable-content-trust", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.errors import InvalidArgument, NotFound
    from ketch.images.reference import parse_reference
    from ketch.registry.client import RegistryClient, push
    from ketch.registry.client.progress import auto_progress

    engine = ctx.engine()
    if args.all_tags:
        ref = parse_reference(args.name, default_tag=None)
        if ref.tag is not None or ref.digest is not None:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        names = []
        for record in engine.images.list():
            try:
                other = parse_reference(record.name)
            except InvalidArgument:
                continue
            if other.name == ref.name and other.tag is not None and other.digest is None:
                names.append(other.string())
        if not names:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name()}")
    else:
        names = [args.name]
    client = RegistryClient.from_environment()
    for name in names:
        renderer = None if args.quiet else auto_progress(ctx.stdout)
        try:
            push(
                name,
                content=engine.content,
                images=engine.images,
                progress=renderer,
                client=client,
            )
        finally:
            if renderer is not None:
                renderer.close()
        if args.quiet:
            ctx.stdout.write(f"{parse_reference(name).string()}\n")
    return 0
