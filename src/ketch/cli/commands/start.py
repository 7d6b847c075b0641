"""Start one or more stopped containers."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--attach", action="store_true", help="attach STDOUT/STDERR and forward signals")
    parser.add_argument("-i", "--interactive", action="store_true", help="attach container's STDIN")
    parser.add_argument("--detach-keys", help="override the key sequence for detaching a container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands._session import parse_detach_keys, relay, terminal_size
    from ketch.errors import KetchError

    svc = ctx.engine().containers
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            ctx.stderr.write("you cannot start and attach multiple containers at once\n")
            return 1
        doc = svc.get(args.containers[0])
        tty = bool(doc["Config"].get("Tty"))
        stdin_fd = ctx.stdin.fileno() if args.interactive else None
        size = terminal_size(stdin_fd) if tty and stdin_fd is not None else None
        sock = svc.start(doc["ID"], attach={"stdin": args.interactive, "stdout": True, "stderr": True},
                         console_size=size)
        if sock is None:
            return 0
        code = relay(sock, stdout=ctx.stdout, stderr=ctx.stderr, stdin_fd=stdin_fd, tty=tty,
                     detach_keys=parse_detach_keys(args.detach_keys))
        if code is None:
            return 0
        return code if code >= 0 else svc.wait(doc["ID"])
    failed = 0
    for ref in args.containers:
        try:
            svc.start(ref)
            ctx.stdout.write(ref + "\n")
        except KetchError as e:
            ctx.stderr.write(f"Error response from daemon: {e}\n")
            failed = 1
    if failed:
        ctx.stderr.write("Error: failed to start containers: " + ", ".join(args.containers) + "\n")
    return failed
