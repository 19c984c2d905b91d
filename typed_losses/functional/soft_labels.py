"""Losses against soft (distribution-like) targets, e.g. VQA answer scores."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["kl_div_rows", "normalize_rows", "softmax_kldiv"]

#: MMF replaces an all-zero target row's sum by this value before normalising.
ZERO_ROW_SUM = 1.0e-06


def kl_div_rows(log_x: Tensor, y: Tensor) -> Tensor:
    r"""Per-row KL divergence :math:`\sum_j y_j (\log y_j - \log x_j)` with :math:`0 \log 0 = 0`, shape ``B x 1``."""
    log_y = torch.log(torch.where(y == 0, torch.ones_like(y), y))
    return torch.sum(y * (log_y - log_x), dim=1, keepdim=True)


def normalize_rows(targets: Tensor) -> tuple[Tensor, Tensor]:
    """``(targets / row_sum, row_sum)`` where an all-zero row's sum counts as ``1e-6`` (MMF's convention)."""
    row_sum = torch.sum(targets, dim=1, keepdim=True)
    row_sum = torch.where(row_sum == 0, torch.full_like(row_sum, ZERO_ROW_SUM), row_sum)
    return targets / row_sum, row_sum


def softmax_kldiv(scores: Tensor, targets: Tensor) -> Tensor:
    r"""KL divergence from ``softmax(scores)`` to the row-normalised targets, averaged over rows.

    .. math:: \ell = \frac{1}{B}\sum_i \mathrm{KL}\big(\tilde t_i \,\|\, \mathrm{softmax}(s_i)\big),
              \quad \tilde t_i = t_i / \textstyle\sum_j t_{ij}

    >>> import torch
    >>> round(float(softmax_kldiv(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]))), 6)
    0.693147
    """
    normalized, _ = normalize_rows(targets)
    kl = kl_div_rows(F.log_softmax(scores, dim=1), normalized)
    return torch.sum(kl) / kl.size(0)
