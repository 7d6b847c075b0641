"""JSON without the ``json`` package: the C scanner and encoder of ``_json`` directly.

``import json`` costs ~3-5 ms (it imports ``re`` and ``enum``), more than a tenth
of a container start.  The C accelerator module behind it needs neither: this
module drives ``_json.make_scanner`` and ``_json.make_encoder`` with the settings
``json.loads``/``json.dumps`` use by default (NaN and Infinity are refused).  The
runtime and the engine's ``run`` path use it; indented output (``inspect``) still
uses ``json``, since the C encoder has no ``indent``.
"""

import _json

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps", "loads", "read"]

_WHITESPACE = " \t\n\r"


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


class _Context:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constant)

    def __init__(self) -> None:
        self.memo: dict[str, str] = {}


def loads(text: str | bytes, what: str = "document") -> "Any":
    """Parse one JSON document; ``InvalidArgument`` names ``what`` and the offset on error."""
    if isinstance(text, bytes):
        if text.startswith(b"\xef\xbb\xbf"):  # a BOM (the utf-8-sig codec costs an import)
            text = text[3:]
        try:
            text = text.decode()
        except UnicodeDecodeError as e:
            raise InvalidArgument(f"{what}: not valid JSON: not UTF-8 ({e.reason})") from None
    i, n = 0, len(text)
    while i < n and text[i] in _WHITESPACE:
        i += 1
    try:
        value, end = _json.make_scanner(_Context())(text, i)  # type: ignore[arg-type]
    except (StopIteration, ValueError, RecursionError, SystemError):
        _explain(text, what)  # the slow path names the problem; it always raises
        raise AssertionError("unreachable") from None
    while end < n and text[end] in _WHITESPACE:
        end += 1
    if end != n:
        raise InvalidArgument(f"{what}: not valid JSON: extra data at offset {end}")
    return value


def _explain(text: str, what: str) -> None:
    # the C scanner reports some errors through json.decoder, which must be imported
    import json

    try:
        json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise InvalidArgument(f"{what}: not valid JSON: {e}") from None
    raise InvalidArgument(f"{what}: not valid JSON")


def _refuse(obj: object) -> object:
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def dumps(
    obj: object,
    *,
    sort_keys: bool = False,
    separators: tuple[str, str] = (", ", ": "),
    ensure_ascii: bool = True,
) -> str:
    """Encode like ``json.dumps(obj, sort_keys=..., separators=..., ensure_ascii=...)``
    (no ``indent``); NaN and Infinity are refused (``ValueError``)."""
    item_separator, key_separator = separators
    encoder = _json.make_encoder(
        {},
        _refuse,
        _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring,
        None,
        key_separator,
        item_separator,
        sort_keys,
        False,
        False,
    )
    return "".join(encoder(obj, 0))


def read(path: str, what: str | None = None) -> "Any":
    """Parse the JSON file ``path``; ``InvalidArgument`` names ``what`` (default: the path).

    ``OSError`` (``FileNotFoundError``...) passes through."""
    with open(path, "rb") as f:
        data = f.read()
    return loads(data, path if what is None else what)
