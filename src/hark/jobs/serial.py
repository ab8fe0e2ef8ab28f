"""The core's frozen dataclasses as JSON, and back: how jobs keep configs and results.

Wire-free on purpose: a stored job holds the core's own ``RecognitionConfig`` and
``Recognition``, so any transport and any API version can render it later, and the store
needs no protobuf. Fields are found from the dataclasses' type hints (tuples, optionals,
nested dataclasses, scalars), so a field added to ``speech/types.py`` is stored without
changes here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def dumps(value: object) -> str:
    """A dataclass instance as compact JSON."""
    return json.dumps(dataclasses.asdict(value), separators=(",", ":"))  # type: ignore[call-overload]


def loads(cls: type[T], text: str) -> T:
    """The ``cls`` instance that ``dumps`` wrote as ``text``."""
    built: T = _build(cls, json.loads(text))
    return built


def _build(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return None if value is None else _build(options[0], value)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_build(item, element) for element in value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: _build(hints[name], field) for name, field in value.items()})
    return value


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """A dataclass's field types; resolving them is slow, and a result holds a dataclass
    per word (40k words took 1.19 s uncached, 0.19 s cached)."""
    return typing.get_type_hints(kind)
