"""Hypothesis strategies for params instances, derived from their attrs fields (types, bounds, options)."""

from __future__ import annotations

import enum
import typing
from typing import Any

import attrs
from hypothesis import strategies as st

from typed_losses.config.types import literal_values, mapping_value, optional_inner, params_fields, sequence_item
from typed_losses.introspect import bounds_of, options_of
from typed_losses.loss import ParamsInstance, is_params_class
from typed_losses.term import is_term_type

Interval = tuple[float | None, bool, float | None, bool]


def interval_of(field: attrs.Attribute[Any]) -> Interval:
    """``(low, low_is_open, high, high_is_open)`` from ``field``'s numeric validators (``None``: unbounded)."""
    low = high = None
    exclude_low = exclude_high = False
    for bound in bounds_of(field):
        if bound.op in (">=", ">"):
            low, exclude_low = bound.value, bound.op == ">"
        else:
            high, exclude_high = bound.value, bound.op == "<"
    return low, exclude_low, high, exclude_high


def bounded_floats(field: attrs.Attribute[Any]) -> st.SearchStrategy[float]:
    """Finite floats that ``field``'s bounds accept (within +-1e6 where it is unbounded)."""
    low, exclude_low, high, exclude_high = interval_of(field)
    return st.floats(
        min_value=low if low is not None else -1e6,
        max_value=high if high is not None else 1e6,
        exclude_min=exclude_low,
        exclude_max=exclude_high,
        allow_nan=False,
        allow_infinity=False,
    )


def _for_type(tp: Any, field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    inner = optional_inner(tp)
    if inner is not None:
        return st.none() | _for_type(inner, field)
    values = literal_values(tp)
    if values is not None:
        return st.sampled_from(values)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-1000, max_value=1000)
    if tp is float:
        return bounded_floats(field)
    if tp is str:
        return st.text(min_size=1, max_size=8)
    item = sequence_item(tp)
    if item is not None and not is_term_type(item):
        make = tuple if typing.get_origin(tp) is tuple else list
        return st.lists(_for_type(item, field), min_size=1, max_size=4).map(make)
    value = mapping_value(tp)
    if value is not None:
        return st.dictionaries(st.text(min_size=1, max_size=5), _for_type(value, field), max_size=3)
    if is_params_class(tp):
        return params_instances(tp)
    raise NotImplementedError(f"no strategy for {tp!r}")


def supported(cls: type[ParamsInstance]) -> bool:
    """Whether :func:`params_instances` can generate ``cls`` (no nested loss entries)."""
    try:
        for field in params_fields(cls):
            _for_type(field.type, field)
    except NotImplementedError:
        return False
    return True


def params_instances(cls: type[ParamsInstance]) -> st.SearchStrategy[ParamsInstance]:
    """Valid instances of ``cls``: each field drawn from its type, bounds and options; invalid draws rejected."""
    fields = {}
    for field in params_fields(cls):
        options = options_of(field)
        fields[field.name] = st.sampled_from(options) if options is not None else _for_type(field.type, field)

    @st.composite
    def build(draw: st.DrawFn) -> ParamsInstance:
        kwargs = {name: draw(strategy) for name, strategy in fields.items()}
        try:
            return cls(**kwargs)
        except (ValueError, TypeError):
            from hypothesis import reject

            reject()

    return build()
