"""Losses against soft targets (VQA answer scores) and soft-label cross-entropy: `bce_kl`,
`bce_kl_combined`, `softmax_kldiv`, `weighted_softmax`, `wrong`, `soft_label_cross_entropy` and
`label_smoothing_cross_entropy`.

Differs from MMF (every loss here): inputs of shapes that MMF would broadcast silently raise
[`LossShapeError`][typed_losses.LossShapeError] naming both inputs.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor

from typed_losses.constraints import constraint, param
from typed_losses.functional.binary import logit_bce
from typed_losses.functional.soft_labels import (
    label_smoothing_cross_entropy,
    soft_label_cross_entropy,
    softmax_kldiv,
    weighted_softmax,
    wrong,
)
from typed_losses.loss import Batch, Loss, sample_input, shape_of
from typed_losses.losses.inputs import SCORES, SOFT_TARGETS, read_same_shape
from typed_losses.registry import register_loss

__all__ = [
    "BinaryCrossEntropyKlCombinedLoss",
    "BinaryCrossEntropyKlCombinedParams",
    "BinaryCrossEntropyKlLoss",
    "BinaryCrossEntropyKlParams",
    "LabelSmoothingCrossEntropyLoss",
    "LabelSmoothingCrossEntropyParams",
    "SoftLabelCrossEntropyLoss",
    "SoftLabelCrossEntropyParams",
    "SoftmaxKlDivLoss",
    "SoftmaxKlDivParams",
    "WeightedSoftmaxLoss",
    "WeightedSoftmaxParams",
    "WrongLoss",
    "WrongParams",
]

#: The reductions MMF's soft-label cross-entropy losses support.
Reduction = Literal["mean", "sum"]
_REDUCTIONS: tuple[Reduction, ...] = ("mean", "sum")


# -- bce_kl and bce_kl_combined --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BinaryCrossEntropyKlParams:
    """Params of `bce_kl`."""

    weight_softmax: float = attrs.field(**constraint(ge=0, example=0.5, doc="weight of the softmax KL term (required)"))


@register_loss("bce_kl")
class BinaryCrossEntropyKlLoss(Loss[BinaryCrossEntropyKlParams]):
    """Two terms: `kl` = weight_softmax x softmax_kldiv and `bce` = logit_bce."""

    inputs = (SCORES, SOFT_TARGETS)
    output_terms = ("kl", "bce")

    def forward(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]:
        scores, targets = read_same_shape(self, SCORES, SOFT_TARGETS, sample_list, model_output)
        return {
            "kl": self.params.weight_softmax * softmax_kldiv(scores, targets),
            "bce": logit_bce(scores, targets),
        }


@attrs.frozen(kw_only=True)
class BinaryCrossEntropyKlCombinedParams:
    """Params of `bce_kl_combined`."""

    weight_softmax: float = attrs.field(**constraint(ge=0, example=0.5, doc="weight of the softmax KL term (required)"))


@register_loss("bce_kl_combined")
class BinaryCrossEntropyKlCombinedLoss(Loss[BinaryCrossEntropyKlCombinedParams]):
    """One term: weight_softmax x softmax_kldiv + logit_bce (`bce_kl` summed into a single value)."""

    inputs = (SCORES, SOFT_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, SCORES, SOFT_TARGETS, sample_list, model_output)
        return self.params.weight_softmax * softmax_kldiv(scores, targets) + logit_bce(scores, targets)


# -- softmax_kldiv, weighted_softmax, wrong --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SoftmaxKlDivParams:
    """Params of `softmax_kldiv` (none)."""


@register_loss("softmax_kldiv")
class SoftmaxKlDivLoss(Loss[SoftmaxKlDivParams]):
    """KL divergence from softmax(scores) to the row-normalised targets, averaged over rows."""

    inputs = (SCORES, SOFT_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, SCORES, SOFT_TARGETS, sample_list, model_output)
        return softmax_kldiv(scores, targets)


@attrs.frozen(kw_only=True)
class WeightedSoftmaxParams:
    """Params of `weighted_softmax` (none)."""


@register_loss("weighted_softmax")
class WeightedSoftmaxLoss(Loss[WeightedSoftmaxParams]):
    """`softmax_kldiv` with each row's KL weighted by that row's total target mass."""

    inputs = (SCORES, SOFT_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, SCORES, SOFT_TARGETS, sample_list, model_output)
        return weighted_softmax(scores, targets)


@attrs.frozen(kw_only=True)
class WrongParams:
    """Params of `wrong` (none)."""


@register_loss("wrong")
class WrongLoss(Loss[WrongParams]):
    """Element-mean KL from softmax(scores) to the row-normalised targets, times C (`softmax_kldiv`'s value).

    Differs from MMF: no `UserWarning` about `reduction='mean'` on every call (same number).
    """

    inputs = (SCORES, SOFT_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, SCORES, SOFT_TARGETS, sample_list, model_output)
        return wrong(scores, targets)


# -- soft_label_cross_entropy ----------------------------------------------------------------------------

SOFT_LABELS = sample_input(
    "targets",
    ranks=(1, 2),
    doc="class indices, B (ignore_index: masked), or soft labels, B x C (all-zero rows: masked)",
)


@attrs.frozen(kw_only=True)
class SoftLabelCrossEntropyParams:
    """Params of `soft_label_cross_entropy`."""

    ignore_index: int = param(-100, doc="class-index target that is masked out")
    reduction: Reduction = param("mean", doc="sum over rows, or mean over the rows that are not masked")
    normalize_targets: bool = param(True, doc="divide each target row by (float32 eps + its sum) first")


@register_loss("soft_label_cross_entropy")
class SoftLabelCrossEntropyLoss(Loss[SoftLabelCrossEntropyParams]):
    """Cross-entropy between logits and soft labels (or class indices), skipping masked rows in the mean.

    Differs from MMF: 1-D targets equal to `ignore_index` are masked (MMF crashes on them); 2-D targets
    must be `B x C` (MMF reads a `B x 1` target as class indices and drops the rows whose index is 0).
    """

    inputs = (SCORES, SOFT_LABELS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(SOFT_LABELS, sample_list, model_output)
        if targets.dim() == 1:
            if targets.is_floating_point() or targets.dtype == torch.bool:  # would be truncated to classes
                raise self.input_error(
                    SOFT_LABELS, f"1-D targets are class indices and must be integers, found {targets.dtype}"
                )
            self.check_same_size(SCORES, scores, SOFT_LABELS, targets, 0)
        else:
            self.check_same_shape(SCORES, scores, SOFT_LABELS, targets)
        p = self.params
        return soft_label_cross_entropy(
            scores,
            targets,
            ignore_index=p.ignore_index,
            reduction=p.reduction,
            normalize_targets=p.normalize_targets,
        )


# -- label_smoothing_cross_entropy -----------------------------------------------------------------------

CLASS_INDICES = sample_input(
    "targets", ranks=(1, 2), dtype="integer", doc="class indices, B (or B x 1); ignore_index: masked"
)


@attrs.frozen(kw_only=True)
class LabelSmoothingCrossEntropyParams:
    """Params of `label_smoothing_cross_entropy`."""

    label_smoothing: float = param(
        0.1, ge=0, lt=1, doc="mass moved off the true class, spread evenly over the other C - 1; in [0, 1)"
    )
    reduction: Reduction = param("mean", doc="sum over rows, or mean over the rows that are not ignored")
    ignore_index: int = param(-100, doc="class-index target that is masked out")


@register_loss("label_smoothing_cross_entropy")
class LabelSmoothingCrossEntropyLoss(Loss[LabelSmoothingCrossEntropyParams]):
    """Cross-entropy against smoothed one-hot targets: 1 - ls on the true class, ls / (C - 1) elsewhere.

    This is MMF's smoothing, not torch's (`cross_entropy`'s `label_smoothing` spreads ls / C over every
    class).

    Differs from MMF: fewer than 2 classes raise [`LossShapeError`][typed_losses.LossShapeError] (MMF: `ZeroDivisionError`).
    """

    inputs = (SCORES, CLASS_INDICES)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(CLASS_INDICES, sample_list, model_output)
        if targets.dim() == 2 and targets.size(1) != 1:
            raise self.input_error(CLASS_INDICES, f"2-D class indices must be B x 1, found shape {shape_of(targets)}")
        self.check_same_size(SCORES, scores, CLASS_INDICES, targets, 0)
        if scores.size(1) < 2:
            raise self.input_error(SCORES, f"label smoothing needs at least 2 classes, found shape {shape_of(scores)}")
        p = self.params
        return label_smoothing_cross_entropy(
            scores, targets, label_smoothing=p.label_smoothing, ignore_index=p.ignore_index, reduction=p.reduction
        )
