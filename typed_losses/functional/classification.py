"""Single-label classification losses: negative log-likelihood and caption (sequence) cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["IGNORE_INDEX", "caption_cross_entropy", "decode_mask", "nll_loss"]

#: torch's default `ignore_index`: tokens with this target do not count in the mean.
IGNORE_INDEX = -100


def nll_loss(log_probs: Tensor, targets: Tensor) -> Tensor:
    r"""Negative log-likelihood of each row's highest-scoring target class, times `C` (MMF's `nll_loss`).

    `log_probs`: `B x C` log-probabilities; `targets`: `B x C` scores whose arg-max (the first
    maximum on ties) is the class.

    $$
    \ell = C \cdot \frac{1}{B}\sum_i -\log p_{i, k_i},\quad k_i = \operatorname{argmax}_j t_{ij},\ C = t.\mathrm{size}(1)
    $$

    Examples:
        >>> import torch
        >>> p = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
        >>> round(float(nll_loss(p, torch.tensor([[1.0, 0.0], [0.2, 0.8]]))), 6)
        0.980829
    """
    index = targets.max(dim=1).indices
    return F.nll_loss(log_probs, index, reduction="mean") * targets.size(1)


def decode_mask(caption_len: Tensor, steps: int) -> Tensor:
    """`B x steps` bool mask of the decoding steps MMF packs: row `i` keeps its first `L_i` steps.

    `L` is `caption_len` sorted in descending order, minus 1, paired with the rows in their given order
    (the rows are not reordered: MMF's models pre-sort the batch by caption length).

    Examples:
        >>> import torch
        >>> decode_mask(torch.tensor([2, 4]), 3)
        tensor([[ True,  True,  True],
                [ True, False, False]])
    """
    lengths = torch.sort(caption_len, descending=True).values - 1
    return torch.arange(steps, device=caption_len.device).unsqueeze(0) < lengths.unsqueeze(1)


def caption_cross_entropy(scores: Tensor, targets: Tensor, caption_len: Tensor | None = None) -> Tensor:
    r"""Mean token cross-entropy over the decoded steps of each caption (MMF's `caption_cross_entropy`).

    `scores`: `B x T x V` logits; `targets`: `B x T` token ids; `caption_len`: `B` lengths or
    `None` (every step counts). With lengths, row `i` counts its first `L_i` steps (`decode_mask()`).

    $$
    \ell = \frac{\sum_{(i,t) \in K} -\log\mathrm{softmax}(s_{it})_{y_{it}}}{|K|},\quad
    K = \{(i, t) : t < L_i,\ y_{it} \ne -100\}
    $$

    This is the mean over the tokens `pack_padded_sequence` keeps, computed by masking (no host sync).
    A length `<= 1` contributes no tokens (MMF raises).

    Examples:
        >>> import torch
        >>> s = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]])
        >>> y = torch.zeros(1, 3, dtype=torch.long)
        >>> round(float(caption_cross_entropy(s, y)), 6)
        0.982334
        >>> round(float(caption_cross_entropy(s, y, torch.tensor([3]))), 6)
        0.410038
    """
    if caption_len is not None:
        keep = decode_mask(caption_len, targets.size(1))
        targets = torch.where(keep, targets, torch.full_like(targets, IGNORE_INDEX))
    return F.cross_entropy(scores.reshape(-1, scores.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX)
