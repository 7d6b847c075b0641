"""Attach local standard input, output, and error streams to a running container."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    parser.add_argument("--sig-proxy", default="true", help="proxy all received signals to the process")
    parser.add_argument("--detach-keys", help="override the key sequence for detaching a container")
    parser.add_argument("container")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._session import parse_detach_keys, relay

    svc = ctx.engine().containers
    doc = svc.get(args.container)
    stdin = bool(doc["Config"].get("OpenStdin")) and not args.no_stdin
    sock = svc.attach(doc["ID"], stdin=stdin)
    code = relay(sock, stdout=ctx.stdout, stderr=ctx.stderr,
                 stdin_fd=ctx.stdin.fileno() if stdin else None,
                 tty=bool(doc["Config"].get("Tty")),
                 detach_keys=parse_detach_keys(args.detach_keys))
    if code is None:
        return 0
    return code if code >= 0 else svc.wait(doc["ID"])
