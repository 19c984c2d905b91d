"""Describing params classes for people and tools: each field's type, default, constraint and doc.

Used by `typed-losses list`, the generated reference (`docs/losses.md`) and the JSON Schema.
"""

from __future__ import annotations

from typing import Any

import attrs

from typed_losses.config.convert import converter
from typed_losses.config.types import describe_type, params_fields
from typed_losses.constraints import Bound, FieldRule, describe_validator, rules_of
from typed_losses.loss import ParamsInstance

__all__ = ["Bound", "ParamInfo", "bounds_of", "options_of", "params_info"]


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


def bounds_of(field: attrs.Attribute[Any]) -> tuple[Bound, ...]:
    """The numeric bounds `field` declares (`typed_losses.constraints`)."""
    return FieldRule.of(field).constraint.bounds()


def options_of(field: attrs.Attribute[Any]) -> tuple[Any, ...] | None:
    """The values `field` allows: declared choices, or those of its `Literal`/`Enum` type."""
    return FieldRule.of(field).choices


def _opaque(field: attrs.Attribute[Any], rule: FieldRule) -> str:
    """What a plain attrs validator (not a declaration) requires, as far as it says."""
    return "" if field.validator is None or rule.declared else describe_validator(field.validator)


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


def params_info(cls: type[ParamsInstance]) -> list[ParamInfo]:
    """Every init field of `cls`, described."""
    infos = []
    rules = rules_of(cls)
    for field in params_fields(cls):
        required, default, default_text = _default(field)
        rule = rules[field.name]
        parts = [part for part in (rule.text(), _opaque(field, rule)) if part]
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
                bounds=rule.constraint.bounds(),
                options=rule.choices,
            )
        )
    return infos
