"""Describing params classes for people and tools: each field's type, default, constraint and doc.

Used by ``typed-losses list``, the generated reference (``docs/losses.md``) and the JSON Schema.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from typed_losses.config.convert import converter
from typed_losses.config.types import describe_type, params_fields

__all__ = ["Bound", "ParamInfo", "bounds_of", "options_of", "params_info"]

_OPS: dict[Callable[[Any, Any], bool], str] = {
    operator.ge: ">=",
    operator.gt: ">",
    operator.le: "<=",
    operator.lt: "<",
}


@attrs.frozen
class Bound:
    """A numeric bound from an attrs ``ge``/``gt``/``le``/``lt`` validator."""

    op: str
    value: float


@attrs.frozen
class ParamInfo:
    """One field of a params class, described."""

    name: str
    type: Any
    type_text: str
    required: bool
    default: Any
    default_text: str
    constraint: str
    doc: str
    bounds: tuple[Bound, ...]
    options: tuple[Any, ...] | None


def _validators(validator: Any) -> Iterator[Any]:
    if validator is None:
        return
    inner = getattr(validator, "_validators", None)
    if inner is not None:
        for v in inner:
            yield from _validators(v)
        return
    inner_one = getattr(validator, "validator", None)  # optional(...)
    if inner_one is not None and type(validator).__name__ == "_OptionalValidator":
        yield from _validators(inner_one)
        return
    yield validator


def bounds_of(field: attrs.Attribute[Any]) -> tuple[Bound, ...]:
    """The numeric bounds declared by ``field``'s attrs validators."""
    out = []
    for v in _validators(field.validator):
        op = _OPS.get(getattr(v, "compare_func", None))  # type: ignore[arg-type]
        bound = getattr(v, "bound", None)
        if op is not None and isinstance(bound, (int, float)):
            out.append(Bound(op, float(bound)))
    return tuple(out)


def options_of(field: attrs.Attribute[Any]) -> tuple[Any, ...] | None:
    """The allowed values declared by an attrs ``in_`` validator, if any."""
    for v in _validators(field.validator):
        options = getattr(v, "options", None)
        if options is not None:
            return tuple(options)
    return None


def _custom_constraints(field: attrs.Attribute[Any]) -> list[str]:
    texts = []
    for v in _validators(field.validator):
        if getattr(v, "compare_func", None) in _OPS or getattr(v, "options", None) is not None:
            continue
        text = getattr(v, "constraint", None) or (v.__doc__ or "").strip().splitlines()[:1]
        if isinstance(text, list):
            text = text[0] if text else ""
        if text:
            texts.append(str(text))
    return texts


def _default(field: attrs.Attribute[Any]) -> tuple[bool, Any, str]:
    default: Any = field.default
    if default is attrs.NOTHING:
        return True, None, "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        factory: Any = default
        if factory.takes_self:
            return False, None, "computed"
        default = factory.factory()
    plain = converter.unstructure(default)
    return False, plain, "null" if plain is None else repr(plain)


def params_info(cls: type[attrs.AttrsInstance]) -> list[ParamInfo]:
    """Every init field of ``cls``, described."""
    infos = []
    for field in params_fields(cls):
        required, default, default_text = _default(field)
        bounds = bounds_of(field)
        options = options_of(field)
        parts = [f"{b.op} {b.value:g}" for b in bounds]
        if options is not None:
            parts.append("one of " + ", ".join(repr(o) for o in options))
        parts.extend(_custom_constraints(field))
        infos.append(
            ParamInfo(
                name=field.name,
                type=field.type,
                type_text=describe_type(field.type),
                required=required,
                default=default,
                default_text=default_text,
                constraint=", ".join(parts),
                doc=str(field.metadata.get("doc", "")),
                bounds=bounds,
                options=options,
            )
        )
    return infos
