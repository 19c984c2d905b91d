"""An importable module registering a loss with a params-derived persistent buffer and a running state buffer.

Used by the checkpoint and spawn tests: a loss class that lives in an importable module (not in a test
function) can be pickled, and a worker process finds its name once the module is imported.
"""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from typed_losses import Batch, Loss, doc, model_input, register_loss, sample_input

__all__ = ["NAME", "ScaledMSELoss", "ScaledMSEParams"]

NAME = "reliability_scaled_mse"
PRED = model_input("pred", ranks=(2,), dtype="float")
TARGET = sample_input("target", ranks=(2,), dtype="float")


@attrs.frozen(kw_only=True)
class ScaledMSEParams:
    """Params of the test loss."""

    scale: tuple[float, ...] = attrs.field(converter=tuple, metadata=doc("per-column scales"))


@register_loss(NAME)
class ScaledMSELoss(Loss[ScaledMSEParams]):
    """Mean of ``scale * (pred - target)**2``; counts its calls in a persistent buffer."""

    inputs = (PRED, TARGET)
    scale: Tensor
    calls: Tensor

    def __init__(self, params: ScaledMSEParams, *, name: str | None = None) -> None:
        super().__init__(params, name=name)
        self.register_buffer("scale", torch.tensor(params.scale, dtype=torch.float32))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        pred = self.read(PRED, sample_list, model_output)
        target = self.read(TARGET, sample_list, model_output)
        self.calls += 1
        return (self.scale * (pred - target) ** 2).mean()
