"""Show the ketch version information."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("ketch")
    except PackageNotFoundError:
        ver = "dev"
    info = {
        "Client": {"Version": ver, "ApiVersion": "1.45", "Os": "linux",
                   "Arch": platform.machine(), "GoVersion": f"python{platform.python_version()}"},
        "Server": {"Version": ver, "ApiVersion": "1.45", "Os": "linux", "Arch": platform.machine()},
    }
    if args.format:
        from ketch.cli._format import Template

        ctx.stdout.write(Template(args.format).render(info) + "\n")
        return 0
    c = info["Client"]
    ctx.stdout.write(
        f"Client:\n Version:           {c['Version']}\n API version:       {c['ApiVersion']}\n"
        f" OS/Arch:           linux/{c['Arch']}\n Runtime:           {c['GoVersion']}\n"
        f"\nServer: (embedded engine)\n Version:           {c['Version']}\n"
    )
    return 0
