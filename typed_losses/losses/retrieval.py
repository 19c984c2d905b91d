"""Retrieval and metric-learning losses on embeddings: `in_batch_hinge`, `contrastive_loss`,
`ms_loss`, `refiner_ms` and `refiner_contrastive_loss`.

The math is in `typed_losses.functional.retrieval`: vectorised over the whole similarity matrix,
without host-device synchronisation, at float32 parity with MMF's per-row Python loops.
"""

from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor

from typed_losses.constraints import param
from typed_losses.functional.retrieval import (
    contrastive_loss,
    in_batch_hinge,
    multi_similarity,
    refiner_contrastive,
    refiner_multi_similarity,
)
from typed_losses.loss import Batch, Loss, model_input, sample_input, shape_of
from typed_losses.registry import register_loss

__all__ = [
    "ContrastiveLoss",
    "ContrastiveParams",
    "InBatchHingeLoss",
    "InBatchHingeParams",
    "MultiSimilarityLoss",
    "MultiSimilarityParams",
    "RefinerContrastiveLoss",
    "RefinerContrastiveParams",
    "RefinerMultiSimilarityLoss",
    "RefinerMultiSimilarityParams",
]

# -- in_batch_hinge ------------------------------------------------------------------------------------------

IMAGE_EMBEDDINGS = model_input("scores", ranks=(2,), dtype="float", doc="image embeddings, B x D")
TEXT_EMBEDDINGS = model_input(
    "targets",
    ranks=(2,),
    dtype="float",
    doc="text embeddings, B x D, or (B*F) x D with F captions per image in contiguous rows",
)


@attrs.frozen(kw_only=True)
class InBatchHingeParams:
    """Params of `in_batch_hinge`."""

    margin: float = param(0.0, ge=0, doc="hinge margin between positive and negative pairs")
    hard: bool = param(False, doc="count only the hardest negative of each image and of each caption")


@register_loss("in_batch_hinge")
class InBatchHingeLoss(Loss[InBatchHingeParams]):
    """VSE++ in-batch hinge loss between image and text embeddings (summed, not averaged over B).

    Both inputs come from `model_output` (`scores`: images, `targets`: texts). With `B * F` text rows
    the loss is summed over the F captions of each image.

    Differs from MMF: a text batch that is not a multiple of the image batch raises [`LossShapeError`][typed_losses.LossShapeError]
    (MMF: a bare `AssertionError`); an empty batch gives 0 (MMF fails with `hard`).
    """

    inputs = (IMAGE_EMBEDDINGS, TEXT_EMBEDDINGS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        images = self.read(IMAGE_EMBEDDINGS, sample_list, model_output)
        texts = self.read(TEXT_EMBEDDINGS, sample_list, model_output)
        self.check_same_size(IMAGE_EMBEDDINGS, images, TEXT_EMBEDDINGS, texts, 1)
        batch = images.size(0)
        if texts.size(0) != batch and (batch == 0 or texts.size(0) % batch != 0):
            raise self.shape_mismatch(
                IMAGE_EMBEDDINGS,
                images,
                TEXT_EMBEDDINGS,
                texts,
                "must have equal batch sizes, or F text rows per image",
            )
        return in_batch_hinge(images, texts, margin=self.params.margin, hard=self.params.hard)


# -- contrastive_loss ----------------------------------------------------------------------------------------

EMBEDDING_1 = model_input("embedding_1", ranks=(2,), dtype="float", doc="first modality's embeddings, B x D")
EMBEDDING_2 = model_input("embedding_2", ranks=(2,), dtype="float", doc="second modality's embeddings, B x D")
TEMPERATURE = model_input(
    "temperature", ranks=(0, 1), dtype="float", doc="softmax temperature, a one-element tensor (often learned)"
)


@attrs.frozen(kw_only=True)
class ContrastiveParams:
    """Params of `contrastive_loss` (it has none; the temperature comes from the model output)."""


@register_loss("contrastive_loss")
class ContrastiveLoss(Loss[ContrastiveParams]):
    """Symmetric InfoNCE (CLIP-style) loss, with both embeddings gathered across ranks with gradient.

    Each rank's local rows are scored against the embeddings of every rank; its labels are
    `B * rank + arange(B)`. In one process (no initialised process group) nothing is gathered.
    Embeddings are used as given (not normalised).
    """

    inputs = (EMBEDDING_1, EMBEDDING_2, TEMPERATURE)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        embedding_1 = self.read(EMBEDDING_1, sample_list, model_output)
        embedding_2 = self.read(EMBEDDING_2, sample_list, model_output)
        temperature = self.read(TEMPERATURE, sample_list, model_output)
        self.check_same_shape(EMBEDDING_1, embedding_1, EMBEDDING_2, embedding_2)
        if temperature.numel() != 1:
            raise self.input_error(TEMPERATURE, f"expected one element, found shape {shape_of(temperature)}")
        return contrastive_loss(embedding_1, embedding_2, temperature)


# -- ms_loss -------------------------------------------------------------------------------------------------

FUSED_EMBEDDING = model_input("fused_embedding", ranks=(2,), dtype="float", doc="embeddings, B x D")
LABELS = sample_input("targets", ranks=(1, 2), doc="class labels (B), or multi-hot labels (B x K) with is_multilabel")


@attrs.frozen(kw_only=True)
class MultiSimilarityParams:
    """Params of `ms_loss`."""

    alpha: float = param(50.0, gt=0, doc="scale of the negative term")
    beta: float = param(2.0, gt=0, doc="scale of the positive term")
    margin: float = param(0.5, ge=0, doc="similarity base (lambda) of both terms")
    hard_mining: bool = param(True, doc="keep only pairs within 0.1 of the hardest opposite pair")
    is_multilabel: bool = param(False, doc="targets are B x K multi-hot rows instead of B class labels")


@register_loss("ms_loss")
class MultiSimilarityLoss(Loss[MultiSimilarityParams]):
    """Multi-similarity loss between L2-normalised embeddings of same and different labels.

    Differs from MMF:

    - `hard_mining: false` does not mine. MMF mines unless `hard_mining` is `None`, so its `False`
      still mined; MMF's `None` is `false` here.
    - With `is_multilabel`, sample `i`'s positives and negatives are found from sample `i`'s own labels
      (overlap of row `i` with every row). MMF compared every row with **sample 0's** labels, so all rows
      got the same pair sets: an indexing bug (its `curr_target` argument is ignored on that path), which
      makes the loss meaningless for every sample not sharing sample 0's labels. Single-label results are
      at parity.
    - Always a 0-dim tensor (MMF returns a `(1,)` zero when no row has both pair kinds).
    - The log-sum-exp terms are computed stably: where MMF's direct `exp` overflows to `inf` (large
      `alpha`), this stays finite. Elsewhere the numbers agree to float32 rounding.
    """

    inputs = (FUSED_EMBEDDING, LABELS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        embeddings = self.read(FUSED_EMBEDDING, sample_list, model_output)
        labels = self.read(LABELS, sample_list, model_output)
        p = self.params
        rank = 2 if p.is_multilabel else 1
        if labels.dim() != rank:
            kind = "B x K multi-hot labels (is_multilabel: true)" if rank == 2 else "B class labels"
            raise self.input_error(LABELS, f"expected {kind}, found shape {shape_of(labels)}")
        self.check_same_size(FUSED_EMBEDDING, embeddings, LABELS, labels, 0)
        return multi_similarity(
            embeddings,
            labels,
            alpha=p.alpha,
            beta=p.beta,
            margin=p.margin,
            hard_mining=p.hard_mining,
            multilabel=p.is_multilabel,
        )


# -- refiner_ms and refiner_contrastive_loss -----------------------------------------------------------------

DECODED = model_input("scores", ranks=(2,), dtype="float", doc="decoded (refiner) embeddings, B x D")
TARGET_EMBEDDINGS = sample_input("targets", ranks=(2,), dtype="float", doc="target embeddings, B x D")


def _read_refiner_pair(loss: Loss[Any], sample_list: Batch, model_output: Batch) -> tuple[Tensor, Tensor]:
    """The decoded embeddings and their targets, checked to have the same shape."""
    scores = loss.read(DECODED, sample_list, model_output)
    targets = loss.read(TARGET_EMBEDDINGS, sample_list, model_output)
    loss.check_same_shape(DECODED, scores, TARGET_EMBEDDINGS, targets)
    return scores, targets


@attrs.frozen(kw_only=True)
class RefinerMultiSimilarityParams:
    """Params of `refiner_ms`."""

    alpha: float = param(50.0, gt=0, doc="scale of the negative term")
    beta: float = param(2.0, gt=0, doc="scale of the positive term")
    base: float = param(0.5, doc="similarity base (lambda) of both terms")
    margin: float = param(0.1, ge=0, doc="negatives within this of the positive count")
    epsilon: float = param(1e-16, gt=0, doc="pairs this close to the positive are the positive")


@register_loss("refiner_ms")
class RefinerMultiSimilarityLoss(Loss[RefinerMultiSimilarityParams]):
    """Multi-similarity loss pulling each decoded embedding to its own target and away from the others.

    Similarities are raw dot products (not normalised). Rows with no negative within `margin` of the
    positive contribute 0; the sum is divided by B.

    Differs from MMF:

    - Always returns a 0-dim tensor on the autograd graph. MMF returns the Python float `0.0` (no
      gradient, no device) when no row has a negative, and a `(1,)` zero for an empty batch.
    - The log-sum-exp terms are computed stably: where MMF's direct `exp` overflows to `inf`
      (unnormalised similarities, large `alpha`), this stays finite.
    """

    inputs = (DECODED, TARGET_EMBEDDINGS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = _read_refiner_pair(self, sample_list, model_output)
        p = self.params
        return refiner_multi_similarity(
            scores, targets, alpha=p.alpha, beta=p.beta, base=p.base, margin=p.margin, epsilon=p.epsilon
        )


@attrs.frozen(kw_only=True)
class RefinerContrastiveParams:
    """Params of `refiner_contrastive_loss`."""

    sim_thresh: float = param(0.1, ge=0, doc="targets within this of the own target are penalised")
    epsilon: float = param(1e-16, gt=0, doc="pairs this close to the positive are the positive")


@register_loss("refiner_contrastive_loss")
class RefinerContrastiveLoss(Loss[RefinerContrastiveParams]):
    """Hinge on other targets whose cosine similarity comes within `sim_thresh` of the own target's.

    Each row's penalty is the mean of `sim_thresh + sim - pos` over such targets (0 when there are none);
    the sum is divided by B.

    Differs from MMF: a 0-dim zero when no row is penalised (MMF: shape `(1,)`).
    """

    inputs = (DECODED, TARGET_EMBEDDINGS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = _read_refiner_pair(self, sample_list, model_output)
        p = self.params
        return refiner_contrastive(scores, targets, sim_thresh=p.sim_thresh, epsilon=p.epsilon)
