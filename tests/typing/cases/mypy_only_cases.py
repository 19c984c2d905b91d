"""Type tests that only mypy passes: anything checked against ``attrs.AttrsInstance``.

attrs declares ``AttrsInstance`` as a protocol (``__attrs_attrs__``) for mypy only; for every other checker
(pyright, Pylance) its stubs make it ``Any``, so there a string or a dict where params are expected is not
an error. tests/typing/pyrightconfig.json leaves this file out. Checked by tests/typing/test_types.py.
"""

from __future__ import annotations

from typed_losses import Batch, Loss, LossCollection, Term
from typed_losses.losses import CrossEntropyLoss

# Neither params nor a Term: a loss name, a config entry, a loss class.
LossCollection(["cross_entropy"])  # type: ignore[list-item]
LossCollection([{"type": "cross_entropy"}])  # type: ignore[list-item]
LossCollection([CrossEntropyLoss])  # type: ignore[list-item]
# A Term's params must be an attrs params instance.
Term({"label_smoothing": 0.1})  # type: ignore[type-var]


# The params type argument of a loss must be an attrs class.
class NotAttrsLoss(Loss[int]):  # type: ignore[type-var]
    def forward(self, sample_list: Batch, model_output: Batch) -> float:  # type: ignore[override]
        return 0.0
