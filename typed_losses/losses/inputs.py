"""Input declarations shared by the catalog losses (MMF's key names), and a reader for paired inputs."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from typed_losses.loss import Batch, Input, Loss, model_input, sample_input

__all__ = ["CLASS_TARGETS", "SCORES", "SOFT_TARGETS", "read_same_shape"]

SCORES = model_input("scores", ranks=(2,), dtype="float", doc="logits, B x C")
SOFT_TARGETS = sample_input("targets", ranks=(2,), dtype="float", doc="soft or multi-hot targets, B x C")
CLASS_TARGETS = sample_input(
    "targets", dtype="any", doc="class indices (B, long) or class probabilities (same shape as scores)"
)


def read_same_shape(
    loss: Loss[Any], first: Input, second: Input, sample_list: Batch, model_output: Batch
) -> tuple[Tensor, Tensor]:
    """Read two tensor inputs of ``loss`` and raise :class:`~typed_losses.LossShapeError` unless their shapes agree.

    For losses that would otherwise broadcast mismatched inputs silently (``scores`` against ``targets``).
    """
    a = loss.read(first, sample_list, model_output)
    b = loss.read(second, sample_list, model_output)
    if a.shape != b.shape:
        raise loss.shape_mismatch(first, a, second, b, "must have the same shape")
    return a, b
