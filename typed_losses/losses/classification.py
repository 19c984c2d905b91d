"""Single-label classification losses: `cross_entropy`, `nll_loss` and `caption_cross_entropy`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from typed_losses.constraints import constraint, param
from typed_losses.functional.classification import caption_cross_entropy, nll_loss
from typed_losses.loss import Batch, Loss, model_input, sample_input
from typed_losses.losses.inputs import (
    CLASS_TARGETS,
    check_class_indices,
    check_class_weights,
    check_index_dtype,
    read_same_shape,
)
from typed_losses.registry import register_loss

__all__ = [
    "CaptionCrossEntropyLoss",
    "CaptionCrossEntropyParams",
    "CrossEntropyLoss",
    "CrossEntropyParams",
    "NLLLoss",
    "NLLParams",
]

Reduction = Literal["mean", "sum", "none"]


def _as_weights(value: Iterable[float] | None) -> tuple[float, ...] | None:
    """A list of numbers as a tuple of floats; anything else (a tensor, a string, a number, an item that is not
    a number) is left for the field's rule to refuse with its message."""
    if value is None or isinstance(value, (str, bytes, Tensor)) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]
    items = tuple(value)
    return tuple(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in items)


@attrs.frozen(kw_only=True)
class CrossEntropyParams:
    """Params of `cross_entropy`: the typed surface of `torch.nn.CrossEntropyLoss`."""

    weight: tuple[float, ...] | None = attrs.field(
        default=None,
        converter=_as_weights,
        **constraint(ge=0, min_len=1, doc="per-class weights (a list of C numbers), or null for equal weights"),
    )
    ignore_index: int = param(-100, doc="target value that is ignored")
    reduction: Reduction = param("mean", doc="how per-sample losses are reduced: mean, sum or none")
    label_smoothing: float = param(0.0, ge=0, lt=1, doc="torch's label smoothing, in [0, 1)")


SCORES = model_input("scores", ranks=(2, 3, 4, 5), dtype="float", doc="logits, B x C (or B x C x d...)")


@register_loss("cross_entropy")
class CrossEntropyLoss(Loss[CrossEntropyParams]):
    r"""Cross-entropy between logits and class indices or class probabilities (`nn.CrossEntropyLoss`).

    With class indices $y_i$ (rows whose target is `ignore_index` left out), class weights $w$ (all 1 when
    `weight` is null), label smoothing $\varepsilon$ and $p_i = \mathrm{softmax}(s_i)$ over $C$ classes:

    $$
    \ell_i = -(1 - \varepsilon)\, w_{y_i} \log p_{i y_i} - \frac{\varepsilon}{C} \sum_c w_c \log p_{ic},\qquad
    \ell = \frac{\sum_i \ell_i}{\sum_i w_{y_i}} \ \text{(reduction mean)}
    $$

    With class probabilities as targets, $\ell_i = -\sum_c w_c\, \tilde t_{ic} \log p_{ic}$ (smoothed
    $\tilde t$) and the mean is over rows.
    """

    inputs = (SCORES, CLASS_TARGETS)
    class_weight: Tensor | None

    def __init__(self, params: CrossEntropyParams, *, name: str | None = None) -> None:
        super().__init__(params, name=name)
        weight = None if params.weight is None else torch.tensor(params.weight, dtype=torch.float32)
        self.register_buffer("class_weight", weight, persistent=False)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(CLASS_TARGETS, sample_list, model_output)
        if not (targets.is_floating_point() and targets.shape == scores.shape):  # else: class probabilities
            check_class_indices(self, SCORES, scores, CLASS_TARGETS, targets, probabilities=True)
        weight = self.class_weight
        if weight is not None:
            check_class_weights(self, weight, SCORES, scores, scores.size(1))
            if weight.dtype != scores.dtype:
                weight = weight.to(scores.dtype)
        p = self.params
        return F.cross_entropy(
            scores,
            targets,
            weight=weight,
            ignore_index=p.ignore_index,
            reduction=p.reduction,
            label_smoothing=p.label_smoothing,
        )


# -- nll_loss --------------------------------------------------------------------------------------------

LOG_PROBS = model_input("scores", ranks=(2,), dtype="float", doc="log-probabilities, B x C")
ARGMAX_TARGETS = sample_input(
    "targets", ranks=(2,), doc="per-class target scores, B x C; each row's arg-max is its class"
)


@attrs.frozen(kw_only=True)
class NLLParams:
    """Params of `nll_loss` (none)."""


@register_loss("nll_loss")
class NLLLoss(Loss[NLLParams]):
    """Negative log-likelihood of each row's arg-max target class, times the number of classes."""

    inputs = (LOG_PROBS, ARGMAX_TARGETS)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores, targets = read_same_shape(self, LOG_PROBS, ARGMAX_TARGETS, sample_list, model_output)
        return nll_loss(scores, targets)


# -- caption_cross_entropy -------------------------------------------------------------------------------

CAPTION_SCORES = model_input("scores", ranks=(3,), dtype="float", doc="logits, B x T x V")
CAPTION_TARGETS = sample_input("targets", ranks=(2,), dtype="integer", doc="token ids, B x T (-100: ignored)")
CAPTION_LEN = sample_input(
    "caption_len",
    ranks=(1,),
    dtype="integer",
    optional=True,
    doc="caption lengths, B; sorted descending, minus 1, they give each row's decoded steps (absent: all T)",
)


@attrs.frozen(kw_only=True)
class CaptionCrossEntropyParams:
    """Params of `caption_cross_entropy` (none)."""


@register_loss("caption_cross_entropy")
class CaptionCrossEntropyLoss(Loss[CaptionCrossEntropyParams]):
    """Mean token cross-entropy over the decoded steps of each caption.

    With `caption_len`, the i-th row keeps its first `L_i` steps, where `L` is `caption_len` sorted in
    descending order minus 1 (rows are not reordered: MMF's captioning models sort the batch first); without
    it every step counts. Tokens whose target is -100 are ignored.

    Differs from MMF: the packing is a mask (no host sync, compiles to one graph); `caption_len` is read
    from any mapping (MMF only sees it as an attribute of a `SampleList`); a length <= 1 contributes no
    tokens instead of raising; a `caption_len - 1` larger than the sequence length T counts all T steps
    (silently clamped: noticing it would need a host sync; MMF fails in backward).
    """

    inputs = (CAPTION_SCORES, CAPTION_TARGETS, CAPTION_LEN)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(CAPTION_SCORES, sample_list, model_output)
        targets = self.read(CAPTION_TARGETS, sample_list, model_output)
        caption_len = self.read_optional(CAPTION_LEN, sample_list, model_output)
        check_index_dtype(self, CAPTION_TARGETS, targets)
        self.check_same_size(CAPTION_SCORES, scores, CAPTION_TARGETS, targets, 0)
        self.check_same_size(CAPTION_SCORES, scores, CAPTION_TARGETS, targets, 1)
        if caption_len is not None:
            self.check_same_size(CAPTION_TARGETS, targets, CAPTION_LEN, caption_len, 0)
        return caption_cross_entropy(scores, targets, caption_len)
