"""Helpers shared by command modules: splitting ``IMAGE [COMMAND] [ARG...]``, units."""

from __future__ import annotations

from ketch.cli._context import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["QuickArgs", "parse_bytes", "parse_with_command", "quick_parse", "split_at_positional"]

_SIZE = r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$"  # compiled (and cached) by re on use
_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(value: str, flag: str) -> int:
    """docker's RAM sizes: ``512m``, ``1g``, ``1024`` (binary units)."""
    import re  # not at import time: `run` without size flags never needs it

    match = re.match(_SIZE, value.strip())
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


class QuickArgs:
    """What ``quick_parse`` returns: attributes named as argparse's ``dest``s."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"QuickArgs({self.__dict__!r})"


def _dest(names: tuple[str, ...]) -> str:
    long = [n for n in names if n.startswith("--")]
    return (long[0][2:] if long else names[0][1:]).replace("-", "_")


def quick_parse(
    flags: tuple[tuple[tuple[str, ...], str, Any, str], ...], argv: list[str]
) -> QuickArgs | None:
    """``OPTIONS IMAGE [COMMAND...]`` parsed from a flag table (``_create_flags.CREATE_FLAGS``)
    without building an argparse parser (importing and configuring one costs more than the
    rest of a short command line's work).

    Handles exact long options (``--rm``, ``--name x``, ``--name=x``), short options and
    their clusters (``-it``, ``-eA=1``, ``-ite A=1``).  Anything else (``--help``,
    abbreviations, unknown flags, ``--``, a value that looks like an option, no image)
    returns None: argparse then parses it, with its own errors.
    """
    table: dict[str, tuple[str, str]] = {}
    values: dict[str, Any] = {}
    for names, kind, default, _ in flags:
        dest = _dest(names)
        values[dest] = [] if kind == "list" else default
        for name in names:
            table[name] = (dest, kind)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            values["image"] = arg
            values["command"] = argv[i + 1 :]
            return QuickArgs(values)
        if arg.startswith("--"):
            name, eq, inline = arg.partition("=")
            entry = table.get(name)
            if entry is None or (eq and entry[1] == "flag"):
                return None
            pairs = [(entry, inline if eq else None)]
        elif "=" in arg and arg.partition("=")[0] in table:
            return None  # "-e=A": argparse's explicit value, rare enough to leave to it
        else:
            pairs = []
            for j in range(1, len(arg)):
                entry = table.get(f"-{arg[j]}")
                if entry is None:
                    return None
                if entry[1] != "flag":
                    pairs.append((entry, arg[j + 1 :] or None))
                    break
                pairs.append((entry, None))
        for (dest, kind), value in pairs:
            if kind == "flag":
                values[dest] = True
                continue
            if value is None:
                i += 1
                if i >= len(argv) or (argv[i].startswith("-") and argv[i] != "-"):
                    return None
                value = argv[i]
            if kind == "list":
                values[dest].append(value)
            else:
                values[dest] = value
        i += 1
    return None
