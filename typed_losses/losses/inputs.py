"""Input declarations shared by the catalog losses (MMF's key names)."""

from __future__ import annotations

from typed_losses.loss import model_input, sample_input

__all__ = ["CLASS_TARGETS", "SCORES", "SOFT_TARGETS"]

SCORES = model_input("scores", ranks=(2,), dtype="float", doc="logits, B x C")
SOFT_TARGETS = sample_input("targets", ranks=(2,), dtype="float", doc="soft or multi-hot targets, B x C")
CLASS_TARGETS = sample_input(
    "targets", dtype="any", doc="class indices (B, long) or class probabilities (same shape as scores)"
)
