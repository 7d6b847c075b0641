"""Save one or more images to a tar archive (streamed to STDOUT by default).

``ketch save [-o FILE] [--platform os/arch] [--oci] IMAGE [IMAGE...]``

The archive is a docker-archive that is also an OCI image layout (as docker 25+
writes); ``--oci`` leaves out docker's manifest.json and repositories.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    parser.add_argument("--platform", help="save the manifest of this platform (os/arch[/variant])")
    parser.add_argument("--oci", action="store_true", help="write an OCI layout archive only")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import os

    from ketch.errors import InvalidArgument
    from ketch.images.platforms import parse_platform
    from ketch.images.save import save_images, save_to_path

    images = ctx.engine().images
    platform = parse_platform(args.platform) if args.platform else None
    if args.output and args.output != "-":
        save_to_path(images, args.images, args.output, oci_only=args.oci, platform=platform)
        return 0
    out = getattr(ctx.stdout, "buffer", None)
    if out is None:
        raise InvalidArgument("cannot write binary data to this output; use -o")
    try:
        tty = os.isatty(out.fileno())
    except (OSError, ValueError, AttributeError):
        tty = False
    if tty:
        raise InvalidArgument(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
        )
    ctx.stdout.flush()
    save_images(images, args.images, out, oci_only=args.oci, platform=platform)
    out.flush()
    return 0
