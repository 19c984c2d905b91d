"""Losses against soft (distribution-like) targets, e.g. VQA answer scores, and soft-label cross-entropy."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "SOFT_LABEL_EPS",
    "class_index",
    "kl_div_pointwise",
    "kl_div_rows",
    "label_smoothing_cross_entropy",
    "normalize_rows",
    "smooth_targets",
    "soft_label_cross_entropy",
    "softmax_kldiv",
    "weighted_softmax",
    "wrong",
]

#: MMF replaces an all-zero target row's sum by this value before normalising.
ZERO_ROW_SUM = 1.0e-06
#: `soft_label_cross_entropy` normalises rows by `eps + row_sum` with float32's machine epsilon.
SOFT_LABEL_EPS = torch.finfo(torch.float32).eps

Reduction = Literal["mean", "sum"]


def kl_div_pointwise(log_x: Tensor, y: Tensor) -> Tensor:
    r"""Elementwise KL terms :math:`y (\log y - \log x)` with :math:`0 \log 0 = 0` (MMF's `kl_div` before its row sum).

    Examples:
        >>> import torch
        >>> kl_div_pointwise(torch.log(torch.tensor([[0.5, 0.5]])), torch.tensor([[1.0, 0.0]])).tolist()
        [[0.6931471824645996, 0.0]]
    """
    # One fused pass: ``xlogy`` is ``y log y`` with ``0 log 0 = 0`` (no mask, no ``where``), as torch's kl_div.
    return torch.xlogy(y, y) - y * log_x


def kl_div_rows(log_x: Tensor, y: Tensor) -> Tensor:
    r"""Per-row KL divergence :math:`\sum_j y_j (\log y_j - \log x_j)` with :math:`0 \log 0 = 0`, shape `B x 1`.

    Examples:
        >>> import torch
        >>> kl_div_rows(torch.log(torch.tensor([[0.5, 0.5]])), torch.tensor([[1.0, 0.0]])).shape
        torch.Size([1, 1])
    """
    return torch.sum(kl_div_pointwise(log_x, y), dim=1, keepdim=True)


def normalize_rows(targets: Tensor) -> tuple[Tensor, Tensor]:
    """`(targets / row_sum, row_sum)` where an all-zero row's sum counts as `1e-6` (MMF's convention).

    Examples:
        >>> import torch
        >>> normalized, row_sum = normalize_rows(torch.tensor([[1.0, 3.0], [0.0, 0.0]]))
        >>> normalized.tolist(), [round(s, 9) for s in row_sum.flatten().tolist()]
        ([[0.25, 0.75], [0.0, 0.0]], [4.0, 1e-06])
    """
    row_sum = torch.sum(targets, dim=1, keepdim=True)
    row_sum = torch.where(row_sum == 0, ZERO_ROW_SUM, row_sum)
    return targets / row_sum, row_sum


def softmax_kldiv(scores: Tensor, targets: Tensor) -> Tensor:
    r"""KL divergence from `softmax(scores)` to the row-normalised targets, averaged over rows.

    $$
    \ell = \frac{1}{B}\sum_i \mathrm{KL}\big(\tilde t_i \,\|\, \mathrm{softmax}(s_i)\big),
    \quad \tilde t_i = t_i / \textstyle\sum_j t_{ij}
    $$

    Examples:
        >>> import torch
        >>> round(float(softmax_kldiv(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]))), 6)
        0.693147
    """
    normalized, _ = normalize_rows(targets)
    # One sum over all elements where MMF sums each row, then the rows: equal up to float rounding, and one
    # reduction (plus its backward) fewer per step. ``kl_div`` computes ``xlogy(t, t) - t * log_p`` in one pass.
    return F.kl_div(F.log_softmax(scores, dim=1), normalized, reduction="sum") / scores.size(0)


def weighted_softmax(scores: Tensor, targets: Tensor) -> Tensor:
    r"""`softmax_kldiv` with each row's KL weighted by its target mass (MMF's `weighted_softmax`).

    $$
    \ell = \frac{1}{B}\sum_i \Big(\textstyle\sum_j t_{ij}\Big)\,
    \mathrm{KL}\big(\tilde t_i \,\|\, \mathrm{softmax}(s_i)\big)
    $$

    An all-zero target row contributes 0.

    Examples:
        >>> import torch
        >>> round(float(weighted_softmax(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 0.0]]))), 6)
        2.079442
    """
    normalized, row_sum = normalize_rows(targets)
    kl = kl_div_rows(F.log_softmax(scores, dim=1), normalized) * row_sum
    return torch.sum(kl) / kl.size(0)


def wrong(scores: Tensor, targets: Tensor) -> Tensor:
    r"""Element-mean KL from `softmax(scores)` to the row-normalised targets, times `C` (MMF's `wrong`).

    $$
    \ell = C \cdot \operatorname{mean}_{i,j}\ \tilde t_{ij}\big(\log \tilde t_{ij} - \log\mathrm{softmax}(s_i)_j\big),
    \quad C = t.\mathrm{size}(1)
    $$

    The same number as `softmax_kldiv()` up to float rounding (torch's `kl_div` with `reduction="mean"`).

    Examples:
        >>> import torch
        >>> round(float(wrong(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]))), 6)
        0.693147
    """
    normalized, _ = normalize_rows(targets)
    pointwise = F.kl_div(F.log_softmax(scores, dim=1), normalized, reduction="none")
    return pointwise.mean() * targets.size(1)


def class_index(targets: Tensor, ignore_index: int) -> tuple[Tensor, Tensor]:
    """`(index, keep)`, both `B x 1`: class indices as int64 with ignored entries set to 0, and a bool mask.

    `targets` holds class indices, shape `B` or `B x 1`; `keep` is `targets != ignore_index`.

    Examples:
        >>> import torch
        >>> index, keep = class_index(torch.tensor([2, -100, 0]), ignore_index=-100)
        >>> index.flatten().tolist(), keep.flatten().tolist()
        ([2, 0, 0], [True, False, True])
    """
    column = targets.reshape(-1, 1)
    keep = column.ne(ignore_index)
    index = torch.where(keep, column, torch.zeros_like(column)).long()
    return index, keep


def soft_label_cross_entropy(
    scores: Tensor,
    targets: Tensor,
    *,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    normalize_targets: bool = True,
) -> Tensor:
    r"""Cross-entropy against soft labels or class indices (MMF's `soft_label_cross_entropy`).

    `scores` are logits `B x C`. `targets` are class indices `B` (rows equal to `ignore_index` are
    masked) or soft labels `B x C` (all-zero rows are masked). Indices become one-hot rows `y_i`; masked
    rows are zero. With `normalize_targets`, :math:`y_i \leftarrow y_i / (\epsilon + \sum_j y_{ij})`,
    :math:`\epsilon` = float32 machine epsilon.

    $$
    \ell_i = -\sum_j y_{ij} \log\mathrm{softmax}(s_i)_j,\qquad
    \ell = \sum_i \ell_i \ \text{(sum)}\quad\text{or}\quad \frac{\sum_i \ell_i}{\max(1, \#\text{unmasked rows})}
    \ \text{(mean)}
    $$

    Examples:
        >>> import torch
        >>> s = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        >>> round(float(soft_label_cross_entropy(s, torch.tensor([0, -100]), normalize_targets=False)), 6)
        0.693147
        >>> round(float(soft_label_cross_entropy(s, torch.tensor([[2.0, 2.0], [0.0, 0.0]]))), 6)
        0.693147
    """
    if targets.dim() == 1:
        index, keep = class_index(targets, ignore_index)
        dense = torch.zeros_like(scores).scatter(1, index, 1.0)
    else:
        keep = targets.sum(-1, keepdim=True).ne(0)
        dense = targets.to(scores.dtype)
    dense = dense * keep.to(scores.dtype)
    if normalize_targets:
        dense = dense / (SOFT_LABEL_EPS + dense.sum(dim=1, keepdim=True))
    return _cross_entropy_of_rows(scores, dense, keep, reduction)


def _cross_entropy_of_rows(scores: Tensor, dense: Tensor, keep: Tensor, reduction: Reduction) -> Tensor:
    """`sum_i -sum_j dense_ij log softmax(scores_i)_j`, divided by the number of kept rows for `"mean"`.

    `-sum(x)` rather than `sum(-x)`: the same bits (negation is exact), one pass less over `B x C`.
    """
    per_row = -torch.sum(dense * F.log_softmax(scores, dim=-1), -1)
    loss = per_row.sum()
    if reduction == "mean":
        loss = loss / torch.sum(keep).clamp(min=1)
    return loss


def smooth_targets(targets: Tensor, num_classes: int, *, label_smoothing: float, ignore_index: int = -100) -> Tensor:
    r"""MMF's smoothed one-hot rows, `B x num_classes`: `1 - ls` at the class, `ls / (C - 1)` elsewhere.

    `targets` are class indices (`B` or `B x 1`); rows equal to `ignore_index` are all zero. Each
    other row sums to 1. (Not torch's scheme, which spreads `ls / C` over every class.)

    Examples:
        >>> import torch
        >>> smooth_targets(torch.tensor([1, -100]), 3, label_smoothing=0.2)
        tensor([[0.1000, 0.8000, 0.1000],
                [0.0000, 0.0000, 0.0000]])
    """
    return _smoothed_and_kept(targets, num_classes, label_smoothing, ignore_index)[0]


def _smoothed_and_kept(
    targets: Tensor, num_classes: int, label_smoothing: float, ignore_index: int
) -> tuple[Tensor, Tensor]:
    """`smooth_targets()` and the `B x 1` mask of rows that are not `ignore_index`."""
    if num_classes < 2:
        raise ValueError(f"label smoothing needs at least 2 classes, got {num_classes}")
    index, keep = class_index(targets, ignore_index)
    smoothed = torch.full(
        (index.size(0), num_classes), label_smoothing / (num_classes - 1), device=targets.device
    ).scatter(1, index, 1 - label_smoothing)
    return smoothed * keep.to(smoothed.dtype), keep


def label_smoothing_cross_entropy(
    scores: Tensor,
    targets: Tensor,
    *,
    label_smoothing: float = 0.1,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Cross-entropy against MMF's smoothed one-hot targets (MMF's `label_smoothing_cross_entropy`).

    $$
    \ell = \mathrm{soft\_label\_cross\_entropy}\big(s,\ \mathrm{smooth}(t),\ \text{normalize}=\text{False}\big)
    $$

    with `smooth_targets()`; rows whose target is `ignore_index` are masked (they do not count in the
    mean). With `label_smoothing=0` it is plain cross-entropy.

    Examples:
        >>> import torch
        >>> s = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
        >>> round(float(label_smoothing_cross_entropy(s, torch.tensor([2, -100]), label_smoothing=0.2)), 6)
        1.098612
    """
    smoothed, keep = _smoothed_and_kept(targets, scores.size(1), label_smoothing, ignore_index)
    # soft_label_cross_entropy(scores, smoothed, normalize_targets=False), without re-deriving and re-applying
    # its row mask: smoothed rows are already zero exactly where the target is ignore_index (and sum to 1
    # elsewhere), so that mask is ``keep`` and multiplying by it changes no bit.
    return _cross_entropy_of_rows(scores, smoothed.to(scores.dtype), keep, reduction)
