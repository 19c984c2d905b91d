"""attrs validators shared by the catalog's params classes.

They are attrs' own ``ge``/``lt``/``in_`` validators, so :mod:`typed_losses.introspect` can read their
bounds and options for docs, ``typed-losses list`` and the JSON Schema.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["non_negative", "one_of", "probability_below_one"]

#: ``value >= 0`` (loss weights).
non_negative = attrs.validators.ge(0.0)

#: ``0 <= value < 1`` (label smoothing).
probability_below_one = attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.lt(1.0))


def one_of(*options: Any) -> Any:
    """``value in options``; pairs with a ``Literal[...]`` annotation so Python construction is checked too."""
    return attrs.validators.in_(options)
