"""``Record``: frozen, typed spec records that cost almost nothing to define.

``dataclasses`` costs ~10 ms to import and ~0.35 ms per frozen class (it
``exec``s generated code), ~25 ms for the runtime spec alone: more than a
container start may spend in all.  A ``Record`` subclass is declared like a
frozen dataclass (mypy sees it as one through PEP 681 ``dataclass_transform``)
but is built by a plain ``__init_subclass__`` that reads the annotations.

Rules: annotations are real types (no ``from __future__ import annotations``),
defaults are immutable (``None``, tuples, numbers, strings) or given as
``spec_field(default_factory=...)``; ``spec_field(json=...)`` names a JSON key
that is not the camelCase of the attribute.  No inheritance between records.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy treats this name as True; typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MISSING", "FieldInfo", "Record", "spec_field"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FieldInfo:
    """One declared field: attribute name, JSON key, type, default or factory."""

    __slots__ = ("default", "factory", "json", "name", "type")

    def __init__(self, default: Any = MISSING, factory: Any = None, json: str | None = None):
        self.name = ""
        self.type: Any = None
        self.default = default
        self.factory = factory
        self.json = json or ""  # filled with the camelCase name when the class is made

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.factory is None


def spec_field(
    *, default: Any = MISSING, default_factory: Any = None, json: str | None = None
) -> Any:
    """Declare a field with a JSON key override or a default factory."""
    return FieldInfo(default, default_factory, json)


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


if TYPE_CHECKING:
    from typing import dataclass_transform
else:

    def dataclass_transform(**_kw: Any) -> Any:
        return lambda cls: cls


@dataclass_transform(frozen_default=True, field_specifiers=(spec_field,))
class Record:
    """Base of frozen spec records: keyword or positional construction, eq, hash, repr."""

    __fields__: tuple[FieldInfo, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = []
        # inspect.get_annotations would import inspect (~5 ms) on the start path
        for name, tp in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if name.startswith("_"):
                continue
            value = cls.__dict__.get(name, MISSING)
            info = value if isinstance(value, FieldInfo) else FieldInfo(default=value)
            info.name, info.type = name, tp
            info.json = info.json or _camel(name)
            if isinstance(value, FieldInfo):
                if info.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, info.default)
            fields.append(info)
        cls.__fields__ = tuple(fields)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self.__fields__
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}: too many positional arguments")
        setter = object.__setattr__
        for info, value in zip(fields, args, strict=False):
            setter(self, info.name, value)
        for info in fields[len(args) :]:
            name = info.name
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif info.factory is not None:
                setter(self, name, info.factory())
            elif info.default is MISSING:
                raise TypeError(f"{type(self).__name__}: missing argument {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in self.__fields__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__fields__)
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Record:
        """A copy with ``changes`` applied (like ``dataclasses.replace``)."""
        values = {f.name: getattr(self, f.name) for f in self.__fields__}
        values.update(changes)
        return type(self)(**values)
