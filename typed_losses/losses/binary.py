"""Binary (multi-label) losses: `logit_bce`, `triple_logit_bce`, `bce`, `m4c_decoding_bce_with_mask`
and `attention_supervision`.

Differs from MMF (every loss here): inputs of shapes that MMF would broadcast silently raise
[`LossShapeError`][typed_losses.LossShapeError] naming both inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from torch import Tensor

from typed_losses.functional.binary import (
    attention_supervision,
    bce,
    logit_bce,
    m4c_decoding_bce_with_mask,
    triple_logit_bce,
)
from typed_losses.loss import Batch, Loss, model_input, sample_input, shape_of
from typed_losses.losses.inputs import SOFT_TARGETS, read_same_shape
from typed_losses.registry import register_loss

__all__ = [
    "AttentionSupervisionLoss",
    "AttentionSupervisionParams",
    "BinaryCrossEntropyLoss",
    "BinaryCrossEntropyParams",
    "LogitBinaryCrossEntropyLoss",
    "LogitBinaryCrossEntropyParams",
    "M4CDecodingBCEWithMaskLoss",
    "M4CDecodingBCEWithMaskParams",
    "TripleLogitBinaryCrossEntropyLoss",
    "TripleLogitBinaryCrossEntropyParams",
]

LOGITS = model_input("scores", ranks=(2, 3), dtype="float", doc="logits, B x C (or B x T x C)")
PROBABILITIES = model_input("scores", ranks=(2, 3), dtype="float", doc="probabilities in [0, 1], B x C (or B x T x C)")
BINARY_TARGETS = sample_input(
    "targets", ranks=(2, 3), dtype="float", doc="multi-hot or soft targets in [0, 1], same shape as scores"
)


# -- logit_bce -------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LogitBinaryCrossEntropyParams:
    """Params of `logit_bce` (none)."""


@register_loss("logit_bce")
class LogitBinaryCrossEntropyLoss(Loss[LogitBinaryCrossEntropyParams]):
    """Binary cross-entropy on logits, summed over classes and averaged over the batch (VQA's loss).

    Precisely `targets.size(1) * mean(BCEWithLogits)`: for `B x C` inputs the sum over classes averaged
    over the batch; for `B x T x C` inputs the sum divided by `B * C` (MMF's scaling, kept as is).
    """

    inputs = (LOGITS, BINARY_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, LOGITS, BINARY_TARGETS, sample_list, model_output)
        return logit_bce(scores, targets)


# -- triple_logit_bce ------------------------------------------------------------------------------------

BRANCH_LOGITS = model_input(
    "scores",
    ranks=(2, 3),
    dtype="float",
    doc="logits, B x K x C for K >= 3 branches (branches 0, 1, 2 count), or B x C",
)


@attrs.frozen(kw_only=True)
class TripleLogitBinaryCrossEntropyParams:
    """Params of `triple_logit_bce` (none)."""


@register_loss("triple_logit_bce")
class TripleLogitBinaryCrossEntropyLoss(Loss[TripleLogitBinaryCrossEntropyParams]):
    """`logit_bce` summed over the first three branches of a three-branch model's scores (MoVie+MCAN).

    Differs from MMF: fewer than 3 branches raise [`LossShapeError`][typed_losses.LossShapeError] (MMF: an `IndexError`).
    """

    inputs = (BRANCH_LOGITS, SOFT_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(BRANCH_LOGITS, sample_list, model_output)
        targets = self.read(SOFT_TARGETS, sample_list, model_output)
        if scores.dim() == 3:
            if scores.size(1) < 3:
                raise self.input_error(
                    BRANCH_LOGITS, f"3-D scores need at least 3 branches in dim 1, found shape {shape_of(scores)}"
                )
            if scores[:, 0].shape != targets.shape:
                raise self.shape_mismatch(
                    BRANCH_LOGITS, scores, SOFT_TARGETS, targets, "must agree: B x K x C scores need B x C targets"
                )
        else:
            self.check_same_shape(BRANCH_LOGITS, scores, SOFT_TARGETS, targets)
        return triple_logit_bce(scores, targets)


# -- bce -------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BinaryCrossEntropyParams:
    """Params of `bce` (none)."""


@register_loss("bce")
class BinaryCrossEntropyLoss(Loss[BinaryCrossEntropyParams]):
    """Binary cross-entropy on probabilities, summed over classes and averaged over the batch."""

    inputs = (PROBABILITIES, BINARY_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, PROBABILITIES, BINARY_TARGETS, sample_list, model_output)
        return bce(scores, targets)


# -- m4c_decoding_bce_with_mask --------------------------------------------------------------------------

DECODING_LOGITS = model_input("scores", ranks=(3,), dtype="float", doc="logits per decoding step, B x T x C")
DECODING_TARGETS = sample_input("targets", ranks=(3,), dtype="float", doc="multi-hot targets, B x T x C")
TRAIN_LOSS_MASK = sample_input(
    "train_loss_mask", ranks=(2,), doc="1 where a decoding step counts, 0 elsewhere, B x T (any numeric dtype)"
)


@attrs.frozen(kw_only=True)
class M4CDecodingBCEWithMaskParams:
    """Params of `m4c_decoding_bce_with_mask` (none)."""


@register_loss("m4c_decoding_bce_with_mask")
class M4CDecodingBCEWithMaskLoss(Loss[M4CDecodingBCEWithMaskParams]):
    """Logit BCE summed over the decoding steps kept by `train_loss_mask`, divided by their count (M4C).

    An all-zero mask gives 0.

    Differs from MMF: returns a 0-dim tensor (MMF: shape `(1,)`, an artefact of its `[1.0]` clamp);
    a mask that is not `B x T` raises [`LossShapeError`][typed_losses.LossShapeError] (MMF broadcasts it silently).
    """

    inputs = (DECODING_LOGITS, DECODING_TARGETS, TRAIN_LOSS_MASK)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(DECODING_LOGITS, sample_list, model_output)
        targets = self.read(DECODING_TARGETS, sample_list, model_output)
        mask = self.read(TRAIN_LOSS_MASK, sample_list, model_output)
        self.check_same_shape(DECODING_LOGITS, scores, DECODING_TARGETS, targets)
        if mask.shape != scores.shape[:2]:
            raise self.shape_mismatch(DECODING_LOGITS, scores, TRAIN_LOSS_MASK, mask, "must agree: B x T x C and B x T")
        return m4c_decoding_bce_with_mask(scores, targets, mask)


# -- attention_supervision -------------------------------------------------------------------------------

ATTENTIONS = model_input(
    "attentions",
    tensor=False,
    doc="a list of attention maps; the first (probabilities, B x N) is supervised",
)
ATTENTION_SUPERVISION = sample_input("info.attention_supervision", ranks=(2,), doc="0/1 supervision map, B x N")


@attrs.frozen(kw_only=True)
class AttentionSupervisionParams:
    """Params of `attention_supervision` (none)."""


@register_loss("attention_supervision")
class AttentionSupervisionLoss(Loss[AttentionSupervisionParams]):
    """BCE pulling the first attention map towards a 0/1 supervision map, counted where the map is 1."""

    inputs = (ATTENTIONS, ATTENTION_SUPERVISION)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        attentions = self.read_value(ATTENTIONS, sample_list, model_output)
        supervision = self.read(ATTENTION_SUPERVISION, sample_list, model_output)
        attention = self._first_map(attentions)
        if attention.shape != supervision.shape:
            raise self.shape_mismatch(
                ATTENTIONS, attention, ATTENTION_SUPERVISION, supervision, "must have the same shape (attentions[0])"
            )
        return attention_supervision(attention, supervision)

    def _first_map(self, attentions: object) -> Tensor:
        first: object = None
        if (isinstance(attentions, Tensor) and attentions.dim() == 3) or (
            isinstance(attentions, Sequence) and not isinstance(attentions, str) and len(attentions) > 0
        ):
            first = attentions[0]
        if not isinstance(first, Tensor):
            raise self.input_error(
                ATTENTIONS,
                f"{ATTENTIONS.source}['attentions'] must be a non-empty list of attention maps, "
                f"found {type(attentions).__name__}",
            )
        if first.dim() != 2 or not first.is_floating_point():
            raise self.input_error(
                ATTENTIONS,
                f"{ATTENTIONS.source}['attentions'][0] must be a float tensor of rank 2 (B x N), "
                f"found shape {shape_of(first)}, dtype {first.dtype}",
            )
        return first
