"""Type tests: the generated string-keyed builder ``build_loss`` (typed_losses/builders.py).

Checked by tests/typing/test_types.py, never executed.
"""

from __future__ import annotations

from typing import Any, assert_type

import typed_losses
from typed_losses import Loss
from typed_losses.builders import LossName, build_loss
from typed_losses.losses import (
    BinaryCrossEntropyKlLoss,
    BinaryCrossEntropyKlParams,
    CrossEntropyLoss,
    CrossEntropyParams,
    MSEParams,
)

# One overload per catalog name: the precise loss class, from params or from plain data.
assert_type(build_loss("cross_entropy", CrossEntropyParams(label_smoothing=0.1)), CrossEntropyLoss)
assert_type(build_loss("cross_entropy", {"label_smoothing": 0.1}), CrossEntropyLoss)
assert_type(build_loss("bce_kl", BinaryCrossEntropyKlParams(weight_softmax=1.0), term_name="kl"), BinaryCrossEntropyKlLoss)
assert_type(typed_losses.build_loss("cross_entropy", CrossEntropyParams()), CrossEntropyLoss)
assert_type(build_loss("cross_entropy", CrossEntropyParams()).params, CrossEntropyParams)



def any_name(name: str, catalog_name: LossName) -> None:
    # Any other name: plain data only, checked at run time.
    assert_type(build_loss(name, {"label_smoothing": 0.1}), Loss[Any])
    # A name typed as the catalog's names: still only plain data (use the literal, a Term or the class).
    assert_type(build_loss(catalog_name, {}), Loss[Any])
    # An attrs instance with a name that is not a catalog literal.
    build_loss(name, CrossEntropyParams())  # type: ignore[call-overload]


# Params of the wrong loss.
build_loss("cross_entropy", MSEParams())  # type: ignore[call-overload]
# Neither params nor a mapping with string keys.
build_loss("cross_entropy", 0.1)  # type: ignore[call-overload]
build_loss("cross_entropy", {1: 0.1})  # type: ignore[dict-item]
build_loss("cross_entropy", CrossEntropyParams(), name="ce")  # type: ignore[call-overload]
# The lazy export does not make every attribute of the package acceptable.
typed_losses.build_losss  # type: ignore[attr-defined]  # noqa: B018
