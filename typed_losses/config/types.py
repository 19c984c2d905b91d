"""Introspection of params field types: human names, and OmegaConf-compatible mirror schemas.

OmegaConf 2.3 cannot build a structured config from `Literal` fields, misreads `attrs.Factory`
defaults and matches enums by name only, where 2.4 does better. To behave the same on both, a params class
is merged into a *mirror*: a dataclass with the same field names whose types OmegaConf handles everywhere
(`Literal`, `Enum` and unions become `Any` and are checked by the converter instead). Mirror fields
have no defaults: only what the user wrote is merged; attrs fills in the rest.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import types
import typing
from typing import Any, Literal, Union

import attrs
from omegaconf import MISSING

from typed_losses.term import is_term_type

__all__ = [
    "describe_type",
    "literal_values",
    "mirror_of",
    "optional_inner",
    "params_fields",
    "sequence_item",
    "term_sequence_fields",
]

_SCALARS: dict[type, str] = {int: "int", float: "float", bool: "bool", str: "str"}


@functools.cache
def params_fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    """The attrs fields of `cls` that `__init__` takes, with string annotations resolved."""
    attrs.resolve_types(cls)
    return tuple(f for f in attrs.fields(cls) if f.init)


def optional_inner(tp: Any) -> Any | None:
    """`X` for `Optional[X]` / `X | None`, else `None`."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def literal_values(tp: Any) -> tuple[Any, ...] | None:
    """The allowed values of a `Literal` type, else `None`."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    return None


_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def sequence_item(tp: Any) -> Any | None:
    """The item type of `list[X]`, `tuple[X, ...]` or `Sequence[X]`, else `None`."""
    origin = typing.get_origin(tp)
    if origin in _SEQUENCES:
        args = typing.get_args(tp)
        if origin is tuple:
            return args[0] if len(args) == 2 and args[1] is Ellipsis else None
        return args[0] if args else Any
    return None


def mapping_value(tp: Any) -> Any | None:
    """The value type of `dict[str, X]` / `Mapping[str, X]`, else `None`."""
    if typing.get_origin(tp) in _MAPPINGS:
        args = typing.get_args(tp)
        return args[1] if len(args) == 2 else Any
    return None


def describe_type(tp: Any) -> str:
    """A short human name: `float`, `list of float`, `one of 'mean', 'sum'`, `int or null`."""
    if tp in _SCALARS:
        return _SCALARS[tp]
    if tp is Any or tp is object:
        return "any value"
    inner = optional_inner(tp)
    if inner is not None:
        return f"{describe_type(inner)} or null"
    values = literal_values(tp)
    if values is not None:
        return "one of " + ", ".join(repr(v) for v in values)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.name) for m in tp)
    item = sequence_item(tp)
    if item is not None:
        return f"list of {describe_type(item)}"
    value = mapping_value(tp)
    if value is not None:
        return f"mapping of str to {describe_type(value)}"
    if is_term_type(tp):
        return "loss entry"
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return f"mapping ({tp.__name__})"
    return getattr(tp, "__name__", str(tp))


def is_term_sequence(tp: Any) -> bool:
    """Whether `tp` is a sequence of [`Term`][typed_losses.Term] (a nested list of loss entries)."""
    item = sequence_item(tp)
    return item is not None and is_term_type(item)


@functools.cache
def term_sequence_fields(cls: type) -> frozenset[str]:
    """Names of the fields of `cls` that hold nested loss entries."""
    return frozenset(f.name for f in params_fields(cls) if is_term_sequence(f.type))


def _mirror_type(tp: Any) -> Any:
    if tp in _SCALARS:
        return tp
    inner = optional_inner(tp)
    if inner is not None:
        mirrored = _mirror_type(inner)
        return Any if mirrored is Any else typing.Optional[mirrored]  # noqa: UP045 - runtime type object
    item = sequence_item(tp)
    if item is not None and not is_term_type(item):
        return list[_mirror_type(item)]  # type: ignore[misc]
    value = mapping_value(tp)
    if value is not None:
        return dict[str, _mirror_type(value)]  # type: ignore[misc]
    if isinstance(tp, type) and attrs.has(tp):
        return mirror_of(tp)
    return Any


@functools.cache
def mirror_of(cls: type) -> type:
    """An OmegaConf-compatible dataclass mirroring the fields of the attrs class `cls` (no defaults)."""
    fields = [(f.name, _mirror_type(f.type), dataclasses.field(default=MISSING)) for f in params_fields(cls)]
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", fields)
