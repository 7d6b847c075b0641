"""Execute a command in a running container."""

from __future__ import annotations

import argparse
import contextlib
import os

from ketch.cli.commands._args import parse_with_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "parse", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = "ketch exec [OPTIONS] CONTAINER COMMAND [ARG...]"
    parser.add_argument("-d", "--detach", action="store_true", help="run command in the background")
    parser.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    parser.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    parser.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    parser.add_argument("--env-file", action="append", default=[], help="read a file of environment variables")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")
    parser.add_argument("-u", "--user", help="username or UID (format: <name|uid>[:<group|gid>])")
    parser.add_argument("--privileged", action="store_true", help="give extended privileges to the command")
    parser.add_argument("--detach-keys", help="override the key sequence for detaching")
    parser.add_argument("container")


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    return parse_with_command(parser, argv)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import subprocess

    from ketch.cli._context import UsageError
    from ketch.cli.commands._create_flags import _env_file
    from ketch.cli.commands._session import terminal_size

    if not args.command:
        raise UsageError('"exec" requires at least 2 arguments.')
    env: list[str] = []
    for path in args.env_file:
        env.extend(_env_file(path))
    env.extend(e if "=" in e else f"{e}={os.environ.get(e, '')}" for e in args.env)
    svc = ctx.engine().containers
    size = terminal_size(ctx.stdin.fileno()) if args.tty else None
    if args.tty and not args.detach:
        return _exec_tty(args, ctx, env, size)
    argv = svc.exec_argv(args.container, args.command, env=env, workdir=args.workdir,
                         user=args.user, tty=args.tty, detach=args.detach,
                         privileged=args.privileged, console_size=size)
    process_file = str(argv[list(argv).index("--process") + 1])
    try:
        ctx.stdout.flush()
        stdin = None if args.interactive or args.tty else subprocess.DEVNULL
        proc = subprocess.run(argv, stdin=stdin, check=False)
    finally:
        os.unlink(process_file)
    return proc.returncode


def _exec_tty(args: argparse.Namespace, ctx: CliContext, env: list[str],
              size: tuple[int, int] | None) -> int:
    import sys

    from ketch.cli.commands._exec_tty import run_exec_tty
    from ketch.cli.commands._session import parse_detach_keys

    svc = ctx.engine().containers
    made: list[str] = []

    def make_argv(console_socket: str, pid_file: str) -> list[str]:
        argv = svc.exec_argv(args.container, args.command, env=env, workdir=args.workdir,
                             user=args.user, tty=True, detach=True, privileged=args.privileged,
                             console_size=size, console_socket=console_socket, pid_file=pid_file)
        made.append(str(argv[list(argv).index("--process") + 1]))
        return argv

    try:
        ctx.stdout.flush()
        return run_exec_tty(make_argv, stdin_fd=ctx.stdin.fileno() if args.interactive else None,
                            stdout_fd=sys.stdout.fileno(),
                            detach_keys=parse_detach_keys(args.detach_keys))
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                os.unlink(path)
