"""Go's text/template as docker's ``--format`` uses it: a lexer, a parser to a tree, an evaluator.

Supported: text; ``{{pipeline}}`` with fields (``.A.B``), ``.``, variables (``$``, ``$x``,
``$x.A``), string/raw/char/number/bool/nil literals, function calls, ``|`` pipelines,
parenthesized arguments and field chains on them (``(index .X 0).Y``), callable fields with
arguments (``.Label "app"``); ``{{if}}``/``{{else if}}``/``{{else with}}``/``{{else}}``/``{{end}}``,
``{{with}}``, ``{{range}}`` (``$i, $e :=``, maps by sorted key, ``{{break}}``/``{{continue}}``),
``$x := v`` and ``$x = v``; ``{{- trim -}}`` markers and ``{{/* comments */}}``.  Functions:
Go's ``and or not eq ne lt le gt ge len index slice print printf println call`` and docker's
``json join split lower upper title pad truncate``.  Fields of a map that is missing a key are an
error (docker runs templates with ``missingkey=error``).  A ``table`` prefix gives a header row
and aligned columns; ``\\t``/``\\n`` typed on a shell in text become tab/newline.

Errors read as Go's: ``template: :1: unclosed action`` (``TemplateParseError``) and
``template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"``
(``TemplateExecError``); callers prefix ``template parsing error:`` as docker does.
"""

from __future__ import annotations

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

__all__ = [
    "Template", "TemplateError", "TemplateExecError", "TemplateParseError",
    "format_rows", "go_string", "tabulate",
]


class TemplateError(InvalidArgument):
    """A template that cannot be parsed or executed; ``str()`` is Go's message."""


class TemplateParseError(TemplateError):
    """The template text is malformed (docker: ``template parsing error``, exit 64 for inspect)."""


class TemplateExecError(TemplateError):
    """The template failed on this data (docker: ``template parsing error``, exit 1)."""


# -- values printed and compared the way Go does ---------------------------------------------


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 and from 1e6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if repr(value).startswith("-") else "0"
    from decimal import Decimal

    exact = Decimal(repr(value)).normalize()
    sign, digits, exp = exact.as_tuple()
    e10 = len(digits) + int(exp) - 1
    if -4 <= e10 < 6:
        return format(exact, "f")
    text = "".join(map(str, digits))
    frac = f".{text[1:]}" if len(text) > 1 else ""
    return f"{'-' if sign else ''}{text[0]}{frac}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"


def _fmt_v(value: Any, top: bool = False) -> str:
    if value is None:
        return "<no value>" if top else "<nil>"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, dict):
        inner = " ".join(f"{_fmt_v(k)}:{_fmt_v(value[k])}" for k in sorted(value, key=str))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_fmt_v(v) for v in value) + "]"
    return str(value)


def go_string(value: Any) -> str:
    """A value printed the way a Go template prints it (``<no value>`` for nil)."""
    return _fmt_v(value, top=True)


def _go_type(value: Any) -> str:
    if value is None:
        return "<nil>"
    names = {bool: "bool", int: "int", float: "float64", str: "string",
             dict: "map[string]interface {}"}
    name = names.get(type(value))
    if name is not None:
        return name
    return "[]interface {}" if isinstance(value, list | tuple) else type(value).__name__


def _truth(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _go_quote(text: str) -> str:
    special = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a",
               "\b": "\\b", "\f": "\\f", "\v": "\\v"}
    out = []
    for ch in text:
        code = ord(ch)
        if ch in special:
            out.append(special[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# -- lexer ------------------------------------------------------------------------------------

_IDENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACE = " \t\r\n"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", '"': '"', "'": "'"}
_MISSING: Any = object()  # "no piped value"
_MAX_DEPTH = 100  # nested control structures and parentheses (Python's stack is the bound)


class _Tok:
    __slots__ = ("end", "kind", "pos", "spaced", "text", "value")

    def __init__(self, kind: str, src: str, pos: int, end: int, value: Any, spaced: bool) -> None:
        self.kind = kind  # field var ident lit ( ) | , := =
        self.text = src[pos:end]
        self.pos = pos
        self.end = end
        self.value = value
        self.spaced = spaced


def _parse_error(src: str, pos: int, message: str) -> TemplateParseError:
    return TemplateParseError(f"template: :{src.count(chr(10), 0, pos) + 1}: {message}")


def _path(src: str, i: int) -> tuple[int, tuple[str, ...]]:
    names: list[str] = []
    while i < len(src) and src[i] == ".":
        j = i + 1
        while j < len(src) and src[j] in _IDENT:
            j += 1
        if j == i + 1:
            break
        names.append(src[i + 1 : j])
        i = j
    return i, tuple(names)


def _quoted(src: str, i: int) -> tuple[int, str]:
    quote, out, j = src[i], [], i + 1
    while j < len(src) and src[j] != quote:
        ch = src[j]
        if ch == "\n":
            break
        if ch == "\\" and j + 1 < len(src):
            esc = src[j + 1]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                j += 2
                continue
            size = {"x": 2, "u": 4, "U": 8}.get(esc, 0)
            try:
                out.append(chr(int(src[j + 2 : j + 2 + size], 16)) if size else "")
            except ValueError:
                size = 0
            if not size:
                raise _parse_error(src, j, "invalid syntax in quoted string")
            j += 2 + size
            continue
        out.append(ch)
        j += 1
    if j >= len(src) or src[j] != quote:
        what = "quoted string" if quote == '"' else "character constant"
        raise _parse_error(src, i, f"unterminated {what}")
    return j + 1, "".join(out)


def _number(src: str, i: int) -> tuple[int, Any]:
    j = i + 1 if src[i] in "+-" else i
    while j < len(src) and (
        src[j] in _IDENT or src[j] == "." or (src[j] in "+-" and src[j - 1] in "eEpP")
    ):
        j += 1
    text = src[i:j].replace("_", "")
    try:
        return j, int(text, 0)
    except ValueError:
        pass
    try:
        return j, float(text)
    except ValueError:
        raise _parse_error(src, i, f"bad number syntax: {src[i:j]!r}") from None


def _lex_action(src: str, i: int) -> tuple[list[_Tok], int, bool]:
    """Tokens of the action starting at ``i`` (just past ``{{``), the end, and right-trim."""
    toks: list[_Tok] = []
    n = len(src)
    while True:
        start = i
        while i < n and src[i] in _SPACE:
            i += 1
        spaced = i > start
        if i >= n:
            raise _parse_error(src, n, "unclosed action")
        if src.startswith("}}", i):
            return toks, i + 2, False
        if spaced and src.startswith("-}}", i):
            return toks, i + 3, True
        ch = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if ch == "." and not nxt.isdigit():
            j, names = _path(src, i)
            j = max(j, i + 1)
            toks.append(_Tok("field", src, i, j, names, spaced))
        elif ch == "$":
            j = i + 1
            while j < n and src[j] in _IDENT:
                j += 1
            name = src[i:j]
            j, names = _path(src, j)
            toks.append(_Tok("var", src, i, j, (name, names), spaced))
        elif ch.isdigit() or (ch in "+-." and nxt.isdigit()):
            j, value = _number(src, i)
            toks.append(_Tok("lit", src, i, j, value, spaced))
        elif ch == '"':
            j, text = _quoted(src, i)
            toks.append(_Tok("lit", src, i, j, text, spaced))
        elif ch == "'":
            j, text = _quoted(src, i)
            if len(text) != 1:
                raise _parse_error(src, i, f"malformed character constant: {src[i:j]}")
            toks.append(_Tok("lit", src, i, j, ord(text), spaced))
        elif ch == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise _parse_error(src, i, "unterminated raw quoted string")
            toks.append(_Tok("lit", src, i, j + 1, src[i + 1 : j], spaced))
            j += 1
        elif ch in _IDENT:
            j = i
            while j < n and src[j] in _IDENT:
                j += 1
            word = src[i:j]
            if word in ("true", "false", "nil"):
                value = None if word == "nil" else word == "true"
                toks.append(_Tok("lit", src, i, j, value, spaced))
            else:
                toks.append(_Tok("ident", src, i, j, word, spaced))
        elif src.startswith(":=", i):
            j = i + 2
            toks.append(_Tok(":=", src, i, j, None, spaced))
        elif ch in "()|,=":
            j = i + 1
            toks.append(_Tok(ch, src, i, j, None, spaced))
        else:
            raise _parse_error(src, i, f"unexpected {ch!r} in command")
        i = j


# -- tree -------------------------------------------------------------------------------------


class _Op:
    """An operand: field, var, func, lit, paren (a parenthesized pipeline) or chain (its fields)."""

    __slots__ = ("base", "kind", "name", "path", "pipe", "pos", "text", "value")

    def __init__(self, kind: str, tok: _Tok, text: str) -> None:
        self.kind = kind
        self.pos = tok.pos
        self.text = text
        self.name = ""
        self.path: tuple[str, ...] = ()
        self.value: Any = None
        self.pipe: _Pipe | None = None
        self.base: _Op | None = None


class _Cmd:
    __slots__ = ("args", "pos", "text")

    def __init__(self, args: list[_Op], pos: int, text: str) -> None:
        self.args, self.pos, self.text = args, pos, text


class _Pipe:
    __slots__ = ("assign", "cmds", "decl")

    def __init__(self, decl: list[str], assign: bool, cmds: list[_Cmd]) -> None:
        self.decl, self.assign, self.cmds = decl, assign, cmds


class _Action:
    __slots__ = ("pipe",)

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe


class _Branch:
    __slots__ = ("body", "else_body", "kind", "pipe")

    def __init__(self, kind: str, pipe: _Pipe) -> None:
        self.kind, self.pipe = kind, pipe  # if | with | range
        self.body: list[_Node] = []
        self.else_body: list[_Node] = []


class _Jump:
    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind  # break | continue


_Node = str | _Action | _Branch | _Jump
_Item = tuple[int, str | list[_Tok]]  # (position, text or an action's tokens)


def _shell_escapes(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n")


def _split(src: str) -> list[_Item]:
    """Text and action items, with trim markers applied and comments dropped."""
    items: list[_Item] = []
    i, trim_next = 0, False
    while True:
        j = src.find("{{", i)
        text = src[i:] if j < 0 else src[i:j]
        if trim_next:
            text = text.lstrip(_SPACE)
        if j < 0:
            if text:
                items.append((i, _shell_escapes(text)))
            return items
        k = j + 2
        if src.startswith("-", k) and src[k + 1 : k + 2] in tuple(_SPACE):
            text = text.rstrip(_SPACE)
            k += 2
            while k < len(src) and src[k] in _SPACE:
                k += 1
        if text:
            items.append((i, _shell_escapes(text)))
        if src.startswith("/*", k):
            close = src.find("*/", k + 2)
            if close < 0:
                raise _parse_error(src, j, "unclosed comment")
            m = close + 2
            trim_next = False
            if not src.startswith("}}", m):
                while m < len(src) and src[m] in _SPACE:
                    m += 1
                if not src.startswith("-}}", m):
                    raise _parse_error(src, j, "comment ends before closing delimiter")
                trim_next, m = True, m + 1
            i = m + 2
            continue
        toks, i, trim_next = _lex_action(src, k)
        items.append((j, toks))


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.items = _split(src)
        self.at = 0
        self.vars = ["$"]
        self.loops = 0
        self.depth = 0

    def error(self, pos: int, message: str) -> TemplateParseError:
        return _parse_error(self.src, pos, message)

    def parse(self) -> list[_Node]:
        nodes, stop = self.block()
        if stop is not None:
            raise self.error(stop[0].pos, f"unexpected {{{{{stop[0].text}}}}}")
        return nodes

    def block(self) -> tuple[list[_Node], list[_Tok] | None]:
        """Nodes up to an ``{{else}}``/``{{end}}`` (returned) or the end of the text (None)."""
        nodes: list[_Node] = []
        while self.at < len(self.items):
            pos, item = self.items[self.at]
            self.at += 1
            if isinstance(item, str):
                nodes.append(item)
                continue
            if not item:
                raise self.error(pos, "missing value for command")
            word = item[0].value if item[0].kind == "ident" else ""
            if word in ("end", "else"):
                return nodes, item
            if word in ("if", "with", "range"):
                nodes.append(self.branch(word, item))
            elif word in ("break", "continue"):
                if not self.loops:
                    raise self.error(pos, f"{{{{{word}}}}} outside {{{{range}}}}")
                if len(item) > 1:
                    raise self.error(pos, f"unexpected {item[1].text!r} in {{{{{word}}}}}")
                nodes.append(_Jump(word))
            elif word in ("define", "template", "block"):
                raise self.error(pos, f"{{{{{word}}}}} is not supported")
            else:
                nodes.append(_Action(self.pipeline(item, 0, "command", None)[0]))
        return nodes, None

    def branch(self, kind: str, toks: list[_Tok]) -> _Branch:
        self.depth += 1
        try:
            return self.control(kind, toks)
        finally:
            self.depth -= 1

    def control(self, kind: str, toks: list[_Tok]) -> _Branch:
        if self.depth > _MAX_DEPTH:
            raise self.error(toks[0].pos, f"{{{{{kind}}}}} nested too deeply")
        mark = len(self.vars)
        if len(toks) < 2:
            raise self.error(toks[0].pos, f"missing value for {kind}")
        node = _Branch(kind, self.pipeline(toks, 1, kind, None)[0])
        declared = len(self.vars)
        self.loops += kind == "range"
        node.body, stop = self.block()
        self.loops -= kind == "range"
        del self.vars[declared:]
        if stop is not None and stop[0].value == "else":
            if len(stop) > 1 and stop[1].kind == "ident" and stop[1].value in ("if", "with"):
                node.else_body = [self.branch(stop[1].value, stop[1:])]  # shares our {{end}}
                del self.vars[mark:]
                return node
            if len(stop) > 1:
                raise self.error(stop[1].pos, f"unexpected {stop[1].text!r} in else")
            node.else_body, stop = self.block()
        if stop is None:
            raise self.error(len(self.src), "unexpected EOF")
        if stop[0].value != "end" or len(stop) > 1:
            raise self.error(stop[-1].pos, f"unexpected {stop[-1].text!r} in end")
        del self.vars[mark:]
        return node

    def pipeline(
        self, toks: list[_Tok], i: int, context: str, closer: str | None
    ) -> tuple[_Pipe, int]:
        decl: list[str] = []
        assign = False
        for count in (1, 2):  # $x := / $i, $e :=
            names = toks[i : i + 2 * count : 2]
            ops = toks[i + 1 : i + 2 * count : 2]
            if (len(names) == count and all(t.kind == "var" and not t.value[1] for t in names)
                    and len(ops) == count and all(t.kind == "," for t in ops[:-1])
                    and ops[-1].kind in (":=", "=")):
                if count == 2 and context != "range":
                    raise self.error(toks[i].pos, "too many declarations in " + context)
                decl = [t.value[0] for t in names]
                assign = ops[-1].kind == "="
                i += 2 * count
                break
        cmds: list[_Cmd] = []
        while True:
            cmd, i = self.command(toks, i)
            if not cmd.args:
                where = toks[i].pos if i < len(toks) else (toks[-1].end if toks else 0)
                raise self.error(where, f"missing value for {context}")
            cmds.append(cmd)
            if i < len(toks) and toks[i].kind == "|":
                i += 1
                continue
            break
        if closer is not None:
            if i >= len(toks) or toks[i].kind != closer:
                raise self.error(toks[-1].end, "unclosed left paren")
            i += 1
        elif i < len(toks):
            raise self.error(toks[i].pos, f"unexpected {toks[i].text!r} in {context}")
        for name in decl:
            if assign and name not in self.vars:
                raise self.error(toks[0].pos, f'undefined variable "{name}"')
            if not assign:
                self.vars.append(name)
        return _Pipe(decl, assign, cmds), i

    def command(self, toks: list[_Tok], i: int) -> tuple[_Cmd, int]:
        args: list[_Op] = []
        start = i
        while i < len(toks) and toks[i].kind not in ("|", ")"):
            op, i = self.operand(toks, i)
            args.append(op)
        end = toks[i - 1].end if i > start else 0
        pos = toks[start].pos if i > start else 0
        return _Cmd(args, pos, self.src[pos:end]), i

    def operand(self, toks: list[_Tok], i: int) -> tuple[_Op, int]:
        tok = toks[i]
        if tok.kind == "field":
            op = _Op("field", tok, tok.text)
            op.path = tok.value
        elif tok.kind == "var":
            op = _Op("var", tok, tok.text)
            op.name, op.path = tok.value
            if op.name not in self.vars:
                raise self.error(tok.pos, f'undefined variable "{op.name}"')
        elif tok.kind == "lit":
            op = _Op("lit", tok, tok.text)
            op.value = tok.value
        elif tok.kind == "ident":
            if tok.value not in _FUNCS and tok.value not in ("and", "or"):
                raise self.error(tok.pos, f'function "{tok.value}" not defined')
            op = _Op("func", tok, tok.text)
            op.name = tok.value
        elif tok.kind == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error(tok.pos, "parentheses nested too deeply")
            pipe, j = self.pipeline(toks, i + 1, "parenthesized pipeline", ")")
            self.depth -= 1
            op = _Op("paren", tok, self.src[tok.pos : toks[j - 1].end])
            op.pipe = pipe
            i = j - 1
        else:
            raise self.error(tok.pos, f"unexpected {tok.text!r} in operand")
        i += 1
        while i < len(toks) and toks[i].kind == "field" and not toks[i].spaced and toks[i].value:
            chained = _Op("chain", tok, self.src[tok.pos : toks[i].end])
            chained.base, chained.path = op, toks[i].value
            op, i = chained, i + 1
        return op, i


# -- functions --------------------------------------------------------------------------------


class _FuncError(Exception):
    """A function refused its arguments (becomes ``error calling NAME: ...``)."""


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        want = str(low) if high == low else f"at least {low}"
        raise _FuncError(f"wrong number of args: want {want} got {len(args)}")


def _want_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _FuncError(f"wrong type for value; expected string; got {_go_type(value)}")
    return value


def _want_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FuncError(f"wrong type for value; expected int; got {_go_type(value)}")
    if abs(value) > 1_000_000:
        raise _FuncError(f"value {value} too large")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _eq(args: list[Any]) -> bool:
    if len(args) < 2:
        raise _FuncError("missing argument for comparison")
    first = args[0]
    for other in args[1:]:
        kinds = {_kind(first), _kind(other)}
        if "other" in kinds:
            bad = first if _kind(first) == "other" else other
            raise _FuncError(f"non-comparable type {_go_type(bad)}")
        if len(kinds) > 1 and "nil" not in kinds:
            raise _FuncError("incompatible types for comparison")
        if first == other:
            return True
    return False


def _ne(args: list[Any]) -> bool:
    _arity(args, 2, 2)
    return not _eq(args)


def _less(args: list[Any]) -> bool:
    _arity(args, 2, 2)
    a, b = args
    kind = _kind(a)
    if kind not in ("number", "string"):
        raise _FuncError(f"invalid type for comparison: {_go_type(a)}")
    if _kind(b) != kind:
        raise _FuncError("incompatible types for comparison")
    return bool(a < b)


def _index(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    for key in args[1:]:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list | tuple | str):
            if isinstance(key, bool) or not isinstance(key, int):
                raise _FuncError(f"cannot index slice/array with type {_go_type(key)}")
            data = value.encode() if isinstance(value, str) else value
            if not 0 <= key < len(data):
                raise _FuncError(f"index out of range: {key}")
            value = data[key]
        elif value is None:
            raise _FuncError("index of untyped nil")
        else:
            raise _FuncError(f"can't index item of type {_go_type(value)}")
    return value


def _slice(args: list[Any]) -> Any:
    _arity(args, 1, 3)
    value = args[0]
    if not isinstance(value, list | tuple | str):
        raise _FuncError(f"can't slice item of type {_go_type(value)}")
    bounds = [_want_int(a) for a in args[1:]]
    low, high = (bounds + [0, len(value)][len(bounds) :])[:2]
    if not 0 <= low <= high <= len(value):
        raise _FuncError(f"index out of range: {high if high > len(value) else low}")
    return value[low:high]


def _len(args: list[Any]) -> int:
    _arity(args, 1, 1)
    value = args[0]
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple | dict):
        return len(value)
    raise _FuncError(f"len of type {_go_type(value)}")


def _print(args: list[Any]) -> str:
    out = []
    for k, value in enumerate(args):
        if k and not isinstance(value, str) and not isinstance(args[k - 1], str):
            out.append(" ")
        out.append(_fmt_v(value))
    return "".join(out)


def _verb(verb: str, arg: Any, flags: str, prec: int | None) -> str:
    number = isinstance(arg, int | float) and not isinstance(arg, bool)
    if verb == "v" or (verb == "s" and not number and not isinstance(arg, bool)):
        text = _fmt_v(arg)
        return text[:prec] if prec is not None and isinstance(arg, str) else text
    if verb == "q" and isinstance(arg, str):
        return _go_quote(arg)
    if verb == "t" and isinstance(arg, bool):
        return "true" if arg else "false"
    if isinstance(arg, int) and not isinstance(arg, bool) and verb in "dxXobcq":
        if verb == "c":
            return chr(arg)
        if verb == "q":
            return "'" + chr(arg) + "'"
        text = format(arg, verb)
        return "+" + text if "+" in flags and arg >= 0 else text
    if verb in "xX" and isinstance(arg, str):
        return arg.encode().hex() if verb == "x" else arg.encode().hex().upper()
    if number and verb in "eEfFgG":
        if verb in "gG" and prec is None:
            return _go_float(float(arg))
        sign = "+" if "+" in flags else ""
        return format(float(arg), f"{sign}.{6 if prec is None else prec}{verb}")
    return f"%!{verb}({_go_type(arg)}={_fmt_v(arg)})"


def _printf(args: list[Any]) -> str:
    _arity(args, 1)
    fmt, rest = _want_str(args[0]), args[1:]
    out: list[str] = []
    i = used = 0
    while i < len(fmt):
        if fmt[i] != "%":
            j = fmt.find("%", i)
            j = len(fmt) if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        flags = ""
        while i < len(fmt) and fmt[i] in "-+# 0":
            flags += fmt[i]
            i += 1
        j = i
        while j < len(fmt) and fmt[j].isdigit():
            j += 1
        width, i = (int(fmt[i:j]) if j > i else None), j
        prec = None
        if fmt.startswith(".", i):
            j = i = i + 1
            while j < len(fmt) and fmt[j].isdigit():
                j += 1
            prec, i = (int(fmt[i:j]) if j > i else 0), j
        if (width or 0) > 1_000_000 or (prec or 0) > 1_000_000:
            raise _FuncError("width or precision too large")
        if i >= len(fmt):
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if used >= len(rest):
            out.append(f"%!{verb}(MISSING)")
            continue
        text = _verb(verb, rest[used], flags, prec)
        used += 1
        if width is not None and len(text) < width:
            if "-" in flags:
                text = text.ljust(width)
            elif "0" in flags and text.lstrip("+-").replace(".", "", 1).isdigit():
                sign = text[0] if text[0] in "+-" else ""
                text = sign + text[len(sign) :].rjust(width - len(sign), "0")
            else:
                text = text.rjust(width)
        out.append(text)
    if used < len(rest):
        extra = ", ".join(f"{_go_type(a)}={_fmt_v(a)}" for a in rest[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _json(args: list[Any]) -> str:
    _arity(args, 1, 1)
    import json

    try:
        return json.dumps(_jsonable(args[0]), separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise _FuncError(str(e)) from e


def _join(args: list[Any]) -> str:
    _arity(args, 2, 2)
    if not isinstance(args[0], list | tuple):
        raise _FuncError(f"wrong type for value; expected []string; got {_go_type(args[0])}")
    return _want_str(args[1]).join(_fmt_v(v) for v in args[0])


def _split_fn(args: list[Any]) -> list[str]:
    _arity(args, 2, 2)
    text, sep = _want_str(args[0]), _want_str(args[1])
    return text.split(sep) if sep else list(text)


def _title(args: list[Any]) -> str:
    _arity(args, 1, 1)
    text = _want_str(args[0])
    return "".join(
        c.upper() if k == 0 or not text[k - 1].isalnum() else c for k, c in enumerate(text)
    )


def _pad(args: list[Any]) -> str:
    _arity(args, 3, 3)
    return " " * max(_want_int(args[1]), 0) + _want_str(args[0]) + " " * max(_want_int(args[2]), 0)


def _truncate(args: list[Any]) -> str:
    _arity(args, 2, 2)
    return _want_str(args[0])[: max(_want_int(args[1]), 0)]


def _call(args: list[Any]) -> Any:
    _arity(args, 1)
    if not callable(args[0]):
        raise _FuncError(f"non-function of type {_go_type(args[0])}")
    return args[0](*args[1:])


def _one(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    def call(args: list[Any]) -> Any:
        _arity(args, 1, 1)
        return fn(args[0])

    return call


_FUNCS: Mapping[str, Callable[[list[Any]], Any]] = {
    "not": _one(lambda v: not _truth(v)),
    "len": _len, "index": _index, "slice": _slice, "call": _call,
    "eq": _eq, "ne": _ne,
    "lt": _less, "le": lambda a: _less(a) or _eq(a), "gt": lambda a: not (_less(a) or _eq(a)),
    "ge": lambda a: not _less(a),
    "print": _print, "printf": _printf, "println": lambda a: " ".join(_fmt_v(v) for v in a) + "\n",
    "json": _json, "join": _join, "split": _split_fn, "title": _title, "pad": _pad,
    "truncate": _truncate,
    "lower": _one(lambda v: _want_str(v).lower()), "upper": _one(lambda v: _want_str(v).upper()),
}


# -- evaluator --------------------------------------------------------------------------------


class _Fail(Exception):
    def __init__(self, message: str, where: _Op | _Cmd) -> None:
        super().__init__(message)
        self.where = where


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Exec:
    def __init__(self, root: Any) -> None:
        self.vars: list[tuple[str, Any]] = [("$", root)]

    def walk(self, nodes: Sequence[_Node], dot: Any, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            for node in nodes:
                if isinstance(node, str):
                    out.append(node)
                elif isinstance(node, _Action):
                    value = self.pipe(node.pipe, dot)
                    if not node.pipe.decl:
                        out.append(go_string(value))
                elif isinstance(node, _Branch):
                    self.branch(node, dot, out)
                else:
                    raise _Break() if node.kind == "break" else _Continue()
        finally:
            del self.vars[mark:]

    def branch(self, node: _Branch, dot: Any, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            if node.kind != "range":
                value = self.pipe(node.pipe, dot)
                if _truth(value):
                    self.walk(node.body, value if node.kind == "with" else dot, out)
                else:
                    self.walk(node.else_body, dot, out)
                return
            value = self.pipe(node.pipe, dot, declare=False)
            items: Sequence[tuple[Any, Any]]
            if isinstance(value, dict):
                items = [(k, value[k]) for k in sorted(value, key=str)]
            elif isinstance(value, list | tuple):
                items = list(enumerate(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                items = [(k, k) for k in range(value)]
            elif value is None:
                items = []
            else:
                raise _Fail(f"range can't iterate over {_fmt_v(value)}", node.pipe.cmds[0])
            if not items:
                self.walk(node.else_body, dot, out)
            for key, item in items:
                del self.vars[mark:]
                names = node.pipe.decl
                if len(names) == 2:
                    self.vars += [(names[0], key), (names[1], item)]
                elif names:
                    self.vars.append((names[0], item))
                try:
                    self.walk(node.body, item, out)
                except _Continue:
                    continue
                except _Break:
                    break
        finally:
            del self.vars[mark:]

    def pipe(self, pipe: _Pipe, dot: Any, *, declare: bool = True) -> Any:
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        if declare and pipe.decl:
            name = pipe.decl[0]
            if pipe.assign:
                for k in range(len(self.vars) - 1, -1, -1):
                    if self.vars[k][0] == name:
                        self.vars[k] = (name, value)
                        break
            else:
                self.vars.append((name, value))
        return value

    def var(self, name: str) -> Any:
        for key, value in reversed(self.vars):
            if key == name:
                return value
        return None  # unreachable: the parser checks declarations

    def command(self, cmd: _Cmd, dot: Any, final: Any) -> Any:
        first, args = cmd.args[0], cmd.args[1:]
        if first.kind == "func":
            return self.call(first.name, cmd, args, dot, final)
        if first.kind == "field" and first.path:
            return self.fields(dot, first, args, dot, final)
        if first.kind == "chain" and first.base is not None:
            return self.fields(self.operand(first.base, dot), first, args, dot, final)
        if first.kind == "var" and first.path:
            return self.fields(self.var(first.name), first, args, dot, final)
        if first.kind == "lit" and first.text == "nil":
            raise _Fail("nil is not a command", first)
        if args or final is not _MISSING:
            raise _Fail(f"can't give argument to non-function {first.text}", first)
        return self.operand(first, dot)

    def operand(self, op: _Op, dot: Any) -> Any:
        if op.kind == "lit":
            return op.value
        if op.kind == "field":
            return self.fields(dot, op, [], dot, _MISSING)
        if op.kind == "var":
            value = self.var(op.name)
            return self.fields(value, op, [], dot, _MISSING) if op.path else value
        if op.kind == "paren" and op.pipe is not None:
            return self.pipe(op.pipe, dot)
        if op.kind == "chain" and op.base is not None:
            return self.fields(self.operand(op.base, dot), op, [], dot, _MISSING)
        return self.call(op.name, _Cmd([op], op.pos, op.text), [], dot, _MISSING)

    def call(self, name: str, cmd: _Cmd, args: list[_Op], dot: Any, final: Any) -> Any:
        tail = [] if final is _MISSING else [final]
        if name in ("and", "or"):
            if not args and not tail:
                raise _Fail(f"wrong number of args for {name}: want at least 1 got 0", cmd)
            value: Any = None
            for k in range(len(args) + len(tail)):
                value = self.operand(args[k], dot) if k < len(args) else tail[0]
                if _truth(value) != (name == "and"):
                    return value
            return value
        values = [self.operand(a, dot) for a in args] + tail
        try:
            return _FUNCS[name](values)
        except _FuncError as e:
            message = str(e).replace("wrong number of args:", f"wrong number of args for {name}:")
            if message.startswith("wrong number"):
                raise _Fail(message, cmd.args[0]) from e
            raise _Fail(f"error calling {name}: {message}", cmd) from e
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as e:
            raise _Fail(f"error calling {name}: {e}", cmd) from e

    def fields(self, value: Any, op: _Op, args: list[_Op], dot: Any, final: Any) -> Any:
        for k, name in enumerate(op.path):
            last = k == len(op.path) - 1
            has_args = last and (bool(args) or final is not _MISSING)
            if isinstance(value, dict):
                if name in value:
                    found = value[name]
                else:
                    lower = name.lower()
                    folded = [k for k in value if isinstance(k, str) and k.lower() == lower]
                    if not folded or not name[0].isupper():
                        raise _Fail(f'map has no entry for key "{name}"', op)
                    found = value[folded[0]]
            elif value is None:
                raise _Fail(f"nil pointer evaluating interface {{}}.{name}", op)
            elif isinstance(value, str | int | float | list | tuple) or name.startswith("_"):
                raise _Fail(f"can't evaluate field {name} in type {_go_type(value)}", op)
            else:
                try:
                    found = getattr(value, name)
                except AttributeError:
                    message = f"can't evaluate field {name} in type {_go_type(value)}"
                    raise _Fail(message, op) from None
            if callable(found) and not isinstance(found, type):
                argv = [self.operand(a, dot) for a in args] if last else []
                if last and final is not _MISSING:
                    argv.append(final)
                try:
                    found = found(*argv)
                except (TypeError, ValueError, KeyError, IndexError) as e:
                    raise _Fail(f"error calling {name}: {e}", op) from e
            elif has_args:
                raise _Fail(f"{name} is not a method but has arguments", op)
            value = found
        return value


# -- public API -------------------------------------------------------------------------------


def _head(pipe: _Pipe, headers: Mapping[str, str]) -> str:
    """The column title of an action: its first field's header (``.Label "k"``: ``K``)."""
    ops = [op for cmd in pipe.cmds for op in cmd.args]
    while ops:
        op = ops.pop(0)
        if op.kind in ("field", "chain", "var") and op.path:
            name = op.path[0]
            cmd = next((c for c in pipe.cmds if c.args and c.args[0] is op), None)
            label = cmd is not None and len(cmd.args) > 1 and cmd.args[1].kind == "lit"
            if name == "Label" and cmd is not None and label:
                key = str(cmd.args[1].value).split(".")[-1]
                return key.replace("-", " ").replace("_", " ").upper()
            return headers.get(name, name.upper())
        if op.kind == "paren" and op.pipe is not None:
            ops = [a for c in op.pipe.cmds for a in c.args] + ops
        elif op.kind == "chain" and op.base is not None:
            ops.insert(0, op.base)
    return ""


class Template:
    """A parsed template; ``render(obj)`` returns the text (``TemplateError`` on failure)."""

    def __init__(self, source: str) -> None:
        self.table = False
        stripped = source.lstrip()
        if stripped.startswith("table"):
            self.table = True
            source = stripped[5:].lstrip(" ")
        self.source = source
        self.nodes = _Parser(source).parse()

    def render(self, obj: Any) -> str:
        out: list[str] = []
        try:
            _Exec(obj).walk(self.nodes, obj, out)
        except _Fail as e:
            pos = e.where.pos
            line = self.source.count("\n", 0, pos) + 1
            col = pos - (self.source.rfind("\n", 0, pos) + 1)
            raise TemplateExecError(
                f'template: :{line}:{col}: executing "" at <{e.where.text}>: {e}'
            ) from None
        except RecursionError as e:
            raise TemplateExecError("template: exceeded maximum template depth") from e
        return "".join(out)

    def header(self, headers: Mapping[str, str]) -> str:
        """The table header: each action replaced by its column title."""
        out: list[str] = []

        def walk(nodes: Sequence[_Node]) -> None:
            for node in nodes:
                if isinstance(node, str):
                    out.append(node)
                elif isinstance(node, _Action):
                    out.append("" if node.pipe.decl else _head(node.pipe, headers))
                elif isinstance(node, _Branch):
                    walk(node.body)

        walk(self.nodes)
        return "".join(out)


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
