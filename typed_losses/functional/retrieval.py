"""Retrieval and metric-learning losses on embedding similarity matrices.

MMF loops over the rows of the similarity matrix in Python and selects pairs with data-dependent boolean
masks. Here every loss works on the whole `B x B` matrix with masks, `torch.where` and masked
reductions, so there is no host-device synchronisation and the functions run under
`torch.compile(fullgraph=True)`. Rows MMF skips (no positive or no negative pair) contribute exactly 0,
and the sum is divided by the full batch size B, as in MMF. The only Python branches are on shapes.

The multi-similarity terms :math:`\\frac{1}{p}\\log(1 + \\sum_k e^{z_k})` are computed as a `logsumexp`
over `[0, z_1, ..., z_n]` (masked-out entries are `-inf`): the same number as MMF's direct formula up
to float rounding, without overflow for large similarities and without NaN gradients.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "MINING_MARGIN",
    "SELF_SIMILARITY",
    "contrastive_loss",
    "gather_with_grad",
    "in_batch_hinge",
    "multi_similarity",
    "refiner_contrastive",
    "refiner_multi_similarity",
    "symmetric_cross_entropy",
]

#: `ms_loss`: a positive pair with similarity at or above `1 - SELF_SIMILARITY` counts as the sample
#: itself (or an identical copy) and is dropped (MMF's hard-coded `1e-5`).
SELF_SIMILARITY = 1e-5
#: `ms_loss` hard mining keeps negatives above `min(pos) - MINING_MARGIN` and positives below
#: `max(neg) + MINING_MARGIN` (MMF hard-codes 0.1; it is not the `margin` param).
MINING_MARGIN = 0.1


# -- in-batch hinge ------------------------------------------------------------------------------------------


def _hinge_costs(correlations: Tensor, margin: float, hard: bool) -> Tensor:
    """Hinge costs of a stack of `F x n x n` correlation matrices, summed per matrix (shape `F`)."""
    n = correlations.size(-1)
    if n == 0:
        return correlations.sum(dim=(-2, -1))
    diagonal = correlations.diagonal(dim1=-2, dim2=-1)
    # cost_s[i, j]: row i's positive against caption j; cost_im[i, j]: column j's positive against image i.
    cost_s = (margin + correlations - diagonal.unsqueeze(-1)).clamp(min=0)
    cost_im = (margin + correlations - diagonal.unsqueeze(-2)).clamp(min=0)
    eye = torch.eye(n, dtype=torch.bool, device=correlations.device)
    cost_s = cost_s.masked_fill(eye, 0.0)
    cost_im = cost_im.masked_fill(eye, 0.0)
    if hard:
        # max, as MMF: between exactly tied hardest negatives the gradient goes to one (amax would split it).
        return cost_s.max(dim=-1).values.sum(dim=-1) + cost_im.max(dim=-2).values.sum(dim=-1)
    return cost_s.sum(dim=(-2, -1)) + cost_im.sum(dim=(-2, -1))


def in_batch_hinge(images: Tensor, texts: Tensor, *, margin: float = 0.0, hard: bool = False) -> Tensor:
    r"""VSE++ hinge loss over the batch's image-text similarities (MMF's `in_batch_hinge`).

    With :math:`S = I T^\top` (`B x B`) and its diagonal :math:`d`:

    $$
    \ell = \sum_{i \ne j} [m + S_{ij} - d_i]_+ + \sum_{i \ne j} [m + S_{ij} - d_j]_+
    $$

    With `hard=True` only the largest cost of each row (first sum) and of each column (second sum) counts
    (between exactly tied largest costs, the gradient goes to one of them, as in MMF).
    No division by B. When `texts` has `B * F` rows, rows `b*F .. b*F+F-1` are image `b`'s captions
    and the loss is summed over the `F` matrices :math:`S^{(f)}_{ij} = I_i \cdot T_{jF+f}`.

    Examples:
        >>> import torch
        >>> images = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> texts = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
        >>> round(float(in_batch_hinge(images, texts, margin=0.2, hard=True)), 5)
        1.92
    """
    batch = images.size(0)
    if texts.size(0) == batch:
        correlations = (images @ texts.t()).unsqueeze(0)
    else:
        if batch == 0 or texts.size(0) % batch != 0:
            raise ValueError(f"in_batch_hinge: {texts.size(0)} text rows are not a multiple of {batch} image rows")
        factor = texts.size(0) // batch
        correlations = images @ texts.reshape(batch, factor, images.size(1)).permute(1, 2, 0)
    return _hinge_costs(correlations, margin, hard).sum()


# -- contrastive (CLIP-style) --------------------------------------------------------------------------------


class _GatherWithGrad(torch.autograd.Function):
    """`all_gather` whose backward sums every rank's gradient and returns this rank's slice."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, tensor: Tensor) -> Tensor:
        tensor = tensor.contiguous()
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor)
        return torch.stack(parts)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, *grads: Tensor) -> Tensor:
        grad = grads[0].contiguous()
        dist.all_reduce(grad)
        return grad[dist.get_rank()]


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_with_grad(tensor: Tensor) -> Tensor:
    """`tensor` of every rank concatenated along dim 0 in rank order, with gradient to every rank.

    The backward all-reduces (sums) the gradient of the gathered tensor, so each rank's input receives the
    gradient of the sum of all ranks' losses, as MMF's `gather_tensor_along_batch_with_backward`.
    Without an initialised process group (or with one process) this is the identity.

    Examples:
        >>> import torch
        >>> x = torch.tensor([[1.0, 2.0]])
        >>> gather_with_grad(x) is x  # a single process
        True
    """
    if not _distributed():
        return tensor
    gathered: Tensor = _GatherWithGrad.apply(tensor)  # type: ignore[no-untyped-call]
    return gathered.flatten(0, 1)


def symmetric_cross_entropy(
    embedding_1: Tensor,
    embedding_2: Tensor,
    all_1: Tensor,
    all_2: Tensor,
    temperature: Tensor,
    *,
    first_label: int = 0,
) -> Tensor:
    r"""Mean of the two cross-entropies of local embeddings against all embeddings of the other modality.

    $$
    \ell = \tfrac12\big(\mathrm{CE}(E_1 \bar E_2^\top / \tau, y) + \mathrm{CE}(E_2 \bar E_1^\top / \tau, y)\big),
    \quad y_i = \text{first\_label} + i
    $$

    `all_k` are the embeddings of every rank (:math:`\bar E_k`); row `i` of the local batch matches
    row `first_label + i` of them.

    Examples:
        >>> import torch
        >>> e1 = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> e2 = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
        >>> round(float(symmetric_cross_entropy(e1, e2, e1, e2, torch.tensor(0.5))), 6)
        0.988533
        >>> # rows 1 and 2 of the global batch, as rank 1 of a two-rank batch [e[:1], e[1:]] would see them
        >>> round(float(symmetric_cross_entropy(e1[1:], e2[1:], e1, e2, torch.tensor(0.5), first_label=1)), 6)
        0.956493
    """
    logits_1 = torch.matmul(embedding_1, all_2.transpose(0, 1)) / temperature
    logits_2 = torch.matmul(embedding_2, all_1.transpose(0, 1)) / temperature
    labels = first_label + torch.arange(embedding_1.size(0), device=embedding_1.device)
    return (F.cross_entropy(logits_1, labels) + F.cross_entropy(logits_2, labels)) / 2


def contrastive_loss(embedding_1: Tensor, embedding_2: Tensor, temperature: Tensor) -> Tensor:
    r"""Symmetric InfoNCE (CLIP) loss over the global batch, gathered across ranks (MMF's `contrastive_loss`).

    $$
    \ell = \tfrac12\big(\mathrm{CE}(E_1 \bar E_2^\top / \tau, y) + \mathrm{CE}(E_2 \bar E_1^\top / \tau, y)\big)
    $$

    :math:`\bar E_k` is :math:`E_k` gathered over all ranks with gradient (`gather_with_grad()`), and
    :math:`y_i = B \cdot \text{rank} + i`. Embeddings are not normalised. On one process it is the plain
    symmetric cross-entropy of the batch.

    Examples:
        >>> import torch
        >>> e1 = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> e2 = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
        >>> round(float(contrastive_loss(e1, e2, torch.tensor(0.5))), 6)
        0.988533
    """
    rank = dist.get_rank() if _distributed() else 0
    return symmetric_cross_entropy(
        embedding_1,
        embedding_2,
        gather_with_grad(embedding_1),
        gather_with_grad(embedding_2),
        temperature,
        first_label=embedding_1.size(0) * rank,
    )


# -- multi-similarity ----------------------------------------------------------------------------------------


def _soft_sum(values: Tensor, mask: Tensor, *, base: float, param: float, sign: float) -> Tensor:
    r"""Per row :math:`\frac1p \log\big(1 + \sum_{k \in \text{mask}} e^{s p (v_k - b)}\big)`; 0 for an empty row."""
    exponents = (sign * param) * (values - base)
    exponents = torch.where(mask, exponents, torch.full_like(exponents, float("-inf")))
    one = torch.zeros_like(exponents[..., :1])
    return (1.0 / param) * torch.logsumexp(torch.cat([one, exponents], dim=-1), dim=-1)


def _batch_mean(row_losses: Tensor, keep: Tensor) -> Tensor:
    """Sum of the kept rows' losses over the full batch size (0 for an empty batch)."""
    kept = torch.where(keep, row_losses, torch.zeros_like(row_losses))
    return kept.sum() / max(row_losses.size(0), 1)


def multi_similarity(
    embeddings: Tensor,
    labels: Tensor,
    *,
    alpha: float = 50.0,
    beta: float = 2.0,
    margin: float = 0.5,
    hard_mining: bool = True,
    multilabel: bool = False,
) -> Tensor:
    r"""Multi-similarity loss (Wang et al., CVPR 2019) over L2-normalised embeddings (MMF's `ms_loss`).

    With :math:`S = \hat x \hat x^\top`, per row :math:`i`: positives :math:`P_i` = other samples sharing a
    label (similarity :math:`< 1 - 10^{-5}`), negatives :math:`N_i` = samples sharing none. Hard mining keeps
    :math:`k \in N_i` with :math:`S_{ik} + 0.1 > \min_{P_i} S` and :math:`k \in P_i` with
    :math:`S_{ik} - 0.1 < \max_{N_i} S`. With :math:`\lambda` = `margin`:

    $$
    \ell = \frac1B \sum_{i:\,P_i, N_i \ne \emptyset}
    \frac1\beta \log\Big(1 + \sum_{P_i} e^{-\beta(S_{ik} - \lambda)}\Big)
    + \frac1\alpha \log\Big(1 + \sum_{N_i} e^{\alpha(S_{ik} - \lambda)}\Big)
    $$

    `labels` are `B` class labels, or with `multilabel` `B x K` multi-hot rows: samples share a
    label when their rows overlap (dot product > 0) and share none when it is < 1e-5.

    Examples:
        >>> import torch
        >>> x = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0.2], [0.5, 0.5, 0.5]])
        >>> round(float(multi_similarity(x, torch.tensor([0, 0, 1, 1, 0]))), 6)
        0.145588
    """
    x = F.normalize(embeddings)
    similarity = x @ x.t()
    if similarity.size(0) == 0:
        return similarity.sum()
    if multilabel:
        multi_hot = labels.to(similarity.dtype)
        overlap = multi_hot @ multi_hot.t()
        same, different = overlap > 0, overlap < 1e-5
    else:
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        different = ~same
    positive = same & (similarity < 1 - SELF_SIMILARITY)
    negative = different
    if hard_mining:
        inf = torch.full_like(similarity, float("inf"))
        hardest_positive = torch.where(positive, similarity, inf).amin(dim=1, keepdim=True)
        hardest_negative = torch.where(negative, similarity, -inf).amax(dim=1, keepdim=True)
        negative, positive = (
            negative & (similarity + MINING_MARGIN > hardest_positive),
            positive & (similarity - MINING_MARGIN < hardest_negative),
        )
    rows = _soft_sum(similarity, positive, base=margin, param=beta, sign=-1.0) + _soft_sum(
        similarity, negative, base=margin, param=alpha, sign=1.0
    )
    return _batch_mean(rows, positive.any(dim=1) & negative.any(dim=1))


def refiner_multi_similarity(
    scores: Tensor,
    targets: Tensor,
    *,
    alpha: float = 50.0,
    beta: float = 2.0,
    base: float = 0.5,
    margin: float = 0.1,
    epsilon: float = 1e-16,
) -> Tensor:
    r"""Multi-similarity loss between decoded embeddings and their targets (MMF's `refiner_ms`).

    With :math:`S = X T^\top` (not normalised) and :math:`p_i = S_{ii}`, the negatives of row :math:`i` are
    :math:`N_i = \{j : |S_{ij} - p_i| > \epsilon,\ S_{ij} + m > p_i\}` and

    $$
    \ell = \frac1B \sum_{i:\,N_i \ne \emptyset} \frac1\beta \log\big(1 + e^{-\beta(p_i - b)}\big)
    + \frac1\alpha \log\Big(1 + \sum_{N_i} e^{\alpha(S_{ij} - b)}\Big)
    $$

    Examples:
        >>> import torch
        >>> x = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]])
        >>> t = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0, 0.6, 0.8], [0.6, 0.8, 0]])
        >>> round(float(refiner_multi_similarity(x, t)), 6)
        0.154158
    """
    similarity = scores @ targets.t()
    diagonal = similarity.diagonal()
    positive = diagonal.unsqueeze(1)
    negative = (torch.abs(similarity - positive) > epsilon) & (similarity + margin > positive)
    # the one positive per row: log(1 + e^x) is softplus(x), one op where a masked log-sum-exp takes six
    rows = (1.0 / beta) * F.softplus(-beta * (diagonal - base)) + _soft_sum(
        similarity, negative, base=base, param=alpha, sign=1.0
    )
    return _batch_mean(rows, negative.any(dim=1))


def refiner_contrastive(scores: Tensor, targets: Tensor, *, sim_thresh: float = 0.1, epsilon: float = 1e-16) -> Tensor:
    r"""Hinge on targets closer to a decoded embedding than its own target (MMF's `refiner_contrastive_loss`).

    With :math:`S = \hat X \hat T^\top` (rows L2-normalised), :math:`p_i = S_{ii}` and
    :math:`N_i = \{j : S_{ij} > p_i - \theta,\ |S_{ij} - p_i| > \epsilon\}`:

    $$
    \ell = \frac1B \sum_{i:\,N_i \ne \emptyset} \frac{1}{|N_i|} \sum_{j \in N_i} (\theta + S_{ij} - p_i)
    $$

    Examples:
        >>> import torch
        >>> x = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]])
        >>> t = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0, 0.6, 0.8], [0.6, 0.8, 0]])
        >>> round(float(refiner_contrastive(x, t, sim_thresh=0.5)), 6)
        0.211667
    """
    similarity = F.normalize(scores) @ F.normalize(targets).t()
    positive = similarity.diagonal().unsqueeze(1)
    negative = (similarity > positive - sim_thresh) & (torch.abs(similarity - positive) > epsilon)
    hinge = torch.where(negative, (sim_thresh + similarity) - positive, torch.zeros_like(similarity))
    count = negative.sum(dim=1)
    rows = hinge.sum(dim=1) / count.clamp(min=1).to(hinge.dtype)
    return _batch_mean(rows, count > 0)
