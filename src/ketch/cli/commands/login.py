"""Log in to a registry (credentials are checked, then stored in the docker config).

``ketch login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]``
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", metavar="SERVER")
    parser.add_argument("-u", "--username", help="username")
    parser.add_argument("-p", "--password", help="password")
    parser.add_argument(
        "--password-stdin", action="store_true", help="take the password from stdin"
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._context import UsageError
    from ketch.registry.client import RegistryClient, login

    username, password = args.username, args.password
    if args.password_stdin:
        if password is not None:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise UsageError("Must provide --username with --password-stdin")
        password = ctx.stdin.read().decode().rstrip("\r\n")
    elif password is not None:
        ctx.stderr.write(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
        )
    interactive = sys.stdin.isatty()
    if not username:
        if not interactive:
            raise UsageError("cannot perform an interactive login from a non TTY device")
        username = input("Username: ").strip()
    if not password:
        if not interactive:
            raise UsageError("cannot perform an interactive login from a non TTY device")
        import getpass

        password = getpass.getpass("Password: ")
    login(args.server, username, password, client=RegistryClient.from_environment())
    ctx.stdout.write("Login Succeeded\n")
    return 0
