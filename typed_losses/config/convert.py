"""The cattrs converter between plain config data and params instances.

cattrs' defaults are lenient in ways that hide mistakes (`1.7` -> `int` 1, `'no'` -> `True`,
`"12"` -> `[1.0, 2.0]`, unknown keys dropped), so this converter forbids extra keys and installs
strict hooks: each raises `ValueError` with a message saying what was expected and what was found.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from typed_losses.config.types import describe_type, literal_values, sequence_item, term_sequence_fields
from typed_losses.constraints import choice_problem
from typed_losses.registry import LossSpec
from typed_losses.rules import describe_value
from typed_losses.term import Term, is_term_type
from typed_losses.weighting import WEIGHT_KINDS, WeightForm, WeightParams

__all__ = ["config_params", "converter", "unstructure_params"]


#: `'abc' (str)` - how a wrong value is shown in messages (the rule lives in `typed_losses.rules`).


def _expected(tp: Any, value: object) -> ValueError:
    return ValueError(f"expected {describe_type(tp)}, found {describe_value(value)}")


def _int(value: object, tp: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _expected(int, value)


def _float(value: object, tp: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _expected(float, value)


def _bool(value: object, tp: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _expected(bool, value)


def _str(value: object, tp: Any) -> str:
    if isinstance(value, str):
        return value
    raise _expected(str, value)


def _literal(tp: Any) -> Callable[[object, Any], object]:
    allowed = literal_values(tp) or ()

    def structure(value: object, _: Any) -> object:
        problem = choice_problem(value, allowed)
        if problem is not None:
            raise ValueError(problem)
        return value

    return structure


def _enum(value: object, tp: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, tp):
        return value
    if isinstance(value, str) and value in tp.__members__:
        return tp[value]
    for member in tp:
        if choice_problem(value, (member.value,)) is None:
            return member
    raise ValueError(choice_problem(value, ()))


def _sequence(tp: Any) -> Callable[[object, Any], object]:
    item: Any = sequence_item(tp)
    origin = typing.get_origin(tp)
    make: Callable[[list[Any]], Any] = tuple if origin is tuple else list

    def structure(value: object, _: Any) -> object:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            raise _expected(tp, value)
        return make([converter.structure(v, item) for v in value])

    return structure


converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
converter.register_structure_hook(int, _int)
converter.register_structure_hook(float, _float)
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook(str, _str)
converter.register_structure_hook_factory(lambda t: literal_values(t) is not None, _literal)
converter.register_structure_hook_func(lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum)
converter.register_structure_hook_factory(
    lambda t: sequence_item(t) is not None and not is_term_type(sequence_item(t)), _sequence
)
converter.register_unstructure_hook_func(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda member: member.name
)
converter.register_unstructure_hook(tuple, lambda value: [converter.unstructure(v) for v in value])


def _unstructure_term(term: Term[Any]) -> dict[str, Any]:
    # The loss and the entry as everywhere else: term_spec names the loss, config_entry writes the entry.
    from typed_losses.checkpoint import config_entry
    from typed_losses.config.check import term_spec

    spec = term_spec(term)
    if not isinstance(spec, LossSpec):
        raise ValueError(f"cannot name the loss of {type(term.params).__name__}: {spec[0]}")
    return config_entry(spec.name, term.name or spec.name, term.weight, term.params, term.inputs)


def _structure_term(value: object, _: Any) -> Term[Any]:
    # Nested loss entries are checked by the config layer, which hands over finished Term values.
    if isinstance(value, Term):
        return value
    raise ValueError(f"expected a loss entry, found {describe_value(value)}")


converter.register_unstructure_hook_func(is_term_type, _unstructure_term)
converter.register_structure_hook_func(is_term_type, _structure_term)


def config_params(params: attrs.AttrsInstance) -> dict[str, Any] | list[Any]:
    """`params` as a config writes them: [`unstructure_params()`][typed_losses.unstructure_params], except that params made of one list
    of loss entries (`multi`'s) are that list, as in MMF's configs (a level less of nesting each)."""
    data = unstructure_params(params)
    fields = list(data)
    if len(fields) == 1 and fields[0] in term_sequence_fields(type(params)):
        nested: list[Any] = data[fields[0]]
        return nested
    return data


def weight_entry(weight: WeightForm) -> float | dict[str, Any]:
    """A term's weight as a config writes it: the number, or `{type: <kind>, **fields}`.

    Examples:
        >>> from typed_losses.weights import LinearSchedule
        >>> weight_entry(0.5), weight_entry(LinearSchedule(start=0.0, end=1.0, steps=10))
        (0.5, {'type': 'linear', 'start': 0.0, 'end': 1.0, 'steps': 10, 'begin': 0})
    """
    if not isinstance(weight, WeightParams):
        return weight
    spec = WEIGHT_KINDS.for_params(type(weight))
    if spec is None:
        raise ValueError(f"{type(weight).__name__} is not the params class of a registered weight kind")
    return {"type": spec.name, **unstructure_params(weight)}


def unstructure_params(params: attrs.AttrsInstance) -> dict[str, Any]:
    """A params instance as plain YAML-friendly data (lists, not tuples; enum names)."""
    data = converter.unstructure(params)
    assert isinstance(data, dict)
    return data
