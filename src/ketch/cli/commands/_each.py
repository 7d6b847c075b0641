"""Run an operation on each named container, docker-style: print names, report failures."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ketch.cli._context import CliContext

__all__ = ["for_each"]


def for_each(ctx: CliContext, refs: list[str], op: Callable[[str], object], *, echo: bool = True) -> int:
    from ketch.errors import KetchError

    status = 0
    for ref in refs:
        try:
            op(ref)
        except KetchError as e:
            ctx.stderr.write(f"Error response from daemon: {e}\n")
            status = 1
            continue
        if echo:
            ctx.stdout.write(ref + "\n")
    return status
