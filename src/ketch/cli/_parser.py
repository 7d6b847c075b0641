"""``CommandParser``: argparse that raises ``UsageError`` (imported only when a command
builds a parser: argparse alone costs ~5 ms of a command's start)."""

from __future__ import annotations

import argparse

from ketch.cli._context import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["CommandParser"]


class CommandParser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` instead of exiting with status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)
