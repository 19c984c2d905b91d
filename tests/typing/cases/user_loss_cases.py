"""Type tests: what a user writing a loss gets from ``Loss[P]``.

Checked by tests/typing/test_types.py, never executed.
"""

from __future__ import annotations

from typing import assert_type

import attrs
from torch import Tensor

from typed_losses import Batch, Loss, Term, doc, model_input, register_loss, sample_input
from typed_losses.losses import CrossEntropyParams

SCORES = model_input("scores", ranks=(2,), dtype="float", doc="logits, B x C")
TARGETS = sample_input("targets", ranks=(1,), dtype="integer", doc="class indices, B")


@attrs.frozen(kw_only=True)
class FocalParams:
    gamma: float = attrs.field(default=2.0, validator=attrs.validators.ge(0), metadata=doc("focusing"))


@register_loss("focal_typing_case")
class FocalLoss(Loss[FocalParams]):
    inputs = (SCORES, TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        assert_type(self.params, FocalParams)
        assert_type(self.params.gamma, float)
        scores = self.read(SCORES, sample_list, model_output)
        assert_type(scores, Tensor)
        assert_type(self.read_optional(TARGETS, sample_list, model_output), Tensor | None)
        self.params.gamma = 0.0  # type: ignore[misc]
        self.params.alpha  # type: ignore[attr-defined]  # noqa: B018
        return scores.mean() * self.params.gamma


assert_type(FocalLoss, type[FocalLoss])
assert_type(FocalLoss(FocalParams(gamma=1.0)).params, FocalParams)
assert_type(Term(FocalParams(), loss=FocalLoss), Term[FocalParams])

# Params of another loss.
FocalLoss(CrossEntropyParams())  # type: ignore[arg-type]
Term(CrossEntropyParams(), loss=FocalLoss)  # type: ignore[misc]


# A Term's params must be an attrs params instance, not a dict or a params class.
Term({"gamma": 1.0})  # type: ignore[type-var]
Term(FocalParams)  # type: ignore[type-var]


# The params type argument of a loss must be an attrs class.
class NotParamsLoss(Loss[int]):  # type: ignore[type-var]
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return self.read(SCORES, sample_list, model_output)


class NotAttrsParams:
    gamma: float = 2.0


class PlainClassLoss(Loss[NotAttrsParams]):  # type: ignore[type-var]
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return self.read(SCORES, sample_list, model_output)


# forward must return a tensor or a mapping of tensors.
class BadReturnLoss(Loss[FocalParams]):
    def forward(self, sample_list: Batch, model_output: Batch) -> float:  # type: ignore[override]
        return 0.0


# Calling a loss returns what its forward returns.
batch: Batch = {}
assert_type(FocalLoss(FocalParams())(batch, batch), Tensor)
FocalLoss(FocalParams())(batch)  # type: ignore[call-arg]


class TwoTermLoss(Loss[FocalParams]):
    output_terms = ("a", "b")

    def forward(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]:
        value = self.read(SCORES, sample_list, model_output)
        return {"a": value, "b": value}


assert_type(TwoTermLoss(FocalParams())(batch, batch), dict[str, Tensor])
