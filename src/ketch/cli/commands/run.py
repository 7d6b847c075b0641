"""Create and run a new container from an image."""

from __future__ import annotations

import sys

from ketch.cli.commands._args import QuickArgs, parse_with_command
from ketch.cli.commands._args import quick_parse as _quick_parse
from ketch.cli.commands._create_flags import CREATE_FLAGS, add_create_flags, add_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ketch.cli._context import CliContext
    from ketch.engine._attach import Connection

__all__ = ["ERROR_EXIT_CODE", "configure", "parse", "quick_parse", "run"]

ERROR_EXIT_CODE = 125

RUN_FLAGS = (
    (("-d", "--detach"), "flag", False, "run in the background"),
    (("--rm",), "flag", False, "remove the container when it exits"),
    (("--sig-proxy",), "value", "true", "proxy received signals to the process"),
    *CREATE_FLAGS,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = "ketch run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    add_flags(parser, RUN_FLAGS[:3])
    add_create_flags(parser)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    return parse_with_command(parser, argv)


def quick_parse(argv: list[str]) -> QuickArgs | None:
    """The common command lines without argparse (None: let argparse parse them)."""
    return _quick_parse(RUN_FLAGS, argv)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._session import parse_detach_keys, relay, terminal_size
    from ketch.cli.commands.create import create_container

    detach_keys = parse_detach_keys(args.detach_keys)
    if args.tty and args.interactive and not args.detach and not _isatty(ctx):
        ctx.stderr.write("the input device is not a TTY\n")  # docker's words and status
        return 1
    svc = ctx.engine().containers
    if args.detach:
        cid, _ = create_container(args, ctx, detach=True, rm=args.rm, make=svc.run)
        ctx.stdout.write(cid + "\n")
        return 0
    stdin_fd = None
    if args.interactive:
        stdin_fd = ctx.stdin.fileno()
    size = terminal_size(stdin_fd if stdin_fd is not None else sys.stdout.fileno()) if args.tty else None
    attach = {"stdin": args.interactive, "stdout": True, "stderr": True}

    def make(config: dict[str, Any], host_config: dict[str, Any], name: str | None
             ) -> tuple[str, Connection | None]:
        return svc.run(config, host_config, name, attach=attach, console_size=size)

    cid, sock = create_container(args, ctx, detach=False, rm=args.rm, make=make)
    if sock is None:
        return 0

    def forward(signum: int) -> None:
        if args.sig_proxy.lower() not in ("false", "0"):
            try:  # noqa: SIM105 (contextlib costs an import)
                svc.kill(cid, signum)
            except Exception:
                pass

    code = relay(sock, stdout=ctx.stdout, stderr=ctx.stderr, stdin_fd=stdin_fd, tty=args.tty,
                 detach_keys=detach_keys, on_signal=forward)
    if code is None:
        return 0
    if code < 0:
        code = svc.wait(cid) if not args.rm else 0
    return code


def _isatty(ctx: CliContext) -> bool:
    try:
        return ctx.stdin.isatty()
    except (AttributeError, ValueError):
        return False
