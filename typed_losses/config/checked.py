"""What checking a ``losses`` entry produces (:class:`CheckedTerm`), and the keys an entry may have."""

from __future__ import annotations

from typing import Any

import attrs

from typed_losses.registry import LossSpec
from typed_losses.term import Term

__all__ = ["ENTRY_KEYS", "CheckedTerm"]

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
