"""A subset of Go's text/template, as docker's ``--format`` uses it.

Supported: text, ``{{.Field}}``, ``{{.Field.Sub}}``, ``{{.}}``, ``{{json .X}}``,
``{{join .X ","}}``, ``{{index .X "key"}}``, ``{{upper .X}}``, ``{{lower .X}}``,
``{{len .X}}``, ``{{println .X}}``, ``{{range .X}}...{{end}}`` (dot is the item),
``{{if .X}}...{{else}}...{{end}}``, ``{{- trim -}}`` markers, a ``table`` prefix
(header row and aligned columns) and ``\\t``/``\\n`` escapes typed on a shell.
"""

from __future__ import annotations

import json
import re
import shlex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["Template", "TemplateError", "format_rows", "go_string", "tabulate"]

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.S)


class TemplateError(Exception):
    """A template that cannot be parsed or executed."""


def go_string(value: Any) -> str:
    """A value printed the way Go's fmt prints it in templates."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_string(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


class _Node:
    __slots__ = ("body", "else_body", "expr", "kind", "text")

    def __init__(self, kind: str, text: str = "", expr: str = "") -> None:
        self.kind = kind  # text | action | range | if
        self.text = text
        self.expr = expr
        self.body: list[_Node] = []
        self.else_body: list[_Node] = []


def _parse(source: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Node | None, list[_Node]]] = [(None, root)]
    pos = 0
    pending_trim = False
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if "{{" in text:
            raise TemplateError("unclosed action")
        if pending_trim:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            stack[-1][1].append(_Node("text", text))
        pending_trim = bool(match.group(3))
        pos = match.end()
        expr = match.group(2)
        word = expr.split(None, 1)[0] if expr else ""
        if word in ("range", "if"):
            node = _Node(word, expr=expr[len(word) :].strip())
            stack[-1][1].append(node)
            stack.append((node, node.body))
        elif word == "else":
            owner = stack[-1][0]
            if owner is None:
                raise TemplateError("unexpected {{else}}")
            stack[-1] = (owner, owner.else_body)
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            stack.pop()
        elif expr.startswith("/*"):
            continue
        else:
            stack[-1][1].append(_Node("action", expr=expr))
    if len(stack) != 1:
        raise TemplateError("unexpected EOF: missing {{end}}")
    tail = source[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if pending_trim:
        tail = tail.lstrip()
    if tail:
        root.append(_Node("text", tail))
    return root


def _field(value: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict):
            if part in value:
                value = value[part]
                continue
            lowered = {k.lower(): k for k in value if isinstance(k, str)}
            if part.lower() in lowered and part[0].isupper():
                value = value[lowered[part.lower()]]
                continue
            raise TemplateError(f"can't evaluate field {part}")
        attr = getattr(value, part, None)
        if attr is None:
            raise TemplateError(f"can't evaluate field {part} in type {type(value).__name__}")
        value = attr() if callable(attr) else attr
    return value


def _arg(token: str, dot: Any) -> Any:
    if token.startswith("."):
        return dot if token == "." else _field(dot, token)
    if token.startswith(("'", '"', "`")):
        return token[1:-1]
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if token in ("true", "false"):
        return token == "true"
    raise TemplateError(f'function "{token}" not defined')


def _call(expr: str, dot: Any) -> Any:
    if "|" in expr:  # pipelines: feed the left value as the last argument
        parts = [p.strip() for p in expr.split("|")]
        value = _call(parts[0], dot)
        for part in parts[1:]:
            value = _apply(shlex.split(part, posix=False), dot, [value])
        return value
    tokens = shlex.split(expr, posix=False)
    if not tokens:
        raise TemplateError("missing value for command")
    return _apply(tokens, dot, [])


def _apply(tokens: list[str], dot: Any, extra: list[Any]) -> Any:
    name = tokens[0]
    if name.startswith(".") or name.startswith(('"', "'", "`")):
        if len(tokens) > 1 or extra:
            raise TemplateError(f"can't give argument to non-function {name}")
        return _arg(name, dot)
    args = [_arg(t, dot) for t in tokens[1:]] + extra
    if name == "json":
        return json.dumps(args[0], separators=(",", ":")) if args else "null"
    if name == "join":
        return str(args[1]).join(go_string(v) for v in (args[0] or []))
    if name == "index":
        value = args[0]
        for key in args[1:]:
            value = value[key] if isinstance(value, dict) else value[int(key)]
        return value
    if name == "upper":
        return go_string(args[0]).upper()
    if name == "lower":
        return go_string(args[0]).lower()
    if name == "title":
        return go_string(args[0]).title()
    if name == "len":
        return len(args[0])
    if name == "println":
        return " ".join(go_string(a) for a in args) + "\n"
    if name == "print":
        return "".join(go_string(a) for a in args)
    if name == "printf":
        fmt = str(args[0]).replace("%v", "%s").replace("%q", '"%s"')
        return fmt % tuple(go_string(a) if not isinstance(a, int) else a for a in args[1:])
    if name == "truncate":
        return go_string(args[0])[: int(args[1])]
    if name == "split":
        return go_string(args[0]).split(str(args[1]))
    if name == "pad":
        return " " * int(args[1]) + go_string(args[0]) + " " * int(args[2])
    raise TemplateError(f'function "{name}" not defined')


def _truthy(value: Any) -> bool:
    return bool(value) and value != "0001-01-01T00:00:00Z"


def _render(nodes: Sequence[_Node], dot: Any, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _call(node.expr, dot)
            out.append(value if isinstance(value, str) else go_string(value))
        elif node.kind == "if":
            _render(node.body if _truthy(_call(node.expr, dot)) else node.else_body, dot, out)
        elif node.kind == "range":
            items = _call(node.expr, dot)
            if isinstance(items, dict):
                items = [items[k] for k in sorted(items)]
            if not items:
                _render(node.else_body, dot, out)
            for item in items or ():
                _render(node.body, item, out)


class Template:
    """A parsed template; ``render(obj)`` returns the text."""

    def __init__(self, source: str) -> None:
        source = source.replace("\\t", "\t").replace("\\n", "\n")
        self.table = False
        stripped = source.lstrip()
        if stripped.startswith("table"):
            self.table = True
            source = stripped[5:].lstrip(" ")
        self.source = source
        self.nodes = _parse(source)

    def render(self, obj: Any) -> str:
        out: list[str] = []
        try:
            _render(self.nodes, obj, out)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise TemplateError(f"executing template: {e}") from e
        return "".join(out)

    def header(self, headers: Mapping[str, str]) -> str:
        """The table header: each ``{{.Field}}`` replaced by its column title."""

        def title(match: re.Match[str]) -> str:
            expr = match.group(2)
            name = expr.split()[-1].lstrip(".").split(".")[0] if expr else ""
            return headers.get(name, name.upper())

        return _ACTION.sub(title, self.source)


def tabulate(lines: Sequence[str], *, minwidth: int = 10, padding: int = 3) -> list[str]:
    """Align tab-separated cells like Go's tabwriter (docker: min width 10, padding 3)."""
    rows = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell))
    out = []
    for row in rows:
        cells = [
            cell.ljust(max(widths[i] + padding, minwidth)) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        out.append("".join(cells).rstrip() if len(row) > 1 else "".join(cells))
    return out


def format_rows(
    template: str, rows: Sequence[Any], headers: Mapping[str, str]
) -> list[str]:
    """Render ``rows`` with ``template``; a ``table`` template gets a header and alignment."""
    tpl = Template(template)
    lines = [tpl.render(row) for row in rows]
    if not tpl.table:
        return lines
    return tabulate([tpl.header(headers), *lines])
