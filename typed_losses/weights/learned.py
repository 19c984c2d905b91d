"""The built-in learned weight: `uncertainty` (Kendall, Gal and Cipolla, CVPR 2018).

A learnable log-variance `s` per term (an `nn.Parameter`, initialised at `init`); the term adds
`exp(-s) * term + s` to the total (Kendall's form without the factor 1/2) and reports `exp(-s)` as its
weight. The parameter is trained with the model: it must be in the optimizer (see the guide).
"""

from __future__ import annotations

import attrs
import torch
from torch import Tensor, nn

from typed_losses.constraints import param
from typed_losses.weighting import Weighting, WeightParams, register_weight

__all__ = ["UncertaintyWeight", "UncertaintyWeighting"]


@attrs.frozen(kw_only=True)
class UncertaintyWeight(WeightParams):
    """`{type: uncertainty, init: 0.0}`: a learned weight `exp(-s)`, `s` a log-variance starting at `init`."""

    init: float = param(0.0, doc="the initial log-variance s (the weight starts at exp(-init))")


@register_weight("uncertainty")
class UncertaintyWeighting(Weighting[UncertaintyWeight]):
    """Learned (uncertainty) weight: the term adds `exp(-s) * term + s`; `s` is a trained log-variance."""

    def __init__(self, params: UncertaintyWeight) -> None:
        super().__init__(params)
        self.log_variance = nn.Parameter(torch.tensor(float(params.init)))

    def forward(self, step: Tensor) -> Tensor:
        return torch.exp(-self.log_variance)

    def regularizer(self) -> Tensor:
        """`s`: the term adds `exp(-s) * term + s`."""
        log_variance: Tensor = self.log_variance
        return log_variance
