"""Create a new container."""

from __future__ import annotations

from ketch.cli.commands._args import QuickArgs, parse_with_command
from ketch.cli.commands._args import quick_parse as _quick_parse
from ketch.cli.commands._create_flags import (
    CREATE_FLAGS,
    add_create_flags,
    add_flags,
    create_request,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any, TypeVar

    from ketch.cli._context import CliContext

    _T = TypeVar("_T")

__all__ = ["ERROR_EXIT_CODE", "configure", "create_container", "parse", "quick_parse", "run"]

ERROR_EXIT_CODE = 125

# docker create takes --rm too: the container is removed when it exits after a start
COMMAND_FLAGS = ((("--rm",), "flag", False, "remove the container when it exits"),)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = "ketch create [OPTIONS] IMAGE [COMMAND] [ARG...]"
    add_flags(parser, COMMAND_FLAGS)
    add_create_flags(parser)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    return parse_with_command(parser, argv)


def quick_parse(argv: list[str]) -> QuickArgs | None:
    """The common command lines without argparse (None: let argparse parse them)."""
    return _quick_parse((*COMMAND_FLAGS, *CREATE_FLAGS), argv)


def create_container(
    args: argparse.Namespace,
    ctx: CliContext,
    *,
    detach: bool,
    rm: bool = False,
    make: Callable[[dict[str, Any], dict[str, Any], str | None], _T],
) -> _T:
    """``make(config, host_config, name)`` (the engine's create, or run), pulling the
    image first when it is missing."""
    from ketch.errors import NotFound

    config, host_config = create_request(args, detach=detach)
    host_config["AutoRemove"] = rm
    try:
        return make(config, host_config, args.name)
    except NotFound as e:
        if not str(e).startswith("No such image") or args.pull == "never":
            raise
    image = args.image if (":" in args.image.rsplit("/", 1)[-1] or "@" in args.image) else f"{args.image}:latest"
    ctx.stderr.write(f"Unable to find image '{image}' locally\n")
    ctx.stderr.flush()
    _pull(ctx, args.image)
    return make(config, host_config, args.name)


def _pull(ctx: CliContext, image: str) -> None:
    """Pull ``image`` with the ``pull`` command, its progress on stderr as docker run does."""
    import argparse
    import copy
    import importlib

    try:
        pull_cmd = importlib.import_module("ketch.cli.commands.pull")
    except ImportError:
        from ketch.errors import Unavailable

        raise Unavailable(f"cannot pull {image}: this ketch has no registry client") from None
    quiet = copy.copy(ctx)
    quiet.stdout = ctx.stderr
    args = argparse.Namespace(
        name=image, all_tags=False, platform=None, quiet=False, disable_content_trust=False
    )
    pull_cmd.run(args, quiet)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    cid = create_container(
        args, ctx, detach=True, rm=bool(getattr(args, "rm", False)), make=ctx.engine().containers.create
    )
    ctx.stdout.write(f"{cid}\n")
    return 0
