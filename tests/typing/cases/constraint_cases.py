"""Type tests: declared constraints keep params classes typed, and a Term's weight is a float.

Checked by tests/typing/test_types.py under mypy --strict and pyright, never executed. Each
``# type: ignore[code]`` line is a mistake that must stay an error in both checkers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, assert_type

import attrs

from typed_losses import LinearSchedule, Term, WeightParams, constraint, param
from typed_losses.losses import BinaryCrossEntropyKlParams, CrossEntropyParams, MSEParams, MultiParams


@attrs.frozen(kw_only=True)
class FocalParams:
    gamma: float = param(2.0, ge=0, doc="focusing strength")
    reduction: Literal["mean", "sum"] = param("mean", doc="how the batch is reduced")
    weights: tuple[float, ...] = attrs.field(**constraint(ge=0, min_len=1, doc="required: per-class weights"))


focal = FocalParams(gamma=1.0, weights=(1.0, 2.0))
assert_type(focal.gamma, float)
assert_type(focal.reduction, Literal["mean", "sum"])
assert_type(focal.weights, tuple[float, ...])

# A declared field keeps its type, its Literal values and its default.
FocalParams(gamma="1.0", weights=(1.0,))  # type: ignore[arg-type]
FocalParams(reduction="avg", weights=(1.0,))  # type: ignore[arg-type]
# A required field declared with attrs.field(**constraint(...)) stays required.
FocalParams()  # type: ignore[call-arg]
BinaryCrossEntropyKlParams()  # type: ignore[call-arg]
MultiParams()  # type: ignore[call-arg]
# A default of the wrong type for its field.
bad_default: float = param("2.0")  # type: ignore[assignment]
# The catalog's declared params keep their Literal types.
CrossEntropyParams(reduction="bogus")  # type: ignore[arg-type]

# A Term's weight is a number or a weight kind's params: the converter is typed WeightForm -> WeightForm, so a
# string (or a dict) is refused.
assert_type(Term(MSEParams(), weight=2).weight, float | WeightParams)
Term(MSEParams(), weight=LinearSchedule(start=0.0, end=1.0, steps=10))
Term(MSEParams(), weight={"type": "linear"})  # type: ignore[arg-type]
LinearSchedule(start=0.0, end=1.0)  # type: ignore[call-arg]
Term(MSEParams(), weight="2")  # type: ignore[arg-type]

# A Term's inputs map declared input keys to keys (str -> str); read back as a mapping.
assert_type(Term(MSEParams(), inputs={"scores": "aux_scores"}).inputs, Mapping[str, str])
Term(MSEParams(), inputs={"scores": 1})  # type: ignore[dict-item]
Term(MSEParams(), inputs="aux_scores")  # type: ignore[arg-type]
