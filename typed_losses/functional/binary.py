"""Binary (multi-label) losses on logits or probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "attention_supervision",
    "bce",
    "logit_bce",
    "m4c_decoding_bce_with_mask",
    "triple_logit_bce",
]


def logit_bce(scores: Tensor, targets: Tensor) -> Tensor:
    r"""Binary cross-entropy on logits, scaled by the number of classes (MMF's `logit_bce`).

    $$
    \ell = C \cdot \operatorname{mean}\big(\mathrm{BCEwithLogits}(s, t)\big),\quad C = t.\mathrm{size}(1)
    $$

    For `B x C` inputs this is the sum over classes averaged over the batch.

    Examples:
        >>> import torch
        >>> round(float(logit_bce(torch.zeros(2, 3), torch.ones(2, 3))), 6)
        2.079442
    """
    return F.binary_cross_entropy_with_logits(scores, targets, reduction="mean") * targets.size(1)


def triple_logit_bce(scores: Tensor, targets: Tensor) -> Tensor:
    r"""`logit_bce` summed over the first three branches of three-branch scores (MMF's `triple_logit_bce`).

    For `scores` of shape `B x K x C` (`K >= 3`; only branches 0, 1, 2 count) and `targets` `B x C`:

    $$
    \ell = C \sum_{k=0}^{2} \operatorname{mean}\big(\mathrm{BCEwithLogits}(s_{:,k}, t)\big),
    \quad C = t.\mathrm{size}(-1)
    $$

    For scores of the same shape as `targets` it is `C * mean(BCEwithLogits(s, t))` (note `size(-1)`,
    where `logit_bce()` uses `size(1)`).

    Examples:
        >>> import torch
        >>> round(float(triple_logit_bce(torch.zeros(2, 3, 4), torch.ones(2, 4))), 6)
        8.317766
        >>> round(float(triple_logit_bce(torch.zeros(2, 4), torch.ones(2, 4))), 6)
        2.772589
    """
    if scores.dim() == 3:
        loss = (
            F.binary_cross_entropy_with_logits(scores[:, 0], targets, reduction="mean")
            + F.binary_cross_entropy_with_logits(scores[:, 1], targets, reduction="mean")
            + F.binary_cross_entropy_with_logits(scores[:, 2], targets, reduction="mean")
        )
    else:
        loss = F.binary_cross_entropy_with_logits(scores, targets, reduction="mean")
    return loss * targets.size(-1)


def bce(probabilities: Tensor, targets: Tensor) -> Tensor:
    r"""Binary cross-entropy on probabilities, scaled by the number of classes (MMF's `bce`).

    $$
    \ell = C \cdot \operatorname{mean}\big(-t \log p - (1 - t) \log(1 - p)\big),\quad C = t.\mathrm{size}(1)
    $$

    Each log is clamped at `>= -100` (torch's `binary_cross_entropy`).

    Examples:
        >>> import torch
        >>> round(float(bce(torch.full((2, 3), 0.5), torch.ones(2, 3))), 6)
        2.079442
    """
    return F.binary_cross_entropy(probabilities, targets, reduction="mean") * targets.size(1)


def m4c_decoding_bce_with_mask(scores: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    r"""Logit BCE over the decoding steps kept by `mask`, per kept step (MMF's `m4c_decoding_bce_with_mask`).

    `scores`, `targets`: `B x T x C`; `mask`: `B x T` (1 = step counts, any numeric dtype).

    $$
    \ell = \frac{\sum_{b,t,c} m_{bt}\,\mathrm{BCEwithLogits}(s_{btc}, y_{btc})}
    {\max\big(\sum_{b,t} m_{bt},\ 1\big)}
    $$

    An all-zero mask gives 0.

    Examples:
        >>> import torch
        >>> s, y = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
        >>> round(float(m4c_decoding_bce_with_mask(s, y, torch.tensor([[1.0, 0.0]]))), 6)
        1.386294
        >>> float(m4c_decoding_bce_with_mask(s, y, torch.zeros(1, 2)))
        0.0
    """
    losses = F.binary_cross_entropy_with_logits(scores, targets, reduction="none")
    losses = losses * mask.unsqueeze(-1).to(losses.dtype)
    count = torch.sum(mask).to(losses.dtype).clamp(min=1.0)
    return torch.sum(losses) / count


def attention_supervision(attention: Tensor, supervision: Tensor) -> Tensor:
    r"""BCE between attention weights and a 0/1 supervision map, weighted by the map (MMF's `attention_supervision`).

    `attention` holds probabilities `a` (`B x N`), `supervision` the map `m` (same shape).

    $$
    \ell = N \cdot \operatorname{mean}_{b,n}\Big(-m_{bn}\big(m_{bn} \log a_{bn}
    + (1 - m_{bn}) \log(1 - a_{bn})\big)\Big),\quad N = m.\mathrm{size}(1)
    $$

    Logs are clamped at `>= -100`. With a 0/1 map only supervised positions count: it is
    `-sum(m log a) / B`.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[0.5, 0.25]])
        >>> round(float(attention_supervision(a, torch.tensor([[1, 0]]))), 6)
        0.693147
    """
    target = supervision.to(attention.dtype)
    return F.binary_cross_entropy(attention, target, weight=target, reduction="mean") * supervision.size(1)
