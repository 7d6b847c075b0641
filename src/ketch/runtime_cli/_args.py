"""A tiny flag parser with runc's (urfave/cli) conventions, ~0 ms to import.

``-f v``, ``--flag v``, ``--flag=v``, ``-flag v`` (Go style), booleans with an
optional ``=true|false``; flags stop at the first positional argument or ``--``
(so ``exec ID sh -c ...`` passes ``-c`` to the container).
"""

from ketch.errors import InvalidArgument

__all__ = ["Flag", "one_id", "parse"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Flag:
    """One flag: names (``"bundle"``, ``"b"``), its kind and default."""

    __slots__ = ("default", "dest", "kind", "names")

    def __init__(self, names: str, kind: str = "bool", default: "Any" = None) -> None:
        self.names = names.split(",")
        self.dest = self.names[0].replace("-", "_")
        self.kind = kind  # bool | str | int | list
        if default is None and kind == "bool":
            default = False
        self.default = [] if kind == "list" else default


def _bool(name: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1", "t", "yes"):
        return True
    if low in ("false", "0", "f", "no"):
        return False
    raise InvalidArgument(f"--{name}: expected true or false, got {value!r}")


def parse(
    argv: list[str], flags: "tuple[Flag, ...]", verb: str
) -> "tuple[dict[str, Any], list[str]]":
    """(values by dest, positional arguments)."""
    table = {name: f for f in flags for name in f.names}
    values: dict[str, Any] = {f.dest: (list(f.default) if f.kind == "list" else f.default) for f in flags}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, inline = arg.lstrip("-").partition("=")
        flag = table.get(name)
        if flag is None:
            raise InvalidArgument(f"{verb}: flag provided but not defined: {arg.split('=')[0]}")
        if flag.kind == "bool":
            values[flag.dest] = _bool(name, inline) if eq else True
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(argv):
                raise InvalidArgument(f"{verb}: flag needs an argument: {arg}")
            value = argv[i + 1]
            i += 2
        if flag.kind == "int":
            try:
                values[flag.dest] = int(value)
            except ValueError:
                raise InvalidArgument(f"{verb}: --{name}: expected a number, got {value!r}") from None
        elif flag.kind == "list":
            values[flag.dest].append(value)
        else:
            values[flag.dest] = value
    return values, argv[i:]


def one_id(positional: list[str], verb: str, usage: str = "<container-id>") -> str:
    if len(positional) != 1:
        raise InvalidArgument(f"{verb}: expected exactly one argument {usage}, got {len(positional)}")
    return positional[0]
