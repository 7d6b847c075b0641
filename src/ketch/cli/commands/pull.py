"""Download an image from a registry.

``ketch pull [-a] [--platform os/arch[/variant]] [-q] NAME[:TAG|@DIGEST]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    parser.add_argument("-a", "--all-tags", action="store_true", help="download all tagged images")
    parser.add_argument("--platform", help="set platform (os/arch[/variant])")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    parser.add_argument("--disable-content-trust", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.images.platforms import parse_platform
    from ketch.images.reference import parse_reference
    from ketch.registry.client import RegistryClient, pull
    from ketch.registry.client.progress import auto_progress

    platform = parse_platform(args.platform) if args.platform else None
    ref = parse_reference(args.name, default_tag=None if args.all_tags else "latest")
    if not args.all_tags and ref.tag is None and ref.digest is None:
        ref = ref.with_tag("latest")
    if not args.quiet and ref.tag == "latest" and ":" not in args.name.rsplit("/", 1)[-1]:
        ctx.stdout.write("Using default tag: latest\n")
    engine = ctx.engine()
    renderer = None if args.quiet else auto_progress(ctx.stdout)
    try:
        pull(
            args.name,
            content=engine.content,
            images=engine.images,
            platform=platform,
            all_tags=args.all_tags,
            progress=renderer,
            client=RegistryClient.from_environment(),
        )
    finally:
        if renderer is not None:
            renderer.close()
    ctx.stdout.write(f"{ref.name if args.all_tags else ref.string()}\n")
    return 0
