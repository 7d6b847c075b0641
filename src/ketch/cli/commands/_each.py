"""Run an operation on each named container, docker-style: print names, report failures."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ketch.cli._context import CliContext

__all__ = ["for_each"]


def for_each(
    ctx: CliContext, refs: list[str], op: Callable[[str], object], *, echo: bool = True,
    missing_ok: bool = False,
) -> int:
    """Apply ``op`` to each ref; with ``missing_ok`` an unknown ref is reported, not a failure."""
    from ketch.errors import KetchError, NotFound

    status = 0
    for ref in refs:
        try:
            op(ref)
        except NotFound as e:
            if missing_ok:  # docker's `rm -f`: say so on stderr, carry on, exit 0
                ctx.stderr.write(f"Error: {e}\n")
                continue
            ctx.stderr.write(f"Error response from daemon: {e}\n")
            status = 1
            continue
        except KetchError as e:
            ctx.stderr.write(f"Error response from daemon: {e}\n")
            status = 1
            continue
        if echo:
            ctx.stdout.write(ref + "\n")
    return status
