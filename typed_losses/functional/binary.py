"""Binary (multi-label) losses on logits or probabilities."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["logit_bce"]


def logit_bce(scores: Tensor, targets: Tensor) -> Tensor:
    r"""Binary cross-entropy on logits, scaled by the number of classes (MMF's ``logit_bce``).

    .. math:: \ell = C \cdot \operatorname{mean}\big(\mathrm{BCEwithLogits}(s, t)\big),\quad C = t.\mathrm{size}(1)

    For ``B x C`` inputs this is the sum over classes averaged over the batch.

    >>> import torch
    >>> round(float(logit_bce(torch.zeros(2, 3), torch.ones(2, 3))), 6)
    2.079442
    """
    return F.binary_cross_entropy_with_logits(scores, targets, reduction="mean") * targets.size(1)
