"""Regression and embedding losses: `mse` and `cos_emb_loss`.

Differs from MMF (every loss here): inputs of shapes that MMF would broadcast silently raise
[`LossShapeError`][typed_losses.LossShapeError] naming both inputs.
"""

from __future__ import annotations

import attrs
from torch import Tensor

from typed_losses.functional.regression import cos_emb_loss, mse
from typed_losses.loss import Batch, Loss, model_input, sample_input
from typed_losses.losses.inputs import read_same_shape
from typed_losses.registry import register_loss

__all__ = ["CosineEmbeddingLoss", "CosineEmbeddingParams", "MSELoss", "MSEParams"]

PREDICTIONS = model_input("scores", dtype="float", doc="predictions, any shape")
REGRESSION_TARGETS = sample_input("targets", dtype="float", doc="regression targets, same shape as scores")


@attrs.frozen(kw_only=True)
class MSEParams:
    """Params of `mse` (none)."""


@register_loss("mse")
class MSELoss(Loss[MSEParams]):
    """Mean squared error between scores and targets over all elements (`nn.MSELoss()`)."""

    inputs = (PREDICTIONS, REGRESSION_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, PREDICTIONS, REGRESSION_TARGETS, sample_list, model_output)
        return mse(scores, targets)


EMBEDDINGS = model_input("scores", ranks=(2,), dtype="float", doc="embeddings, B x D")
TARGET_EMBEDDINGS = sample_input("targets", ranks=(2,), dtype="float", doc="target embeddings, B x D")


@attrs.frozen(kw_only=True)
class CosineEmbeddingParams:
    """Params of `cos_emb_loss` (none)."""


@register_loss("cos_emb_loss")
class CosineEmbeddingLoss(Loss[CosineEmbeddingParams]):
    """One minus the cosine similarity of each scores row and its target row, averaged over the batch."""

    inputs = (EMBEDDINGS, TARGET_EMBEDDINGS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, EMBEDDINGS, TARGET_EMBEDDINGS, sample_list, model_output)
        return cos_emb_loss(scores, targets)
