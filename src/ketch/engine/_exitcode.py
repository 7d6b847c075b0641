"""Errors that carry the exit status a command line should end with (docker's 126/127)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    E = TypeVar("E", bound=BaseException)

__all__ = ["exit_code_of", "with_exit_code"]


def with_exit_code(error: E, code: int) -> E:
    """``error`` marked with ``code`` (read by the CLI, and by the API for exec/run)."""
    error.exit_code = code  # type: ignore[attr-defined]
    return error


def exit_code_of(error: BaseException, default: int) -> int:
    code = getattr(error, "exit_code", None)
    return code if isinstance(code, int) else default
