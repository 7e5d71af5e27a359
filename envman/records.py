"""Immutable records that cost next to nothing to define.

Every command defines a few dozen record classes before it does any work.
``typing.NamedTuple`` compiles each field's annotation and generates code when
the class is built (~1.3 M instructions a class, near 1 % of importing click),
a frozen dataclass four times that: together they were the largest part of a
command's own start-up. A ``Record`` is the same kind of object, a tuple with
named fields, but its class is built from the annotations as written, without
evaluating or compiling anything (~0.1 M instructions).

The type checker sees frozen dataclasses (``dataclass_transform``): fields,
defaults and keyword arguments are checked as usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Self, dataclass_transform

try:  # the C accessor namedtuple uses; a property over itemgetter where it is missing
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - CPython has it
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)


@dataclass_transform(frozen_default=True)
class _RecordType(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> _RecordType:
        annotations = namespace.get("__annotations__", {})
        fields = tuple(f for f, kind in annotations.items() if not str(kind).startswith(("ClassVar", "typing.ClassVar")))
        defaults = {f: namespace.pop(f) for f in fields if f in namespace}
        for index, field in enumerate(fields):
            namespace[field] = _tuplegetter(index, f"Field {index}: {field}")
        namespace.setdefault("__slots__", ())
        namespace["_fields"] = fields
        namespace["_defaults"] = defaults
        namespace["_index"] = {f: i for i, f in enumerate(fields)}
        namespace["_template"] = tuple(defaults.get(f) for f in fields)
        namespace["_required"] = next((i for i, f in enumerate(fields) if f in defaults), len(fields))
        return super().__new__(mcs, name, bases, namespace, **kwargs)


class Record(tuple, metaclass=_RecordType):  # type: ignore[type-arg]
    """Base of envman's value records: positional or keyword construction, ``_replace``, ``_asdict``."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _index: ClassVar[dict[str, int]] = {}
    _template: ClassVar[tuple[Any, ...]] = ()  # the defaults in field order (None where there is none)
    _required: ClassVar[int] = 0  # fields without a default come first

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        given = len(args)
        if not kwargs and cls._required <= given <= len(cls._fields):  # positional: as fast as a namedtuple
            return tuple.__new__(cls, args + cls._template[given:] if given < len(cls._fields) else args)
        if given > len(cls._fields):
            raise TypeError(f"{cls.__name__} takes {len(cls._fields)} fields, {given} given")
        for name in cls._fields[given:cls._required]:
            if name not in kwargs:
                raise TypeError(f"{cls.__name__} needs {name}")
        values = [*args, *cls._template[given:]]
        index = cls._index
        for name, value in kwargs.items():
            at = index.get(name, -1)
            if at < given:
                raise TypeError(f"{cls.__name__} has no field {name!r}" if at < 0 else f"{cls.__name__} got {name} twice")
            values[at] = value
        return tuple.__new__(cls, values)

    @classmethod
    def _make(cls, values: Iterable[Any]) -> Self:
        """A record from its field values in order (not checked: for readers that already did)."""
        return tuple.__new__(cls, values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def _replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (the record itself never changes)."""
        values = [changes.pop(f) if f in changes else v for f, v in zip(self._fields, self, strict=True)]
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {sorted(changes)[0]!r}")
        return tuple.__new__(type(self), values)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))
