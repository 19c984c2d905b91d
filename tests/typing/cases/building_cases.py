"""Type tests: building collections from Python, calling them, and what they return.

Checked by tests/typing/test_types.py, never executed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_type

from torch import Tensor

from typed_losses import Batch, Loss, LossCollection, LossOutput, LossValue, Term, WeightParams
from typed_losses.losses import (
    CrossEntropyLoss,
    CrossEntropyParams,
    MSELoss,
    MSEParams,
)

batch: Batch = {}

# -- building from params and terms ----------------------------------------------------------------------

term = Term(CrossEntropyParams(label_smoothing=0.1), weight=0.5, name="ce")
assert_type(term, Term[CrossEntropyParams])
assert_type(term.params, CrossEntropyParams)
assert_type(Term(MSEParams(), loss=MSELoss), Term[MSEParams])

collection = LossCollection([CrossEntropyParams(label_smoothing=0.1), Term(MSEParams(), weight=0.5)])

# Params of the wrong loss.
CrossEntropyLoss(MSEParams())  # type: ignore[arg-type]
Term(MSEParams(), loss=CrossEntropyLoss)  # type: ignore[misc]
# Known gap: written inline in the list, the checkers infer the Term's params type from the list's context
# (Term[Any]) and let `LossCollection([Term(MSEParams(), loss=CrossEntropyLoss)])` through; it raises
# TypeError when built. A Term built on its own line (above) is checked.
Term(CrossEntropyParams(), nme="ce")  # type: ignore[call-arg]
# Neither params nor a Term: a loss name, a config entry, a loss class (both checkers: loss.ParamsInstance).
LossCollection(["cross_entropy"])  # type: ignore[list-item]
LossCollection([{"type": "cross_entropy"}])  # type: ignore[list-item]
LossCollection([CrossEntropyLoss])  # type: ignore[list-item]

# -- calling ------------------------------------------------------------------------------------------------

output = collection(batch, batch)
assert_type(output, LossOutput)
assert_type(output.total, Tensor)
assert_type(output.terms, Mapping[str, Tensor])
assert_type(output["cross_entropy"], Tensor)
assert_type(output.detached(), dict[str, float])
for name, value in output.terms.items():
    assert_type(name, str)
    assert_type(value, Tensor)
output.total = output.total * 2  # type: ignore[misc]
collection(batch)  # type: ignore[call-arg]

loss = CrossEntropyLoss(CrossEntropyParams())
assert_type(loss(batch, batch), Tensor)
assert_type(collection.losses[0](batch, batch), LossValue)
assert_type(loss.forward(batch, batch), Tensor)
assert_type(loss.params, CrossEntropyParams)

# -- the collection's losses ----------------------------------------------------------------------------------

assert_type(collection.losses[0], Loss[Any])
assert_type(collection["cross_entropy"], Loss[Any])
for member in collection.losses:
    assert_type(member, Loss[Any])
assert_type(collection.names, tuple[str, ...])
assert_type(collection.weights, tuple[float | WeightParams, ...])
assert_type(collection.terms, tuple[Term[Any], ...])
assert_type(LossCollection.from_config([{"type": "mse"}]), LossCollection)
