"""Helpers shared by command modules: splitting ``IMAGE [COMMAND] [ARG...]``, units."""

from __future__ import annotations

import argparse
import re

from ketch.cli._context import UsageError

__all__ = ["parse_bytes", "parse_with_command", "split_at_positional"]

_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(value: str, flag: str) -> int:
    """docker's RAM sizes: ``512m``, ``1g``, ``1024`` (binary units)."""
    match = _SIZE.match(value.strip())
    if not match:
        raise UsageError(f'invalid argument "{value}" for "{flag}" flag: invalid size: \'{value}\'')
    number, unit = match.groups()
    return int(float(number) * _MULT[(unit or "").lower()])


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def split_at_positional(parser: argparse.ArgumentParser, argv: list[str], count: int = 1) -> tuple[list[str], list[str]]:
    """Split ``argv`` after the ``count``-th positional: options, then the rest verbatim."""
    actions = parser._option_string_actions
    seen = 0
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            if i + 1 < len(argv):
                return argv[:i] + argv[i + 1 : i + 1 + count], argv[i + 1 + count :]
            return argv, []
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            action = actions.get(name)
            if action is not None and _takes_value(action) and "=" not in arg:
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            for j in range(1, len(arg)):
                action = actions.get(f"-{arg[j]}")
                if action is not None and _takes_value(action):
                    if j == len(arg) - 1:
                        i += 1
                    break
        else:
            seen += 1
            if seen == count:
                return argv[: i + 1], argv[i + 1 :]
        i += 1
    return argv, []


def parse_with_command(parser: argparse.ArgumentParser, argv: list[str], count: int = 1) -> argparse.Namespace:
    """Parse options and ``count`` positionals; the rest is ``args.command``."""
    head, tail = split_at_positional(parser, argv, count)
    args = parser.parse_args(head)
    args.command = tail
    return args
