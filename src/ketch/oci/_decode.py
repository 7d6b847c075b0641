"""Decode JSON objects into ``Record`` trees, naming the exact path of any error.

Field names are the spec's camelCase names in snake_case (``spec_field(json=)``
overrides).  Unknown keys are ignored, as the OCI specs allow extensions.
Types understood: ``int``, ``str``, ``bool``, ``float``, ``object`` (opaque), ``X | None``,
``tuple[X, ...]``, ``Mapping[str, X]`` and nested records.
"""

from __future__ import annotations

import types
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.errors import InvalidArgument
from ketch.oci._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", bound=Record)

__all__ = ["decode", "encode"]

_SCALARS = {int: "an integer", str: "a string", bool: "a boolean", float: "a number"}


def _value(tp: Any, value: Any, path: str) -> Any:
    if isinstance(tp, types.UnionType):
        if value is None:
            return None
        return _value(next(a for a in tp.__args__ if a is not type(None)), value, path)
    if isinstance(tp, types.GenericAlias):
        origin = tp.__origin__
        if origin is tuple:
            if not isinstance(value, list):
                raise InvalidArgument(f"{path}: expected an array, got {_kind(value)}")
            item = tp.__args__[0]
            return tuple(_value(item, v, f"{path}[{i}]") for i, v in enumerate(value))
        if origin is Mapping or origin is dict:
            if not isinstance(value, dict):
                raise InvalidArgument(f"{path}: expected an object, got {_kind(value)}")
            vt = tp.__args__[1]
            return types.MappingProxyType(
                {k: _value(vt, v, f"{path}.{k}") for k, v in value.items()}
            )
    if isinstance(tp, type) and issubclass(tp, Record):
        return decode(tp, value, path)
    if tp is object:  # opaque JSON value
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{path}: expected an integer, got {_kind(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgument(f"{path}: expected a number, got {_kind(value)}")
        return float(value)
    if tp is str or tp is bool:
        if not isinstance(value, tp):
            raise InvalidArgument(f"{path}: expected {_SCALARS[tp]}, got {_kind(value)}")
        return value
    raise TypeError(f"cannot decode {tp!r} at {path}")  # a programming error


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), repr(value)
    )


def decode(cls: type[R], data: Any, path: str = "") -> R:
    """Build ``cls`` from the JSON object ``data``; ``InvalidArgument`` names the bad field."""
    if not isinstance(data, dict):
        raise InvalidArgument(f"{path or '<root>'}: expected an object, got {_kind(data)}")
    kwargs: dict[str, Any] = {}
    for info in cls.__fields__:
        key = info.json
        sub = f"{path}.{key}" if path else key
        value = data.get(key)
        if value is not None:
            kwargs[info.name] = _value(info.type, value, sub)
        elif info.required:
            raise InvalidArgument(f"{sub}: required field is missing")
    return cls(**kwargs)


def encode(obj: Any) -> Any:
    """The JSON form of a record tree; ``None`` fields are left out."""
    if isinstance(obj, Record):
        out: dict[str, Any] = {}
        for info in obj.__fields__:
            v = getattr(obj, info.name)
            if v is not None:
                out[info.json] = encode(v)
        return out
    if isinstance(obj, tuple | list):
        return [encode(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: encode(v) for k, v in obj.items()}
    return obj
