"""Losses against soft targets (VQA answer scores): ``bce_kl``."""

from __future__ import annotations

import attrs
from torch import Tensor

from typed_losses.functional.binary import logit_bce
from typed_losses.functional.soft_labels import softmax_kldiv
from typed_losses.loss import Batch, Loss, doc
from typed_losses.losses.inputs import SCORES, SOFT_TARGETS
from typed_losses.registry import register_loss

__all__ = ["BinaryCrossEntropyKlParams", "BinaryCrossEntropyKlLoss"]


@attrs.frozen(kw_only=True)
class BinaryCrossEntropyKlParams:
    """Params of ``bce_kl``."""

    weight_softmax: float = attrs.field(
        validator=attrs.validators.ge(0.0), metadata=doc("weight of the softmax KL term (required)")
    )


@register_loss("bce_kl")
class BinaryCrossEntropyKlLoss(Loss[BinaryCrossEntropyKlParams]):
    """Two terms: ``kl`` = weight_softmax x softmax_kldiv and ``bce`` = logit_bce."""

    inputs = (SCORES, SOFT_TARGETS)
    output_terms = ("kl", "bce")

    def forward(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]:
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(SOFT_TARGETS, sample_list, model_output)
        self.check_same_shape(SCORES, scores, SOFT_TARGETS, targets)
        return {
            "kl": self.params.weight_softmax * softmax_kldiv(scores, targets),
            "bce": logit_bce(scores, targets),
        }
