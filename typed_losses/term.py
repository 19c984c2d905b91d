"""`Term`: params with a weight and a term name, for building collections from Python without strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic

import attrs

from typed_losses.loss import Loss, P
from typed_losses.rules import DEFAULT_WEIGHT, describe_value, name_problem, route_problem
from typed_losses.weighting import WeightForm, as_weight

__all__ = ["Term"]


def _params_instance(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, type) and attrs.has(value):
        raise TypeError(f"Term params must be a params instance, found the class {value.__name__}: call it")
    if not attrs.has(type(value)):
        raise TypeError(
            f"Term params must be a params instance (e.g. CrossEntropyParams()), found {describe_value(value)}"
        )


def _name(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    problem = name_problem(value)
    if problem is not None:
        message, hint = problem
        raise ValueError(f"Term name: {message}" + (f" ({hint})" if hint else ""))


def _loss_class(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (isinstance(value, type) and issubclass(value, Loss)):
        raise TypeError(f"Term loss must be a Loss subclass (or None), found {describe_value(value)}")


def as_routes(value: Mapping[str, str] | None) -> dict[str, str]:
    """`Term(inputs=...)`: a mapping from declared input keys to non-empty string keys, as a dict.

    The keys are checked against the loss's declared inputs where the loss is known (`LossCollection`).
    """
    if value is None:
        return {}
    raw: object = value
    if not isinstance(raw, Mapping):
        raise TypeError(f"Term inputs must be a mapping of declared input keys to keys, found {describe_value(raw)}")
    for key, target in raw.items():
        if not isinstance(key, str) or not key:
            raise TypeError(
                f"Term inputs: a declared input key must be a non-empty string, found {describe_value(key)}"
            )
        problem = route_problem(target)
        if problem is not None:
            raise ValueError(f"Term inputs[{key!r}]: {problem}")
    return dict(raw)


@attrs.frozen
class Term(Generic[P]):
    """One term of a [`LossCollection`][typed_losses.LossCollection]: a loss's params, its weight and its name.

    `LossCollection([Term(CrossEntropyParams(), weight=0.5, name="ce")])`. `loss` picks the loss class
    when one params class is registered for several losses; `name` defaults to the registry name. The
    weight and the name follow the rules of a config entry (`typed_losses.rules`): a weight is a
    number or the params of a weight kind (`weight=LinearSchedule(start=0.0, end=1.0, steps=2000)`). `inputs` routes
    the loss's declared inputs to other keys, as `inputs:` in a config (one loss type on several heads).

    Examples:
        >>> from typed_losses.losses import CrossEntropyParams
        >>> term = Term(CrossEntropyParams(label_smoothing=0.1), weight=0.5, name="ce")
        >>> term.weight, term.name
        (0.5, 'ce')
        >>> Term(CrossEntropyParams(), weight=-1)
        Traceback (most recent call last):
        ...
        ValueError: weight must be a finite number >= 0, found -1
        >>> Term(CrossEntropyParams(), name="total")
        Traceback (most recent call last):
        ...
        ValueError: Term name: term name 'total' is reserved: logs and output files use it for the sum of the terms (choose another `name:`)
    """

    params: P = attrs.field(validator=_params_instance)
    weight: WeightForm = attrs.field(default=DEFAULT_WEIGHT, converter=as_weight)
    name: str | None = attrs.field(default=None, validator=_name)
    loss: type[Loss[P]] | None = attrs.field(default=None, eq=False, validator=_loss_class)
    #: Routes: the loss's declared input keys -> the keys to read instead (`{"scores": "aux_scores"}`).
    inputs: Mapping[str, str] = attrs.field(factory=dict, converter=as_routes, hash=False)


def is_term_type(tp: Any) -> bool:
    """Whether `tp` is `Term` or `Term[X]`."""
    return tp is Term or getattr(tp, "__origin__", None) is Term
