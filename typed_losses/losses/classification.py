"""Single-label classification losses: ``cross_entropy``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from typed_losses.loss import Batch, Loss, doc, model_input
from typed_losses.losses.inputs import CLASS_TARGETS
from typed_losses.registry import register_loss

__all__ = ["CrossEntropyLoss", "CrossEntropyParams"]

Reduction = Literal["mean", "sum", "none"]


def _probability(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"'{attribute.name}' must be in [0, 1): {value!r}")


def _class_weights(_instance: object, attribute: attrs.Attribute[tuple[float, ...] | None], value: tuple[float, ...] | None) -> None:
    if value is not None and (not value or any(not w >= 0 for w in value)):
        raise ValueError(f"'{attribute.name}' must be a non-empty list of numbers >= 0: {list(value)!r}")


def _as_weights(value: Iterable[float] | None) -> tuple[float, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class CrossEntropyParams:
    """Params of ``cross_entropy``: the typed surface of ``torch.nn.CrossEntropyLoss``."""

    weight: tuple[float, ...] | None = attrs.field(
        default=None,
        converter=_as_weights,
        validator=_class_weights,
        metadata=doc("per-class weights (a list of C numbers), or null for equal weights"),
    )
    ignore_index: int = attrs.field(default=-100, metadata=doc("target value that is ignored"))
    reduction: Reduction = attrs.field(
        default="mean", metadata=doc("how per-sample losses are reduced: mean, sum or none")
    )
    label_smoothing: float = attrs.field(
        default=0.0, validator=_probability, metadata=doc("torch's label smoothing, in [0, 1)")
    )


SCORES = model_input("scores", ranks=(2, 3, 4, 5), dtype="float", doc="logits, B x C (or B x C x d...)")


@register_loss("cross_entropy")
class CrossEntropyLoss(Loss[CrossEntropyParams]):
    """Cross-entropy between logits and class indices or class probabilities (``nn.CrossEntropyLoss``)."""

    inputs = (SCORES, CLASS_TARGETS)
    class_weight: Tensor | None

    def __init__(self, params: CrossEntropyParams, *, name: str | None = None) -> None:
        super().__init__(params, name=name)
        weight = None if params.weight is None else torch.tensor(params.weight, dtype=torch.float32)
        self.register_buffer("class_weight", weight, persistent=False)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(CLASS_TARGETS, sample_list, model_output)
        weight = self.class_weight
        if weight is not None and weight.dtype != scores.dtype:
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
