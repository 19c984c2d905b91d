"""What checking a ``losses`` entry produces (:class:`CheckedTerm`), and the keys an entry may have."""

from __future__ import annotations

import math
from typing import Any

import attrs

from typed_losses.registry import LossSpec
from typed_losses.term import Term

__all__ = ["ENTRY_KEYS", "CheckedTerm", "weight_of"]

#: The keys of a mapping entry: ``{type, params, weight, name}``.
ENTRY_KEYS = ("type", "params", "weight", "name")


@attrs.frozen
class CheckedTerm:
    """One checked entry: its term name, weight, registered loss and params instance."""

    name: str
    weight: float
    spec: LossSpec
    params: attrs.AttrsInstance
    path: str

    def to_term(self) -> Term[Any]:
        return Term(self.params, weight=self.weight, name=self.name, loss=self.spec.loss_class)


def weight_of(number: int | float) -> float | None:
    """``number`` as a weight: a finite float >= 0, or ``None`` (also for an int too large for a float)."""
    try:
        weight = float(number)
    except OverflowError:
        return None
    return weight if math.isfinite(weight) and weight >= 0 else None
