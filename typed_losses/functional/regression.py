"""Regression and embedding losses: mean squared error and cosine embedding."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["cos_emb_loss", "mse"]


def mse(scores: Tensor, targets: Tensor) -> Tensor:
    r"""Mean squared error over all elements (MMF's `mse`, `nn.MSELoss()`).

    $$
    \ell = \operatorname{mean}\big((s - t)^2\big)
    $$

    Examples:
        >>> import torch
        >>> float(mse(torch.zeros(2), torch.tensor([1.0, 2.0])))
        2.5
    """
    return F.mse_loss(scores, targets, reduction="mean")


def cos_emb_loss(scores: Tensor, targets: Tensor) -> Tensor:
    r"""One minus the cosine similarity of paired rows, averaged (MMF's `cos_emb_loss`).

    `nn.CosineEmbeddingLoss()` with every pair labelled similar (`y = 1`):

    $$
    \ell = \frac{1}{B}\sum_i \Big(1 - \frac{s_i \cdot t_i}
    {\sqrt{(\lVert s_i\rVert^2 + 10^{-12})(\lVert t_i\rVert^2 + 10^{-12})}}\Big)
    $$

    Examples:
        >>> import torch
        >>> float(cos_emb_loss(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[2.0, 0.0], [0.0, 1.0]])))
        0.5
    """
    return F.cosine_embedding_loss(scores, targets, targets.new_ones(targets.size(0)), reduction="mean")
