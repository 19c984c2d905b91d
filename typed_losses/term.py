"""``Term``: params with a weight and a term name, for building collections from Python without strings."""

from __future__ import annotations

from typing import Any, Generic

import attrs

from typed_losses.loss import Loss, P

__all__ = ["Term"]


def _non_negative(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"weight must be >= 0, got {value!r}")


@attrs.frozen
class Term(Generic[P]):
    """One term of a :class:`~typed_losses.LossCollection`: a loss's params, its weight and its name.

    ``LossCollection([Term(CrossEntropyParams(), weight=0.5, name="ce")])``. ``loss`` picks the loss class
    when one params class is registered for several losses; ``name`` defaults to the registry name.

    Example:
        >>> from typed_losses.losses import CrossEntropyParams
        >>> term = Term(CrossEntropyParams(label_smoothing=0.1), weight=0.5, name="ce")
        >>> term.weight, term.name
        (0.5, 'ce')
        >>> Term(CrossEntropyParams(), weight=-1)
        Traceback (most recent call last):
        ...
        ValueError: weight must be >= 0, got -1.0
    """

    params: P
    weight: float = attrs.field(default=1.0, converter=float, validator=_non_negative)
    name: str | None = None
    loss: type[Loss[P]] | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if not attrs.has(type(self.params)):
            raise TypeError(f"Term params must be an attrs params instance, got {type(self.params).__name__}")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ValueError(f"Term name must be a non-empty string, got {self.name!r}")


def is_term_type(tp: Any) -> bool:
    """Whether ``tp`` is ``Term`` or ``Term[X]``."""
    return tp is Term or getattr(tp, "__origin__", None) is Term
