"""Log out from a registry (remove its stored credentials).

``ketch logout [SERVER]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", metavar="SERVER")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.registry.client import RegistryClient, logout

    shown = args.server or "https://index.docker.io/v1/"
    _host, found = logout(args.server, client=RegistryClient.from_environment())
    if found:
        ctx.stdout.write(f"Removing login credentials for {shown}\n")
    else:
        ctx.stdout.write(f"Not logged in to {shown}\n")
    return 0
